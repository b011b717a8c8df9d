//! In-process mock of an OpenAI-compatible upstream with scripted fault injection,
//! for the gateway's integration tests and benchmarks.
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

mod openai;
mod script;
mod server;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use script::{Behavior, DEFAULT_TEXT, Reply};
use server::Shared;

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Headers in arrival order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, `Null` if it is not JSON.
    pub body: serde_json::Value,
    /// The body as received.
    pub raw_body: Bytes,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

    /// Only the `POST …/chat/completions` requests, in order.
    pub fn chat_requests(&self) -> Vec<Recorded> {
        let script = self.inner.shared.lock();
        let is_chat = |r: &&Recorded| {
            r.method == "POST" && r.path.trim_end_matches('/').ends_with("/chat/completions")
        };
        script.requests.iter().filter(is_chat).cloned().collect()
    }

    /// `None` accepts any key; `Some(keys)` only `Authorization: Bearer <k>` for listed keys.
    pub fn set_accepted_keys(&self, keys: Option<Vec<String>>) {
        self.inner.shared.lock().accepted_keys = keys;
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
