//! `POST /api/admin/channels/fetch-models {kind, base_url, key | channel_id, api_version?}`: the models the
//! upstream account lists, for filling a channel's `models` from what it really serves. With `channel_id` the
//! stored channel's settings and first key are used (the key never travels back to the browser).

use super::extract::{List, bad};
use crate::error::ApiError;
use crate::routing::upstream::upstream_ctx;
use crate::state::AppState;
use api_types::ChannelKind;
use axum::Json;
use providers::UpstreamCtx;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchModelsInput {
    kind: Option<String>,
    base_url: Option<String>,
    key: Option<String>,
    api_version: Option<String>,
    channel_id: Option<i64>,
}

fn ctx_for_input(
    state: &AppState,
    input: FetchModelsInput,
) -> Result<(UpstreamCtx, ChannelKind), ApiError> {
    let kind_text = input
        .kind
        .ok_or_else(|| bad("kind", "`kind` is required (or give `channel_id`)."))?;
    let kind = ChannelKind::from_str(&kind_text)
        .map_err(|_| bad("kind", format!("Unknown channel kind `{kind_text}`.")))?;
    let base_url = input
        .base_url
        .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
        .ok_or_else(|| bad("base_url", "`base_url` must be an http(s) URL."))?;
    let key = input
        .key
        .map(|k| k.lines().next().unwrap_or_default().trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| bad("key", "`key` is required (the first line is used)."))?;
    Ok((
        UpstreamCtx {
            client: state.upstream.clone(),
            base_url,
            api_key: key,
            api_version: input.api_version,
            region: None,
            extra_headers: BTreeMap::new(),
            first_byte_timeout: state.settings.upstream_first_byte_timeout,
            idle_timeout: state.settings.upstream_idle_timeout,
            media: providers::media::MediaCache::new(state.media.clone()),
            forward_image_urls: false,
        },
        kind,
    ))
}

/// The model ids an upstream account lists: a stored channel's (`channel_id`) or one described in full.
pub(super) async fn fetch(
    state: &AppState,
    input: FetchModelsInput,
) -> Result<Json<List<String>>, ApiError> {
    let (ctx, kind) = match input.channel_id {
        Some(id) => {
            let snap = state.catalog.snapshot();
            let entry = snap.channel(id).ok_or_else(|| ApiError::NotFound {
                what: format!("Channel {id}"),
            })?;
            let key = entry
                .channel
                .keys
                .first()
                .ok_or_else(|| bad("channel_id", format!("Channel {id} has no keys.")))?;
            (upstream_ctx(state, entry, key), entry.channel.kind)
        }
        None => ctx_for_input(state, input)?,
    };
    let models = providers::models::list_models(&ctx, kind)
        .await
        .map_err(ApiError::Upstream)?;
    Ok(Json(List::all(models)))
}
