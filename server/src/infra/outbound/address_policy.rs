//! Which addresses a webhook may reach. An organisation admin types the URL,
//! so without a rule Gridlink would POST to its own loopback services, the
//! internal network or a cloud metadata endpoint (SSRF). Only public
//! addresses are allowed unless `GRIDLINK_WEBHOOK_ALLOW_PRIVATE` is set. The
//! rule is checked when the URL is saved and again on every address the
//! name resolves to when connecting (a resolver hook), so DNS rebinding
//! cannot slip past; IP literals, which skip DNS, are checked before sending.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// How long a name may take to resolve when a URL is saved.
const SAVE_TIME_LOOKUP: Duration = Duration::from_secs(5);

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    UniqueLocal,
    SharedAddressSpace,
    Multicast,
    Unspecified,
    Broadcast,
    Reserved,
    Documentation,
}

impl AddressKind {
    pub fn describe(self) -> &'static str {
        match self {
            AddressKind::Loopback => "a loopback address",
            AddressKind::Private => "a private network address",
            AddressKind::LinkLocal => "a link-local address (such as a cloud metadata service)",
            AddressKind::UniqueLocal => "a unique-local IPv6 address",
            AddressKind::SharedAddressSpace => "a carrier-grade NAT address",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Unspecified => "an unspecified address",
            AddressKind::Broadcast => "the broadcast address",
            AddressKind::Reserved => "a reserved address",
            AddressKind::Documentation => "a documentation address",
        }
    }
}

/// `None` for a public address; otherwise what kind of non-public address it is.
pub fn classify(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() || a == 0 => AddressKind::Unspecified,
        _ if ip.is_loopback() => AddressKind::Loopback,
        _ if ip.is_private() => AddressKind::Private,
        _ if ip.is_link_local() => AddressKind::LinkLocal,
        (100, 64..=127, _) => AddressKind::SharedAddressSpace,
        _ if ip.is_broadcast() => AddressKind::Broadcast,
        _ if ip.is_multicast() => AddressKind::Multicast,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressKind::Documentation,
        // IETF protocol assignments, benchmarking, and the old class E.
        (192, 0, 0) | (198, 18..=19, _) => AddressKind::Reserved,
        _ if a >= 240 => AddressKind::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    // An IPv4 address carried in IPv6 is judged as that IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    let v4_at = |index: usize| {
        Ipv4Addr::from((u32::from(segments[index]) << 16) | u32::from(segments[index + 1]))
    };
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(v4_at(6));
    }
    // Local-use NAT64 (64:ff9b:1::/48) serves one network only: never public,
    // and judged by the IPv4 address in its last 32 bits when that says more.
    if segments[..3] == [0x64, 0xff9b, 0x0001] {
        return classify_v4(v4_at(6)).or(Some(AddressKind::Private));
    }
    // 6to4 (2002::/16) carries an IPv4 address in bits 16–47.
    if segments[0] == 0x2002 {
        return classify_v4(v4_at(1));
    }
    // Teredo (2001:0::/32): the server's IPv4 in bits 32–63, the client's
    // in the last 32 bits, inverted.
    if segments[..2] == [0x2001, 0] {
        let client = Ipv4Addr::from(!u32::from(v4_at(6)));
        return classify_v4(v4_at(2)).or_else(|| classify_v4(client));
    }
    Some(match segments[0] {
        _ if ip.is_unspecified() => AddressKind::Unspecified,
        _ if ip.is_loopback() => AddressKind::Loopback,
        first if first & 0xfe00 == 0xfc00 => AddressKind::UniqueLocal,
        first if first & 0xffc0 == 0xfe80 => AddressKind::LinkLocal,
        first if first & 0xff00 == 0xff00 => AddressKind::Multicast,
        0x2001 if segments[1] == 0x0db8 => AddressKind::Documentation,
        // IPv4-compatible (deprecated) and other addresses in ::/8.
        0 => AddressKind::Reserved,
        _ => return None,
    })
}

/// A webhook target Gridlink refuses to reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} is {} ({ip}); webhooks only go to public addresses", .kind.describe())]
pub struct ForbiddenAddress {
    pub host: String,
    pub ip: IpAddr,
    pub kind: AddressKind,
}

