//! The dashboard's API (PRODUCT §6): logins with signed session cookies and CSRF tokens, a user's self-service
//! routes scoped to their own records, redemption codes, the playground, and admin routes with an admin session.

use crate::browser::Browser;
use crate::harness::{
    BASE_TOML, Gw, assert_content_type, expect_error, hello, request_id, sse_data, streamed_content,
};
use crate::support::{admin_get, strs};
use mock_upstream::MockUpstream;
use reqwest::Method;
use serde_json::{Value, json};

async fn create_user(gw: &Gw, name: &str, password: &str, role: &str, balance: i64) -> i64 {
    let resp = gw
        .admin(
            Method::POST,
            "/users",
            Some(json!({"name": name, "password": password, "role": role, "balance": balance})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["role"], role);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    user["id"].as_i64().unwrap()
}

/// Creates a user as [`create_user`] does and logs them in.
async fn signed_up<'a>(
    gw: &'a Gw,
    name: &str,
    password: &str,
    role: &str,
    balance: i64,
) -> Browser<'a> {
    create_user(gw, name, password, role, balance).await;
    Browser::user(gw, name, password).await
}

/// Eve registers herself with `password`.
async fn register_eve(gw: &Gw, password: &str) -> reqwest::Response {
    let body = json!({"username": "eve", "password": password});
    gw.post_anon("/api/auth/register", &body).await
}

/// The operator creates `count` redemption codes of `amount` each.
async fn create_codes(gw: &Gw, amount: i64, count: i64) -> reqwest::Response {
    let body = json!({"amount": amount, "count": count});
    gw.admin(Method::POST, "/codes", Some(body)).await
}

