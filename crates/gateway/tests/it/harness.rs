//! Starting a gateway against mock upstreams, and small helpers to call it and read its store.

use gateway::config::{FileConfig, Settings, SettingsArgs};
use gateway::startup::{self, Running};
use gateway::state::AppState;
use mock_upstream::MockUpstream;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use store::{LogFilter, LogRow};
use tokio::sync::oneshot;

pub const KEY: &str = "sk-alice000000000000000000000000000000000000000000001";
pub const ADMIN: &str = "admin-secret";

// Deployment TOML is built from the entry macros below (each expands to a string literal, so `concat!` joins them
// into a `const`); what no macro covers is written out as TOML.

/// A `[[channels]]` entry: name, kind, the mock it points at (`0` for `{MOCK0}`), its one upstream key, its models
/// (`["gpt-4o", ...]`), then any further `"field = value"` lines.
macro_rules! channel_toml {
    ($name:literal, $kind:literal, $mock:literal, $key:literal, $models:tt $(, $line:literal)* $(,)?) => {
        concat!(
            "\n[[channels]]\nname = \"", $name, "\"\nkind = \"", $kind, "\"\nbase_url = \"{MOCK", $mock,
            "}\"\nkeys = [\"", $key, "\"]\nmodels = ", stringify!($models), "\n", $($line, "\n",)*
        )
    };
}
pub(crate) use channel_toml;

/// A `[[users]]` entry: name and balance (micro-units), then any further `"field = value"` lines.
macro_rules! user_toml {
    ($name:literal, $balance:literal $(, $line:literal)* $(,)?) => {
        concat!("\n[[users]]\nname = \"", $name, "\"\nbalance = ", $balance, "\n", $($line, "\n",)*)
    };
}
pub(crate) use user_toml;

/// A `[[keys]]` entry: name, owner and the key itself, then any further `"field = value"` lines.
macro_rules! key_toml {
    ($name:literal, $user:literal, $key:literal $(, $line:literal)* $(,)?) => {
        concat!(
            "\n[[keys]]\nname = \"", $name, "\"\nuser = \"", $user, "\"\nkey = \"", $key, "\"\n",
            $($line, "\n",)*
        )
    };
}
pub(crate) use key_toml;

/// A `[[prices]]` entry (micro-units): `(model, input, output)` per million tokens, with `cached = price` for
/// cached input, `(model, input)` for input only, or `(model, per_request = price)`.
macro_rules! price_toml {
    ($model:literal, per_request = $price:literal) => {
        concat!("\n[[prices]]\nmodel = \"", $model, "\"\nper_request = ", $price, "\n")
    };
    ($model:literal, $input:literal $(, $output:literal)? $(, cached = $cached:literal)?) => {
        concat!(
            "\n[[prices]]\nmodel = \"", $model, "\"\ninput_per_million = ", $input, "\n",
            $("output_per_million = ", $output, "\n",)?
            $("cached_input_per_million = ", $cached, "\n",)?
        )
    };
}
pub(crate) use price_toml;

/// User alice with $10 (or `balance` micro-units) and her key `KEY`, as TOML: `concat!` it into a deployment.
macro_rules! alice_toml {
    () => {
        crate::harness::alice_toml!(10000000)
    };
    ($balance:literal) => {
        concat!(
            crate::harness::user_toml!("alice", $balance),
            crate::harness::key_toml!(
                "alice-key",
                "alice",
                "sk-alice000000000000000000000000000000000000000000001"
            ),
        )
    };
}
pub(crate) use alice_toml;

/// The Claude 3.5 Sonnet price with cached input, as TOML.
macro_rules! claude_price_toml {
    () => {
        crate::harness::price_toml!(
            "claude-3-5-sonnet-20240620",
            3000000,
            15000000,
            cached = 300000
        )
    };
}
pub(crate) use claude_price_toml;

