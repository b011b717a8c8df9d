//! Self-service keys (`/api/keys` with a dashboard session): a key holder who also has a dashboard login tries to
//! undo what the operator set on their key, to mint keys without bound and to flood the write path. What the
//! operator set is a ceiling: the owner may tighten it, never loosen it (403 `operator_limit` naming the field,
//! nothing changed), and a tightening holds for the very next relay request.

use crate::browser::Browser;
use crate::harness::{DEFAULT_COST, Gw, assert_status, expect_error, hello};
use crate::support::admin_get;
use mock_upstream::MockUpstream;
use serde_json::{Value, json};

const PASSWORD: &str = "mallory-password-1";
const BALANCE: i64 = 5_000_000;

/// Creates a dashboard user (in `group`, if given) with a balance, as the operator.
async fn create_user(gw: &Gw, name: &str, group: Option<&str>) -> i64 {
    let mut body = json!({"name": name, "password": PASSWORD, "balance": BALANCE});
    if let Some(g) = group {
        body["group"] = json!(g);
    }
    let created = gw.post("/users", body).await;
    assert_status(&created, 201);
    created.body["id"].as_i64().unwrap()
}

/// The operator creates a key for `user_id` with `limits`; returns (id, secret).
async fn operator_key(gw: &Gw, user_id: i64, limits: Value) -> (i64, String) {
    let mut body = json!({"user_id": user_id, "name": "from-the-operator"});
    body.as_object_mut()
        .unwrap()
        .extend(limits.as_object().unwrap().clone());
    let created = gw.post("/keys", body).await;
    assert_status(&created, 201);
    (
        created.body["id"].as_i64().unwrap(),
        created.body["key"].as_str().unwrap().to_owned(),
    )
}

/// The usual deployment where the operator has given Mallory one key with `limits`: the gateway, its mock, the
/// key's id and its secret.
async fn mallorys_key(limits: Value) -> (Gw, MockUpstream, i64, String) {
    let (gw, mock) = Gw::default().await;
    let uid = create_user(&gw, "mallory", None).await;
    let (id, secret) = operator_key(&gw, uid, limits).await;
    (gw, mock, id, secret)
}

/// Mallory's dashboard session.
async fn login_mallory(gw: &Gw) -> Browser<'_> {
    Browser::user(gw, "mallory", PASSWORD).await
}

/// Key `id` as the operator sees it.
async fn admin_view(gw: &Gw, id: i64) -> Value {
    admin_get(gw, &format!("/keys/{id}")).await
}

/// A chat with `secret` is refused with `status` and `code`.
async fn chat_refused(gw: &Gw, secret: &str, status: u16, code: &str) {
    expect_error(gw.chat_as(secret, hello()).await, status, Some(code)).await;
}

/// Asserts a 403 naming `field`.
async fn refused(resp: reqwest::Response, field: &str) {
    let body = expect_error(resp, 403, Some("operator_limit")).await;
    assert_eq!(body["error"]["param"], field, "{body}");
}

/// What the operator puts on Mallory's key in most tests.
fn operator_limits() -> Value {
    json!({
        "rpm_limit": 100,
        "tpm_limit": 100000,
        "spend_cap": 1_000_000,
        "models": ["gpt-4o"],
        "ip_allowlist": ["127.0.0.0/8"],
        "expires_at": "2099-01-01T00:00:00Z",
    })
}

