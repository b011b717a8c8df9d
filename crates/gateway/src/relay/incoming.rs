//! [`Incoming`]: what a client-facing handler starts from — the shared state, the request's metadata (id, client
//! IP, arrival; attached by [`crate::http::meta::attach`]) and its headers — taken from the request as one
//! extractor, so a handler's signature names besides only its own arguments (path, query, body).
//! (`chat::handle` and `models::list` keep the three extractors apart: the account playground calls them directly.)

use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::Extension;
use axum::extract::FromRequestParts;
use axum::extract::rejection::ExtensionRejection;
use http::HeaderMap;
use http::request::Parts;

/// The state, metadata and headers of one client request.
pub struct Incoming {
    pub state: AppState,
    pub meta: RequestMeta,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Incoming {
    /// Only when the metadata middleware did not run (a routing mistake): axum's 500.
    type Rejection = ExtensionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Extension(meta) = Extension::<RequestMeta>::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            meta,
            headers: parts.headers.clone(),
        })
    }
}
