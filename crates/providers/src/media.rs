//! Images the gateway itself must fetch or decode for providers that take only inline data (Anthropic by default,
//! Gemini): `data:` URLs are decoded, http(s) URLs are downloaded with size and time limits, and never from
//! loopback, private, link-local, multicast or cloud-metadata addresses unless the operator allows it. The media
//! type always comes from the bytes (magic numbers), not from the URL or the server's header.
//!
//! Address checks happen twice: on literal IPs in the URL (and in every redirect), and in the DNS resolver of the
//! dedicated download client, so a hostname that resolves to a private address is refused too and a DNS answer
//! cannot change between the check and the connect. IPv6 addresses that embed an IPv4 one (IPv4-mapped, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address; local-use NAT64 (`64:ff9b:1::/48`) is refused
//! outright. The download client never goes through an environment proxy (`HTTP_PROXY`…), which would fetch on
//! its own terms and hide the address from these checks.
//!
//! Per request, [`MediaCache`] (`cache.rs`) fetches each URL once for all failover attempts, a few at a time, within
//! a total byte budget.

mod cache;

pub use cache::{ByteBudget, CONCURRENT_DOWNLOADS, MediaCache};

use crate::error::{UpstreamError, UpstreamErrorKind, error_chain};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct MediaPolicy {
    /// Allow downloads from loopback/private/link-local addresses (tests, or operators with internal image hosts).
    pub allow_private: bool,
    pub max_bytes: usize,
    pub timeout: Duration,
}

impl MediaPolicy {
    /// What all the downloads of one request may read together: four images of the largest allowed size.
    pub fn request_budget(&self) -> usize {
        self.max_bytes.saturating_mul(4)
    }
}

impl Default for MediaPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(15),
        }
    }
}

/// An image ready to inline: media type sniffed from the bytes, data as standard base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    pub media_type: &'static str,
    pub base64: String,
}

fn refused(message: impl Into<String>) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::InvalidInput, message)
}

/// Why an address may not be fetched, if it may not.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) if is_local_nat64(v6) => return Some("a private address (local-use NAT64)"),
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local or cloud metadata address")
            } else if v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
            {
                // 240.0.0.0/4 is reserved, 198.18.0.0/15 is for benchmarking (often internal in clouds).
                Some("a non-routable address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if (first & 0xfe00) == 0xfc00 {
                Some("a private address")
            } else if (first & 0xffc0) == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("a non-routable address")
            } else if first == 0x2001 && v6.segments()[1] == 0 {
                // Teredo (2001::/32) carries an obfuscated IPv4 address: refused outright.
                Some("a tunnelled address (Teredo)")
            } else if v6.segments()[..6] == [0; 6] {
                // Deprecated IPv4-compatible `::a.b.c.d`.
                Some("a tunnelled address (IPv4-compatible)")
            } else {
                None
            }
        }
    }
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (RFC 6052) and
/// 6to4 `2002:AABB:CCDD::/48` (RFC 3056) all reach that IPv4 host.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let from = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(from(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(from(s[1], s[2]))
    } else {
        None
    }
}

/// `64:ff9b:1::/48` (RFC 8215): NAT64 inside one network, where any IPv4 address may sit at any position.
fn is_local_nat64(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1
}

