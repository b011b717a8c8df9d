//! `:countTokens`, answered by the gateway itself with the tokenizer it bills by when an upstream reports no usage:
//! no upstream is called and nothing is billed or logged. The caller still needs a key that may use the model (the
//! same refusals as generation, in the same order), and each call counts against the key's requests per minute;
//! the count runs on the blocking pool, as many at once as there are cores, so a flood of large bodies never
//! stalls other requests.

use super::request::{field, to_openai};
use super::{google_error, json_response};
use crate::auth::authenticate::Caller;
use crate::auth::failures::AuthFailureLimiter;
use crate::auth::rate_limits;
use crate::billing::tokenizer;
use crate::catalog::Snapshot;
use crate::error::ApiError;
use crate::http::body::parse_object;
use crate::http::meta::RequestMeta;
use crate::relay::admission::model_permitted;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Token counts running on the blocking pool.
static COUNTING: OnceLock<Semaphore> = OnceLock::new();

pub async fn tokens(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    body: Body,
    check: impl FnOnce(&AuthFailureLimiter, &Snapshot, &HeaderMap, IpAddr) -> Result<Caller, ApiError>,
    model: &str,
) -> Response {
    let counted = async {
        let snap = state.catalog.snapshot();
        let caller = check(&state.auth_failures, &snap, headers, meta.client_ip)?;
        let group = caller.user.group.as_str();
        model_permitted(&snap, &caller, model, snap.price(model).cloned(), false)?;
        rate_limits::admit(&state.shared, &snap, &caller.key.key, group, 0).await?;
        let bytes = state.read_body(headers, body).await?;
        let body = parse_object(&bytes)?;
        // The REST API also takes the whole generation request, whose contents, system instruction and tools count.
        let request = match field(&body, "generateContentRequest") {
            Some(Value::Object(r)) => r,
            _ => &body,
        };
        let chat = to_openai(request, model, false)?;
        let model = model.to_owned();
        // As many counts at once as the machine has cores: a flood of large bodies queues here.
        let _turn = COUNTING
            .get_or_init(|| {
                Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
            })
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("token count failed: {e}")))?;
        tokio::task::spawn_blocking(move || tokenizer::count_prompt(&model, &chat))
            .await
            .map_err(|e| ApiError::Internal(format!("token count failed: {e}")))
    };
    match counted.await {
        Ok(n) => json_response(json!({"totalTokens": n}).to_string()),
        Err(e) => google_error(&e),
    }
}
