//! Which addresses a sandbox may never reach: a pure function of the address.
//!
//! Everything that is not a public unicast address is refused: the host itself, the networks
//! it sits on, and cloud metadata services are exactly what an agent would use to escape.
//! IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
//! address they carry, so `::ffff:127.0.0.1` is loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0/8` ("this network"), including `0.0.0.0`.
    ThisNetwork,
    /// `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// Instance metadata services: `169.254.169.254`, `fd00:ec2::254`, `100.100.100.200`,
    /// `192.0.0.192`.
    CloudMetadata,
    /// `192.0.0.0/24`, IETF protocol assignments.
    ProtocolAssignment,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15`, `2001:2::/48`.
    Benchmarking,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `fc00::/7`, unique local.
    UniqueLocal,
    /// `fec0::/10`, the deprecated site-local range.
    SiteLocal,
    /// `2001::/32`, Teredo: the address it tunnels to cannot be checked.
    Teredo,
    /// Anything else outside public unicast: `240/4`, `192.88.99/24`, `100::/64`, local-use
    /// NAT64, IPv4-compatible forms of public addresses, IPv6 outside `2000::/3`.
    Reserved,
}

impl AddressClass {
    /// A few words for a person, as in "127.0.0.1 is a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            Self::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Self::Unspecified => "the unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address (RFC 1918)",
            Self::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "a cloud metadata address",
            Self::ProtocolAssignment => "an IETF protocol assignment address (192.0.0.0/24)",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::UniqueLocal => "a unique local address (fc00::/7)",
            Self::SiteLocal => "a site-local address (fec0::/10)",
            Self::Teredo => "a Teredo tunnel address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// How an IPv4 address was carried inside an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::a.b.c.d` (deprecated).
    Compatible,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:aabb:ccdd::/48`.
    SixToFour,
}

/// A refused address: its class, and the IPv4 address it carried when it was an IPv6 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub class: AddressClass,
    /// Set when the verdict is about an IPv4 address embedded in an IPv6 one.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class.describe())?;
        if let Some((how, v4)) = self.embedded {
            let how = match how {
                Embedding::Mapped => "IPv4-mapped",
                Embedding::Compatible => "IPv4-compatible",
                Embedding::Nat64 => "NAT64",
                Embedding::SixToFour => "6to4",
            };
            write!(f, " ({how} {v4})")?;
        }
        Ok(())
    }
}

/// `None` for a public unicast address a sandbox may reach; otherwise why not.
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(|class| Refusal { class, embedded: None }),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass::*;
    let [a, b, c, _] = ip.octets();
    let class = match (a, b, c) {
        _ if [[169, 254, 169, 254], [100, 100, 100, 200], [192, 0, 0, 192]]
            .contains(&ip.octets()) =>
        {
            CloudMetadata
        }
        (0, _, _) => ThisNetwork,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => Private,
        (100, 64..=127, _) => SharedAddressSpace,
        (127, _, _) => Loopback,
        (169, 254, _) => LinkLocal,
        (192, 0, 0) => ProtocolAssignment,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Documentation,
        (192, 88, 99) => Reserved,
        (198, 18..=19, _) => Benchmarking,
        (224..=239, _, _) => Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Broadcast,
        (240..=255, _, _) => Reserved,
        _ => return None,
    };
    Some(class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    use AddressClass::*;
    let plain = |class| Some(Refusal { class, embedded: None });
    let s = ip.segments();
    let low_v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let embedded = |how, v4: Ipv4Addr, public_class: Option<AddressClass>| {
        classify_v4(v4).or(public_class).map(|class| Refusal { class, embedded: Some((how, v4)) })
    };
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) {
        return plain(CloudMetadata);
    }
    if ip.is_unspecified() {
        return plain(Unspecified);
    }
    if ip.is_loopback() {
        return plain(Loopback);
    }
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => embedded(Embedding::Mapped, low_v4, None),
        // Deprecated and never routed: refused even when what it carries is public.
        [0, 0, 0, 0, 0, 0, _, _] => embedded(Embedding::Compatible, low_v4, Some(Reserved)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => embedded(Embedding::Nat64, low_v4, None),
        [0x64, 0xff9b, 1, ..] => plain(Reserved),
        [0x2002, hi, lo, ..] => {
            let v4 = Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
            embedded(Embedding::SixToFour, v4, None)
        }
        [0x2001, 0, ..] => plain(Teredo),
        [0x2001, 0x0db8, ..] => plain(Documentation),
        [0x2001, 2, 0, ..] => plain(Benchmarking),
        [0x2001, 0x10..=0x2f, ..] => plain(Reserved),
        [0x0100, 0, 0, 0, ..] => plain(Reserved),
        [0x3fff, second, ..] if second & 0xf000 == 0 => plain(Documentation),
        [first, ..] if first & 0xfe00 == 0xfc00 => plain(UniqueLocal),
        [first, ..] if first & 0xffc0 == 0xfe80 => plain(LinkLocal),
        [first, ..] if first & 0xffc0 == 0xfec0 => plain(SiteLocal),
        [first, ..] if first & 0xff00 == 0xff00 => plain(Multicast),
        // Only 2000::/3 is allocated for global unicast.
        [first, ..] if first & 0xe000 != 0x2000 => plain(Reserved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn class(text: &str) -> Option<AddressClass> {
        classify(text.parse().unwrap()).map(|r| r.class)
    }

    #[test]
    fn every_refused_ipv4_class() {
        let cases = [
            ("0.0.0.0", ThisNetwork),
            ("0.1.2.3", ThisNetwork),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("192.0.0.192", CloudMetadata),
            ("192.0.0.8", ProtocolAssignment),
            ("192.0.2.10", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.88.99.1", Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn every_refused_ipv6_class() {
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fd00:ec2::254", CloudMetadata),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", SiteLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("3fff:fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001::1", Teredo),
            ("2001:10::1", Reserved),
            ("100::1", Reserved),
            ("64:ff9b:1::1", Reserved),
            ("4000::1", Reserved),
        ];
        for (ip, expected) in cases {
            assert_eq!(class(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_are_judged_by_what_they_carry() {
        let cases = [
            ("::ffff:127.0.0.1", Loopback, Embedding::Mapped),
            ("::ffff:10.1.2.3", Private, Embedding::Mapped),
            ("::ffff:169.254.169.254", CloudMetadata, Embedding::Mapped),
            ("::ffff:100.64.1.1", SharedAddressSpace, Embedding::Mapped),
            ("::127.0.0.1", Loopback, Embedding::Compatible),
            ("::192.168.0.1", Private, Embedding::Compatible),
            ("::8.8.8.8", Reserved, Embedding::Compatible),
            ("64:ff9b::127.0.0.1", Loopback, Embedding::Nat64),
            ("64:ff9b::a9fe:a9fe", CloudMetadata, Embedding::Nat64),
            ("2002:7f00:1::", Loopback, Embedding::SixToFour),
            ("2002:c0a8:101::1", Private, Embedding::SixToFour),
        ];
        for (ip, expected, how) in cases {
            let refusal = classify(ip.parse().unwrap()).unwrap_or_else(|| panic!("{ip} allowed"));
            assert_eq!(refusal.class, expected, "{ip}");
            assert_eq!(refusal.embedded.map(|(h, _)| h), Some(how), "{ip}");
        }
        let text = classify("::ffff:127.0.0.1".parse().unwrap()).unwrap().to_string();
        assert_eq!(text, "a loopback address (IPv4-mapped 127.0.0.1)");
    }

    /// Data only: these are never connected to.
    #[test]
    fn public_unicast_is_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "140.82.112.3",
            "104.16.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(classify(ip.parse().unwrap()), None, "{ip} was refused");
        }
    }
}
