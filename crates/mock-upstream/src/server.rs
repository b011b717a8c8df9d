//! The HTTP side: serves the control endpoints (`/__mock/…`, see `control`), records every other request, routes by
//! path (OpenAI, Anthropic, Gemini, Azure, Bedrock, midjourney-proxy), checks each provider's auth and request rules, and
//! plays the scripted behaviour for chat requests.

use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use bytes::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Recorded;
use crate::control;
use crate::midjourney::{self, MjState};
use crate::openai::{self, Ctx};
use crate::providers;
use crate::script::{Behavior, Reply};
use crate::stream::{End, OpenGuard, paced_body};
use crate::wire::Wire;
use crate::{bedrock, gemini};

/// Largest request body the mock reads.
const BODY_LIMIT: usize = 64 << 20;

/// State shared by the handle and the server task.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub script: Mutex<Script>,
    pub open: Arc<AtomicUsize>,
}

/// Mutable script and journal.
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub queue: VecDeque<Behavior>,
    pub default: Behavior,
    pub requests: Vec<Recorded>,
    pub accepted_keys: Option<Vec<String>>,
    pub mj: MjState,
    /// The duration transcriptions report, when a test set one.
    pub audio_seconds: Option<f64>,
    /// Vertex access tokens issued by the token endpoint.
    pub vertex_tokens: Vec<String>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves `shared` on `listener` until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("mock-upstream: set_nodelay failed: {err}");
        }
    });
    let app = Router::new()
        .route("/v1/realtime", axum::routing::get(crate::realtime::upgrade))
        .route(
            "/openai/realtime",
            axum::routing::get(crate::realtime::upgrade),
        )
        .fallback(handle)
        .with_state(shared);
    let signal = async move {
        // An error means the handle is gone: stop as well.
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await
    {
        tracing::warn!("mock-upstream: server stopped: {err}");
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let raw_body = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    if let Some(resp) = control::handle(&shared, &parts.method, parts.uri.path(), &raw_body) {
        return resp;
    }
    let raw = raw_body.clone();
    let body: Value = serde_json::from_slice(&raw_body).unwrap_or(Value::Null);
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let accepted = {
        let mut script = shared.lock();
        script.requests.push(Recorded {
            method: parts.method.to_string(),
            path: path.clone(),
            query: query.clone(),
            headers,
            body: body.clone(),
            raw_body,
        });
        script.accepted_keys.clone()
    };
    let route = path.trim_end_matches('/');
    let req = providers::Incoming {
        headers: &parts.headers,
        query: &query,
        accepted: accepted.as_deref(),
        body: &body,
    };
    if let Some(mj_route) = midjourney::mj_route(route) {
        return midjourney::handle(&shared, &parts.method, mj_route, &parts.headers, &body);
    }
    if parts.method == Method::POST
        && let Some(resp) =
            providers::provider_route(&shared, &req, route, parts.uri.path(), &raw).await
    {
        return resp;
    }
    if let Some(keys) = accepted
        && let Some(resp) = reject_key(&keys, &parts.headers)
    {
        return resp;
    }
    if parts.method == Method::POST && route.ends_with("/chat/completions") {
        if !body.is_object() {
            let msg = "We could not parse the JSON body of your request. (HINT: This likely means \
                       you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                       payload, but what was sent was not valid JSON. If you have trouble figuring \
                       out how to fix this, please contact us through our help center at \
                       help.openai.com.)";
            return error_response(StatusCode::BAD_REQUEST, msg, None);
        }
        let wire = Wire::OpenAi(Ctx::from_request(&body));
        return respond(&shared, wire, next_behavior(&shared)).await;
    }
    if parts.method == Method::POST
        && route.ends_with("/v1/responses")
        && body.get("stream").and_then(Value::as_bool) == Some(true)
    {
        return responses_stream_route(&shared, &body);
    }
    if parts.method == Method::POST
        && (route.ends_with("/audio/transcriptions") || route.ends_with("/audio/translations"))
    {
        return transcription_route(&shared, &parts.headers, route, &raw);
    }
    if parts.method == Method::POST
        && (route.ends_with("/images/edits") || route.ends_with("/images/variations"))
    {
        return image_upload_route(&shared, &parts.headers, route, &raw);
    }
    if parts.method == Method::POST && route.ends_with("/audio/speech") {
        if let Some(failure) = scripted_status(&shared) {
            return failure;
        }
        return match openai::speech(&body) {
            Ok((content_type, audio)) => with_type(StatusCode::OK, content_type, Body::from(audio)),
            Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
        };
    }
    if parts.method == Method::POST && route.ends_with("/v1/completions") {
        return legacy_completion_route(&shared, &body);
    }
    if parts.method == Method::POST
        && let Some(answer) = json_endpoint(route)
    {
        return json_endpoint_route(&shared, &body, answer);
    }
    if parts.method == Method::GET && route.ends_with("/models") {
        return json_response(StatusCode::OK, &openai::models());
    }
    let msg = format!("Invalid URL ({} {path})", parts.method);
    error_response(StatusCode::NOT_FOUND, &msg, None)
}

/// `POST …/audio/transcriptions` and `…/audio/translations`: the multipart form answered in the format it asks for.
fn transcription_route(shared: &Shared, headers: &HeaderMap, route: &str, raw: &[u8]) -> Response {
    if let Some(failure) = scripted_status(shared) {
        return failure;
    }
    let content_type = content_type(headers);
    let translate = route.ends_with("/audio/translations");
    let seconds = shared.lock().audio_seconds;
    match openai::transcription(raw, content_type, translate, seconds) {
        Ok((answer_type, answer)) => with_type(StatusCode::OK, answer_type, Body::from(answer)),
        Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
    }
}

/// The request's `Content-Type` (empty when absent or not text).
fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// `POST …/images/edits` and `…/images/variations`: the multipart form answered with its images.
fn image_upload_route(shared: &Shared, headers: &HeaderMap, route: &str, raw: &[u8]) -> Response {
    if let Some(failure) = scripted_status(shared) {
        return failure;
    }
    match openai::image_upload(raw, content_type(headers), route.ends_with("/images/edits")) {
        Ok(answer) => json_response(StatusCode::OK, &answer),
        Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
    }
}

/// The OpenAI JSON endpoint (beyond chat) a POST to `route` asks for.
fn json_endpoint(route: &str) -> Option<JsonEndpoint> {
    let table: [(&str, JsonEndpoint); 5] = [
        ("/embeddings", openai::embeddings),
        ("/moderations", openai::moderations),
        ("/rerank", openai::rerank),
        ("/images/generations", openai::image_generations),
        ("/v1/responses", openai::responses),
    ];
    table
        .into_iter()
        .find_map(|(suffix, answer)| route.ends_with(suffix).then_some(answer))
}

/// A scripted `Status` at the head of the queue, taken off it and answered (how tests make the endpoints beyond
/// chat fail); any other behaviour stays for chat.
fn scripted_status(shared: &Shared) -> Option<Response> {
    let mut script = shared.lock();
    if !matches!(script.queue.front(), Some(Behavior::Status { .. })) {
        return None;
    }
    let Some(Behavior::Status { status, body }) = script.queue.pop_front() else {
        return None;
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(with_type(status, "application/json", Body::from(body)))
}

/// `POST /v1/responses` with `stream: true`: named events (`event:` + `data:`), no `[DONE]`.
fn responses_stream_route(shared: &Shared, body: &Value) -> Response {
    if let Some(failure) = scripted_status(shared) {
        return failure;
    }
    match openai::responses_events(body) {
        Ok(events) => {
            let mut sse = String::new();
            for (name, data) in events {
                sse.push_str(&format!("event: {name}\ndata: {data}\n\n"));
            }
            sse_response(Body::from(sse))
        }
        Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
    }
}

/// `POST /v1/completions` (legacy): a scripted `Status` first (as for the JSON endpoints), else plain or SSE.
fn legacy_completion_route(shared: &Shared, body: &Value) -> Response {
    if let Some(failure) = scripted_status(shared) {
        return failure;
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    match openai::legacy_completion(body) {
        Ok(mut payloads) if !stream => json_response(StatusCode::OK, &payloads.remove(0)),
        Ok(payloads) => {
            let mut sse = String::new();
            for p in payloads {
                sse.push_str(&format!("data: {p}\n\n"));
            }
            sse.push_str("data: [DONE]\n\n");
            sse_response(Body::from(sse))
        }
        Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
    }
}

/// Computes a JSON endpoint's answer from the request body (`Err`: OpenAI's 400 message).
type JsonEndpoint = fn(&Value) -> Result<Value, String>;

/// `POST …/embeddings`, `…/moderations`, `…/rerank`: a scripted `Status` at the head of the queue answers it (to
/// test failures), anything else is left for chat and the answer is computed.
fn json_endpoint_route(shared: &Shared, body: &Value, answer: JsonEndpoint) -> Response {
    if let Some(failure) = scripted_status(shared) {
        return failure;
    }
    match answer(body) {
        Ok(answer) => json_response(StatusCode::OK, &answer),
        Err(msg) => error_response(StatusCode::BAD_REQUEST, &msg, None),
    }
}

/// Whether a request is a chat request on any provider route (what [`crate::MockUpstream::chat_requests`] keeps).
pub(crate) fn is_chat(method: &str, path: &str) -> bool {
    let route = path.trim_end_matches('/');
    method == "POST"
        && (route.ends_with("/chat/completions")
            || route.ends_with("/v1/messages")
            || gemini::parse_path(route).is_some()
            || bedrock::parse_path(route).is_some())
}

/// The next scripted behaviour (the queue first, then the default).
pub(crate) fn next_behavior(shared: &Shared) -> Behavior {
    let mut script = shared.lock();
    let default = script.default.clone();
    script.queue.pop_front().unwrap_or(default)
}

/// The 401 answer when the request's bearer key is not in `keys`.
fn reject_key(keys: &[String], headers: &HeaderMap) -> Option<Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(key) = auth.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim) else {
        let msg = "You didn't provide an API key. You need to provide your API key in an \
                   Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), \
                   or as the password field (with blank username) if you're accessing the API \
                   from your browser and are prompted for a username and password. You can \
                   obtain an API key from https://platform.openai.com/account/api-keys.";
        return Some(error_response(StatusCode::UNAUTHORIZED, msg, None));
    };
    if keys.iter().any(|k| k == key) {
        return None;
    }
    let msg = format!(
        "Incorrect API key provided: {}. You can find your API key at \
         https://platform.openai.com/account/api-keys.",
        openai::mask_key(key)
    );
    Some(error_response(
        StatusCode::UNAUTHORIZED,
        &msg,
        Some("invalid_api_key"),
    ))
}

pub(crate) fn error_response(status: StatusCode, message: &str, code: Option<&str>) -> Response {
    let body = openai::error(message, "invalid_request_error", None, code);
    json_response(status, &body)
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    with_type(status, "application/json", Body::from(value.to_string()))
}

pub(crate) fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(&openai::random_id("req_", 32)) {
        headers.insert("x-request-id", id);
    }
    resp
}

