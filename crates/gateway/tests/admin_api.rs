//! The admin REST API over real HTTP: the admin guard, CRUD of every resource with PRODUCT §6's field names,
//! secrets never echoed, field-named 400s, catalog refresh on writes, logs/usage queries and channel tests.
#![cfg(test)]

use chrono::{DateTime, Utc};
use gateway::config::{Declared, Settings};
use gateway::startup::{self, Running};
use mock_upstream::{Behavior, MockUpstream, Reply};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::LogRow;
use tokio::sync::oneshot;

const ADMIN: &str = "admin-secret";

struct Gw {
    base: String,
    running: Running,
    http: reqwest::Client,
    dir: PathBuf,
    /// Every response body seen, to prove secrets never leave.
    seen: Mutex<Vec<String>>,
    _stop: oneshot::Sender<()>,
}

struct Resp {
    status: u16,
    body: Value,
    text: String,
    content_type: String,
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Gw {
    async fn start() -> Gw {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Gw {
        let dir =
            std::env::temp_dir().join(format!("tollgate-admin-{}", uuid::Uuid::new_v4().simple()));
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: format!("sqlite://{}/t.db", dir.display()),
            admin_token: Some(ADMIN.to_owned()),
            upstream_first_byte_timeout: Duration::from_secs(5),
            upstream_idle_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(2),
            // The log tests insert rows dated 2024: keep them.
            log_retention_days: None,
            ..Settings::default()
        };
        tweak(&mut settings);
        let (tx, rx) = oneshot::channel::<()>();
        let running = startup::start(settings, Declared::default(), async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        Gw {
            base: format!("http://{}", running.addr),
            running,
            http: reqwest::Client::new(),
            dir,
            seen: Mutex::new(Vec::new()),
            _stop: tx,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        self.seen.lock().unwrap().push(text.clone());
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            content_type,
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/admin{path}", self.base))
    }

    /// An admin call with a JSON body (or none).
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.req(method, path).bearer_auth(ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// An admin call with a raw body text.
    async fn raw(&self, method: Method, path: &str, body: &str) -> Resp {
        let req = self
            .req(method, path)
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(req).await
    }

    async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    async fn models_with(&self, key: &str) -> Resp {
        let req = self
            .http
            .get(format!("{}/v1/models", self.base))
            .bearer_auth(key);
        self.send(req).await
    }

    fn assert_never_seen(&self, secret: &str) {
        for body in self.seen.lock().unwrap().iter() {
            assert!(
                !body.contains(secret),
                "secret `{secret}` leaked in a response: {body}"
            );
        }
    }
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// A 400 in the OpenAI shape whose `param` (or message) names `field`.
#[track_caller]
fn assert_bad_field(r: &Resp, field: &str) {
    assert_eq!(r.status, 400, "expected 400 naming `{field}`: {}", r.text);
    assert_eq!(
        r.body["error"]["type"], "invalid_request_error",
        "{}",
        r.text
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        r.body["error"]["param"] == field || message.contains(field),
        "error does not name `{field}`: {}",
        r.text
    );
}

#[track_caller]
fn assert_status(r: &Resp, status: u16) {
    assert_eq!(r.status, status, "{}", r.text);
}

fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(DateTime::parse_from_rfc3339(s).is_ok(), "not RFC 3339: {s}");
}

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/channels"),
    ("POST", "/channels"),
    ("GET", "/channels/1"),
    ("PATCH", "/channels/1"),
    ("PUT", "/channels/1"),
    ("DELETE", "/channels/1"),
    ("POST", "/channels/1/test"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("GET", "/users/1"),
    ("PATCH", "/users/1"),
    ("PUT", "/users/1"),
    ("DELETE", "/users/1"),
    ("POST", "/users/1/topup"),
    ("GET", "/keys"),
    ("POST", "/keys"),
    ("GET", "/keys/1"),
    ("PATCH", "/keys/1"),
    ("PUT", "/keys/1"),
    ("DELETE", "/keys/1"),
    ("GET", "/prices"),
    ("POST", "/prices"),
    ("GET", "/prices/gpt-4o"),
    ("PUT", "/prices/gpt-4o"),
    ("PATCH", "/prices/gpt-4o"),
    ("DELETE", "/prices/gpt-4o"),
    ("GET", "/groups"),
    ("POST", "/groups"),
    ("GET", "/groups/default"),
    ("PUT", "/groups/default"),
    ("PATCH", "/groups/default"),
    ("DELETE", "/groups/vip"),
    ("GET", "/logs"),
    ("GET", "/logs/export"),
    ("GET", "/usage"),
];

#[tokio::test]
async fn every_route_requires_the_admin_token() {
    let gw = Gw::start_with(|s| s.auth_failure_limit = 0).await;
    for (method, path) in ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let attempts = [
            gw.req(method.clone(), path),
            gw.req(method.clone(), path).bearer_auth("wrong-token"),
            gw.req(method.clone(), path)
                .header("authorization", format!("Basic {ADMIN}")),
            gw.req(method.clone(), path).header("x-api-key", ADMIN),
        ];
        for req in attempts {
            let r = gw
                .send(req.header("content-type", "application/json").body("{}"))
                .await;
            assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
            assert_eq!(keys_of(&r.body), set(&["error"]), "{}", r.text);
            assert_eq!(
                keys_of(&r.body["error"]),
                set(&["message", "type", "param", "code"])
            );
            assert_eq!(r.body["error"]["type"], "invalid_request_error");
            assert_eq!(r.body["error"]["code"], "invalid_admin_token");
        }
    }
    // Nothing was written by the refused calls.
    let users = gw.get("/users").await;
    assert_status(&users, 200);
    assert_eq!(users.body["total"], 0);
    let groups = gw.get("/groups").await;
    assert_eq!(groups.body["data"][0]["name"], "default");
}

#[tokio::test]
async fn repeated_bad_admin_tokens_are_rate_limited() {
    let gw = Gw::start_with(|s| s.auth_failure_limit = 3).await;
    for _ in 0..3 {
        let r = gw
            .send(gw.req(Method::GET, "/users").bearer_auth("guess"))
            .await;
        assert_status(&r, 401);
    }
    let r = gw
        .send(gw.req(Method::GET, "/users").bearer_auth("guess"))
        .await;
    assert_status(&r, 429);
    assert_eq!(r.body["error"]["code"], "too_many_auth_failures");
}

#[tokio::test]
async fn channels_crud_with_masked_keys() {
    let gw = Gw::start().await;
    let secret = "sk-upstream-secret-AAAA1111";
    let created = gw
        .post(
            "/channels",
            json!({
                "name": "primary",
                "kind": "openai",
                "base_url": "https://api.example.com",
                "keys": [secret, "tiny"],
                "models": ["gpt-4o", "gpt-4o-mini"],
                "model_mapping": {"gpt-4o": "gpt-4o-2024-08-06"},
                "headers": {"x-org": "acme"}
            }),
        )
        .await;
    assert_status(&created, 201);
    let c = &created.body;
    assert_eq!(
        keys_of(c),
        set(&[
            "id",
            "name",
            "kind",
            "base_url",
            "keys",
            "key_status",
            "models",
            "model_mapping",
            "groups",
            "priority",
            "weight",
            "enabled",
            "api_version",
            "modes",
            "headers",
            "forward_image_urls",
            "health",
            "last_error",
            "created_at"
        ])
    );
    assert_eq!(c["keys"], json!(["sk-u…1111", "****"]));
    assert_eq!(
        c["key_status"],
        json!([
            {"key": "sk-u…1111", "healthy": true, "disabled_reason": null},
            {"key": "****", "healthy": true, "disabled_reason": null}
        ])
    );
    assert_eq!(c["groups"], json!(["default"]));
    assert_eq!(c["priority"], 0);
    assert_eq!(c["weight"], 1);
    assert_eq!(c["enabled"], true);
    assert_eq!(c["api_version"], Value::Null);
    assert_eq!(c["modes"], Value::Null);
    assert_eq!(c["health"], "healthy");
    assert_eq!(c["last_error"], Value::Null);
    assert_eq!(c["model_mapping"]["gpt-4o"], "gpt-4o-2024-08-06");
    assert_eq!(c["headers"]["x-org"], "acme");
    assert_rfc3339(&c["created_at"]);
    let id = c["id"].as_i64().unwrap();

    // The catalog sees it at once.
    assert!(gw.running.state.catalog.snapshot().channel(id).is_some());

    let list = gw.get("/channels").await;
    assert_status(&list, 200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["data"][0]["keys"], json!(["sk-u…1111", "****"]));
    let one = gw.get(&format!("/channels/{id}")).await;
    assert_status(&one, 200);
    assert_eq!(one.body["name"], "primary");

    // PATCH and PUT are partial; null clears api_version.
    let patched = gw
        .patch(
            &format!("/channels/{id}"),
            json!({"priority": 5, "weight": 3, "api_version": "2024-06-01", "groups": ["default", "vip"]}),
        )
        .await;
    assert_status(&patched, 200);
    assert_eq!(patched.body["priority"], 5);
    assert_eq!(patched.body["weight"], 3);
    assert_eq!(patched.body["api_version"], "2024-06-01");
    assert_eq!(patched.body["groups"], json!(["default", "vip"]));
    assert_eq!(patched.body["models"], json!(["gpt-4o", "gpt-4o-mini"]));
    let put = gw
        .put(
            &format!("/channels/{id}"),
            json!({"name": "renamed", "api_version": null, "enabled": false}),
        )
        .await;
    assert_status(&put, 200);
    assert_eq!(put.body["name"], "renamed");
    assert_eq!(put.body["api_version"], Value::Null);
    assert_eq!(put.body["enabled"], false);
    assert_eq!(put.body["priority"], 5);
    assert_eq!(put.body["keys"], json!(["sk-u…1111", "****"]));
    let snapshot = gw.running.state.catalog.snapshot();
    let entry = snapshot.channel(id).unwrap();
    assert_eq!(entry.channel.name, "renamed");
    assert!(!entry.channel.enabled);

    // Replacing the keys.
    let new_secret = "sk-replaced-secret-BBBB2222";
    let rekeyed = gw
        .patch(&format!("/channels/{id}"), json!({"keys": [new_secret]}))
        .await;
    assert_status(&rekeyed, 200);
    assert_eq!(rekeyed.body["keys"], json!(["sk-r…2222"]));
    // Writing back what a read showed is refused instead of storing the mask.
    let masked_back = gw
        .patch(&format!("/channels/{id}"), json!({"keys": ["sk-r…2222"]}))
        .await;
    assert_bad_field(&masked_back, "keys");

    // Conflicts, validation, unknown ids.
    let second = json!({"name": "renamed", "kind": "openai", "base_url": "http://x.test", "keys": ["k-123456789012"]});
    let dup = gw.post("/channels", second).await;
    assert_status(&dup, 409);
    assert_eq!(dup.body["error"]["code"], "conflict");
    let base = json!({"name": "n2", "kind": "openai", "base_url": "http://x.test", "keys": ["k"]});
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    assert_bad_field(
        &gw.post("/channels", with("kind", json!("cohere"))).await,
        "kind",
    );
    assert_bad_field(
        &gw.post("/channels", with("base_url", json!("ftp://x")))
            .await,
        "base_url",
    );
    assert_bad_field(&gw.post("/channels", with("keys", json!([]))).await, "keys");
    assert_bad_field(&gw.post("/channels", without("keys")).await, "keys");
    assert_bad_field(&gw.post("/channels", without("name")).await, "name");
    assert_bad_field(&gw.post("/channels", without("kind")).await, "kind");
    assert_bad_field(
        &gw.post("/channels", with("priority", json!("high"))).await,
        "priority",
    );
    assert_bad_field(
        &gw.post("/channels", with("weight", json!(-1))).await,
        "weight",
    );
    assert_bad_field(
        &gw.post("/channels", with("models", json!("gpt-4o"))).await,
        "models",
    );
    assert_bad_field(
        &gw.post("/channels", with("modes", json!(["warp"]))).await,
        "modes",
    );
    assert_bad_field(
        &gw.post("/channels", with("headers", json!({"bad header": "v"})))
            .await,
        "headers",
    );
    assert_bad_field(
        &gw.post("/channels", with("nmae", json!("typo"))).await,
        "nmae",
    );
    let malformed = gw.raw(Method::POST, "/channels", "{\"name\": ").await;
    assert_status(&malformed, 400);
    assert_eq!(malformed.body["error"]["type"], "invalid_request_error");
    let not_object = gw.raw(Method::POST, "/channels", "[1, 2]").await;
    assert_status(&not_object, 400);
    assert_status(&gw.get("/channels/999").await, 404);
    assert_eq!(
        gw.get("/channels/999").await.body["error"]["message"],
        "Channel 999 not found."
    );
    assert_status(&gw.get("/channels/abc").await, 404);
    assert_status(
        &gw.patch("/channels/999", json!({"priority": 1})).await,
        404,
    );
    assert_status(&gw.post("/channels/999/test", json!({})).await, 404);
    assert_bad_field(&gw.get("/channels?foo=1").await, "foo");

    let deleted = gw.delete(&format!("/channels/{id}")).await;
    assert_status(&deleted, 204);
    assert!(deleted.text.is_empty());
    assert_status(&gw.get(&format!("/channels/{id}")).await, 404);
    assert_status(&gw.delete(&format!("/channels/{id}")).await, 404);
    assert!(gw.running.state.catalog.snapshot().channel(id).is_none());

    gw.assert_never_seen(secret);
    gw.assert_never_seen(new_secret);
    gw.assert_never_seen("tiny");
}

#[tokio::test]
async fn users_crud_topup_and_validation() {
    let gw = Gw::start().await;
    let password = "correct-horse-battery";
    let created = gw
        .post(
            "/users",
            json!({"name": "alice", "password": password, "balance": 1000}),
        )
        .await;
    assert_status(&created, 201);
    let u = &created.body;
    assert_eq!(
        keys_of(u),
        set(&[
            "id",
            "name",
            "group",
            "balance",
            "remaining",
            "spent",
            "enabled",
            "role",
            "created_at"
        ])
    );
    assert_eq!(u["name"], "alice");
    assert_eq!(u["role"], "user");
    assert_eq!(u["group"], "default");
    assert_eq!(u["balance"], 1000);
    assert_eq!(u["remaining"], 1000);
    assert_eq!(u["spent"], 0);
    assert_eq!(u["enabled"], true);
    assert_rfc3339(&u["created_at"]);
    let id = u["id"].as_i64().unwrap();
    let stored = gw.running.state.store.get_user(id).await.unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(gateway::auth::password::verify(password, &hash));
    assert!(gw.running.state.catalog.snapshot().user(id).is_some());

    // Top-ups, both ways.
    let topped = gw
        .post(&format!("/users/{id}/topup"), json!({"amount": 500}))
        .await;
    assert_status(&topped, 200);
    assert_eq!(topped.body["balance"], 1500);
    assert_eq!(topped.body["remaining"], 1500);
    let deducted = gw
        .post(&format!("/users/{id}/topup"), json!({"amount": -200}))
        .await;
    assert_eq!(deducted.body["balance"], 1300);
    assert_eq!(
        gw.running
            .state
            .catalog
            .snapshot()
            .user(id)
            .unwrap()
            .balance,
        1300
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": 0}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": "lots"}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": 1.5}))
            .await,
        "amount",
    );
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({})).await,
        "amount",
    );
    assert_status(
        &gw.post("/users/999/topup", json!({"amount": 5})).await,
        404,
    );
    // A top-up past what a 64-bit balance holds is refused and changes nothing.
    assert_bad_field(
        &gw.post(&format!("/users/{id}/topup"), json!({"amount": i64::MAX}))
            .await,
        "amount",
    );
    assert_eq!(
        gw.running.state.store.get_user(id).await.unwrap().balance,
        1300
    );
    // Roles: `admin` or `user`, nothing else.
    let promoted = gw
        .patch(&format!("/users/{id}"), json!({"role": "admin"}))
        .await;
    assert_eq!(promoted.body["role"], "admin");
    assert_status(
        &gw.patch(&format!("/users/{id}"), json!({"role": "root"}))
            .await,
        400,
    );
    let demoted = gw
        .patch(&format!("/users/{id}"), json!({"role": "user"}))
        .await;
    assert_eq!(demoted.body["role"], "user");