#[tokio::test]
async fn raising_or_clearing_an_operators_limits_from_the_dashboard_is_refused_field_by_field() {
    let (gw, mock, id, secret) = mallorys_key(operator_limits()).await;
    let before = admin_view(&gw, id).await;
    let mallory = login_mallory(&gw).await;

    for (body, field) in [
        (json!({"rpm_limit": 1000}), "rpm_limit"),
        (json!({"tpm_limit": 100001}), "tpm_limit"),
        // A harmless field in the same body does not sneak through either.
        (json!({"name": "renamed", "rpm_limit": 101}), "rpm_limit"),
        (json!({"spend_cap": null}), "spend_cap"),
        (json!({"spend_cap": 1_000_001}), "spend_cap"),
        (json!({"models": null}), "models"),
        (json!({"models": ["gpt-4o", "gpt-4o-mini"]}), "models"),
        (json!({"ip_allowlist": []}), "ip_allowlist"),
        (json!({"ip_allowlist": ["0.0.0.0/0"]}), "ip_allowlist"),
        (json!({"expires_at": null}), "expires_at"),
        (json!({"expires_at": "2100-01-01T00:00:00Z"}), "expires_at"),
        (json!({"rpm_limit": null}), "rpm_limit"),
    ] {
        refused(mallory.patch_key(id, body).await, field).await;
    }

    assert_eq!(admin_view(&gw, id).await, before, "nothing changed");
    let mine = mallory.get_json(&format!("/api/keys/{id}")).await;
    assert_eq!(mine["name"], "from-the-operator");
    assert_eq!(mine["rpm_limit"], 100);
    assert_eq!(mine["operator"]["rpm_limit"], 100);
    // The key itself still works within the operator's limits.
    assert_eq!(gw.chat_as(&secret, hello()).await.status(), 200);
    assert_eq!(mock.chat_requests().len(), 1);
}

#[tokio::test]
async fn re_enabling_a_key_the_operator_disabled_is_refused() {
    let (gw, mock, id, secret) = mallorys_key(json!({"enabled": false})).await;
    let mallory = login_mallory(&gw).await;

    refused(
        mallory.patch_key(id, json!({"enabled": true})).await,
        "enabled",
    )
    .await;
    assert_eq!(admin_view(&gw, id).await["enabled"], false);
    chat_refused(&gw, &secret, 401, "api_key_disabled").await;
    assert!(
        mock.chat_requests().is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn tightening_then_loosening_back_to_the_operators_ceiling_works_but_not_past_it() {
    let (gw, mock, id, secret) = mallorys_key(operator_limits()).await;
    let mallory = login_mallory(&gw).await;

    // Tighten to one request a minute: enforced at once (no reload needed), the operator's value untouched.
    let resp = mallory.patch_key(id, json!({"rpm_limit": 1})).await;
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            view["rpm_limit"].clone(),
            view["operator"]["rpm_limit"].clone()
        ),
        (json!(1), json!(100))
    );
    assert_eq!(admin_view(&gw, id).await["rpm_limit"], 100);
    assert_eq!(gw.chat_as(&secret, hello()).await.status(), 200);
    chat_refused(&gw, &secret, 429, "rate_limit_exceeded").await;
    assert_eq!(
        mock.chat_requests().len(),
        1,
        "the refused request never left"
    );

    // Back up to the operator's ceiling: fine. One past it: refused, the tightening-free value stays.
    let resp = mallory.patch_key(id, json!({"rpm_limit": 100})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["rpm_limit"], 100);
    refused(
        mallory.patch_key(id, json!({"rpm_limit": 101})).await,
        "rpm_limit",
    )
    .await;

    // Same for the other limits: tighter is fine, back to the operator's is fine.
    let tighter = json!({
        "spend_cap": 10, "models": [], "ip_allowlist": ["127.0.0.1"],
        "expires_at": "2098-01-01T00:00:00Z", "tpm_limit": 5,
    });
    assert_eq!(mallory.patch_key(id, tighter).await.status(), 200);
    let resp = mallory.patch_key(id, operator_limits()).await;
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["spend_cap"], 1_000_000);
    assert_eq!(view["models"], json!(["gpt-4o"]));
    assert_eq!(view["ip_allowlist"], json!(["127.0.0.0/8"]));
}

