//! Keys: shown once at creation, usable at once.

use mock_upstream::MockUpstream;
use serde_json::{Value, json};

use super::{assert_bad_field, assert_bad_posts, assert_rfc3339, keys_of, set};
use crate::harness::{Gw, assert_status};

#[tokio::test]
async fn keys_are_shown_once_and_work_at_once() {
    let gw = Gw::bare(|_| {}).await;
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
    let marker = gw.seen_mark();
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
    gw.assert_never_seen_since(marker, &secret);
    let stored = gw.state.store.get_key(id).await.unwrap();
    assert_eq!(
        stored.key_hash,
        gateway::auth::key_format::hash_key(&secret)
    );
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
    assert_bad_posts(
        &gw,
        "/keys",
        &[
            (json!({"user_id": 999, "name": "x"}), "user_id"),
            (json!({"name": "x"}), "user_id"),
            (json!({"user_id": user_id}), "name"),
            (json!({"user_id": "one", "name": "x"}), "user_id"),
        ],
    )
    .await;
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
