//! Channels: CRUD with masked keys, field-named 400s, the catalog refreshed on writes, and channel tests.

use mock_upstream::{Behavior, MockUpstream, Reply};
use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_bad_field, assert_rfc3339, keys_of, set};
use crate::harness::{Gw, assert_status, eventually};

#[tokio::test]
async fn channels_crud_with_masked_keys() {
    let gw = Gw::bare(|_| {}).await;
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
            "region",
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
    assert!(gw.state.catalog.snapshot().channel(id).is_some());

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
    let snapshot = gw.state.catalog.snapshot();
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
    assert!(gw.state.catalog.snapshot().channel(id).is_none());

    gw.assert_never_seen(secret);
    gw.assert_never_seen(new_secret);
    gw.assert_never_seen("tiny");
}

#[tokio::test]
async fn channel_test_reports_latency_and_upstream_errors() {
    let gw = Gw::bare(|_| {}).await;
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

/// Bedrock channels: a key not shaped `AK|SK|REGION` is a 400 naming `keys` that never repeats the secret (on
/// create and on a keys-only PATCH, checked against the channel's kind); `base_url` may be left out; the channel
/// test signs a real request, passes with the right secret and takes the key out with a wrong one.
#[tokio::test]
async fn bedrock_channels_check_their_keys_and_test_with_signatures() {
    let gw = Gw::bare(|_| {}).await;
    let mock = MockUpstream::start().await.unwrap();
    let good = "AKIDADMIN|admin-secret-value|eu-west-1";
    mock.set_accepted_keys(Some(vec![good.to_owned()]));
    let channel = |keys: Value| {
        json!({"name": "aws", "kind": "bedrock", "base_url": mock.base_url(), "keys": keys,
            "models": ["claude-3-5-sonnet-20240620"],
            "model_mapping": {"claude-3-5-sonnet-20240620": "anthropic.claude-3-5-sonnet-20240620-v1:0"}})
    };
    for bad in [
        "AKIDADMIN|admin-secret-value",
        "AKIDADMIN|admin-secret-value|not a region",
    ] {
        let refused = gw.post("/channels", channel(json!([bad]))).await;
        assert_bad_field(&refused, "keys");
        assert!(
            !refused.text.contains("admin-secret-value"),
            "{}",
            refused.text
        );
    }
    let no_url = gw
        .post(
            "/channels",
            json!({"name": "cloud", "kind": "bedrock", "keys": [good]}),
        )
        .await;
    assert_status(&no_url, 201);
    assert_eq!(no_url.body["base_url"], "");

    let created = gw.post("/channels", channel(json!([good]))).await;
    assert_status(&created, 201);
    let id = created.body["id"].as_i64().unwrap();
    assert!(
        !created.text.contains("admin-secret-value"),
        "{}",
        created.text
    );
    let path = format!("/channels/{id}");
    let patched = gw.patch(&path, json!({"keys": ["only-one-part"]})).await;
    assert_bad_field(&patched, "keys");

    let ok = gw.post(&format!("/channels/{id}/test"), json!({})).await;
    assert_eq!(ok.body["ok"], true, "{}", ok.text);
    let sent = mock.chat_requests();
    assert!(sent.last().unwrap().path.ends_with("v1%3A0/invoke"));

    let wrong = gw
        .patch(
            &path,
            json!({"keys": ["AKIDADMIN|a-wrong-secret|eu-west-1"]}),
        )
        .await;
    assert_status(&wrong, 200);
    let failed = gw.post(&format!("/channels/{id}/test"), json!({})).await;
    assert_eq!(failed.body["ok"], false);
    let error = failed.body["error"].as_str().unwrap();
    assert!(
        error.contains("signature") && !error.contains("a-wrong-secret"),
        "{error}"
    );
    eventually("the wrong key to leave rotation", || async {
        gw.get(&path).await.body["key_status"][0]["healthy"] == false
    })
    .await;
}
