//! In-process mock of the upstreams the gateway talks to, with scripted fault injection, for the gateway's
//! integration tests and benchmarks. One server answers, by path:
//!
//! - OpenAI: `POST …/chat/completions`, `GET …/models` (no request checks beyond a JSON body), the other JSON
//!   endpoints and audio uploads (`…/audio/transcriptions` as Whisper or gpt-4o-transcribe answer them);
//! - Anthropic: `POST …/v1/messages`, with the Messages API's rules enforced (auth, `anthropic-version`, required
//!   fields, unknown fields, role alternation, content blocks, images, tool use/result pairing, tools);
//! - Gemini: `POST …/v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`, with its rules
//!   enforced (`x-goog-api-key` and never `key=`, unknown proto fields, roles, parts, function turns, schemas);
//! - Azure: `POST …/openai/deployments/{deployment}/chat/completions?api-version=…` with an `api-key`;
//! - Bedrock: `POST …/model/{modelId}/invoke` and `…/invoke-with-response-stream`, SigV4 verified against the
//!   accepted `AK|SK|REGION` keys, Anthropic bodies as Bedrock takes them, streams in AWS event-stream frames;
//! - Realtime: `GET …/v1/realtime` and Azure's `…/openai/realtime` WebSockets (see the `realtime` module);
//! - midjourney-proxy: every `…/mj/…` path (submits, task fetch/list/seed, images), scripted with
//!   [`MockUpstream::push_mj`] and advancing over polls (see the `midjourney` module).
//!
//! A request breaking a rule is answered with that provider's own error (400, 401 or 403) and does not consume
//! the script; a conforming one plays the next [`Behavior`] in the provider's wire format.
//!
//! Besides, control endpoints under `/__mock/` (never recorded) let a test that runs the `mock-upstream` binary do
//! over HTTP what the handle does: `GET` / `DELETE /__mock/requests` (the recorded requests as JSON, forget them),
//! `POST` / `DELETE /__mock/script` (queue behaviours written as JSON, empty the queue); see the `control` module.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mock_upstream::{Behavior, MockUpstream, Reply};
//! let mock = MockUpstream::start().await?;
//! mock.push(Behavior::status(429, r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#));
//! mock.push(Behavior::Reply(Reply::text("hi").usage(3, 1)));
//! let url = format!("{}/v1/chat/completions", mock.base_url());
//! # let _ = url; Ok(()) }
//! ```

mod anthropic;
mod azure;
mod bedrock;
mod check;
mod control;
mod gemini;
mod midjourney;
mod openai;
mod providers;
mod realtime;
mod script;
mod server;
mod stream;
pub mod vertex;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use midjourney::MjOutcome;
pub use script::{Behavior, DEFAULT_TEXT, Reply};
use server::Shared;

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The raw query string without the `?` (empty if none), e.g. `api-version=2024-10-21`.
    pub query: String,
    /// Headers in arrival order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, `Null` if it is not JSON.
    pub body: serde_json::Value,
    /// The body as received.
    pub raw_body: Bytes,
}

impl Recorded {
    /// The request as `GET /__mock/requests` lists it: `{"method", "path", "query", "headers": [[name, value], …],
    /// "body"}`.
    pub fn to_json(&self) -> serde_json::Value {
        control::to_json(self)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The raw (not percent-decoded) value of the first query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        check::query_param(&self.query, name)
    }
}

