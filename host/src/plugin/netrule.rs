//! The rules of outbound HTTP, as data: host patterns of a manifest's
//! `[grants] http`, address ranges of `[sandbox] allow_private_hosts`, and
//! which addresses count as the host's own network (refused unless the
//! operator lists them). Pure functions; the sending is in `outbound`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a host pattern or address range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetRuleError {
    /// Not a host pattern (`[grants] http`).
    #[error("{text:?} is not a host pattern ({why})")]
    HostPattern {
        /// The entry as written.
        text: String,
        /// What is wrong with it.
        why: PatternFault,
    },
    /// Not an address or CIDR range (`[sandbox] allow_private_hosts`).
    #[error("{text:?} is not an IP address or CIDR range")]
    NotAnAddress {
        /// The entry as written.
        text: String,
    },
    /// A CIDR prefix out of range.
    #[error("{text:?}: prefix length must be 0..={max}")]
    Prefix {
        /// The entry as written.
        text: String,
        /// 32 or 128.
        max: u8,
    },
}

/// What is wrong with a host pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternFault {
    /// A URL instead of a host.
    #[error("give a host and optional port, no scheme or path")]
    SchemeOrPath,
    /// `*.` before an address.
    #[error("a wildcard applies to names, not addresses")]
    WildcardAddress,
    /// Not a DNS name.
    #[error("host names are dot-separated labels of letters, digits and '-'")]
    BadName,
    /// `*.org`.
    #[error("a wildcard needs at least two labels after it, e.g. *.example.org")]
    ShortWildcard,
    /// The port as written.
    #[error("port {0:?} is not 1..=65535")]
    BadPort(String),
    /// `[::1`.
    #[error("an unclosed '['")]
    UnclosedBracket,
    /// `[::1]x`.
    #[error("text after ']'")]
    AfterBracket,
}

/// One entry of `[grants] http`: `api.github.com`, `*.example.org:8443`,
/// `203.0.113.7`, `[2001:db8::1]:8443`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lowercase host name (without a leading `*.`), or an IP literal.
    host: String,
    /// `*.`: one or more labels before `host`.
    wildcard: bool,
    /// `None`: the scheme's default port (443, or 80 for plain http).
    port: Option<u16>,
}

impl HostPattern {
    /// Parses one pattern.
    ///
    /// # Errors
    /// [`NetRuleError::HostPattern`]: why it is not a host pattern.
    pub fn parse(text: &str) -> Result<Self, NetRuleError> {
        let bad = |why: PatternFault| NetRuleError::HostPattern {
            text: text.to_owned(),
            why,
        };
        if text.contains("://") || text.contains('/') {
            return Err(bad(PatternFault::SchemeOrPath));
        }
        let (host, port) = split_port(text).map_err(bad)?;
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        let host = host.to_ascii_lowercase();
        if let Some(ip) = literal_ip(&host) {
            if wildcard {
                return Err(bad(PatternFault::WildcardAddress));
            }
            return Ok(Self {
                host: ip.to_string(),
                wildcard,
                port,
            });
        }
        if !valid_name(&host) {
            return Err(bad(PatternFault::BadName));
        }
        if wildcard && !host.contains('.') {
            return Err(bad(PatternFault::ShortWildcard));
        }
        Ok(Self {
            host,
            wildcard,
            port,
        })
    }

    /// The IP address, when the pattern is an address literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Whether a request to `host` (lowercase, no brackets, no trailing
    /// dot) on `port` matches; `default_port` is the scheme's.
    pub fn matches(&self, host: &str, port: u16, default_port: u16) -> bool {
        if port != self.port.unwrap_or(default_port) {
            return false;
        }
        if self.wildcard {
            host.strip_suffix(self.host.as_str())
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|head| !head.is_empty())
        } else {
            match (literal_ip(host), self.ip()) {
                (Some(a), Some(b)) => canonical(a) == canonical(b),
                _ => host == self.host,
            }
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        match (self.ip(), self.port) {
            (Some(IpAddr::V6(ip)), Some(port)) => write!(f, "[{ip}]:{port}"),
            (_, Some(port)) => write!(f, "{}:{port}", self.host),
            (_, None) => f.write_str(&self.host),
        }
    }
}

fn split_port(text: &str) -> Result<(&str, Option<u16>), PatternFault> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| PatternFault::BadPort(p.to_owned()))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or(PatternFault::UnclosedBracket)?;
        return match tail {
            "" => Ok((host, None)),
            _ => match tail.strip_prefix(':') {
                Some(p) => Ok((host, Some(port(p)?))),
                None => Err(PatternFault::AfterBracket),
            },
        };
    }
    if text.parse::<Ipv6Addr>().is_ok() {
        return Ok((text, None));
    }
    match text.rsplit_once(':') {
        Some((host, p)) => Ok((host, Some(port(p)?))),
        None => Ok((text, None)),
    }
}