#[tokio::test]
async fn a_user_logs_in_and_manages_only_their_own_keys_logs_and_usage() {
    let (gw, _mock) = Gw::default().await;
    let bob_id = create_user(&gw, "bob", "bob-password-1", "user", 5_000_000).await;

    // Wrong password and unknown user: the same 401.
    for body in [
        json!({"username": "bob", "password": "nope-nope"}),
        json!({"username": "nobody", "password": "bob-password-1"}),
    ] {
        let resp = gw.post_anon("/api/auth/login", &body).await;
        expect_error(resp, 401, Some("invalid_credentials")).await;
    }
    // Without a session the self-service routes are closed.
    let resp = gw.get_anon("/api/keys").await;
    expect_error(resp, 401, Some("session_required")).await;

    let (bob, answer) = Browser::login(
        &gw,
        json!({"username": "bob", "password": "bob-password-1"}),
    )
    .await;
    assert_eq!(answer["role"], "user");
    assert_eq!(answer["user"]["id"], bob_id);
    assert_eq!(answer["user"]["balance"], 5_000_000);
    let session = bob.get_json("/api/auth/session").await;
    assert_eq!(session["user"]["name"], "bob");
    assert_eq!(session["csrf_token"], bob.csrf);
    assert_eq!(bob.get_json("/api/me").await["balance"], 5_000_000);

    // A write without the CSRF token (what a cross-site form could send) is refused and changes nothing.
    for csrf in [None, Some("0000")] {
        let body = Some(json!({"name": "cli"}));
        let resp = bob.call_csrf(Method::POST, "/api/keys", body, csrf).await;
        expect_error(resp, 403, Some("csrf_failed")).await;
    }
    assert_eq!(bob.get_json("/api/keys").await["total"], 0);

    // Create a key (shown once), use it, see the request in the log and the usage.
    let resp = bob
        .create_key(json!({"name": "cli", "spend_cap": 1_000_000}))
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-") && secret.len() == 51, "{secret}");
    assert_eq!(created["user_id"], bob_id);
    let key_id = created["id"].as_i64().unwrap();
    let keys = bob.get_json("/api/keys").await;
    assert_eq!(keys["total"], 1);
    assert!(
        keys["data"][0].get("key").is_none(),
        "the secret is shown once"
    );

    let resp = gw.chat_as(&secret, hello()).await;
    assert_eq!(resp.status(), 200);
    let request_id = request_id(&resp);
    // Alice's request must not show up in Bob's log.
    assert_eq!(gw.chat(hello()).await.status(), 200);
    gw.logs(2).await;
    let logs = bob.get_json("/api/logs").await;
    assert_eq!(logs["total"], 1);
    assert_eq!(logs["data"][0]["request_id"], request_id);
    assert_eq!(logs["data"][0]["key_id"], key_id);
    let cost = logs["data"][0]["cost"].as_i64().unwrap();
    assert!(cost > 0);
    let filtered = bob.get_json("/api/logs?model=gpt-4o-mini").await;
    assert_eq!(filtered["total"], 0);
    // `user_id` is not Bob's to choose.
    let resp = bob.call(Method::GET, "/api/logs?user_id=1", None).await;
    expect_error(resp, 400, None).await;

    let usage = bob.get_json("/api/usage?group_by=day,model").await;
    assert_eq!(usage["total"], 1);
    assert_eq!(usage["data"][0]["model"], "gpt-4o");
    assert_eq!(usage["data"][0]["requests"], 1);
    assert_eq!(usage["data"][0]["cost"], cost);
    let resp = bob
        .call(Method::GET, "/api/usage?group_by=user", None)
        .await;
    expect_error(resp, 400, None).await;
    let me = bob.get_json("/api/me").await;
    assert_eq!(me["balance"], 5_000_000 - cost);
    assert_eq!(me["spent"], cost);

    // Alice's key is not Bob's: 404 for reading, changing and deleting it.
    let alice_key = gw.key("alice", "alice-key").await;
    let path = format!("/api/keys/{}", alice_key.id);
    expect_error(bob.call(Method::GET, &path, None).await, 404, None).await;
    expect_error(
        bob.call(Method::PATCH, &path, Some(json!({"enabled": false})))
            .await,
        404,
        None,
    )
    .await;
    expect_error(bob.call(Method::DELETE, &path, None).await, 404, None).await;
    assert_eq!(
        gw.chat(hello()).await.status(),
        200,
        "alice's key untouched"
    );
    // Nor can Bob create a key for Alice.
    let resp = bob.create_key(json!({"name": "x", "user_id": 1})).await;
    expect_error(resp, 400, None).await;

    // Disable, then delete, his own key.
    let resp = bob.patch_key(key_id, json!({"enabled": false})).await;
    assert_eq!(resp.status(), 200);
    expect_error(
        gw.chat_as(&secret, hello()).await,
        401,
        Some("api_key_disabled"),
    )
    .await;
    let resp = bob
        .call(Method::DELETE, &format!("/api/keys/{key_id}"), None)
        .await;
    assert_eq!(resp.status(), 204);
    expect_error(
        gw.chat_as(&secret, hello()).await,
        401,
        Some("invalid_api_key"),
    )
    .await;

    // A user session is not an admin's.
    let resp = bob.call(Method::GET, "/api/admin/users", None).await;
    expect_error(resp, 403, Some("forbidden")).await;

    // A new password ends the sessions made with the old one.
    let resp = gw
        .admin(
            Method::PATCH,
            &format!("/users/{bob_id}"),
            Some(json!({"password": "bob-password-2"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = bob.call(Method::GET, "/api/me", None).await;
    expect_error(resp, 401, Some("session_expired")).await;
    // A forged cookie is refused too.
    let forged = Browser {
        gw: &gw,
        cookie: bob.cookie.replacen(&format!("u.{bob_id}."), "u.1.", 1),
        csrf: bob.csrf.clone(),
    };
    expect_error(
        forged.call(Method::GET, "/api/me", None).await,
        401,
        Some("session_expired"),
    )
    .await;
    let again = Browser::user(&gw, "bob", "bob-password-2").await;
    assert_eq!(again.get_json("/api/me").await["name"], "bob");

    // Logging out clears the cookie.
    let resp = again.call(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(resp.status(), 204);
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("Max-Age=0"), "{set}");
    gw.stop().await;
}

#[tokio::test]
async fn admins_use_the_admin_api_with_a_session_and_the_token_login_has_no_account() {
    let (gw, _mock) = Gw::default().await;
    let root = signed_up(&gw, "root", "root-password", "admin", 0).await;
    let users = root.get_json("/api/admin/users").await;
    assert_eq!(users["total"], 2);
    // Writes need the CSRF token here too.
    let resp = root
        .call_csrf(
            Method::POST,
            "/api/admin/groups",
            Some(json!({"name": "vip", "multiplier": 800})),
            None,
        )
        .await;
    expect_error(resp, 403, Some("csrf_failed")).await;
    let resp = root
        .call(
            Method::POST,
            "/api/admin/groups",
            Some(json!({"name": "vip", "multiplier": 800})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    // An admin user also has their own keys.
    assert_eq!(root.get_json("/api/keys").await["total"], 0);

    let resp = gw
        .post_anon("/api/auth/login", &json!({"admin_token": "wrong"}))
        .await;
    expect_error(resp, 401, Some("invalid_admin_token")).await;
    let (token_session, answer) =
        Browser::login(&gw, json!({"admin_token": crate::harness::ADMIN})).await;
    assert_eq!(answer["role"], "admin");
    assert!(answer["user"].is_null());
    assert_eq!(
        token_session.get_json("/api/admin/groups").await["total"],
        2
    );
    let resp = token_session.call(Method::GET, "/api/keys", None).await;
    expect_error(resp, 403, Some("forbidden")).await;
    gw.stop().await;
}

#[tokio::test]
async fn registration_is_off_unless_the_operator_turns_it_on() {
    let mock = MockUpstream::start().await.unwrap();
    let closed = Gw::start(BASE_TOML, &[&mock], |_| {}).await;
    let options: Value = closed
        .get_anon("/api/auth/options")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(options["registration"], false);
    let resp = register_eve(&closed, "eve-password").await;
    expect_error(resp, 403, Some("forbidden")).await;
    closed.stop().await;

    let open = Gw::start(BASE_TOML, &[&mock], |s| s.allow_registration = true).await;
    let resp = register_eve(&open, "short").await;
    expect_error(resp, 400, None).await;
    let resp = register_eve(&open, "eve-password").await;
    assert_eq!(resp.status(), 201);
    assert!(resp.headers().contains_key("set-cookie"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["role"], "user");
    assert_eq!(body["user"]["balance"], 0);
    assert_eq!(body["user"]["group"], "default");
    let resp = register_eve(&open, "eve-password").await;
    expect_error(resp, 400, None).await;
    let eve = Browser::user(&open, "eve", "eve-password").await;
    assert_eq!(eve.get_json("/api/me").await["name"], "eve");
    open.stop().await;
}

#[tokio::test]
async fn redemption_codes_top_up_exactly_once() {
    let (gw, _mock) = Gw::default().await;
    let bob_id = create_user(&gw, "bob", "bob-password-1", "user", 0).await;
    create_user(&gw, "carol", "carol-password", "user", 0).await;

    expect_error(create_codes(&gw, 0, 1).await, 400, None).await;
    let resp = create_codes(&gw, 2_500_000, 4).await;
    assert_eq!(resp.status(), 201);
    let batch: Value = resp.json().await.unwrap();
    assert_eq!(batch["total"], 4);
    let codes: Vec<String> = batch["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();

    let bob = Browser::user(&gw, "bob", "bob-password-1").await;
    let carol = Browser::user(&gw, "carol", "carol-password").await;
    let body = json!({"code": codes[0]});
    // Two users race for one code: one gets it.
    let (a, b) = tokio::join!(bob.redeem(body.clone()), carol.redeem(body.clone()));
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "{statuses:?}"
    );
    let bob_balance = bob.get_json("/api/me").await["balance"].as_i64().unwrap();
    let carol_balance = carol.get_json("/api/me").await["balance"].as_i64().unwrap();
    assert_eq!(bob_balance + carol_balance, 2_500_000);

    let resp = bob.redeem(json!({"code": codes[1]})).await;
    assert_eq!(resp.status(), 200);
    let redeemed: Value = resp.json().await.unwrap();
    assert_eq!(redeemed["amount"], 2_500_000);
    assert_eq!(redeemed["balance"], bob_balance + 2_500_000);
    let resp = bob.redeem(json!({"code": codes[1]})).await;
    expect_error(resp, 400, Some("invalid_code")).await;
    let resp = bob
        .call(
            Method::POST,
            "/api/redeem",
            Some(json!({"code": "tg-nope"})),
        )
        .await;
    expect_error(resp, 400, Some("invalid_code")).await;
    // Without a session, a user's API key redeems for its owner; no credentials at all is a 401.
    let redeem_with = |key: Option<&str>, code: &str| {
        let mut req = gw
            .http
            .post(gw.url("/api/redeem"))
            .json(&json!({"code": code}));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let resp = redeem_with(None, &codes[3]).await.unwrap();
    expect_error(resp, 401, Some("session_required")).await;
    let resp = redeem_with(Some("sk-not-a-key"), &codes[3]).await.unwrap();
    expect_error(resp, 401, Some("invalid_api_key")).await;
    let alice_before = gw.user("alice").await.balance;
    let resp = redeem_with(Some(crate::harness::KEY), &codes[3])
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(gw.user("alice").await.balance, alice_before + 2_500_000);

    // The new balance is spendable at once: a key of Bob's works.
    let created: Value = bob
        .create_key(json!({"name": "k"}))
        .await
        .json()
        .await
        .unwrap();
    let resp = gw.chat_as(created["key"].as_str().unwrap(), hello()).await;
    assert_eq!(resp.status(), 200);

    let used = admin_get(&gw, "/codes?status=used").await;
    assert_eq!(used["total"], 3);
    assert!(
        used["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["redeemed_by"] == bob_id)
    );
    let resp = gw.admin(Method::GET, "/codes/export", None).await;
    assert_eq!(resp.status(), 200);
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("code,amount,created_at,redeemed_by,redeemed_at\n"));
    assert!(
        csv.contains(&codes[2]) && !csv.contains(&codes[1]) && !csv.contains(&codes[3]),
        "only unused codes: {csv}"
    );
    let unused = admin_get(&gw, "/codes?status=unused").await;
    let id = unused["data"][0]["id"].as_i64().unwrap();
    assert_eq!(
        gw.admin(Method::DELETE, &format!("/codes/{id}"), None)
            .await
            .status(),
        204
    );
    let resp = bob.redeem(json!({"code": codes[2]})).await;
    expect_error(resp, 400, Some("invalid_code")).await;
    gw.stop().await;
}

#[tokio::test]
async fn the_playground_streams_through_the_relay_and_bills_the_user() {
    let (gw, _mock) = Gw::default().await;
    let bob = signed_up(&gw, "bob", "bob-password-1", "user", 1_000_000).await;
    let models = bob.get_json("/api/playground/models").await;
    let ids = strs(&models["data"], "id");
    assert!(ids.contains(&"gpt-4o"), "{ids:?}");

    let resp = bob
        .call(
            Method::POST,
            "/api/playground/chat/completions",
            Some(json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_content_type(&resp, "text/event-stream");
    let text = resp.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let content = streamed_content(&data);
    assert!(!content.is_empty());

    // Billed and logged on Bob's playground key.
    let row = gw.logs(1).await.remove(0);
    assert_eq!(row.key_name.as_deref(), Some("playground"));
    assert!(row.cost > 0);
    let me = bob.get_json("/api/me").await;
    assert_eq!(me["balance"], 1_000_000 - row.cost);
    // A second call reuses the same key.
    let resp = bob
        .call(
            Method::POST,
            "/api/playground/chat/completions",
            Some(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "again"}]})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(bob.get_json("/api/keys").await["total"], 1);
    // The session's CSRF token is required, and the cookie alone is no API key.
    let resp = bob
        .call_csrf(
            Method::POST,
            "/api/playground/chat/completions",
            Some(hello()),
            None,
        )
        .await;
    expect_error(resp, 403, Some("csrf_failed")).await;
    let resp = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .header("cookie", &bob.cookie)
        .json(&hello())
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, Some("missing_api_key")).await;
    gw.stop().await;
}

#[tokio::test]
async fn admins_fetch_an_upstreams_model_list_and_list_midjourney_tasks() {
    let (gw, mock) = Gw::default().await;
    let resp = gw
        .admin(
            Method::POST,
            "/channels/fetch-models",
            Some(json!({"kind": "openai", "base_url": mock.base_url(), "key": "up-key-1"})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    assert!(list["total"].as_i64().unwrap() > 0, "{list}");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );

    let channel_id = gw.state.catalog.snapshot().channels()[0].channel.id;
    let resp = gw
        .admin(
            Method::POST,
            "/channels/fetch-models",
            Some(json!({"channel_id": channel_id})),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = gw
        .admin(
            Method::POST,
            "/channels/fetch-models",
            Some(json!({"kind": "openai", "base_url": "ftp://x", "key": "k"})),
        )
        .await;
    expect_error(resp, 400, None).await;

    let tasks = admin_get(&gw, "/mj/tasks").await;
    assert_eq!(tasks["total"], 0);
    let filtered = gw
        .admin(Method::GET, "/mj/tasks?status=SUCCESS&user_id=1", None)
        .await;
    assert_eq!(filtered.status(), 200);
    gw.stop().await;
}
