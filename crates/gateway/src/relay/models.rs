//! `GET /v1/models` and `GET /v1/models/{id}`: exactly the models this key may use (its group's channels, its own
//! model list, and a price being set). Google's clients (a key in `x-goog-api-key` or `?key=`, as new-api tells
//! them apart) and `GET /v1beta/models[/{model}]` get the same list in the Gemini API's shape, errors in Google's.

use super::gemini::{GoogleQuery, caller, speaks_google};
use super::incoming::Incoming;
use crate::auth::authenticate::{Caller, authenticate};
use crate::catalog::Snapshot;
use crate::error::{ApiError, ErrorShape};
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
    shape: ErrorShape,
) -> Result<Vec<ModelObject>, ApiError> {
    let snap = state.catalog.snapshot();
    let failures = &state.auth_failures;
    let caller = if shape == ErrorShape::Google {
        let query = GoogleQuery::of(uri)?;
        caller(query.key.as_deref())(failures, &snap, headers, meta.client_ip)?
    } else {
        authenticate(failures, &snap, headers, meta.client_ip)?
    };
    Ok(usable(&snap, &caller))
}

/// Google's shape for Google's clients and the `/v1beta` paths, else OpenAI's.
fn shape_for(headers: &HeaderMap, uri: &Uri) -> ErrorShape {
    if speaks_google(headers, uri) || uri.path().starts_with("/v1beta/") {
        ErrorShape::Google
    } else {
        ErrorShape::OpenAi
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let shape = shape_for(&headers, &uri);
    match caller_models(&state, &meta, &headers, &uri, shape) {
        Ok(models) if shape == ErrorShape::Google => {
            Json(json!({"models": models.iter().map(google_model).collect::<Vec<_>>()}))
                .into_response()
        }
        Ok(models) => Json(ModelList::new(models)).into_response(),
        Err(e) => e.render(shape),
    }
}

pub async fn retrieve(incoming: Incoming, Path(id): Path<String>, uri: Uri) -> Response {
    let Incoming { state, meta, .. } = &incoming;
    let shape = shape_for(&incoming.headers, &uri);
    let google = shape == ErrorShape::Google;
    let id = if google {
        id.strip_prefix("models/").unwrap_or(&id).to_owned()
    } else {
        id
    };
    let found = caller_models(state, meta, &incoming.headers, &uri, shape).and_then(|models| {
        let found = models.into_iter().find(|m| m.id == id);
        found.ok_or(ApiError::ModelNotFound { model: id })
    });
    match found {
        Ok(m) if google => Json(google_model(&m)).into_response(),
        Ok(m) => Json(m).into_response(),
        Err(e) => e.render(shape),
    }
}
