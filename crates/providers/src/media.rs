//! Images the gateway itself must fetch or decode for providers that take only inline data (Anthropic by default,
//! Gemini): `data:` URLs are decoded, http(s) URLs are downloaded with size and time limits, and never from
//! loopback, private, link-local, multicast or cloud-metadata addresses unless the operator allows it. The media
//! type always comes from the bytes (magic numbers), not from the URL or the server's header.
//!
//! Address checks happen twice: on literal IPs in the URL (and in every redirect), and in the DNS resolver of the
//! dedicated download client, so a hostname that resolves to a private address is refused too and a DNS answer
//! cannot change between the check and the connect.

use crate::error::{UpstreamError, UpstreamErrorKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct MediaPolicy {
    /// Allow downloads from loopback/private/link-local addresses (tests, or operators with internal image hosts).
    pub allow_private: bool,
    pub max_bytes: usize,
    pub timeout: Duration,
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
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
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
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || o[0] == 0 {
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
            } else {
                None
            }
        }
    }
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

impl std::fmt::Debug for MediaFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

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

    /// A `data:` URL or an http(s) URL, as inline base64 with a sniffed media type.
    pub async fn inline(&self, url: &str) -> Result<InlineImage, UpstreamError> {
        if url.starts_with("data:") {
            return decode_data_url(url);
        }
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

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
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
