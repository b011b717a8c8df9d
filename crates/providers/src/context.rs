//! What one upstream attempt needs: where to send, with which secret, and how long to wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::media::MediaCache;

#[derive(Clone)]
pub struct UpstreamCtx {
    pub client: crate::client::UpstreamClient,
    /// Provider root without the API version (`https://api.openai.com`); a trailing `/v1` is tolerated.
    pub base_url: String,
    pub api_key: String,
    pub api_version: Option<String>,
    /// The cloud region (`vertex`: the Vertex AI location).
    pub region: Option<String>,
    pub extra_headers: BTreeMap<String, String>,
    /// From sending the request until the response head arrives.
    pub first_byte_timeout: Duration,
    /// Longest silence between two body reads.
    pub idle_timeout: Duration,
    /// Downloads and decodes images for providers that take only inline data: one cache per client request,
    /// shared by its failover attempts so each image is fetched once.
    pub media: Arc<MediaCache>,
    /// Anthropic: forward http(s) image URLs as `url` sources instead of downloading and inlining them.
    pub forward_image_urls: bool,
}

// The secret never reaches a log line.
debug_only!(UpstreamCtx { base_url });

impl UpstreamCtx {
    /// `base_url` + `path` (e.g. `/v1/chat/completions`), without doubling a `/v1` the operator already wrote.
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.trim_end_matches('/');
        match (base.ends_with("/v1"), path.strip_prefix("/v1")) {
            (true, Some(rest)) => format!("{base}{rest}"),
            _ => format!("{base}{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UpstreamCtx;

    fn ctx(base: &str) -> UpstreamCtx {
        crate::test_support::ctx(base, "k")
    }

    #[test]
    fn url_does_not_double_v1() {
        assert_eq!(
            ctx("https://api.openai.com").url("/v1/chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            ctx("http://vllm:8000/v1/").url("/v1/chat/completions"),
            "http://vllm:8000/v1/chat/completions"
        );
        assert_eq!(
            ctx("https://h/some/prefix").url("/v1/models"),
            "https://h/some/prefix/v1/models"
        );
    }
}
