//! `GET /v1/models` and `GET /v1/models/{id}`: exactly the models this key may use (its group's channels, its own
//! model list, and a price being set). Google's clients (a key in `x-goog-api-key` or `?key=`, as new-api tells
//! them apart) and `GET /v1beta/models[/{model}]` get the same list in the Gemini API's shape, errors in Google's.

use super::gemini::{GoogleQuery, caller, google_error, speaks_google};
use crate::auth::authenticate::{Caller, authenticate};
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use api_types::{ModelList, ModelObject};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::{HeaderMap, Uri};
use serde_json::{Value, json};

fn usable(snap: &Snapshot, caller: &Caller) -> Vec<ModelObject> {
    snap.models_for_group(&caller.user.group)
        .into_iter()
        .filter(|(m, _)| caller.may_use(m) && snap.price(m).is_some())
        .map(|(m, c)| {
            ModelObject::new(m, c.channel.created_at.timestamp(), c.channel.kind.as_str())
        })
        .collect()
}

/// A model as the Gemini API describes one.
fn google_model(m: &ModelObject) -> Value {
    json!({
        "name": format!("models/{}", m.id),
        "baseModelId": m.id,
        "displayName": m.id,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}

/// The models the caller may use, or the refusal in the caller's protocol.
fn caller_models(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    uri: &Uri,
    google: bool,
) -> Result<Vec<ModelObject>, Response> {
    let snap = state.catalog.snapshot();
    let failures = &state.auth_failures;
    if !google {
        let caller = authenticate(failures, &snap, headers, meta.client_ip);
        return caller
            .map(|c| usable(&snap, &c))
            .map_err(IntoResponse::into_response);
    }
    let query = GoogleQuery::of(uri).map_err(|e| google_error(&e))?;
    let caller = caller(query.key.as_deref())(failures, &snap, headers, meta.client_ip);
    caller
        .map(|c| usable(&snap, &c))
        .map_err(|e| google_error(&e))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let google = speaks_google(&headers, &uri) || uri.path().starts_with("/v1beta/");
    match caller_models(&state, &meta, &headers, &uri, google) {
        Ok(models) if google => {
            Json(json!({"models": models.iter().map(google_model).collect::<Vec<_>>()}))
                .into_response()
        }
        Ok(models) => Json(ModelList::new(models)).into_response(),
        Err(refusal) => refusal,
    }
}

pub async fn retrieve(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let google = speaks_google(&headers, &uri) || uri.path().starts_with("/v1beta/");
    let id = if google {
        id.strip_prefix("models/").unwrap_or(&id).to_owned()
    } else {
        id
    };
    let models = match caller_models(&state, &meta, &headers, &uri, google) {
        Ok(models) => models,
        Err(refusal) => return refusal,
    };
    match models.into_iter().find(|m| m.id == id) {
        Some(m) if google => Json(google_model(&m)).into_response(),
        Some(m) => Json(m).into_response(),
        None if google => google_error(&ApiError::ModelNotFound { model: id }),
        None => ApiError::ModelNotFound { model: id }.into_response(),
    }
}
