//! Channels with their keys: round trips, health, key replacement and cascade on delete.

#[macro_use]
mod backends;
mod common;
mod outcome;

use api_types::ChannelKind;
use common::user_with_key;
use outcome::{conflict, conflicting, not_found};
use std::collections::BTreeMap;
use store::{ChannelPatch, NewChannel, StoreError};

/// The stored (possibly sealed) channel key values, read around the store.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn raw_secrets(url: String) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT secret FROM channel_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

/// The store at `url` sealing channel keys with `secret` (and reading those sealed with `previous`).
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn sealed(url: &str, secret: &str, previous: &[String]) -> store::Store {
    let cipher = store::secrets::SecretCipher::new(secret, previous).unwrap();
    store::Store::connect(url)
        .await
        .unwrap()
        .with_cipher(cipher)
}

fn openai(name: &str, keys: &[&str]) -> NewChannel {
    NewChannel {
        name: name.into(),
        kind: ChannelKind::OpenAi,
        base_url: "https://api.openai.com".into(),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        models: vec!["gpt-4o".into()],
        model_mapping: BTreeMap::from([("gpt-4".into(), "gpt-4o".into())]),
        groups: vec!["default".into()],
        priority: 2,
        weight: 3,
        enabled: true,
        api_version: Some("2024-01".into()),
        region: None,
        modes: Some(vec![api_types::MjMode::Relax]),
        headers: BTreeMap::from([("x-org".into(), "o1".into())]),
        forward_image_urls: true,
    }
}

on_each_backend!(false, #[tokio::test] async fn create_get_list(db) {
    let s = db.store().await;
    let new = openai("main", &["sk-a", "sk-b"]);
    let ch = s.create_channel(&new).await.unwrap();
    assert_eq!(ch.name, "main");
    assert_eq!((ch.priority, ch.weight, ch.enabled), (2, 3, true));
    assert_eq!(ch.model_mapping, new.model_mapping);
    assert_eq!(ch.headers, new.headers);
    assert_eq!(ch.modes, new.modes);
    assert_eq!(ch.api_version, new.api_version);
    assert_eq!(
        (ch.health.as_str(), ch.last_error.as_deref()),
        ("healthy", None)
    );
    let secrets: Vec<_> = ch
        .keys
        .iter()
        .map(|k| (k.position, k.secret.as_str(), k.healthy))
        .collect();
    assert_eq!(secrets, [(0, "sk-a", true), (1, "sk-b", true)]);
    assert!(ch.keys.iter().all(|k| k.channel_id == ch.id));

    assert_eq!(s.get_channel(ch.id).await.unwrap(), ch);
    assert_eq!(s.get_channel_by_name("main").await.unwrap(), ch);
    assert!(not_found(s.get_channel(999).await));
    assert!(not_found(s.get_channel_by_name("x").await));

    assert_eq!(conflicting(s.create_channel(&new).await).as_deref(), Some("channel main"));

    let bare = NewChannel {
        modes: None,
        api_version: None,
        region: None,
        ..openai("second", &["sk-c"])
    };
    let second = s.create_channel(&bare).await.unwrap();
    assert_eq!(second.modes, None);
    assert_eq!(s.list_channels().await.unwrap(), [ch, second]);
});

