//! The context of one upstream call: the channel's base URL, version and headers, the key's secret, the timeouts
//! and the pooled HTTP client — built here for the relay, the probes, model-list fetches and Midjourney alike.

use crate::catalog::ChannelEntry;
use crate::state::AppState;
use providers::UpstreamCtx;
use store::ChannelKey;

/// The context of one call to `channel` with `key`. Its image cache is fresh: a request that fails over replaces it
/// with the one cache it shares across attempts.
pub fn upstream_ctx(state: &AppState, channel: &ChannelEntry, key: &ChannelKey) -> UpstreamCtx {
    UpstreamCtx {
        client: state.upstream.clone(),
        base_url: channel.channel.base_url.clone(),
        api_key: key.secret.clone(),
        api_version: channel.channel.api_version.clone(),
        region: channel.channel.region.clone(),
        extra_headers: channel.channel.headers.clone(),
        first_byte_timeout: state.settings.upstream_first_byte_timeout,
        idle_timeout: state.settings.upstream_idle_timeout,
        media: providers::media::MediaCache::new(state.media.clone()),
        forward_image_urls: channel.channel.forward_image_urls,
    }
}