/// DNS resolution that drops forbidden addresses (and fails when nothing is left).
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| forbidden_reason(a.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                let why = addrs
                    .first()
                    .and_then(|a| forbidden_reason(a.ip()))
                    .unwrap_or("no address");
                return Err(format!("`{host}` resolves to {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Downloads images under a [`MediaPolicy`]. Cheap to clone.
#[derive(Clone)]
pub struct MediaFetcher {
    client: reqwest::Client,
    policy: MediaPolicy,
}

debug_only!(MediaFetcher { policy });

impl MediaFetcher {
    pub fn new(policy: MediaPolicy) -> Result<Self, reqwest::Error> {
        let allow_private = policy.allow_private;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("too many redirects");
            }
            let literal = attempt
                .url()
                .host_str()
                .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
            match literal.and_then(forbidden_reason) {
                Some(why) if !allow_private => attempt.error(format!("redirect to {why}")),
                _ => attempt.follow(),
            }
        });
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(policy.timeout)
            .redirect(redirects);
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        Ok(Self {
            client: builder.build()?,
            policy,
        })
    }

    pub fn policy(&self) -> &MediaPolicy {
        &self.policy
    }

    /// The download client: it refuses private addresses at DNS time unless the policy allows them. Also used for
    /// other client-supplied destinations (webhooks), after [`Self::check_url`].
    pub fn http_client(&self) -> &reqwest::Client {
        &self.client
    }

    /// An http(s) URL whose literal host (if it is an IP) is allowed by the policy.
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, UpstreamError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| refused(format!("URL `{}` is not a valid URL", short(url))))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused(format!(
                "URL scheme `{}` is not supported; use http(s)",
                parsed.scheme()
            )));
        }
        let literal = parsed
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
        if let Some(why) = literal.and_then(forbidden_reason)
            && !self.policy.allow_private
        {
            return Err(refused(format!(
                "URL `{}` points to {why}, which is not allowed",
                short(url)
            )));
        }
        Ok(parsed)
    }

    /// A `data:` URL or an http(s) URL, as inline base64 with a sniffed media type. Outside a request's
    /// [`MediaCache`], the download may read one image's limit.
    pub async fn inline(&self, url: &str) -> Result<InlineImage, UpstreamError> {
        if url.starts_with("data:") {
            return decode_data_url(url);
        }
        self.download(url, &ByteBudget::new(self.policy.max_bytes))
            .await
    }

    /// Downloads an http(s) image, taking every byte read from `budget` as well as the per-image limit.
    async fn download(&self, url: &str, budget: &ByteBudget) -> Result<InlineImage, UpstreamError> {
        let parsed = self
            .check_url(url)
            .map_err(|e| refused(format!("image {}", e.message)))?;
        let resp = self.client.get(parsed).send().await.map_err(|e| {
            refused(format!(
                "cannot download image `{}`: {}",
                short(url),
                error_chain(&e)
            ))
        })?;
        if !resp.status().is_success() {
            return Err(refused(format!(
                "downloading image `{}` failed with HTTP {}",
                short(url),
                resp.status().as_u16()
            )));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > self.policy.max_bytes as u64)
        {
            return Err(self.too_large(url));
        }
        let mut body = resp.bytes_stream();
        let mut data = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                refused(format!(
                    "downloading image `{}` broke off: {}",
                    short(url),
                    error_chain(&e)
                ))
            })?;
            if data.len() + chunk.len() > self.policy.max_bytes {
                return Err(self.too_large(url));
            }
            if !budget.take(chunk.len()) {
                return Err(refused(format!(
                    "the images of this request exceed the download limit of {} bytes per request (at image `{}`)",
                    budget.limit(),
                    short(url)
                )));
            }
            data.extend_from_slice(&chunk);
        }
        let media_type = sniff(&data).ok_or_else(|| unsupported(url))?;
        Ok(InlineImage {
            media_type,
            base64: STANDARD.encode(&data),
        })
    }

    fn too_large(&self, url: &str) -> UpstreamError {
        refused(format!(
            "image `{}` is larger than the limit of {} bytes",
            short(url),
            self.policy.max_bytes
        ))
    }
}

fn short(url: &str) -> String {
    if url.len() > 120 {
        format!(
            "{}…",
            &url[..url.char_indices().nth(117).map_or(url.len(), |(i, _)| i)]
        )
    } else {
        url.to_owned()
    }
}

fn unsupported(url: &str) -> UpstreamError {
    refused(format!(
        "image `{}` is not PNG, JPEG, GIF or WebP, which is all this provider accepts",
        short(url)
    ))
}

/// `data:<mime>;base64,<data>`: decoded to check the bytes, media type taken from the bytes.
pub fn decode_data_url(url: &str) -> Result<InlineImage, UpstreamError> {
    let rest = url
        .strip_prefix("data:")
        .ok_or_else(|| refused("not a data: URL"))?;
    let (meta, payload) = rest
        .split_once(',')
        .ok_or_else(|| refused("data: URL has no `,` before its data"))?;
    if !meta.ends_with(";base64") {
        return Err(refused(
            "data: image URLs must be base64-encoded (`data:image/png;base64,...`)",
        ));
    }
    let cleaned: String = payload
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| refused("data: URL contains invalid base64"))?;
    let media_type = sniff(&bytes).ok_or_else(|| unsupported("data: URL"))?;
    Ok(InlineImage {
        media_type,
        base64: cleaned,
    })
}

/// The media type from the first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