on_each_backend!(false, #[tokio::test] async fn health_and_updates(db) {
    let s = db.store().await;
    let ch = s
        .create_channel(&openai("main", &["sk-a", "sk-b"]))
        .await
        .unwrap();
    let kb = ch.keys[1].id;

    s.set_channel_key_health(kb, false, Some("401 invalid key"))
        .await
        .unwrap();
    s.set_channel_health(ch.id, store::ChannelHealth::Unhealthy, Some("all keys failing"))
        .await
        .unwrap();
    let got = s.get_channel(ch.id).await.unwrap();
    assert!(!got.keys[1].healthy);
    assert_eq!(
        got.keys[1].disabled_reason.as_deref(),
        Some("401 invalid key")
    );
    assert_eq!(
        (got.health.as_str(), got.last_error.as_deref()),
        ("unhealthy", Some("all keys failing"))
    );
    assert!(not_found(s.set_channel_key_health(999, true, None).await));
    assert!(not_found(s.set_channel_health(999, store::ChannelHealth::Healthy, None).await));

    // A patch without keys keeps keys and health.
    let p = ChannelPatch {
        base_url: Some("https://example.test".into()),
        weight: Some(9),
        enabled: Some(false),
        api_version: Some(None),
        region: None,
        modes: Some(None),
        ..ChannelPatch::default()
    };
    let got = s.update_channel(ch.id, &p).await.unwrap();
    assert_eq!(
        (got.base_url.as_str(), got.weight, got.enabled),
        ("https://example.test", 9, false)
    );
    assert_eq!((got.api_version, got.modes), (None, None));
    assert_eq!(got.keys.len(), 2);
    assert!(!got.keys[1].healthy);
    assert_eq!(got.health, store::ChannelHealth::Unhealthy);

    // Replacing keys resets health.
    let p = ChannelPatch {
        keys: Some(vec!["sk-x".into()]),
        ..ChannelPatch::default()
    };
    let got = s.update_channel(ch.id, &p).await.unwrap();
    assert_eq!(got.keys.len(), 1);
    assert_eq!(
        (
            got.keys[0].secret.as_str(),
            got.keys[0].healthy,
            got.keys[0].position
        ),
        ("sk-x", true, 0)
    );
    assert_eq!((got.health.as_str(), got.last_error), ("healthy", None));
    assert!(not_found(s.set_channel_key_health(kb, true, None).await));

    // Re-marking healthy drops the reason.
    let kx = got.keys[0].id;
    s.set_channel_key_health(kx, false, Some("429"))
        .await
        .unwrap();
    s.set_channel_key_health(kx, true, Some("ignored"))
        .await
        .unwrap();
    let got = s.get_channel(ch.id).await.unwrap();
    assert_eq!(
        (got.keys[0].healthy, got.keys[0].disabled_reason.clone()),
        (true, None)
    );

    s.create_channel(&openai("other", &[])).await.unwrap();
    let rename = ChannelPatch {
        name: Some("other".into()),
        ..ChannelPatch::default()
    };
    assert!(conflict(s.update_channel(ch.id, &rename).await));
    assert!(not_found(s.update_channel(999, &ChannelPatch::default()).await));
    // The failed rename left the channel untouched.
    assert_eq!(s.get_channel(ch.id).await.unwrap().name, "main");
});

on_each_backend!(false, #[tokio::test] async fn delete_removes_keys(db) {
    let s = db.store().await;
    let _ = user_with_key(&s, "alice", 0, None).await;
    let ch = s
        .create_channel(&openai("main", &["sk-a", "sk-b"]))
        .await
        .unwrap();
    s.delete_channel(ch.id).await.unwrap();
    assert!(not_found(s.get_channel(ch.id).await));
    for k in &ch.keys {
        assert!(not_found(s.set_channel_key_health(k.id, false, None).await));
    }
    assert!(s.load_catalog().await.unwrap().channels.is_empty());
    assert!(not_found(s.delete_channel(ch.id).await));
});