/// The usual deployment: one OpenAI channel on mock 0 (with any further `"field = value"` lines), user alice with
/// $10, her key, gpt-4o and gpt-4o-mini priced.
macro_rules! base_toml {
    ($($line:literal),* $(,)?) => {
        concat!(
            crate::harness::channel_toml!(
                "primary", "openai", 0, "up-key-1", ["gpt-4o", "gpt-4o-mini"] $(, $line)*
            ),
            crate::harness::alice_toml!(),
            crate::harness::price_toml!("gpt-4o", 2500000, 10000000),
            crate::harness::price_toml!("gpt-4o-mini", 150000, 600000),
        )
    };
}
pub(crate) use base_toml;

/// [`base_toml!`] as it is.
pub const BASE_TOML: &str = base_toml!();

/// Cost of the mock's default answer (9 prompt + 12 completion tokens) on gpt-4o: ceil(22.5 + 120) = 143.
pub const DEFAULT_COST: i64 = 143;

pub struct Gw {
    pub base: String,
    pub state: AppState,
    pub http: reqwest::Client,
    pub db_dir: PathBuf,
    /// Every response body read through [`Gw::send`], to prove secrets never leave.
    seen: Mutex<Vec<String>>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// `req` sent; the gateway under test always answers.
async fn sent(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.unwrap()
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-it-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn test_settings(db_dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}/tollgate.db", db_dir.display()),
        admin_token: Some(ADMIN.to_owned()),
        upstream_first_byte_timeout: Duration::from_secs(5),
        upstream_idle_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
        ..Settings::default()
    }
}

pub fn render(toml: &str, mocks: &[&MockUpstream]) -> String {
    let mut text = toml.to_owned();
    for (i, m) in mocks.iter().enumerate() {
        text = text.replace(&format!("{{MOCK{i}}}"), &m.base_url());
    }
    text
}

impl Gw {
    pub async fn start(
        toml: &str,
        mocks: &[&MockUpstream],
        tweak: impl FnOnce(&mut Settings),
    ) -> Gw {
        Self::start_in(temp_dir(), toml, mocks, tweak).await
    }

