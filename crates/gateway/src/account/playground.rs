//! The dashboard's playground: `POST /api/playground/chat/completions` and `GET /api/playground/models`, for a
//! logged-in user, through the very same relay as `/v1/...` (limits, billing, logs). The relay needs an API key,
//! so each user gets one named `playground` whose secret is derived from the session signing key and the user
//! id: it is recomputed on every call, never stored or shown, and is billed and logged like any of the user's
//! keys (its caps and models can be set on the keys page; deleting it only means a fresh one next time).

use super::guard::SessionUser;
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

/// The playground's chat request, relayed through the chat route with the user's playground key (the session
/// cookie is not passed on).
pub(super) async fn chat(
    me: SessionUser,
    state: AppState,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match as_playground(&state, &me.user, headers).await {
        Ok(headers) => relay::chat::handle(State(state), meta, headers, body).await,
        Err(e) => e.into_response(),
    }
}

/// The model list as the user's playground key sees it.
pub(super) async fn models(
    me: SessionUser,
    state: AppState,
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
