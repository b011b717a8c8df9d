//! An upstream context for the tests that build HTTP requests.

use providers::UpstreamCtx;
use providers::media::{MediaCache, MediaFetcher, MediaPolicy};
use std::collections::BTreeMap;
use std::time::Duration;

/// A context at `base` with `api_key`, one extra header, and short timeouts.
pub fn ctx(
    base: &str,
    api_version: Option<&str>,
    api_key: &str,
    extra_header: (&str, &str),
) -> UpstreamCtx {
    UpstreamCtx {
        client: providers::client::UpstreamClient::new(std::time::Duration::from_secs(5)).unwrap(),
        base_url: base.into(),
        api_key: api_key.into(),
        api_version: api_version.map(str::to_owned),
        region: None,
        extra_headers: BTreeMap::from([(extra_header.0.to_owned(), extra_header.1.to_owned())]),
        first_byte_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        media: MediaCache::new(MediaFetcher::new(MediaPolicy::default()).unwrap()),
        forward_image_urls: false,
    }
}