    pub async fn start_in(
        db_dir: PathBuf,
        toml: &str,
        mocks: &[&MockUpstream],
        tweak: impl FnOnce(&mut Settings),
    ) -> Gw {
        let file = FileConfig::parse("test.toml", &render(toml, mocks), &HashMap::new()).unwrap();
        let mut settings = test_settings(&db_dir);
        tweak(&mut settings);
        let (settings, declared) =
            gateway::config::load::resolve(&settings_args(&settings), file).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let Running { addr, state, done } = startup::start(settings, declared, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        Gw {
            base: format!("http://{addr}"),
            state,
            http: reqwest::Client::new(),
            db_dir,
            seen: Mutex::new(Vec::new()),
            stop: Some(tx),
            done: Some(done),
        }
    }

    /// A gateway with nothing declared: channels, users, keys and prices come through the admin API.
    pub async fn bare(tweak: impl FnOnce(&mut Settings)) -> Gw {
        Self::start("", &[], tweak).await
    }

    pub async fn default() -> (Gw, MockUpstream) {
        Self::with_mock(BASE_TOML).await
    }

    /// A gateway deployed with `toml` in front of one mock upstream (`{MOCK0}`).
    pub async fn with_mock(toml: &str) -> (Gw, MockUpstream) {
        Self::with_mock_and(toml, |_| {}).await
    }

    /// [`Gw::with_mock`], its settings changed by `tweak`.
    pub async fn with_mock_and(
        toml: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> (Gw, MockUpstream) {
        let mock = MockUpstream::start().await.unwrap();
        let gw = Gw::start(toml, &[&mock], tweak).await;
        (gw, mock)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.chat_as(KEY, body).await
    }

    pub async fn chat_as(&self, key: &str, body: Value) -> reqwest::Response {
        self.post_as(key, "/v1/chat/completions", &body).await
    }

    /// `POST path` with a JSON body and no credentials.
    pub async fn post_anon(&self, path: &str, body: &Value) -> reqwest::Response {
        sent(self.http.post(self.url(path)).json(body)).await
    }

    /// `POST path` with a JSON body, authenticated by the API key `key`.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> reqwest::Response {
        sent(self.http.post(self.url(path)).bearer_auth(key).json(body)).await
    }

    /// `POST /v1/messages` the way the Anthropic SDK sends it, with `key` as `x-api-key`.
    pub async fn messages_as(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/messages"))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` with no credentials.
    pub async fn get_anon(&self, path: &str) -> reqwest::Response {
        sent(self.http.get(self.url(path))).await
    }

    /// `GET path`, authenticated by the API key `key`.
    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        sent(self.http.get(self.url(path)).bearer_auth(key)).await
    }

    /// The text of `GET path` with no credentials.
    pub async fn get_anon_text(&self, path: &str) -> String {
        self.get_anon(path).await.text().await.unwrap()
    }

    /// Sends a chat request with `key` on a task of its own, to run many at once.
    pub fn spawn_chat(
        &self,
        key: &'static str,
        body: &Value,
    ) -> tokio::task::JoinHandle<reqwest::Response> {
        let (http, url, body) = (
            self.http.clone(),
            self.url("/v1/chat/completions"),
            body.clone(),
        );
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        })
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, self.url(&format!("/api/admin{path}")))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A request to `/api/admin{path}` without credentials.
    pub fn admin_req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/api/admin{path}")))
    }

    /// Sends `req` and reads the whole answer, remembering its body for [`Gw::assert_never_seen`].
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text.clone());
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            content_type,
        }
    }

    /// An admin call with a JSON body (or none), read whole.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.admin_req(method, path).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// An admin call with a raw body text.
    pub async fn raw(&self, method: reqwest::Method, path: &str, body: &str) -> Resp {
        let req = self
            .admin_req(method, path)
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// `GET /v1/models` with `key`, read whole.
    pub async fn models_with(&self, key: &str) -> Resp {
        let req = self.http.get(self.url("/v1/models")).bearer_auth(key);
        self.send(req).await
    }

    /// No response read through [`Gw::send`] contained `secret`.
    pub fn assert_never_seen(&self, secret: &str) {
        self.assert_never_seen_since(0, secret);
    }

    /// How many responses [`Gw::send`] has read so far: a mark for [`Gw::assert_never_seen_since`].
    pub fn seen_mark(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// No response read through [`Gw::send`] since `mark` ([`Gw::seen_mark`]) contained `secret`.
    pub fn assert_never_seen_since(&self, mark: usize, secret: &str) {
        for body in self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .skip(mark)
        {
            assert!(
                !body.contains(secret),
                "secret `{secret}` leaked in a response: {body}"
            );
        }
    }

    /// With the database cut off, chats every 100 ms until one is refused with 503 `unavailable`: an instance on
    /// budget slices spends from the slice the database confirmed last for at most `TRUST_FOR` (2 s), never later
    /// than `within` after the cut. Returns how many were still served and the refused one's request id.
    pub async fn served_until_unavailable(&self, within: Duration) -> (usize, String) {
        let cut_at = Instant::now();
        let mut served = 0;
        loop {
            let resp = self.chat(hello()).await;
            if resp.status() != 200 {
                let rid = request_id(&resp);
                let body = expect_error(resp, 503, Some("unavailable")).await;
                assert!(error_message(&body).contains("database"), "{body}");
                return (served, rid);
            }
            served += 1;
            assert!(
                cut_at.elapsed() < within,
                "still spending a slice the database has not confirmed for {:?}",
                cut_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until at least `n` log rows exist (however many), then returns how many there are.
    pub async fn log_total(&self, n: usize) -> usize {
        let filter = LogFilter {
            limit: 1,
            ..Default::default()
        };
        eventually_some(Duration::from_secs(5), "the log rows", || async {
            let (_, total) = self.state.store.query_logs(&filter).await.unwrap();
            let total = usize::try_from(total).unwrap();
            (total >= n).then_some(total)
        })
        .await
    }

    /// Waits until at least `n` log rows exist, then returns all of them (newest first; at most 1000).
    pub async fn logs(&self, n: usize) -> Vec<LogRow> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (rows, _) = self
                .state
                .store
                .query_logs(&LogFilter {
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap();
            if rows.len() >= n || Instant::now() > deadline {
                assert!(
                    rows.len() >= n,
                    "expected {n} log rows, found {}: {rows:#?}",
                    rows.len()
                );
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn log_for(&self, request_id: &str) -> LogRow {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let f = LogFilter {
                request_id: Some(request_id.to_owned()),
                limit: 10,
                ..Default::default()
            };
            let (rows, _) = self.state.store.query_logs(&f).await.unwrap();
            if let Some(r) = rows.into_iter().next() {
                return r;
            }
            assert!(Instant::now() < deadline, "no log row for {request_id}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn user(&self, name: &str) -> store::User {
        self.state.store.get_user_by_name(name).await.unwrap()
    }

    pub async fn key(&self, user: &str, name: &str) -> store::ApiKey {
        let u = self.user(user).await;
        self.state.store.get_key_by_name(u.id, name).await.unwrap()
    }

    /// Triggers shutdown and waits for a clean stop.
    /// Waits (3 s at most) until channel `name` is unhealthy in the store with its first key out of rotation, and
    /// has no healthy key in memory; returns it as stored.
    pub async fn channel_out_of_rotation(&self, name: &str) -> store::Channel {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let c = self.state.store.get_channel_by_name(name).await.unwrap();
            let in_memory = self
                .state
                .catalog
                .snapshot()
                .channel(c.id)
                .is_some_and(|e| !e.has_healthy_key());
            if c.health == store::ChannelHealth::Unhealthy && !c.keys[0].healthy && in_memory {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "the channel's key was never taken out of rotation: {c:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `hello()` with `key` every `poll` until the answer is `status`, failing with `what` after `within`.
    pub async fn until_key_answers(
        &self,
        key: &str,
        status: u16,
        (within, poll): (Duration, Duration),
        what: &str,
    ) {
        let started = Instant::now();
        while self.chat_as(key, hello()).await.status() != status {
            assert!(started.elapsed() < within, "{what}");
            tokio::time::sleep(poll).await;
        }
    }

    /// An admin `POST /keys` for `user_id`, named `name`: the created key as JSON (with its secret, once).
    pub async fn create_key(&self, user_id: i64, name: &str) -> Value {
        self.admin(
            reqwest::Method::POST,
            "/keys",
            Some(serde_json::json!({"user_id": user_id, "name": name})),
        )
        .await
        .json()
        .await
        .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.unwrap().unwrap();
        }
    }

    pub fn trigger_stop(&mut self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.done.take().unwrap()
    }
}

fn settings_args(s: &Settings) -> SettingsArgs {
    SettingsArgs {
        config: None,
        listen: Some(s.listen),
        database_url: Some(s.database_url.clone()),
        redis_url: s.redis_url.clone(),
        admin_token: s.admin_token.clone(),
        upstream_connect_timeout: Some(s.upstream_connect_timeout.as_secs()),
        upstream_first_byte_timeout: Some(s.upstream_first_byte_timeout.as_secs()),
        upstream_idle_timeout: Some(s.upstream_idle_timeout.as_secs()),
        shutdown_grace: Some(s.shutdown_grace.as_secs()),
        probe_interval: Some(s.probe_interval.as_secs()),
        max_retries: Some(s.max_retries),
        max_body_bytes: Some(s.max_body_bytes),
        auth_failure_limit: Some(s.auth_failure_limit),
        client_header_timeout: Some(s.client_header_timeout.as_secs()),
        client_body_timeout: Some(s.client_body_timeout.as_secs()),
        log_retention_days: Some(s.log_retention_days.unwrap_or(0)),
        log_format: Some(s.log_format),
        allow_private_image_urls: Some(s.allow_private_image_urls),
        allow_registration: Some(s.allow_registration),
        image_max_bytes: Some(s.image_max_bytes),
        image_timeout: Some(s.image_timeout.as_secs()),
        public_url: s.public_url.clone(),
        mj_poll_interval: Some(s.mj_poll_interval.as_secs()),
        mj_task_timeout: Some(s.mj_task_timeout.as_secs()),
        mj_image_ttl: Some(s.mj_image_ttl.as_secs()),
        secret_key: s.secret_key.clone(),
        secret_key_previous: Some(s.secret_key_previous.join(",")),
        trusted_proxies: Some(
            s.trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        max_images_per_request: Some(s.max_images_per_request),
        max_keys_per_user: Some(s.max_keys_per_user),
        default_max_output_tokens: Some(s.default_max_output_tokens),
        metrics_token: s.metrics_token.clone(),
    }
}

/// An answer read whole by [`Gw::send`]: the body as text and as JSON (`Null` when it is not JSON).
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub content_type: String,
}

#[track_caller]
pub fn assert_status(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{}", r.text);
}

/// Polls `f` until it is true, failing after 5 seconds.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let check = || {
        let done = f();
        async move { done.await.then_some(()) }
    };
    eventually_some(Duration::from_secs(5), what, check).await;
}

/// Polls `f` until it gives a value, and returns that; fails, naming `what`, after `limit`.
pub async fn eventually_some<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `error.message` of an error body.
#[track_caller]
pub fn error_message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
}

pub fn hello() -> Value {
    serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "你好"}]})
}

/// Asserts the OpenAI error shape and returns (status, body).
pub async fn expect_error(resp: reqwest::Response, status: u16, code: Option<&str>) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    assert!(
        resp.headers().contains_key("x-request-id"),
        "x-request-id on error responses"
    );
    let body: Value = resp.json().await.unwrap();
    let err = body
        .get("error")
        .unwrap_or_else(|| panic!("not an OpenAI error: {body}"));
    for field in ["message", "type", "param", "code"] {
        assert!(err.get(field).is_some(), "error.{field} missing in {body}");
    }
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    if let Some(c) = code {
        assert_eq!(err["code"], c, "{body}");
    }
    body
}

/// Reads an SSE body into its `data:` payloads.
pub fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|ev| {
            ev.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_owned)
        })
        .collect()
}

