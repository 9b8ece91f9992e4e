//! Which destinations a `url` source may reach: the SSRF address and hostname classifier.
//!
//! Pure functions, no I/O. [`super`] applies them to IP-literal URLs before connecting, to redirect
//! targets, and to every address its DNS resolver returns; this module must not resolve names itself
//! (a separate lookup would be a check-then-use race with the connection's own lookup).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a globally routable unicast address the gateway may connect to.
///
/// IPv4 refuses every special-purpose block (RFC 6890 and successors) that is not globally
/// reachable. IPv6 is an allowlist of global unicast `2000::/3` minus its special blocks, so that
/// anything new or unusual (ULA, link-local, site-local, multicast, discard, …) is refused by
/// default; forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
/// embedded address, because that is where the packets can end up.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: [([u8; 4], u32); 15] = [
        ([0, 0, 0, 0], 8),       // "this network", incl. 0.0.0.0 (unspecified)
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT shared address space
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, incl. 169.254.169.254 cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments (incl. 192.0.0.192 Oracle metadata)
        ([192, 0, 2, 0], 24),    // TEST-NET-1 documentation
        ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2 documentation
        ([203, 0, 113, 0], 24),  // TEST-NET-3 documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, incl. 255.255.255.255 broadcast
    ];
    !REFUSED.iter().any(|&(net, prefix)| in_v4(ip, net, prefix))
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// The IPv4 address in the low 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & u128::from(u32::MAX)) as u32)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible; also covers :: and ::1, whose
    // embedded 0.0.0.0 / 0.0.0.1 are refused as "this network").
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0; 8], 96) {
        return is_public_v4(low_v4(ip));
    }
    // NAT64 well-known prefix: the translator forwards to the embedded IPv4 address.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return is_public_v4(low_v4(ip));
    }
    // 6to4: 2002:AABB:CCDD::/48 tunnels to AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let embedded = (u128::from(ip) >> 80) as u32;
        return is_public_v4(Ipv4Addr::from(embedded));
    }
    const REFUSED: [([u16; 8], u32); 3] = [
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments (Teredo, benchmarking, ORCHID)
        ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
    ];
    in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3)
        && !REFUSED.iter().any(|&(net, prefix)| in_v6(ip, net, prefix))
}

/// Hostnames refused before any lookup: loopback names (RFC 6761 reserves `localhost` and every
/// `*.localhost`) and cloud metadata names. Addresses are still checked after resolution; this
/// gives a clear message and covers resolvers that special-case these names.
pub(crate) fn is_refused_hostname(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "metadata"
        || host == "metadata.google.internal"
        || host == "instance-data"
        || host.ends_with(".internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "one table of addresses, public and private, by range"
    )]
    fn classifies_ip_addresses() {
        let cases = [
            // IPv4 public
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.215.14", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("192.0.3.1", true),
            ("223.255.255.255", true),
            // IPv4 refused
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("10.0.0.1", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("169.254.0.1", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.192", false),
            ("192.0.2.10", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv6 public
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001:82a::200e", true),
            ("2001:4860:4860::8888", true),
            ("2002:0808:0808::1", true), // 6to4 of 8.8.8.8
            ("64:ff9b::808:808", true),  // NAT64 of 8.8.8.8
            ("::ffff:8.8.8.8", true),
            // IPv6 refused
            ("::", false),
            ("::1", false),
            ("fc00::1", false),
            ("fd12:3456:789a::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("100::1", false),
            ("2001:db8::1", false),
            ("2001::1", false),   // Teredo
            ("2001:2::1", false), // benchmarking
            ("3fff::1", false),
            ("4000::1", false),
            // IPv4 embedded in IPv6
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.1.2.3", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:192.168.0.1", false),
            ("::ffff:100.64.0.1", false),
            ("::ffff:0.0.0.0", false),
            ("::127.0.0.1", false),
            ("64:ff9b::7f00:1", false),    // NAT64 of 127.0.0.1
            ("64:ff9b::a9fe:a9fe", false), // NAT64 of 169.254.169.254
            ("2002:7f00:0001::1", false),  // 6to4 of 127.0.0.1
            ("2002:a9fe:a9fe::", false),   // 6to4 of 169.254.169.254
        ];
        for (text, public) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_public(ip), public, "{text}");
        }
    }

    #[test]
    fn refuses_local_and_metadata_hostnames() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "a.b.localhost",
            "metadata.google.internal",
            "metadata",
            "foo.internal",
        ] {
            assert!(is_refused_hostname(host), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com",
            "notlocalhost",
            "internal.example.org",
        ] {
            assert!(!is_refused_hostname(host), "{host}");
        }
    }
}