    // Groups must exist; moving to an existing one works.
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "group": "gold"}))
            .await,
        "group",
    );
    assert_status(
        &gw.post("/groups", json!({"name": "vip", "multiplier": 800}))
            .await,
        201,
    );
    let moved = gw
        .patch(
            &format!("/users/{id}"),
            json!({"group": "vip", "enabled": false}),
        )
        .await;
    assert_status(&moved, 200);
    assert_eq!(moved.body["group"], "vip");
    assert_eq!(moved.body["enabled"], false);
    assert_eq!(moved.body["balance"], 1300);
    let put = gw
        .put(
            &format!("/users/{id}"),
            json!({"balance": 42, "password": null}),
        )
        .await;
    assert_eq!(put.body["balance"], 42);
    assert_eq!(put.body["group"], "vip");
    let stored = gw.running.state.store.get_user(id).await.unwrap();
    assert!(stored.password_hash.is_none());

    // Validation and conflicts.
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "password": "short"}))
            .await,
        "password",
    );
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "balance": "10"}))
            .await,
        "balance",
    );
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "balance": -1}))
            .await,
        "balance",
    );
    assert_bad_field(&gw.post("/users", json!({"balance": 1})).await, "name");
    assert_bad_field(
        &gw.post("/users", json!({"name": "bob", "is_admin": true}))
            .await,
        "is_admin",
    );
    let dup = gw.post("/users", json!({"name": "alice"})).await;
    assert_status(&dup, 409);
    assert!(
        dup.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("alice")
    );
    assert_status(&gw.get("/users/999").await, 404);
    assert_status(&gw.patch("/users/999", json!({"enabled": true})).await, 404);

    // Paging.
    for name in ["bob", "carol", "dave"] {
        assert_status(&gw.post("/users", json!({"name": name})).await, 201);
    }
    let page = gw.get("/users?limit=2&offset=1").await;
    assert_status(&page, 200);
    assert_eq!(page.body["total"], 4);
    let names: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "carol"]);
    assert_bad_field(&gw.get("/users?limit=abc").await, "limit");
    assert_bad_field(&gw.get("/users?limit=0").await, "limit");
    assert_bad_field(&gw.get("/users?offset=-1").await, "offset");
    assert_bad_field(&gw.get("/users?limt=5").await, "limt");

    let deleted = gw.delete(&format!("/users/{id}")).await;
    assert_status(&deleted, 204);
    assert_status(&gw.get(&format!("/users/{id}")).await, 404);
    assert!(gw.running.state.catalog.snapshot().user(id).is_none());

    gw.assert_never_seen(password);
    gw.assert_never_seen("$argon2");
    gw.assert_never_seen("password_hash");
}

