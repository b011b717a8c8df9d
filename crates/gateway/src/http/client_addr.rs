//! Who the client is when Tollgate sits behind reverse proxies (`--trusted-proxies`): only when the TCP peer is
//! one of those proxies are `X-Forwarded-For` or, without it, RFC 7239 `Forwarded` believed. Both are read from
//! the right (each proxy appends the address it saw), skipping addresses that are trusted proxies themselves;
//! the right-most untrusted address is the client. A garbled entry (or `unknown`, an obfuscated `_name`) on that
//! walk means the chain cannot be trusted, and the peer stays the client. From any other peer the headers are
//! ignored, so a client cannot choose its own address.
//!
//! `X-Forwarded-For` wins when both are present: nginx (docs/deploy.md) appends to it and passes a client's own
//! `Forwarded` header through untouched, so preferring `Forwarded` would let a client name any address.

use http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers (IPv4-mapped IPv6 shown as IPv4).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let chain = match joined(headers, "x-forwarded-for") {
            Some(xff) => xff.split(',').map(parse_xff_entry).collect(),
            None => match joined(headers, "forwarded") {
                Some(fwd) => fwd.split(',').map(parse_forwarded_element).collect(),
                None => return peer,
            },
        };
        self.walk(peer, chain)
    }

    /// The right-most address of `chain` that is not a trusted proxy; the peer when an entry on the way is
    /// unreadable; the left-most when every one is trusted.
    fn walk(&self, peer: IpAddr, chain: Vec<Option<IpAddr>>) -> IpAddr {
        let mut client = peer;
        for entry in chain.into_iter().rev() {
            let Some(ip) = entry else { return peer };
            client = ip.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// All values of a header, comma-joined (a repeated header is one list, RFC 9110 §5.3); `None` when absent or
/// not text.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let texts: Option<Vec<&str>> = values.map(|v| v.to_str().ok()).collect();
    Some(texts?.join(","))
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:80`, `[2001:db8::1]:80`).
fn parse_xff_entry(entry: &str) -> Option<IpAddr> {
    parse_node(entry.trim())
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.1;proto=https`, `for="[2001:db8::1]:4711"`).
fn parse_forwarded_element(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim())
    })?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    parse_node(value)
}

fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    // `[2001:db8::1]` without a port.
    node.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        assert_eq!(p.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn xff_is_walked_from_the_right_past_trusted_proxies() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client wrote a spoofed left part; the proxies appended the real hops.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
        // Repeated headers form one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.8:5000"),
        ]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.8"));
        // Every hop trusted: the left-most one.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn garbage_on_the_walk_falls_back_to_the_peer() {
        let p = proxies(&["127.0.0.1/32"]);
        for bad in ["not-an-ip", "1.2.3.4, ", "unknown", ""] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(p.client(ip("127.0.0.1"), &h), ip("127.0.0.1"), "{bad}");
        }
        // Garbage left of the client does not matter: the walk stops at the client.
        let h = headers(&[("x-forwarded-for", "garbage, 198.51.100.7")]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_xff() {
        let p = proxies(&["127.0.0.1/32", "10.0.0.0/8"]);
        let h = headers(&[(
            "forwarded",
            r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, For=10.0.0.2;by=10.0.0.3"#,
        )]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=192.0.2.60:8080;proto=http")]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("192.0.2.60"));
        for bad in ["for=unknown", "for=_hidden", "proto=https", r#"for="[::1"#] {
            let h = headers(&[("forwarded", bad)]);
            assert_eq!(p.client(ip("127.0.0.1"), &h), ip("127.0.0.1"), "{bad}");
        }
        // XFF wins: a client-supplied `Forwarded` passed through by nginx must not name the client.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_shown_as_ipv4() {
        let p = proxies(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), &h), ip("198.51.100.7"));
        assert_eq!(
            p.client(ip("::ffff:203.0.113.1"), &HeaderMap::new()),
            ip("203.0.113.1")
        );
    }
}