/// The `x-request-id` a gateway response carries.
pub fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

/// Asserts a 400 in the OpenAI error shape whose `error.param` names `param`, and returns the body.
pub async fn expect_param(resp: reqwest::Response, param: &str) -> Value {
    let body = expect_error(resp, 400, None).await;
    assert_eq!(body["error"]["param"], param, "{body}");
    body
}

/// Asserts the response's `content-type` starts with `prefix`.
pub fn assert_content_type(resp: &reqwest::Response, prefix: &str) {
    let content_type = resp.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with(prefix), "{content_type}");
}

/// Reads an SSE body with named events into (event name, parsed data) pairs.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

/// The text of a streamed chat answer: its chunks' `delta.content`, joined (`[DONE]` and other non-JSON skipped).
pub fn streamed_content(data: &[String]) -> String {
    data.iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// A log row's (prompt, cached, completion) tokens and cost, to compare in one assertion.
pub fn tokens_and_cost(row: &LogRow) -> (i64, i64, i64, i64) {
    (
        row.prompt_tokens,
        row.cached_tokens,
        row.completion_tokens,
        row.cost,
    )
}

/// The first request `mock` received on a path ending in `suffix`.
pub fn first_sent(mock: &MockUpstream, suffix: &str) -> mock_upstream::Recorded {
    mock.requests()
        .into_iter()
        .find(|r| r.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("nothing sent to …{suffix}"))
}

/// The last request `mock` received on a path ending in `suffix`.
pub fn last_sent(mock: &MockUpstream, suffix: &str) -> mock_upstream::Recorded {
    mock.requests()
        .into_iter()
        .rfind(|r| r.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("nothing sent to …{suffix}"))
}

/// One part of a `multipart/form-data` body: a text field, or an upload.
pub enum FormPart<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        file_name: &'a str,
        content_type: &'a str,
        data: &'a [u8],
    },
}

/// A `multipart/form-data` body of `parts` with `boundary`, as a client writes it.
pub fn multipart_body(boundary: &str, parts: &[FormPart]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; ").as_bytes());
        match part {
            FormPart::Text(name, value) => {
                body.extend(format!("name=\"{name}\"\r\n\r\n{value}").as_bytes());
            }
            FormPart::File {
                name,
                file_name,
                content_type,
                data,
            } => {
                body.extend(
                    format!(
                        "name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend(*data);
            }
        }
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    body
}