on_each_backend!(true, #[tokio::test] async fn channel_keys_are_sealed_at_rest_and_rotate(db) {
    let url = db.url.clone();
    // A channel stored before encryption was turned on.
    let plain = store::Store::connect(&url).await.unwrap();
    plain
        .create_channel(&openai("old", &["sk-old-plain"]))
        .await
        .unwrap();
    drop(plain);

    let s = sealed(&url, "first-secret-0123456789", &[]).await;
    assert_eq!(
        s.reseal_channel_keys().await.unwrap(),
        1,
        "plaintext sealed at start-up"
    );
    s.create_channel(&openai("new", &["sk-new-secret"]))
        .await
        .unwrap();
    let stored = raw_secrets(url.clone()).await;
    assert!(
        stored
            .iter()
            .all(|v| v.starts_with("enc:v2:") && !v.contains("sk-")),
        "{stored:?}"
    );
    assert_eq!(
        s.get_channel_by_name("new").await.unwrap().keys[0].secret,
        "sk-new-secret"
    );
    assert_eq!(
        s.load_catalog().await.unwrap().channels[0].keys[0].secret,
        "sk-old-plain"
    );

    // Rotation: the new secret reads old values through TOLLGATE_SECRET_KEY_PREVIOUS and re-seals them.
    let s2 = sealed(
        &url,
        "second-secret-0123456789",
        &["first-secret-0123456789".into()],
    )
    .await;
    assert_eq!(s2.reseal_channel_keys().await.unwrap(), 2);
    assert_eq!(
        s2.get_channel_by_name("old").await.unwrap().keys[0].secret,
        "sk-old-plain"
    );
    let s3 = sealed(&url, "second-secret-0123456789", &[]).await;
    assert_eq!(
        s3.get_channel_by_name("new").await.unwrap().keys[0].secret,
        "sk-new-secret",
        "rotation complete"
    );

    // Without the secret, sealed keys are a clear error, not garbage sent upstream.
    let none = store::Store::connect(&url).await.unwrap();
    let err = none.load_catalog().await.unwrap_err().to_string();
    assert!(err.contains("TOLLGATE_SECRET_KEY"), "{err}");
});

/// Runs one statement around the store (as someone editing the database by hand would).
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
async fn raw_execute(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

on_each_backend!(true, #[tokio::test] async fn unknown_stored_kind_is_that_rows_error(db) {
    let s = db.store().await;
    let kept = s.create_channel(&openai("kept", &["sk-a"])).await.unwrap();
    let odd = s.create_channel(&openai("odd", &["sk-b"])).await.unwrap();
    let gemini = ChannelPatch {
        kind: Some(ChannelKind::Gemini),
        ..ChannelPatch::default()
    };
    let kept = s.update_channel(kept.id, &gemini).await.unwrap();
    assert_eq!(kept.kind, ChannelKind::Gemini);
    raw_execute(&db.url, "UPDATE channels SET kind = 'watsonx' WHERE name = 'odd'").await;

    // Listings go on without it.
    assert_eq!(s.list_channels().await.unwrap(), std::slice::from_ref(&kept));
    assert_eq!(s.load_catalog().await.unwrap().channels, [kept]);
    // Asked for by id or name, it is a corrupt row naming the channel and the text.
    for got in [s.get_channel(odd.id).await, s.get_channel_by_name("odd").await] {
        match got {
            Err(StoreError::Corrupt(what)) => assert_eq!(
                what,
                format!(
                    "channel {} (odd): unknown channel kind `watsonx`; expected one of openai, azure, \
                     anthropic, gemini, midjourney, vertex, bedrock",
                    odd.id
                )
            ),
            other => panic!("expected a corrupt row, got {other:?}"),
        }
    }
    // A patch that leaves the kind alone cannot read the channel back, so it changes nothing.
    let rename = ChannelPatch {
        name: Some("renamed".into()),
        ..ChannelPatch::default()
    };
    assert!(matches!(
        s.update_channel(odd.id, &rename).await,
        Err(StoreError::Corrupt(_))
    ));
    // Setting a known kind mends it.
    let openai_kind = ChannelPatch {
        kind: Some(ChannelKind::OpenAi),
        ..ChannelPatch::default()
    };
    let mended = s.update_channel(odd.id, &openai_kind).await.unwrap();
    assert_eq!((mended.name.as_str(), mended.kind), ("odd", ChannelKind::OpenAi));
    assert_eq!(s.list_channels().await.unwrap().len(), 2);
});
