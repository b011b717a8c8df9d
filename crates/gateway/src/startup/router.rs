//! Every route in one place. Layers, outermost first: request metadata (id on every response), then CORS (so even
//! errors and streams carry `Access-Control-Allow-Origin`, and preflights are answered before routing).

use crate::error::ApiError;
use crate::http::client_addr::TrustedProxies;
use crate::http::dashboard;
use crate::http::meta::{self, RequestMeta};
use crate::relay;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{HeaderName, Method};
use std::time::Duration;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

pub fn build_app(state: AppState) -> Router {
    let proxies = TrustedProxies::new(state.settings.trusted_proxies.clone());
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(86_400));
    Router::new()
        .route("/", get(dashboard::index))
        .route("/assets/{*path}", get(dashboard::asset))
        .route("/healthz", get(crate::observe::healthz))
        .route("/readyz", get(super::probes::readyz))
        .route("/metrics", get(super::probes::metrics))
        .route("/v1/chat/completions", post(relay::chat::handle))
        .route("/v1/messages", post(relay::messages::handle))
        .merge(relay::endpoints::routes())
        .route("/v1/realtime", get(relay::realtime::handle))
        .route("/v1/models", get(relay::models::list))
        .merge(relay::billing_compat::routes())
        .route(
            "/v1/models/{*id}",
            get(relay::models::retrieve).post(relay::gemini::handle),
        )
        .route("/v1beta/models", get(relay::models::list))
        .route(
            "/v1beta/models/{*target}",
            get(relay::models::retrieve).post(relay::gemini::handle),
        )
        .merge(crate::openapi::routes())
        .merge(crate::midjourney::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(proxies, meta::attach))
}

/// OpenAI API resources Tollgate does not relay: a client calling them gets 501, so it can tell "this gateway does
/// not offer it" from a typo (404).
const NOT_RELAYED: [&str; 17] = [
    "/v1/files",
    "/v1/fine_tuning",
    "/v1/fine-tunes",
    "/v1/batches",
    "/v1/assistants",
    "/v1/threads",
    "/v1/vector_stores",
    "/v1/uploads",
    "/v1/evals",
    "/v1/containers",
    "/v1/conversations",
    "/v1/organization",
    "/v1/videos",
    "/v1/responses/",
    "/v1/images",
    "/v1/audio",
    "/v1/chat/completions/",
];

fn not_relayed(path: &str) -> bool {
    NOT_RELAYED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || p.ends_with('/'))
    })
}

/// Unknown routes get a 404 in the OpenAI shape (501 for OpenAI resources not relayed), and a (folded) log row.
async fn unknown_route(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_owned();
    let err = if not_relayed(&path) {
        ApiError::NotImplemented {
            path,
            api: "OpenAI",
        }
    } else {
        ApiError::RouteNotFound {
            method: req.method().to_string(),
            path,
        }
    };
    refuse(state, meta, req.method() == Method::OPTIONS, err).await
}

/// A known route called with the wrong method gets a 405 in the OpenAI shape, and a (folded) log row.
async fn wrong_method(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    req: Request,
) -> Response {
    let err = ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    };
    refuse(state, meta, req.method() == Method::OPTIONS, err).await
}

async fn refuse(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    preflight: bool,
    err: ApiError,
) -> Response {
    if !preflight {
        let mut row = relay::log::draft(&meta, false);
        relay::log::fail(&mut row, &meta, &err);
        state.logs.push_refusal(row).await;
    }
    err.into_response()
}
