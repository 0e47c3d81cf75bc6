//! Who the client is, for rate limits and logs: the peer address, or — only
//! when the peer is a trusted proxy (`GRIDLINK_TRUSTED_PROXIES`) — the
//! address it forwarded. A client cannot escape a limit by sending its own
//! `X-Forwarded-For`: from an untrusted peer the header is ignored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::serve::IncomingStream;
use tokio::net::TcpListener;

use crate::https::TlsListener;

use crate::config::{ConfigError, TRUSTED_PROXIES};
use crate::state::AppState;

/// A network in CIDR notation, e.g. `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(value: &str) -> Option<Cidr> {
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => {
                (address.parse::<IpAddr>().ok()?, prefix.parse::<u8>().ok()?)
            }
            None => {
                let address = value.parse::<IpAddr>().ok()?;
                (address, if address.is_ipv4() { 32 } else { 128 })
            }
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then_some(Cidr {
            network: address,
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address carried in IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Comma-separated CIDRs; empty means none.
    pub fn parse(value: &str) -> Result<TrustedProxies, ConfigError> {
        value
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                Cidr::parse(part).ok_or_else(|| {
                    ConfigError::new(
                        TRUSTED_PROXIES,
                        format!(
                            "{part:?} is not a network: write CIDRs like 10.0.0.0/8 or 192.168.1.5"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind `peer`: the peer itself unless it is trusted; then
    /// the nearest address in the forwarding chain that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers);
        chain
            .iter()
            .rev()
            .copied()
            .map(canonical)
            .find(|ip| !self.trusts(*ip))
            .or_else(|| chain.first().copied().map(canonical))
            .unwrap_or(peer)
    }
}

/// The addresses a request passed through, client first: from `Forwarded`
/// (`for=`) when present, else `X-Forwarded-For`. Unparseable entries end the
/// chain there (what comes before them cannot be believed either).
fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<String> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.eq_ignore_ascii_case("for").then(|| {
                    let value = value.trim().trim_matches('"');
                    // `[2001:db8::1]:4711` or `192.0.2.43:47011`
                    match value.strip_prefix('[') {
                        Some(rest) => rest.split(']').next().unwrap_or_default().to_owned(),
                        None => value.split(':').next().unwrap_or_default().to_owned(),
                    }
                })
            })
        })
        .collect();
    let entries: Vec<String> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|entry| entry.trim().to_owned())
            .collect()
    } else {
        forwarded
    };
    let mut chain = Vec::new();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) => chain.push(ip),
            Err(_) => break,
        }
    }
    chain.reverse();
    chain
}

/// The address of the peer a connection came from, recorded by axum for
/// every request (`into_make_service_with_connect_info::<Peer>()`), over
/// plain TCP and over Gridlink's own TLS listener alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The client's address, as [`TrustedProxies::client`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(client_ip(parts, state))
    }
}

/// The client of a request (requests that did not come through a socket,
/// such as in-process calls, count as the unspecified address).
pub fn client_ip(parts: &Parts, state: &AppState) -> ClientIp {
    let peer = parts
        .extensions
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0 .0.ip());
    ClientIp(state.settings.trusted_proxies.client(peer, &parts.headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(value: &str) -> IpAddr {
        value.parse().unwrap()
    }

    #[test]
    fn cidrs_contain_their_addresses_only() {
        let private = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(private.contains(ip("10.200.1.1")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(Cidr::parse("192.168.1.5")
            .unwrap()
            .contains(ip("192.168.1.5")));
        assert!(Cidr::parse("::1/128").unwrap().contains(ip("::1")));
        assert!(Cidr::parse("127.0.0.0/8")
            .unwrap()
            .contains(ip("::ffff:127.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "example", "10.0.0/8", "::1/129"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn case_23_forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let none = TrustedProxies::default();
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(none.client(ip("203.0.113.9"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        // The client prepended a fake address; the proxy appended the real one.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &chain), ip("198.51.100.7"));
        let forwarded = headers(&[("forwarded", "for=\"[2001:db8::5]:4711\";proto=https")]);
        assert_eq!(
            proxies.client(ip("10.2.2.2"), &forwarded),
            ip("2001:db8::5")
        );
        assert_eq!(
            proxies.client(ip("10.2.2.2"), &HeaderMap::new()),
            ip("10.2.2.2")
        );
    }

    #[test]
    fn a_bad_trusted_proxies_value_names_the_option() {
        let error = TrustedProxies::parse("10.0.0.0/8,everyone").unwrap_err();
        assert_eq!(error.option, TRUSTED_PROXIES);
    }
}
