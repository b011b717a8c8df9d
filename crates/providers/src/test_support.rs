//! What the unit tests share: an attempt's context, reading a request in their one-shot HTTP servers, and checking
//! URL builders.

use crate::UpstreamCtx;
use crate::media::{MediaCache, MediaFetcher, MediaPolicy};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// A context for `base` with the key `key`, no extra headers, 2-second timeouts and the default image policy; a test
/// that needs more sets it with struct-update syntax (`UpstreamCtx { extra_headers, ..ctx(base, key) }`).
pub(crate) fn ctx(base: &str, key: &str) -> UpstreamCtx {
    UpstreamCtx {
        client: crate::client::UpstreamClient::new(Duration::from_secs(5)).unwrap(),
        base_url: base.into(),
        api_key: key.into(),
        api_version: None,
        region: None,
        extra_headers: BTreeMap::new(),
        first_byte_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        media: MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap()),
        forward_image_urls: false,
    }
}

/// Reads one HTTP request (head and `content-length` body) off `sock`, as text.
pub(crate) async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = sock.read(&mut buf).await.unwrap();
        req.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&req).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                return text;
            }
        }
        assert!(n > 0, "client closed early");
    }
}

/// Asserts that `url` gives `want` for every spelling of a base URL in `bases`.
pub(crate) fn same_url_for(bases: &[&str], want: &str, url: impl Fn(&str) -> String) {
    for base in bases {
        assert_eq!(url(base), want, "base {base}");
    }
}
