//! `GET /v1/models` and `GET /v1/models/{id}`: exactly the models this key may use (its group's channels, its own
//! model list, and a price being set).

use crate::auth::authenticate::{Caller, authenticate};
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use api_types::{ModelList, ModelObject};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::HeaderMap;

fn usable(snap: &Snapshot, caller: &Caller) -> Vec<ModelObject> {
    snap.models_for_group(&caller.user.group)
        .into_iter()
        .filter(|(m, _)| caller.may_use(m) && snap.price(m).is_some())
        .map(|(m, c)| {
            ModelObject::new(m, c.channel.created_at.timestamp(), c.channel.kind.as_str())
        })
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
) -> Response {
    let snap = state.catalog.snapshot();
    match authenticate(&state.auth_failures, &snap, &headers, meta.client_ip) {
        Ok(caller) => Json(ModelList::new(usable(&snap, &caller))).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn retrieve(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let snap = state.catalog.snapshot();
    let caller = match authenticate(&state.auth_failures, &snap, &headers, meta.client_ip) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match usable(&snap, &caller).into_iter().find(|m| m.id == id) {
        Some(m) => Json(m).into_response(),
        None => ApiError::ModelNotFound { model: id }.into_response(),
    }
}