#[tokio::test]
async fn a_key_the_user_disabled_themselves_can_be_enabled_again() {
    let (gw, mock, id, secret) = mallorys_key(json!({})).await;
    let mallory = login_mallory(&gw).await;

    let resp = mallory.patch_key(id, json!({"enabled": false})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["enabled"], false);
    chat_refused(&gw, &secret, 401, "api_key_disabled").await;
    assert!(mock.chat_requests().is_empty());
    // The operator's flag was never touched: the admin API still shows the key enabled.
    assert_eq!(admin_view(&gw, id).await["enabled"], true);

    let resp = mallory.patch_key(id, json!({"enabled": true})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(gw.chat_as(&secret, hello()).await.status(), 200);
    assert_eq!(mock.chat_requests().len(), 1);
}

#[tokio::test]
async fn creating_a_twenty_first_key_is_refused() {
    let (gw, _mock) = Gw::default().await;
    create_user(&gw, "mallory", None).await;
    let mallory = login_mallory(&gw).await;
    for i in 0..20 {
        let resp = mallory.create_key(json!({"name": format!("k{i}")})).await;
        assert_eq!(resp.status(), 201, "key {i}");
    }
    let resp = mallory.create_key(json!({"name": "one-too-many"})).await;
    expect_error(resp, 403, Some("key_limit_reached")).await;
    let mine = mallory.get_json("/api/keys").await;
    assert_eq!(mine["total"], 20);
}

#[tokio::test]
async fn a_new_key_cannot_start_looser_than_the_groups_defaults() {
    let (gw, _mock) = Gw::default().await;
    let metered = json!({"name": "metered", "multiplier": 1000, "rpm_limit": 5, "tpm_limit": 500});
    assert_status(&gw.post("/groups", metered).await, 201);
    create_user(&gw, "mallory", Some("metered")).await;
    let mallory = login_mallory(&gw).await;

    for (body, field) in [
        (json!({"name": "fast", "rpm_limit": 6}), "rpm_limit"),
        (json!({"name": "fast", "tpm_limit": 501}), "tpm_limit"),
    ] {
        refused(mallory.create_key(body).await, field).await;
    }
    // `null` (what the dashboard's form sends for an empty field) starts from the group's defaults too.
    let resp = mallory
        .create_key(json!({"name": "plain", "rpm_limit": null, "tpm_limit": null}))
        .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(
        (created["rpm_limit"].clone(), created["tpm_limit"].clone()),
        (json!(5), json!(500))
    );
    let resp = mallory
        .create_key(json!({"name": "slow", "rpm_limit": 2}))
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["rpm_limit"], 2);
}

#[tokio::test]
async fn thirty_one_key_changes_in_a_minute_are_throttled() {
    let (gw, _mock, id, _) = mallorys_key(json!({})).await;
    let mallory = login_mallory(&gw).await;
    for i in 0..30 {
        let resp = mallory
            .patch_key(id, json!({"name": format!("n{i}")}))
            .await;
        assert_eq!(resp.status(), 200, "write {i}");
    }
    let resp = mallory.patch_key(id, json!({"name": "n30"})).await;
    assert!(resp.headers().contains_key("retry-after"));
    expect_error(resp, 429, Some("rate_limit_exceeded")).await;
    assert_eq!(
        admin_view(&gw, id).await["name"],
        "n29",
        "the refused write changed nothing"
    );
    // Creating counts too.
    let resp = mallory.create_key(json!({"name": "extra"})).await;
    expect_error(resp, 429, Some("rate_limit_exceeded")).await;
}

#[tokio::test]
async fn a_tightened_spend_cap_applies_to_the_very_next_request() {
    let (gw, mock, id, secret) = mallorys_key(json!({"spend_cap": 1_000_000})).await;
    let mallory = login_mallory(&gw).await;

    assert_eq!(gw.chat_as(&secret, hello()).await.status(), 200);
    gw.logs(1).await;
    // Cap the key at exactly what it has spent: nothing is left for the next request.
    let resp = mallory
        .patch_key(id, json!({"spend_cap": DEFAULT_COST}))
        .await;
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["remaining"], 0);
    chat_refused(&gw, &secret, 429, "insufficient_quota").await;
    assert_eq!(
        mock.chat_requests().len(),
        1,
        "the refused request never left"
    );

    gw.logs(2).await;
    let key = admin_view(&gw, id).await;
    assert_eq!(key["spent"], DEFAULT_COST);
    assert_eq!(
        key["spend_cap"], 1_000_000,
        "the operator's cap is untouched"
    );
    assert_eq!(gw.user("mallory").await.balance, BALANCE - DEFAULT_COST);
}