fn valid_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The address `host` names literally (`[::1]`, `::1`, `127.0.0.1`).
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    inner.parse().ok()
}

/// An address range: `10.0.0.0/8`, `fc00::/7`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses an address or a CIDR range.
    ///
    /// # Errors
    /// [`NetRuleError::NotAnAddress`] or [`NetRuleError::Prefix`].
    pub fn parse(text: &str) -> Result<Self, NetRuleError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = literal_ip(addr).ok_or_else(|| NetRuleError::NotAnAddress {
            text: text.to_owned(),
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix =
            match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                    NetRuleError::Prefix {
                        text: text.to_owned(),
                        max,
                    }
                })?,
            };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` (IPv4-mapped IPv6 counts as IPv4) is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (canonical(self.addr), canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `ip`, with an IPv4-mapped or IPv4-compatible IPv6 address as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Why `ip` is part of a private or special network (loopback, RFC 1918,
/// ULA, link-local, CGNAT, multicast, unspecified, broadcast), or `None`
/// for a public address.
pub fn internal(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private (RFC 1918)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (CGNAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || a >= 240 {
        Some("broadcast or reserved")
    } else {
        None
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local (fc00::/7)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if let Some(v4) = ip.to_ipv4() {
        // IPv4-compatible (::a.b.c.d) and NAT64 forms of an inner address.
        internal_v4(v4)
    } else if first == 0x0064 && ip.segments()[1] == 0xff9b {
        let [.., c, d, e, f2] = ip.octets();
        internal_v4(Ipv4Addr::new(c, d, e, f2))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_match_host_and_port() {
        let p = HostPattern::parse("api.github.com").unwrap();
        assert!(p.matches("api.github.com", 443, 443));
        assert!(!p.matches("api.github.com", 8443, 443));
        assert!(!p.matches("evil-api.github.com", 443, 443));
        assert!(p.matches("api.github.com", 80, 80));
        let w = HostPattern::parse("*.Example.org:8443").unwrap();
        assert!(w.matches("a.example.org", 8443, 443));
        assert!(w.matches("a.b.example.org", 8443, 443));
        assert!(!w.matches("example.org", 8443, 443));
        assert!(!w.matches("badexample.org", 8443, 443));
        assert!(!w.matches("a.example.org", 443, 443));
        assert_eq!(w.to_string(), "*.example.org:8443");
        let v6 = HostPattern::parse("[::1]:8080").unwrap();
        assert!(v6.matches("::1", 8080, 80));
        assert_eq!(v6.to_string(), "[::1]:8080");
        let v4 = HostPattern::parse("127.0.0.1:9").unwrap();
        assert_eq!(v4.ip(), Some(ip("127.0.0.1")));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "",
            "https://a.com",
            "a.com/x",
            "*.com",
            "*.1.2.3.4",
            "a..b",
            "a.com:0",
            "a.com:99999",
            "a_b.com",
            "[::1",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
        // The messages read as they did when they were strings.
        for (bad, message) in [
            (
                "https://a.com",
                "\"https://a.com\" is not a host pattern (give a host and optional port, no scheme or path)",
            ),
            (
                "*.com",
                "\"*.com\" is not a host pattern (a wildcard needs at least two labels after it, e.g. *.example.org)",
            ),
            (
                "a.com:0",
                "\"a.com:0\" is not a host pattern (port \"0\" is not 1..=65535)",
            ),
            ("[::1", "\"[::1\" is not a host pattern (an unclosed '[')"),
            (
                "[::1]x",
                "\"[::1]x\" is not a host pattern (text after ']')",
            ),
        ] {
            assert_eq!(HostPattern::parse(bad).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for s in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(internal(ip(s)).is_some(), "{s}");
        }
        for s in ["140.82.112.6", "100.128.0.1", "2606:4700::1111", "8.8.8.8"] {
            assert!(internal(ip(s)).is_none(), "{s}");
        }
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.9.9.9")));
        assert!(net.contains(ip("::ffff:10.9.9.9")));
        assert!(!net.contains(ip("11.0.0.1")));
        let one = IpNet::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert!(IpNet::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("1.2.3.4")));
        assert_eq!(
            IpNet::parse("10.0.0.0/33").unwrap_err().to_string(),
            "\"10.0.0.0/33\": prefix length must be 0..=32"
        );
        assert_eq!(
            IpNet::parse("nope").unwrap_err().to_string(),
            "\"nope\" is not an IP address or CIDR range"
        );
    }
}