/// Checks a URL's host when it is saved: an IP literal directly, a name by
/// resolving it (every address must be public). A name that does not resolve
/// now is accepted; the check runs again on every delivery.
pub async fn check_url_when_saved(url: &Url) -> Result<(), ForbiddenAddress> {
    match url.host() {
        Some(Host::Ipv4(ip)) => check_ip(&ip.to_string(), IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => check_ip(&ip.to_string(), IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((name, port));
            match tokio::time::timeout(SAVE_TIME_LOOKUP, lookup).await {
                Ok(Ok(addresses)) => check_all(name, addresses),
                _ => Ok(()),
            }
        }
        None => Ok(()),
    }
}

/// Checks an IP-literal host before connecting (literals never reach the resolver).
pub fn check_literal_host(url: &Url) -> Result<(), ForbiddenAddress> {
    match url.host() {
        Some(Host::Ipv4(ip)) => check_ip(&ip.to_string(), IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => check_ip(&ip.to_string(), IpAddr::V6(ip)),
        _ => Ok(()),
    }
}

fn check_ip(host: &str, ip: IpAddr) -> Result<(), ForbiddenAddress> {
    match classify(ip) {
        Some(kind) => Err(ForbiddenAddress {
            host: host.to_owned(),
            ip,
            kind,
        }),
        None => Ok(()),
    }
}

fn check_all(
    host: &str,
    addresses: impl IntoIterator<Item = SocketAddr>,
) -> Result<(), ForbiddenAddress> {
    addresses
        .into_iter()
        .try_for_each(|address| check_ip(host, address.ip()))
}

/// The webhook client's resolver: resolves with the system resolver and
/// refuses the whole name if any address it gives is not public.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_all(&host, addresses.iter().copied())?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(address: &str) -> Option<AddressKind> {
        classify(address.parse().unwrap())
    }

    #[test]
    fn loopback_private_and_link_local_ipv4_addresses_are_not_public() {
        assert_eq!(kind("127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("127.255.0.9"), Some(AddressKind::Loopback));
        for private in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
        ] {
            assert_eq!(kind(private), Some(AddressKind::Private), "{private}");
        }
        assert_eq!(kind("169.254.169.254"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("100.64.0.1"), Some(AddressKind::SharedAddressSpace));
        assert_eq!(
            kind("100.127.255.255"),
            Some(AddressKind::SharedAddressSpace)
        );
        assert_eq!(kind("224.0.0.1"), Some(AddressKind::Multicast));
        assert_eq!(kind("0.0.0.0"), Some(AddressKind::Unspecified));
        assert_eq!(kind("0.1.2.3"), Some(AddressKind::Unspecified));
        assert_eq!(kind("255.255.255.255"), Some(AddressKind::Broadcast));
        assert_eq!(kind("240.0.0.1"), Some(AddressKind::Reserved));
        assert_eq!(kind("198.18.0.1"), Some(AddressKind::Reserved));
        assert_eq!(kind("192.0.2.10"), Some(AddressKind::Documentation));
    }

    #[test]
    fn public_ipv4_addresses_next_to_the_private_ranges_are_allowed() {
        for public in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "1.1.1.1",
        ] {
            assert_eq!(kind(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_loopback_unique_local_link_local_and_embedded_ipv4_are_judged() {
        assert_eq!(kind("::1"), Some(AddressKind::Loopback));
        assert_eq!(kind("::"), Some(AddressKind::Unspecified));
        assert_eq!(kind("fd12:3456::1"), Some(AddressKind::UniqueLocal));
        assert_eq!(kind("fc00::1"), Some(AddressKind::UniqueLocal));
        assert_eq!(kind("fe80::1"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("ff02::1"), Some(AddressKind::Multicast));
        assert_eq!(kind("::ffff:127.0.0.1"), Some(AddressKind::Loopback));
        assert_eq!(kind("::ffff:10.1.2.3"), Some(AddressKind::Private));
        assert_eq!(kind("64:ff9b::a9fe:a9fe"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("2001:db8::1"), Some(AddressKind::Documentation));
        assert_eq!(kind("2606:4700:4700::1111"), None);
        assert_eq!(kind("::ffff:8.8.8.8"), None);
    }

    #[test]
    fn case_47_ipv6_forms_carrying_ipv4_are_judged_by_the_address_they_carry() {
        // 6to4: 2002:AABB:CCDD:: carries AA.BB.CC.DD.
        assert_eq!(kind("2002:7f00:1::1"), Some(AddressKind::Loopback));
        assert_eq!(kind("2002:c0a8:101::1"), Some(AddressKind::Private));
        assert_eq!(kind("2002:a9fe:a9fe::"), Some(AddressKind::LinkLocal));
        assert_eq!(kind("2002:808:808::1"), None);
        // Teredo: the server in bits 32-63, the client inverted at the end.
        assert_eq!(kind("2001:0:7f00:1::1"), Some(AddressKind::Loopback));
        assert_eq!(
            kind("2001:0:808:808:0:0:f5fe:fefe"), // client 10.1.1.1
            Some(AddressKind::Private)
        );
        assert_eq!(kind("2001:0:808:808:0:0:f7f7:f7f7"), None); // client 8.8.8.8
                                                                // Local-use NAT64: never public, loopback when it carries loopback.
        assert_eq!(kind("64:ff9b:1::7f00:1"), Some(AddressKind::Loopback));
        assert_eq!(kind("64:ff9b:1::a00:1"), Some(AddressKind::Private));
        assert_eq!(kind("64:ff9b:1::808:808"), Some(AddressKind::Private));
        // Well-known NAT64 and other 2001:: networks as before.
        assert_eq!(kind("64:ff9b::808:808"), None);
        assert_eq!(kind("2001:4860:4860::8888"), None);
    }

    #[test]
    fn a_literal_host_is_checked_without_any_lookup() {
        let refused =
            check_literal_host(&Url::parse("https://169.254.169.254/latest").unwrap()).unwrap_err();
        assert_eq!(refused.kind, AddressKind::LinkLocal);
        assert!(refused.to_string().contains("169.254.169.254"));
        assert!(check_literal_host(&Url::parse("https://[::1]:8443/hooks").unwrap()).is_err());
        assert!(check_literal_host(&Url::parse("https://hooks.example.com/").unwrap()).is_ok());
    }
}
