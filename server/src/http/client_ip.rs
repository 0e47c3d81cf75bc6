//! Who the client is, for rate limits and logs: the peer address, or — only
//! when the peer is a trusted proxy (`GRIDLINK_TRUSTED_PROXIES`) — the
//! address it forwarded. A client cannot escape a limit by sending its own
//! `X-Forwarded-For`: from an untrusted peer the header is ignored.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::infra::config::{ConfigError, FORWARDED_HEADER, TRUSTED_PROXIES};

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

/// The one header a trusted proxy appends the client's address to. Only that
/// header is read: a client can send the other one itself, and the proxy
/// passes it on untouched, so believing both would let the client choose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, Envoy, cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239) `for=` parameters.
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(value: &str) -> Result<ForwardedHeader, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(ConfigError::new(
                FORWARDED_HEADER,
                format!("{other:?} is not a forwarding header: use x-forwarded-for or forwarded"),
            )),
        }
    }
}

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
    header: ForwardedHeader,
}

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
            .map(|networks| TrustedProxies {
                networks,
                header: ForwardedHeader::default(),
            })
    }

    /// The same proxies, read through `header`.
    pub fn reading(self, header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies { header, ..self }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind `peer`: the peer itself unless it is trusted; then,
    /// walking the forwarding header from the right (what the nearest proxy
    /// appended), the first address that is not a trusted proxy. What a
    /// client wrote itself stands further left and is never reached while a
    /// trusted proxy appended an address after it.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for entry in forwarded_entries(headers, self.header).iter().rev() {
            // What cannot be read ends the walk: nothing left of it can be believed.
            let Ok(ip) = entry.parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The addresses in `header`, client first, as written.
fn forwarded_entries(headers: &HeaderMap, header: ForwardedHeader) -> Vec<String> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap_or("unreadable").to_owned())
            .collect::<Vec<String>>()
    };
    match header {
        ForwardedHeader::XForwardedFor => values("x-forwarded-for")
            .iter()
            .flat_map(|value| value.split(','))
            .map(|entry| entry.trim().to_owned())
            .collect(),
        ForwardedHeader::Forwarded => values("forwarded")
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.trim().eq_ignore_ascii_case("for").then(|| {
                            let value = value.trim().trim_matches('"');
                            // `[2001:db8::1]:4711` or `192.0.2.43:47011`
                            match value.strip_prefix('[') {
                                Some(rest) => rest.split(']').next().unwrap_or_default().to_owned(),
                                None => value.split(':').next().unwrap_or_default().to_owned(),
                            }
                        })
                    })
                    // An element without `for=` names nobody: it ends the walk.
                    .unwrap_or_default()
            })
            .collect(),
    }
}

/// The address of the peer a connection came from, put on every request as
/// `ConnectInfo<Peer>` by [`crate::http::serving`], over plain TCP and over
/// Gridlink's own TLS listener alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// The client's address, as [`TrustedProxies::client`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// What limits count against: the address itself for IPv4, its /64 for
    /// IPv6, since one subscriber is handed a whole /64 and could otherwise
    /// rotate through 2^64 addresses (case 35).
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(ip) => IpAddr::V6((u128::from(ip) & !u128::from(u64::MAX)).into()),
            IpAddr::V4(_) => self.0,
        }
    }
}

/// Any state that holds the trusted proxies can name the client.
impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Arc<TrustedProxies>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(client_ip(parts, &Arc::<TrustedProxies>::from_ref(state)))
    }
}

/// The client of a request (requests that did not come through a socket,
/// such as in-process calls, count as the unspecified address).
pub fn client_ip(parts: &Parts, proxies: &TrustedProxies) -> ClientIp {
    let peer = parts
        .extensions
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0 .0.ip());
    ClientIp(proxies.client(peer, &parts.headers))
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
        let proxies = proxies.reading(ForwardedHeader::Forwarded);
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
    fn case_34_a_header_the_client_wrote_never_beats_what_the_proxy_appended() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        // nginx appends to X-Forwarded-For; the client adds Forwarded and its own XFF.
        let sent = headers(&[
            ("forwarded", "for=9.9.9.9"),
            ("x-forwarded-for", "7.7.7.7, 198.51.100.7"),
        ]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &sent), ip("198.51.100.7"));
        // A proxy that appends Forwarded: the client's own X-Forwarded-For is ignored.
        let forwarded = proxies.clone().reading(ForwardedHeader::Forwarded);
        let sent = headers(&[
            ("x-forwarded-for", "9.9.9.9"),
            ("forwarded", "for=7.7.7.7, for=198.51.100.7;proto=https"),
        ]);
        assert_eq!(forwarded.client(ip("127.0.0.1"), &sent), ip("198.51.100.7"));
        // Garbage appended after the proxy's entry cannot exist; garbage before it is never read.
        let sent = headers(&[("x-forwarded-for", "not-an-ip, 198.51.100.7")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &sent), ip("198.51.100.7"));
        // Unreadable where the proxy's entry should be: the proxy is the client.
        let sent = headers(&[("x-forwarded-for", "198.51.100.7, bogus")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &sent), ip("127.0.0.1"));
        assert!(ForwardedHeader::parse("X-Real-IP").is_err());
    }

    #[test]
    fn case_35_ipv6_clients_are_limited_by_their_slash_64() {
        let one = ClientIp(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).limit_key();
        let other = ClientIp(ip("2001:db8:1:2:1:2:3:4")).limit_key();
        let next_network = ClientIp(ip("2001:db8:1:3::1")).limit_key();
        assert_eq!(one, other);
        assert_eq!(one, ip("2001:db8:1:2::"));
        assert_ne!(one, next_network);
        assert_eq!(ClientIp(ip("198.51.100.7")).limit_key(), ip("198.51.100.7"));
    }

    #[test]
    fn a_bad_trusted_proxies_value_names_the_option() {
        let error = TrustedProxies::parse("10.0.0.0/8,everyone").unwrap_err();
        assert_eq!(error.option, TRUSTED_PROXIES);
    }
}
