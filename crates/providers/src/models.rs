//! Listing the models an upstream account offers, in each provider's own wire format, so an operator creating a
//! channel can pick from what the upstream really serves instead of typing names.
//! - OpenAI-compatible: `GET {base}/v1/models` → `{"data":[{"id"}]}` (Bearer);
//! - Anthropic: `GET {base}/v1/models` → the same shape (`x-api-key`, `anthropic-version`);
//! - Gemini: `GET {base}/v1beta/models` → `{"models":[{"name":"models/…"}]}` (`x-goog-api-key`);
//! - Azure: `GET {base}/openai/models?api-version=…` → `{"data":[{"id"}]}` (`api-key`).

use crate::context::UpstreamCtx;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::transport;
use api_types::ChannelKind;
use serde::Deserialize;

#[derive(Deserialize)]
struct DataList {
    data: Vec<IdEntry>,
}

#[derive(Deserialize)]
struct IdEntry {
    id: String,
}

#[derive(Deserialize)]
struct GeminiList {
    #[serde(default)]
    models: Vec<GeminiEntry>,
}

#[derive(Deserialize)]
struct GeminiEntry {
    name: String,
}

fn protocol(what: &str) -> UpstreamError {
    UpstreamError::new(
        UpstreamErrorKind::Protocol,
        format!("the upstream's model list is not {what}"),
    )
}

fn status_error(status: u16, body: &[u8]) -> UpstreamError {
    let mut e = crate::openai::error_from_body(status, body);
    if e.message.is_empty() {
        e.message = format!("the upstream answered {status}");
    }
    e
}

/// The model ids the upstream lists, sorted and without duplicates. Midjourney and Vertex have no model list.
pub async fn list_models(
    ctx: &UpstreamCtx,
    kind: ChannelKind,
) -> Result<Vec<String>, UpstreamError> {
    let client = &ctx.client;
    let req = match kind {
        ChannelKind::OpenAi => client.get(ctx.url("/v1/models")).bearer_auth(&ctx.api_key),
        ChannelKind::Anthropic => client
            .get(ctx.url("/v1/models"))
            .header("x-api-key", &ctx.api_key)
            .header("anthropic-version", "2023-06-01"),
        ChannelKind::Gemini => {
            let base = ctx.base_url.trim_end_matches('/');
            let base = base.strip_suffix("/v1beta").unwrap_or(base);
            client
                .get(format!("{base}/v1beta/models?pageSize=1000"))
                .header("x-goog-api-key", &ctx.api_key)
        }
        ChannelKind::Azure => {
            let version = ctx.api_version.as_deref().unwrap_or("2024-10-21");
            client
                .get(format!(
                    "{}/openai/models?api-version={version}",
                    ctx.base_url.trim_end_matches('/')
                ))
                .header("api-key", &ctx.api_key)
        }
        ChannelKind::Bedrock => {
            // The model list is Bedrock's control plane (`bedrock.{region}`), not the runtime a channel names.
            return Err(UpstreamError::new(
                UpstreamErrorKind::InvalidInput,
                "bedrock channels have no model list here; name the Bedrock model ids in `model_mapping`",
            ));
        }
        ChannelKind::Midjourney => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::InvalidInput,
                "midjourney channels have no model list; their models are the actions (mj_imagine, …)",
            ));
        }
        ChannelKind::Vertex => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::InvalidInput,
                "vertex channels have no model list to fetch; list the publishers' model ids (claude-…@…, gemini-…)",
            ));
        }
    };
    let resp = transport::send_checked(ctx, req, status_error).await?;
    let body = transport::read_body(ctx, resp, 8 * 1024 * 1024).await?;
    let mut ids: Vec<String> = if kind == ChannelKind::Gemini {
        serde_json::from_slice::<GeminiList>(&body)
            .map_err(|_| protocol("a Gemini models list"))?
            .models
            .into_iter()
            .map(|m| m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned())
            .collect()
    } else {
        serde_json::from_slice::<DataList>(&body)
            .map_err(|_| protocol("an OpenAI-style `data` list"))?
            .data
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    ids.sort();
    ids.dedup();
    Ok(ids)
}