pub(crate) fn sse_response(body: Body) -> Response {
    let mut resp = with_type(StatusCode::OK, "text/event-stream", body);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Plays `behavior` for one chat request.
pub(crate) async fn respond(shared: &Shared, wire: Wire, mut behavior: Behavior) -> Response {
    loop {
        match behavior {
            Behavior::Delay { ms, then } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                behavior = *then;
            }
            Behavior::Reply(reply) => return full_reply(shared, &wire, &reply),
            Behavior::Status { status, body } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return with_type(status, "application/json", Body::from(body));
            }
            Behavior::Hang => return std::future::pending().await,
            Behavior::NonJson => {
                let body = Body::from("<html>502 Bad Gateway</html>");
                return with_type(StatusCode::OK, "text/html", body);
            }
            Behavior::GarbageStream if matches!(wire, Wire::Bedrock(_)) => {
                return stream_response(&wire, Body::from(wire.garbage()));
            }
            Behavior::GarbageStream => return sse_response(Body::from(wire.garbage())),
            Behavior::CutAfter { events } => return partial(shared, &wire, events, End::Cut),
            Behavior::StallAfter { events } => return partial(shared, &wire, events, End::Stall),
            Behavior::ErrorEventAfter { events, body } => {
                return error_after(shared, &wire, events, body);
            }
        }
    }
}