#[tokio::test]
async fn keys_are_shown_once_and_work_at_once() {
    let gw = Gw::start().await;
    let mock = MockUpstream::start().await.unwrap();
    let user = gw
        .post("/users", json!({"name": "alice", "balance": 1_000_000}))
        .await;
    let user_id = user.body["id"].as_i64().unwrap();
    let other = gw.post("/users", json!({"name": "bob"})).await;
    let other_id = other.body["id"].as_i64().unwrap();
    assert_status(
        &gw.post(
            "/channels",
            json!({"name": "mock", "kind": "openai", "base_url": mock.base_url(), "keys": ["up-key-123456"], "models": ["gpt-4o"]}),
        )
        .await,
        201,
    );
    assert_status(
        &gw.post(
            "/prices",
            json!({"model": "gpt-4o", "input_per_million": 2_500_000, "output_per_million": 10_000_000}),
        )
        .await,
        201,
    );

    let created = gw
        .post(
            "/keys",
            json!({"user_id": user_id, "name": "laptop", "ip_allowlist": ["127.0.0.1", "10.0.0.0/8"], "rpm_limit": 60}),
        )
        .await;
    assert_status(&created, 201);
    let k = &created.body;
    let read_fields = [
        "id",
        "user_id",
        "name",
        "prefix",
        "enabled",
        "models",
        "spend_cap",
        "spent",
        "reserved",
        "remaining",
        "expires_at",
        "ip_allowlist",
        "rpm_limit",
        "tpm_limit",
        "created_at",
    ];
    let mut with_key: Vec<&str> = read_fields.to_vec();
    with_key.push("key");
    assert_eq!(keys_of(k), set(&with_key));
    let secret = k["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-"), "{secret}");
    assert_eq!(secret.len(), 51);
    assert!(secret[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(k["prefix"], secret[..7]);
    assert_eq!(k["user_id"], user_id);
    assert_eq!(k["enabled"], true);
    assert_eq!(k["models"], Value::Null);
    assert_eq!(k["spend_cap"], Value::Null);
    assert_eq!(k["remaining"], Value::Null);
    assert_eq!(k["expires_at"], Value::Null);
    assert_eq!(k["ip_allowlist"], json!(["127.0.0.1", "10.0.0.0/8"]));
    assert_eq!(k["rpm_limit"], 60);
    assert_rfc3339(&k["created_at"]);
    let id = k["id"].as_i64().unwrap();

    // The new key authenticates on the relay straight away.
    let models = gw.models_with(&secret).await;
    assert_status(&models, 200);
    assert_eq!(models.body["data"][0]["id"], "gpt-4o");

    // Reads never show the secret again.
    let marker = gw.seen.lock().unwrap().len();
    let one = gw.get(&format!("/keys/{id}")).await;
    assert_status(&one, 200);
    assert_eq!(keys_of(&one.body), set(&read_fields));
    let mine = gw.get(&format!("/keys?user_id={user_id}")).await;
    assert_eq!(mine.body["total"], 1);
    assert_eq!(mine.body["data"][0]["id"], id);
    let theirs = gw.get(&format!("/keys?user_id={other_id}")).await;
    assert_eq!(theirs.body["total"], 0);
    let all = gw.get("/keys?limit=10").await;
    assert_eq!(all.body["total"], 1);
    for body in gw.seen.lock().unwrap()[marker..].iter() {
        assert!(!body.contains(&secret), "secret in a read: {body}");
    }
    let stored = gw.running.state.store.get_key(id).await.unwrap();
    assert_eq!(stored.key_hash, gateway::auth::token::hash_key(&secret));
    gw.assert_never_seen(&stored.key_hash);

    // Caps and nullable fields.
    let capped = gw
        .patch(
            &format!("/keys/{id}"),
            json!({"spend_cap": 1000, "models": ["gpt-4o"], "expires_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_status(&capped, 200);
    assert_eq!(capped.body["spend_cap"], 1000);
    assert_eq!(capped.body["remaining"], 1000);
    assert_eq!(capped.body["models"], json!(["gpt-4o"]));
    assert_rfc3339(&capped.body["expires_at"]);
    let uncapped = gw
        .put(
            &format!("/keys/{id}"),
            json!({"spend_cap": null, "models": null, "expires_at": null, "rpm_limit": null}),
        )
        .await;
    assert_status(&uncapped, 200);
    assert_eq!(uncapped.body["spend_cap"], Value::Null);
    assert_eq!(uncapped.body["remaining"], Value::Null);
    assert_eq!(uncapped.body["models"], Value::Null);
    assert_eq!(uncapped.body["expires_at"], Value::Null);
    assert_eq!(uncapped.body["rpm_limit"], Value::Null);
    assert_eq!(uncapped.body["name"], "laptop");

    // Validation.
    let key_path = format!("/keys/{id}");
    assert_bad_field(
        &gw.patch(&key_path, json!({"expires_at": "tomorrow"})).await,
        "expires_at",
    );
    assert_bad_field(
        &gw.patch(&key_path, json!({"ip_allowlist": ["10.0.0.0/99"]}))
            .await,
        "ip_allowlist",
    );
    assert_bad_field(
        &gw.patch(&key_path, json!({"spend_cap": -5})).await,
        "spend_cap",
    );
    assert_bad_field(
        &gw.patch(&key_path, json!({"rpm_limit": 0})).await,
        "rpm_limit",
    );
    assert_bad_field(
        &gw.patch(&key_path, json!({"models": "gpt-4o"})).await,
        "models",
    );
    assert_bad_field(
        &gw.patch(&key_path, json!({"user_id": other_id})).await,
        "user_id",
    );
    assert_bad_field(&gw.patch(&key_path, json!({"key": "sk-mine"})).await, "key");
    assert_bad_field(
        &gw.post("/keys", json!({"user_id": 999, "name": "x"})).await,
        "user_id",
    );
    assert_bad_field(&gw.post("/keys", json!({"name": "x"})).await, "user_id");
    assert_bad_field(&gw.post("/keys", json!({"user_id": user_id})).await, "name");
    assert_bad_field(
        &gw.post("/keys", json!({"user_id": "one", "name": "x"}))
            .await,
        "user_id",
    );
    assert_bad_field(&gw.get("/keys?user_id=me").await, "user_id");
    let dup = gw
        .post("/keys", json!({"user_id": user_id, "name": "laptop"}))
        .await;
    assert_status(&dup, 409);
    assert_status(&gw.get("/keys/999").await, 404);

    // Disabling and deleting take effect on the relay immediately.
    let disabled = gw.patch(&key_path, json!({"enabled": false})).await;
    assert_eq!(disabled.body["enabled"], false);
    let refused = gw.models_with(&secret).await;
    assert_status(&refused, 401);
    assert_eq!(refused.body["error"]["code"], "api_key_disabled");
    assert_status(&gw.patch(&key_path, json!({"enabled": true})).await, 200);
    assert_status(&gw.models_with(&secret).await, 200);
    assert_status(&gw.delete(&key_path).await, 204);
    assert_status(&gw.get(&key_path).await, 404);
    let gone = gw.models_with(&secret).await;
    assert_status(&gone, 401);
    assert_eq!(gone.body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn prices_and_groups() {
    let gw = Gw::start().await;
    let created = gw
        .post(
            "/prices",
            json!({"model": "gpt-4o", "input_per_million": 2_500_000, "output_per_million": 10_000_000}),
        )
        .await;
    assert_status(&created, 201);
    assert_eq!(
        created.body,
        json!({"model": "gpt-4o", "input_per_million": 2_500_000, "cached_input_per_million": null, "output_per_million": 10_000_000, "per_request": null, "max_output_tokens": null})
    );
    assert_status(
        &gw.post("/prices", json!({"model": "*", "per_request": 10}))
            .await,
        201,
    );
    let default = gw.get("/prices/*").await;
    assert_status(&default, 200);
    assert_eq!(default.body["per_request"], 10);
    assert!(
        gw.running
            .state
            .catalog
            .snapshot()
            .price("unknown-model")
            .is_some()
    );

    // Model names with a slash; PUT replaces, PATCH merges.
    let path = "/prices/meta-llama/Llama-3-70b";
    let put = gw
        .put(
            path,
            json!({"input_per_million": 100, "output_per_million": 200}),
        )
        .await;
    assert_status(&put, 201);
    assert_eq!(put.body["model"], "meta-llama/Llama-3-70b");
    let patched = gw.patch(path, json!({"output_per_million": 300})).await;
    assert_status(&patched, 200);
    assert_eq!(patched.body["input_per_million"], 100);
    assert_eq!(patched.body["output_per_million"], 300);
    let cleared = gw.patch(path, json!({"input_per_million": null})).await;
    assert_eq!(cleared.body["input_per_million"], Value::Null);
    assert_eq!(cleared.body["output_per_million"], 300);
    let replaced = gw
        .put(
            path,
            json!({"model": "meta-llama/Llama-3-70b", "per_request": 7}),
        )
        .await;
    assert_status(&replaced, 200);
    assert_eq!(replaced.body["output_per_million"], Value::Null);
    assert_eq!(replaced.body["per_request"], 7);
    assert_eq!(gw.get(path).await.body["per_request"], 7);
    let list = gw.get("/prices").await;
    assert_eq!(list.body["total"], 3);

    assert_bad_field(
        &gw.post("/prices", json!({"model": "x", "input_per_million": -1}))
            .await,
        "input_per_million",
    );
    assert_bad_field(
        &gw.post("/prices", json!({"model": "x"})).await,
        "per_million",
    );
    assert_bad_field(
        &gw.post("/prices", json!({"model": "x", "per_request": null}))
            .await,
        "per_request",
    );
    assert_bad_field(
        &gw.post("/prices", json!({"input_per_million": 1})).await,
        "model",
    );
    assert_bad_field(
        &gw.post("/prices", json!({"model": "x", "output_per_million": "1"}))
            .await,
        "output_per_million",
    );
    assert_bad_field(
        &gw.put("/prices/a", json!({"model": "b", "per_request": 1}))
            .await,
        "model",
    );
    assert_status(&gw.delete(path).await, 204);
    assert_status(&gw.get(path).await, 404);
    assert_status(&gw.delete(path).await, 404);

    // Groups.
    let vip = gw
        .post("/groups", json!({"name": "vip", "multiplier": 1500}))
        .await;
    assert_status(&vip, 201);
    assert_eq!(
        vip.body,
        json!({"name": "vip", "multiplier": 1500, "rpm_limit": null, "tpm_limit": null})
    );
    assert_eq!(gw.running.state.catalog.snapshot().multiplier("vip"), 1500);
    let dup = gw
        .post("/groups", json!({"name": "vip", "multiplier": 1}))
        .await;
    assert_status(&dup, 409);
    assert_eq!(dup.body["error"]["code"], "conflict");
    let changed = gw.put("/groups/vip", json!({"multiplier": 800})).await;
    assert_status(&changed, 200);
    assert_eq!(changed.body["multiplier"], 800);
    assert_eq!(gw.running.state.catalog.snapshot().multiplier("vip"), 800);
    let unchanged = gw.patch("/groups/vip", json!({})).await;
    assert_eq!(unchanged.body["multiplier"], 800);
    let new = gw.patch("/groups/staff", json!({"multiplier": 0})).await;
    assert_status(&new, 201);
    let groups = gw.get("/groups").await;
    assert_eq!(groups.body["total"], 3);
    let names: Vec<&str> = groups.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "staff", "vip"]);
    assert_eq!(gw.get("/groups/default").await.body["multiplier"], 1000);

    assert_bad_field(
        &gw.post("/groups", json!({"name": "x", "multiplier": -1}))
            .await,
        "multiplier",
    );
    assert_bad_field(
        &gw.post("/groups", json!({"name": "x", "multiplier": 1.5}))
            .await,
        "multiplier",
    );
    assert_bad_field(
        &gw.post("/groups", json!({"name": "has space"})).await,
        "name",
    );
    assert_bad_field(
        &gw.put("/groups/vip", json!({"name": "gold"})).await,
        "name",
    );
    assert_status(&gw.get("/groups/nope").await, 404);

    // A group in use cannot go; the default group never.
    assert_status(
        &gw.post("/users", json!({"name": "ann", "group": "vip"}))
            .await,
        201,
    );
    let busy = gw.delete("/groups/vip").await;
    assert_status(&busy, 409);
    assert!(
        busy.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vip")
    );
    assert_status(&gw.delete("/groups/default").await, 409);
    assert_status(&gw.delete("/groups/staff").await, 204);
    assert_status(&gw.delete("/groups/staff").await, 404);
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn log_rows() -> Vec<LogRow> {
    vec![
        LogRow {
            request_id: "req_a".into(),
            time: at("2024-05-01T10:00:00Z"),
            user_id: Some(1),
            key_id: Some(11),
            key_name: Some("laptop".into()),
            channel_id: Some(7),
            model: Some("gpt-4o".into()),
            upstream_model: Some("gpt-4o-2024-08-06".into()),
            prompt_tokens: 10,
            cached_tokens: 2,
            completion_tokens: 5,
            cost: 100,
            status: 200,
            stream: true,
            retries: 1,
            latency_ms: 120,
            ttft_ms: Some(30),
            client_ip: Some("10.0.0.1".into()),
            error: None,
            count: 1,
        },
        LogRow {
            request_id: "req_b".into(),
            time: at("2024-05-01T12:00:00Z"),
            user_id: Some(1),
            key_id: Some(11),
            key_name: Some("laptop".into()),
            channel_id: Some(8),
            model: Some("gpt-4o-mini".into()),
            prompt_tokens: 20,
            completion_tokens: 4,
            cost: 10,
            status: 200,
            latency_ms: 80,
            ..LogRow::default()
        },
        LogRow {
            request_id: "req_c".into(),
            time: at("2024-05-02T09:00:00Z"),
            user_id: Some(2),
            key_id: Some(12),
            key_name: Some("ci".into()),
            model: Some("gpt-4o".into()),
            status: 429,
            error: Some("quota, \"exhausted\"".into()),
            ..LogRow::default()
        },
    ]
}

#[tokio::test]
async fn logs_filters_export_and_usage() {
    // The rows are from 2024: keep them (the default 90-day retention would delete them at start).
    let gw = Gw::start_with(|s| s.log_retention_days = None).await;
    gw.running
        .state
        .store
        .insert_logs(&log_rows())
        .await
        .unwrap();

    let all = gw.get("/logs").await;
    assert_status(&all, 200);
    assert_eq!(all.body["total"], 3);
    let rows = all.body["data"].as_array().unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["req_c", "req_b", "req_a"], "newest first");
    let a = &rows[2];
    assert_eq!(
        keys_of(a),
        set(&[
            "request_id",
            "time",
            "user_id",
            "key_id",
            "key_name",
            "channel_id",
            "model",
            "upstream_model",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "cost",
            "status",
            "stream",
            "retries",
            "latency_ms",
            "ttft_ms",
            "client_ip",
            "error",
            "count"
        ])
    );
    assert_rfc3339(&a["time"]);
    assert_eq!(at(a["time"].as_str().unwrap()), at("2024-05-01T10:00:00Z"));
    assert_eq!(a["upstream_model"], "gpt-4o-2024-08-06");
    assert_eq!(a["cached_tokens"], 2);
    assert_eq!(a["stream"], true);
    assert_eq!(a["ttft_ms"], 30);
    assert_eq!(a["client_ip"], "10.0.0.1");
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["count"], 1);

    let count = |path: String| {
        let gw = &gw;
        async move {
            let r = gw.get(&path).await;
            assert_status(&r, 200);
            let ids: Vec<String> = r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["request_id"].as_str().unwrap().to_owned())
                .collect();
            (r.body["total"].as_i64().unwrap(), ids)
        }
    };
    assert_eq!(count("/logs?user_id=1".into()).await.0, 2);
    assert_eq!(count("/logs?key_id=12".into()).await.1, ["req_c"]);
    assert_eq!(
        count("/logs?model=gpt-4o".into()).await.1,
        ["req_c", "req_a"]
    );
    assert_eq!(count("/logs?channel_id=8".into()).await.1, ["req_b"]);
    assert_eq!(count("/logs?status=429".into()).await.1, ["req_c"]);
    assert_eq!(count("/logs?request_id=req_b".into()).await.1, ["req_b"]);
    assert_eq!(
        count("/logs?since=2024-05-01T11:00:00Z&until=2024-05-02T00:00:00%2B00:00".into())
            .await
            .1,
        ["req_b"]
    );
    assert_eq!(count("/logs?since=2024-05-02".into()).await.1, ["req_c"]);
    let (total, page) = count("/logs?limit=1&offset=1".into()).await;
    assert_eq!((total, page), (3, vec!["req_b".to_owned()]));
    assert_eq!(
        count("/logs?user_id=1&model=gpt-4o-mini".into()).await.1,
        ["req_b"]
    );
    assert_bad_field(&gw.get("/logs?since=yesterday").await, "since");
    assert_bad_field(&gw.get("/logs?until=2024-13-01T00:00:00Z").await, "until");
    assert_bad_field(&gw.get("/logs?user_id=alice").await, "user_id");
    assert_bad_field(&gw.get("/logs?user=1").await, "user");
    assert_bad_field(
        &gw.get("/logs?since=2024-05-02T00:00:00Z&until=2024-05-01T00:00:00Z")
            .await,
        "until",
    );

    // CSV export with the same filters.
    let csv = gw.get("/logs/export").await;
    assert_status(&csv, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "request_id,time,user_id,key_id,key_name,channel_id,model,upstream_model,prompt_tokens,cached_tokens,\
         completion_tokens,cost,status,stream,retries,latency_ms,ttft_ms,client_ip,error,count"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("req_c,2024-05-02T09:00:00"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(",\"quota, \"\"exhausted\"\"\",1"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3]
            .contains(",laptop,7,gpt-4o,gpt-4o-2024-08-06,10,2,5,100,200,true,1,120,30,10.0.0.1,"),
        "{}",
        lines[3]
    );
    let filtered = gw.get("/logs/export?user_id=2").await;
    assert_eq!(filtered.text.lines().count(), 2);
    assert_bad_field(&gw.get("/logs/export?since=soon").await, "since");

    // Usage.
    let by_day_model = gw.get("/usage?group_by=day,model").await;
    assert_status(&by_day_model, 200);
    let buckets = by_day_model.body["data"].as_array().unwrap();
    assert_eq!(buckets.len(), 3);
    assert_eq!(
        keys_of(&buckets[0]),
        set(&[
            "day",
            "model",
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "cost"
        ])
    );
    assert_eq!(
        buckets[0],
        json!({"day": "2024-05-01", "model": "gpt-4o", "requests": 1, "prompt_tokens": 10, "completion_tokens": 5, "cost": 100})
    );
    assert_eq!(buckets[2]["day"], "2024-05-02");
    let by_user = gw.get("/usage?group_by=user").await;
    assert_eq!(
        by_user.body["data"],
        json!([
            {"user_id": 1, "requests": 2, "prompt_tokens": 30, "completion_tokens": 9, "cost": 110},
            {"user_id": 2, "requests": 1, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0}
        ])
    );
    let by_channel = gw
        .get("/usage?group_by=channel&since=2024-05-01T11:00:00Z")
        .await;
    assert_eq!(
        by_channel.body["data"],
        json!([
            {"channel_id": null, "requests": 1, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0},
            {"channel_id": 8, "requests": 1, "prompt_tokens": 20, "completion_tokens": 4, "cost": 10}
        ])
    );
    let total = gw.get("/usage").await;
    assert_eq!(
        total.body["data"],
        json!([{"requests": 3, "prompt_tokens": 30, "completion_tokens": 9, "cost": 110}])
    );
    assert_bad_field(&gw.get("/usage?group_by=week").await, "group_by");
    assert_bad_field(&gw.get("/usage?until=never").await, "until");
}

#[tokio::test]
async fn channel_test_reports_latency_and_upstream_errors() {
    let gw = Gw::start().await;
    let mock = MockUpstream::start().await.unwrap();
    let good = "sk-good-upstream-key-0001";
    let bad = "sk-bad-upstream-key-0002";
    mock.set_accepted_keys(Some(vec![good.to_owned()]));

    let ch = gw
        .post(
            "/channels",
            json!({"name": "mock", "kind": "openai", "base_url": mock.base_url(), "keys": [good], "models": ["gpt-4o"],
                   "model_mapping": {"gpt-4o": "gpt-4o-upstream"}}),
        )
        .await;
    let id = ch.body["id"].as_i64().unwrap();
    mock.push(Behavior::delay(60, Behavior::Reply(Reply::text("hi"))));
    let ok = gw.post(&format!("/channels/{id}/test"), json!({})).await;
    assert_status(&ok, 200);
    assert_eq!(
        keys_of(&ok.body),
        set(&["ok", "model", "latency_ms", "error"])
    );
    assert_eq!(ok.body["ok"], true, "{}", ok.text);
    assert_eq!(ok.body["model"], "gpt-4o");
    assert!(ok.body["latency_ms"].as_i64().unwrap() >= 60, "{}", ok.text);
    assert_eq!(ok.body["error"], Value::Null);
    let sent = mock.chat_requests();
    assert_eq!(sent.last().unwrap().body["model"], "gpt-4o-upstream");

    // The upstream refuses the key: 200 with ok=false and the upstream's reason; the key leaves rotation.
    let refused_ch = gw
        .post(
            "/channels",
            json!({"name": "refused", "kind": "openai", "base_url": mock.base_url(), "keys": [bad], "models": ["gpt-4o"]}),
        )
        .await;
    let rid = refused_ch.body["id"].as_i64().unwrap();
    let failed = gw.post(&format!("/channels/{rid}/test"), json!({})).await;
    assert_status(&failed, 200);
    assert_eq!(failed.body["ok"], false);
    assert_eq!(failed.body["model"], "gpt-4o");
    let error = failed.body["error"].as_str().unwrap();
    assert!(error.contains("Incorrect API key"), "{error}");
    let path = format!("/channels/{rid}");
    eventually("the refused key to leave rotation", || async {
        let c = gw.get(&path).await;
        c.body["key_status"][0]["healthy"] == false && c.body["health"] == "unhealthy"
    })
    .await;
    let c = gw.get(&path).await;
    assert!(
        c.body["last_error"]
            .as_str()
            .unwrap()
            .contains("Incorrect API key")
    );
    assert!(
        c.body["key_status"][0]["disabled_reason"]
            .as_str()
            .is_some()
    );

    // New keys put it back to healthy, and the test passes again.
    let fixed = gw.patch(&path, json!({"keys": [good]})).await;
    assert_eq!(fixed.body["health"], "healthy");
    assert_eq!(fixed.body["last_error"], Value::Null);
    let again = gw.post(&format!("/channels/{rid}/test"), json!({})).await;
    assert_eq!(again.body["ok"], true, "{}", again.text);

    // A channel without models cannot be tested, and says why.
    let bare = gw
        .post(
            "/channels",
            json!({"name": "bare", "kind": "openai", "base_url": mock.base_url(), "keys": [good]}),
        )
        .await;
    let bid = bare.body["id"].as_i64().unwrap();
    let untestable = gw.post(&format!("/channels/{bid}/test"), json!({})).await;
    assert_status(&untestable, 200);
    assert_eq!(untestable.body["ok"], false);
    assert!(
        untestable.body["error"]
            .as_str()
            .unwrap()
            .contains("models")
    );

    gw.assert_never_seen(good);
    gw.assert_never_seen(bad);
}
