//! The dashboard's playground: `POST /api/playground/chat/completions` and `GET /api/playground/models`, for a
//! logged-in user, through the very same relay as `/v1/...` (limits, billing, logs). The relay needs an API key,
//! so each user gets one named `playground` whose secret is derived from the session signing key and the user
//! id: it is recomputed on every call, never stored or shown, and is billed and logged like any of the user's
//! keys (its caps and models can be set on the keys page; deleting it only means a fresh one next time).

use super::guard::SessionUser;
use crate::admin::documented::{NotLoggedIn, SessionRefusals, TooLarge};
use crate::admin::schemas::{ErrorBody, ModelList};
use crate::auth::key_format;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::relay;
use crate::state::AppState;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use store::{ApiKeyPatch, NewApiKey, StoreError, User};

const KEY_NAME: &str = "playground";

/// The user's playground secret, creating (or re-pointing) the key when the catalog does not know it.
async fn playground_secret(state: &AppState, user: &User) -> Result<String, ApiError> {
    let secret = format!(
        "sk-{}",
        state
            .sessions
            .derive(&format!("playground:{}", user.id), 48)
    );
    if state
        .catalog
        .snapshot()
        .key_by_hash(&key_format::hash_bytes(&secret))
        .is_some()
    {
        return Ok(secret);
    }
    let hash = key_format::hash_key(&secret);
    let prefix = key_format::display_prefix(&secret);
    let created = state
        .store
        .create_key(&NewApiKey {
            user_id: user.id,
            name: KEY_NAME.to_owned(),
            key_hash: hash.clone(),
            prefix: prefix.clone(),
            enabled: true,
            ..NewApiKey::default()
        })
        .await;
    match created {
        Ok(_) => {}
        // A key of that name exists with another secret (the signing key changed): point it at this one.
        Err(StoreError::Conflict(_)) => {
            let (keys, _) = state.store.list_keys(Some(user.id), 1000, 0).await?;
            if let Some(existing) = keys.iter().find(|k| k.name == KEY_NAME) {
                state
                    .store
                    .update_key(
                        existing.id,
                        &ApiKeyPatch {
                            key_hash: Some((hash, prefix)),
                            ..ApiKeyPatch::default()
                        },
                    )
                    .await?;
            }
        }
        Err(e) => return Err(e.into()),
    }
    state.refresh_catalog().await;
    Ok(secret)
}

/// The request's headers with the playground key as its credential (the session cookie is not passed on).
async fn as_playground(
    state: &AppState,
    user: &User,
    mut headers: HeaderMap,
) -> Result<HeaderMap, ApiError> {
    let secret = playground_secret(state, user).await?;
    let value = HeaderValue::from_str(&format!("Bearer {secret}"))
        .map_err(|e| ApiError::Internal(format!("playground key header: {e}")))?;
    headers.insert(header::AUTHORIZATION, value);
    headers.remove(header::COOKIE);
    headers.remove("x-api-key");
    Ok(headers)
}

#[utoipa::path(
    post,
    path = "/playground/chat/completions",
    operation_id = "playground_chat",
    tag = "playground",
    request_body(content = serde_json::Value, description = "An OpenAI chat completion request, relayed as `POST /v1/chat/completions` with the user's `playground` key", content_type = "application/json"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The OpenAI chat completion, or its server-sent event stream with `stream: true`", content((serde_json::Value = "application/json"), (String = "text/event-stream"))),
        (status = 400, description = "Invalid request", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The admin token's session (no account), a missing `X-CSRF-Token`, or a model the key may not use", body = ErrorBody),
        (status = 404, description = "Unknown model", body = ErrorBody),
        TooLarge,
        (status = 429, description = "Rate limit or insufficient quota", body = ErrorBody),
        (status = 502, description = "The upstream failed", body = ErrorBody),
        (status = 503, description = "No channel serves the model", body = ErrorBody),
    )
)]
pub async fn chat(
    me: SessionUser,
    State(state): State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match as_playground(&state, &me.user, headers).await {
        Ok(headers) => relay::chat::handle(State(state), meta, headers, body).await,
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/playground/models",
    operation_id = "playground_models",
    tag = "playground",
    security(("session" = [])),
    responses(
        (status = 200, description = "The models the user's `playground` key may use", body = ModelList),
        SessionRefusals,
    )
)]
pub async fn models(
    me: SessionUser,
    State(state): State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
) -> Response {
    match as_playground(&state, &me.user, headers).await {
        Ok(headers) => relay::models::list(State(state), meta, http::Uri::default(), headers)
            .await
            .into_response(),
        Err(e) => e.into_response(),
    }
}