fn stream_response(wire: &Wire, body: Body) -> Response {
    let mut resp = with_type(StatusCode::OK, wire.stream_type(), body);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn full_reply(shared: &Shared, wire: &Wire, reply: &Reply) -> Response {
    if wire.stream() {
        let events = wire.events(reply);
        let guard = OpenGuard::new(&shared.open);
        stream_response(
            wire,
            paced_body(events, reply.chunk_delay_ms, End::Done, guard),
        )
    } else {
        json_response(StatusCode::OK, &wire.body(reply))
    }
}

/// The default reply, cut or stalled after `events` stream events (or half the JSON body).
/// The first `events` events of the default reply, then `body` as one more `data:` event.
fn error_after(shared: &Shared, wire: &Wire, events: usize, body: String) -> Response {
    if !wire.stream() {
        return with_type(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/json",
            Body::from(body),
        );
    }
    let reply = match &shared.lock().default {
        Behavior::Reply(reply) => reply.clone(),
        _ => Reply::default(),
    };
    let mut all = wire.events(&reply);
    all.truncate(events.min(all.len().saturating_sub(1)));
    all.push(wire.error_event(&body));
    let guard = OpenGuard::new(&shared.open);
    stream_response(
        wire,
        paced_body(all, reply.chunk_delay_ms, End::Done, guard),
    )
}

fn partial(shared: &Shared, wire: &Wire, events: usize, end: End) -> Response {
    let reply = match &shared.lock().default {
        Behavior::Reply(reply) => reply.clone(),
        _ => Reply::default(),
    };
    let guard = OpenGuard::new(&shared.open);
    if wire.stream() {
        let mut all = wire.events(&reply);
        all.truncate(events.min(all.len().saturating_sub(1)));
        return stream_response(wire, paced_body(all, reply.chunk_delay_ms, end, guard));
    }
    let full = Bytes::from(wire.body(&reply).to_string());
    let half = full.slice(..full.len() / 2);
    let mut resp = with_type(
        StatusCode::OK,
        "application/json",
        paced_body(vec![half], 0, end, guard),
    );
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    resp
}