#[derive(Debug)]
struct Inner {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

/// A running mock upstream; clones share the same server.
#[derive(Debug, Clone)]
pub struct MockUpstream {
    inner: Arc<Inner>,
}

impl MockUpstream {
    /// Starts a mock on a random loopback port, served by a tokio task.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock listening on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        shared.lock().mj.base_url = format!("http://{addr}");
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::serve(listener, Arc::clone(&shared), stopped));
        Ok(Self {
            inner: Arc::new(Inner { addr, shared, stop }),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash or `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Queues a behaviour for the next chat request (first in, first out).
    pub fn push(&self, behavior: Behavior) {
        self.inner.shared.lock().queue.push_back(behavior);
    }

    /// Sets the behaviour used when the queue is empty.
    pub fn set_default(&self, behavior: Behavior) {
        self.inner.shared.lock().default = behavior;
    }

    /// Every request received, in order, on all routes.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.shared.lock().requests.clone()
    }

    /// The events received on realtime WebSockets, in order (all sessions).
    pub fn realtime_events(&self) -> Vec<serde_json::Value> {
        let script = self.inner.shared.lock();
        let events = script.requests.iter().filter(|r| r.method == "WS");
        events.map(|r| r.body.clone()).collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.inner.shared.lock().requests.clear();
    }

    /// Empties the queue of scripted behaviours (the default behaviour stays).
    pub fn clear_script(&self) {
        self.inner.shared.lock().queue.clear();
    }

    /// Only the chat requests, in order, on every provider route: `POST …/chat/completions` (OpenAI, Azure),
    /// `…/v1/messages` (Anthropic), `…:generateContent` / `…:streamGenerateContent` (Gemini), `…/model/{id}/invoke…`
    /// (Bedrock), refused or not.
    pub fn chat_requests(&self) -> Vec<Recorded> {
        let script = self.inner.shared.lock();
        let is_chat = |r: &&Recorded| server::is_chat(&r.method, &r.path);
        script.requests.iter().filter(is_chat).cloned().collect()
    }

    /// `None` accepts any key; `Some(keys)` only listed keys, in each provider's own header:
    /// `Authorization: Bearer <k>` (OpenAI routes), `x-api-key` (Anthropic, 401 `authentication_error`),
    /// `x-goog-api-key` (Gemini, 400 "API key not valid" as the real API does), `api-key` (Azure, 401),
    /// a SigV4 signature by `ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION` (Bedrock, 403 `UnrecognizedClientException` for
    /// an unknown key id, `InvalidSignatureException` for a wrong secret; with `None`, any well-formed signature),
    /// `mj-api-secret` (midjourney-proxy, 401 with an empty body).
    pub fn set_accepted_keys(&self, keys: Option<Vec<String>>) {
        self.inner.shared.lock().accepted_keys = keys;
    }

    /// Queues the outcome of the next valid midjourney-proxy submit (first in, first out; default
    /// [`MjOutcome::Accept`]).
    pub fn push_mj(&self, outcome: MjOutcome) {
        self.inner.shared.lock().mj.outcomes.push_back(outcome);
    }

    /// How many polls (`fetch` / `list-by-condition` including the task) a task takes to reach `SUCCESS`
    /// (default 3: `SUBMITTED`, `IN_PROGRESS`, `SUCCESS`); 0 finishes tasks at submit.
    pub fn set_mj_polls_to_finish(&self, n: u32) {
        self.inner.shared.lock().mj.polls_to_finish = n;
    }

    /// `Some(url)`: every midjourney task reports `url` as its `imageUrl` (an upstream pointing at another host or
    /// at a non-image, e.g. `{base}/mj/images/x.svg`); `None` (default): its own PNG.
    pub fn set_mj_image_url(&self, url: Option<String>) {
        self.inner.shared.lock().mj.image_url = url;
    }

    /// Midjourney tasks held (every status, `MODAL` included).
    pub fn mj_task_count(&self) -> usize {
        self.inner.shared.lock().mj.tasks.len()
    }

    /// A midjourney task as `fetch` would answer it, without counting a poll.
    pub fn mj_task(&self, id: &str) -> Option<serde_json::Value> {
        self.inner
            .shared
            .lock()
            .mj
            .tasks
            .get(id)
            .map(midjourney::render)
    }

    /// Only the requests on midjourney-proxy paths (`…/mj/…`), in order.
    pub fn mj_requests(&self) -> Vec<Recorded> {
        let script = self.inner.shared.lock();
        let is_mj = |r: &&Recorded| midjourney::mj_route(&r.path).is_some();
        script.requests.iter().filter(is_mj).cloned().collect()
    }

    /// The duration (seconds) transcriptions and translations report from now on, whatever the upload; by default
    /// one second per 100 bytes of the file, less half a second.
    pub fn set_transcription_seconds(&self, seconds: f64) {
        self.inner.shared.lock().audio_seconds = Some(seconds);
    }

    /// Response bodies (streams and cut/stalled bodies) still being written.
    pub fn open_streams(&self) -> usize {
        self.inner.shared.open.load(Ordering::SeqCst)
    }

    /// Stops accepting connections; requests in flight go on.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }
}
