//! The HTTP side: records every request, checks keys, routes by path suffix and plays
//! the scripted behaviour for chat completions.

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
use crate::openai::{self, Ctx};
use crate::script::{Behavior, Reply};
use crate::stream::{End, OpenGuard, paced_body};

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
    let app = Router::new().fallback(handle).with_state(shared);
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
    let accepted = {
        let mut script = shared.lock();
        script.requests.push(Recorded {
            method: parts.method.to_string(),
            path: path.clone(),
            headers,
            body: body.clone(),
            raw_body,
        });
        script.accepted_keys.clone()
    };
    if let Some(keys) = accepted
        && let Some(resp) = reject_key(&keys, &parts.headers)
    {
        return resp;
    }
    let route = path.trim_end_matches('/');
    if parts.method == Method::POST && route.ends_with("/chat/completions") {
        if !body.is_object() {
            let msg = "We could not parse the JSON body of your request. (HINT: This likely means \
                       you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                       payload, but what was sent was not valid JSON. If you have trouble figuring \
                       out how to fix this, please contact us through our help center at \
                       help.openai.com.)";
            return error_response(StatusCode::BAD_REQUEST, msg, None);
        }
        let behavior = {
            let mut script = shared.lock();
            let default = script.default.clone();
            script.queue.pop_front().unwrap_or(default)
        };
        return respond(&shared, Ctx::from_request(&body), behavior).await;
    }
    if parts.method == Method::GET && route.ends_with("/models") {
        return json_response(StatusCode::OK, &openai::models());
    }
    let msg = format!("Invalid URL ({} {path})", parts.method);
    error_response(StatusCode::NOT_FOUND, &msg, None)
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

fn error_response(status: StatusCode, message: &str, code: Option<&str>) -> Response {
    let body = openai::error(message, "invalid_request_error", None, code);
    json_response(status, &body)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    with_type(status, "application/json", Body::from(value.to_string()))
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(&openai::random_id("req_", 32)) {
        headers.insert("x-request-id", id);
    }
    resp
}

fn sse_response(body: Body) -> Response {
    let mut resp = with_type(StatusCode::OK, "text/event-stream", body);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Plays `behavior` for one chat request.
async fn respond(shared: &Shared, ctx: Ctx, mut behavior: Behavior) -> Response {
    loop {
        match behavior {
            Behavior::Delay { ms, then } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                behavior = *then;
            }
            Behavior::Reply(reply) => return full_reply(shared, &ctx, &reply),
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
            Behavior::GarbageStream => {
                return sse_response(Body::from("data: {not json\n\ndata: [DONE]\n\n"));
            }
            Behavior::CutAfter { events } => return partial(shared, &ctx, events, End::Cut),
            Behavior::StallAfter { events } => return partial(shared, &ctx, events, End::Stall),
        }
    }
}

fn full_reply(shared: &Shared, ctx: &Ctx, reply: &Reply) -> Response {
    if ctx.stream {
        let events = openai::stream_events(ctx, reply);
        let guard = OpenGuard::new(&shared.open);
        sse_response(paced_body(events, reply.chunk_delay_ms, End::Done, guard))
    } else {
        json_response(StatusCode::OK, &openai::completion(ctx, reply))
    }
}

/// The default reply, cut or stalled after `events` SSE events (or half the JSON body).
fn partial(shared: &Shared, ctx: &Ctx, events: usize, end: End) -> Response {
    let reply = match &shared.lock().default {
        Behavior::Reply(reply) => reply.clone(),
        _ => Reply::default(),
    };
    let guard = OpenGuard::new(&shared.open);
    if ctx.stream {
        let mut all = openai::stream_events(ctx, &reply);
        all.truncate(events.min(all.len().saturating_sub(1)));
        return sse_response(paced_body(all, reply.chunk_delay_ms, end, guard));
    }
    let full = Bytes::from(openai::completion(ctx, &reply).to_string());
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
