//! Round trips for settings, groups, users, keys, prices and the catalog, plus connecting to a file.

#[macro_use]
mod backends;
mod common;
mod outcome;

use api_types::ChannelKind;
use chrono::{TimeZone, Utc};
use common::user_with_key;
use outcome::{conflict, conflicting, not_found};
use std::collections::BTreeMap;
use store::{
    ApiKeyPatch, CodeStatus, Group, NewApiKey, NewUser, Price, Store, StoreError, UserPatch,
};

on_each_backend!(false, #[tokio::test] async fn settings_round_trip(db) {
    let s = db.store().await;
    assert_eq!(s.get_setting("site").await.unwrap(), None);
    s.set_setting("site", "one").await.unwrap();
    assert_eq!(s.get_setting("site").await.unwrap().as_deref(), Some("one"));
    s.set_setting("site", "two").await.unwrap();
    assert_eq!(s.get_setting("site").await.unwrap().as_deref(), Some("two"));
});

on_each_backend!(false, #[tokio::test] async fn groups_crud(db) {
    let s = db.store().await;
    let default = s.get_group("default").await.unwrap();
    assert_eq!(default.multiplier, 1000);

    let vip = Group {
        name: "vip".into(),
        multiplier: 800,
        rpm_limit: Some(10),
        tpm_limit: Some(5000),
    };
    assert_eq!(s.upsert_group(&vip).await.unwrap(), vip);
    let vip2 = Group {
        name: "vip".into(),
        multiplier: 700,
        rpm_limit: None,
        tpm_limit: Some(100),
    };
    assert_eq!(s.upsert_group(&vip2).await.unwrap(), vip2);
    let names: Vec<_> = s
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["default", "vip"]);

    assert!(not_found(s.get_group("nope").await));
    assert!(not_found(s.delete_group("nope").await));

    let (user, _) = user_with_key(&s, "alice", 0, None).await;
    s.update_user(
        user.id,
        &UserPatch {
            group: Some("vip".into()),
            ..UserPatch::default()
        },
    )
    .await
    .unwrap();
    assert!(conflict(s.delete_group("vip").await));
    s.delete_user(user.id).await.unwrap();
    s.delete_group("vip").await.unwrap();
    assert!(not_found(s.get_group("vip").await));
});

on_each_backend!(false, #[tokio::test] async fn users_crud(db) {
    let s = db.store().await;
    let new = NewUser {
        name: "alice".into(),
        password_hash: Some("h".into()),
        group: "default".into(),
        balance: 42,
        enabled: true,
        admin: false,
    };
    let alice = s.create_user(&new).await.unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.password_hash.as_deref(), Some("h"));
    assert_eq!((alice.balance, alice.spent, alice.enabled), (42, 0, true));
    assert_eq!(s.get_user(alice.id).await.unwrap(), alice);
    assert_eq!(s.get_user_by_name("alice").await.unwrap(), alice);

    assert_eq!(conflicting(s.create_user(&new).await).as_deref(), Some("user alice"));

    for name in ["bob", "carol", "dave"] {
        s.create_user(&NewUser {
            name: name.into(),
            group: "default".into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
    }
    let (page, total) = s.list_users(2, 1).await.unwrap();
    assert_eq!(total, 4);
    let names: Vec<_> = page.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["bob", "carol"]);

    let patched = s
        .update_user(
            alice.id,
            &UserPatch {
                name: Some("alicia".into()),
                password_hash: Some(None),
                balance: Some(7),
                enabled: Some(false),
                admin: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!alice.admin);
    assert!(patched.admin);
    assert_eq!(patched.name, "alicia");
    assert_eq!(patched.password_hash, None);
    assert_eq!((patched.balance, patched.enabled), (7, false));
    assert_eq!(patched.created_at, alice.created_at);
    // Empty patch is a read.
    assert_eq!(
        s.update_user(alice.id, &UserPatch::default())
            .await
            .unwrap(),
        patched
    );

    let dup = UserPatch {
        name: Some("bob".into()),
        ..UserPatch::default()
    };
    assert!(conflict(s.update_user(alice.id, &dup).await));
    assert!(not_found(s.update_user(999, &UserPatch::default()).await));

    assert_eq!(s.topup_user(alice.id, 100).await.unwrap().balance, 107);
    assert_eq!(s.topup_user(alice.id, -7).await.unwrap().balance, 100);
    assert!(not_found(s.topup_user(999, 1).await));

    s.delete_user(alice.id).await.unwrap();
    assert!(not_found(s.get_user(alice.id).await));
    assert!(not_found(s.get_user_by_name("alicia").await));
    assert!(not_found(s.delete_user(alice.id).await));
});

on_each_backend!(false, #[tokio::test] async fn keys_crud(db) {
    let s = db.store().await;
    let (alice, k0) = user_with_key(&s, "alice", 0, None).await;
    let (bob, _) = user_with_key(&s, "bob", 0, None).await;

    let expires = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let new = NewApiKey {
        user_id: alice.id,
        name: "prod".into(),
        key_hash: "abc".into(),
        prefix: "sk-abc".into(),
        enabled: true,
        models: Some(vec!["gpt-4o".into(), "o3".into()]),
        spend_cap: Some(5000),
        expires_at: Some(expires),
        ip_allowlist: vec!["10.0.0.0/8".into()],
        rpm_limit: Some(60),
        tpm_limit: Some(9000),
    };
    let key = s.create_key(&new).await.unwrap();
    assert_eq!(key.tpm_limit, Some(9000));
    assert_eq!(key.models, new.models);
    assert_eq!(key.spend_cap, Some(5000));
    assert_eq!(key.expires_at, Some(expires));
    assert_eq!(key.ip_allowlist, ["10.0.0.0/8"]);
    assert_eq!((key.spent, key.reserved, key.rpm_limit), (0, 0, Some(60)));
    assert_eq!(s.get_key(key.id).await.unwrap(), key);
    assert_eq!(s.get_key_by_name(alice.id, "prod").await.unwrap(), key);
    assert!(k0.models.is_none() && k0.ip_allowlist.is_empty() && k0.expires_at.is_none());

    let same_name = NewApiKey {
        key_hash: "other".into(),
        ..new.clone()
    };
    assert_eq!(conflicting(s.create_key(&same_name).await).as_deref(), Some("key prod"));
    let same_hash = NewApiKey {
        name: "other".into(),
        ..new.clone()
    };
    assert_eq!(conflicting(s.create_key(&same_hash).await).as_deref(), Some("key with this secret"));
    let bobs = NewApiKey {
        user_id: bob.id,
        key_hash: "bob-prod".into(),
        ..new.clone()
    };
    s.create_key(&bobs).await.unwrap();
    let ghost = NewApiKey {
        user_id: 999,
        key_hash: "ghost".into(),
        ..new.clone()
    };
    assert!(not_found(s.create_key(&ghost).await));

    let (all, total) = s.list_keys(None, 100, 0).await.unwrap();
    assert_eq!((all.len(), total), (4, 4));
    let (mine, total) = s.list_keys(Some(alice.id), 1, 1).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(mine, std::slice::from_ref(&key));

    let patched = s
        .update_key(
            key.id,
            &ApiKeyPatch {
                name: Some("staging".into()),
                key_hash: Some(("def".into(), "sk-def".into())),
                enabled: Some(false),
                models: Some(None),
                spend_cap: Some(None),
                expires_at: Some(None),
                ip_allowlist: Some(vec![]),
                rpm_limit: Some(Some(5)),
                tpm_limit: Some(None),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            patched.name.as_str(),
            patched.key_hash.as_str(),
            patched.prefix.as_str()
        ),
        ("staging", "def", "sk-def")
    );
    assert!(!patched.enabled);
    assert_eq!(
        (patched.models, patched.spend_cap, patched.expires_at),
        (None, None, None)
    );
    assert!(patched.ip_allowlist.is_empty());
    assert_eq!(patched.rpm_limit, Some(5));
    let clash = ApiKeyPatch {
        name: Some("k".into()),
        ..ApiKeyPatch::default()
    };
    assert!(conflict(s.update_key(key.id, &clash).await));
    assert!(not_found(s.update_key(999, &ApiKeyPatch::default()).await));

    s.delete_key(key.id).await.unwrap();
    assert!(not_found(s.get_key(key.id).await));
    assert!(not_found(s.delete_key(key.id).await));

    // Deleting a user deletes its keys.
    s.delete_user(alice.id).await.unwrap();
    assert!(not_found(s.get_key(k0.id).await));
    assert_eq!(s.list_keys(None, 100, 0).await.unwrap().1, 2); // bob's two keys
});

on_each_backend!(false, #[tokio::test] async fn prices_crud(db) {
    let s = db.store().await;
    let p = Price {
        model: "gpt-4o".into(),
        input_per_million: Some(2_500_000),
        cached_input_per_million: None,
        cache_write_per_million: Some(3_750_000),
        cache_write_1h_per_million: None,
        audio_input_per_million: Some(32_000_000),
        audio_output_per_million: None,
        output_per_million: Some(10_000_000),
        per_request: None,
        max_output_tokens: Some(16_384),
    };
    assert_eq!(s.upsert_price(&p).await.unwrap(), p);
    let star = Price {
        model: "*".into(),
        per_request: Some(1),
        ..Price::default()
    };
    s.upsert_price(&star).await.unwrap();
    let p2 = Price {
        cached_input_per_million: Some(1_250_000),
        cache_write_1h_per_million: Some(5_000_000),
        audio_output_per_million: Some(64_000_000),
        output_per_million: None,
        ..p.clone()
    };
    assert_eq!(s.upsert_price(&p2).await.unwrap(), p2);
    assert_eq!(s.get_price("gpt-4o").await.unwrap(), p2);
    assert_eq!(s.list_prices().await.unwrap(), [star.clone(), p2]);
    s.delete_price("gpt-4o").await.unwrap();
    assert!(not_found(s.get_price("gpt-4o").await));
    assert!(not_found(s.delete_price("gpt-4o").await));
});

on_each_backend!(false, #[tokio::test] async fn catalog_has_everything(db) {
    let s = db.store().await;
    let (alice, key) = user_with_key(&s, "alice", 10, Some(5)).await;
    let ch = s
        .create_channel(&store::NewChannel {
            name: "c".into(),
            kind: ChannelKind::OpenAi,
            base_url: String::new(),
            keys: vec!["sk-1".into()],
            models: Vec::new(),
            model_mapping: BTreeMap::new(),
            groups: Vec::new(),
            priority: 0,
            weight: 0,
            enabled: false,
            api_version: None,
            region: None,
            modes: None,
            headers: BTreeMap::new(),
            forward_image_urls: false,
        })
        .await
        .unwrap();
    let price = Price {
        model: "*".into(),
        per_request: Some(3),
        ..Price::default()
    };
    s.upsert_price(&price).await.unwrap();

    let cat = s.load_catalog().await.unwrap();
    assert_eq!(cat.users, [alice]);
    assert_eq!(cat.keys, [key]);
    assert_eq!(cat.channels, [ch]);
    assert_eq!(cat.prices, [price]);
    assert_eq!(
        cat.groups,
        [Group {
            name: "default".into(),
            multiplier: 1000,
            rpm_limit: None,
            tpm_limit: None,
        }]
    );
});

#[tokio::test]
async fn file_database_persists_and_creates_folders() {
    let dir = std::env::temp_dir().join(format!(
        "tollgate-store-crud-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap()
    ));
    let url = format!("sqlite://{}", dir.join("nested/db.sqlite").display());

    let s = Store::connect(&url).await.unwrap();
    s.ping().await.unwrap();
    let (alice, _) = user_with_key(&s, "alice", 9, None).await;
    // WAL journal in use.
    assert!(dir.join("nested/db.sqlite-wal").exists());
    s.close().await;

    let s = Store::connect(&url).await.unwrap();
    assert_eq!(s.get_user_by_name("alice").await.unwrap(), alice);
    // Migrations are not re-applied: the seeded group is still single.
    assert_eq!(s.list_groups().await.unwrap().len(), 1);
    s.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

on_each_backend!(true, #[tokio::test] async fn reconnecting_keeps_data_and_applies_migrations_once(db) {
    let s = db.store().await;
    s.ping().await.unwrap();
    let (alice, _) = user_with_key(&s, "alice", 9, None).await;
    s.close().await;

    let s = db.store().await;
    assert_eq!(s.get_user_by_name("alice").await.unwrap(), alice);
    // The seeded group is still single: migrations ran once.
    assert_eq!(s.list_groups().await.unwrap().len(), 1);
    s.close().await;
});

on_each_backend!(false, #[tokio::test] async fn redemption_codes_count_once(db) {
    let s = db.store().await;
    let (user, _) = user_with_key(&s, "alice", 100, None).await;
    let codes: Vec<String> = (0..3).map(|i| format!("code-{i}")).collect();
    let created = s.create_codes(&codes, 2_500_000).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|c| c.amount == 2_500_000 && c.redeemed_by.is_none()));

    // A batch with one existing code writes nothing.
    let clash = vec!["fresh".to_owned(), "code-1".to_owned()];
    assert!(conflict(s.create_codes(&clash, 1).await));
    assert_eq!(s.list_codes(CodeStatus::Any, 100, 0).await.unwrap().1, 3);

    // Two redeems of one code racing: exactly one wins.
    let (a, b) = tokio::join!(s.redeem_code("code-0", user.id), s.redeem_code("code-0", user.id));
    assert_eq!(u8::from(a.is_ok()) + u8::from(b.is_ok()), 1);
    let after = s.get_user(user.id).await.unwrap();
    assert_eq!(after.balance, 100 + 2_500_000);
    assert!(not_found(s.redeem_code("code-0", user.id).await));
    assert!(not_found(s.redeem_code("nope", user.id).await));
    // A code redeemed for a user who does not exist is not used up.
    assert!(not_found(s.redeem_code("code-1", 999_999).await));

    let (used, n_used) = s.list_codes(CodeStatus::Used, 100, 0).await.unwrap();
    assert_eq!(n_used, 1);
    assert_eq!(used[0].code, "code-0");
    assert_eq!(used[0].redeemed_by, Some(user.id));
    assert!(used[0].redeemed_at.is_some());
    let (unused, n_unused) = s.list_codes(CodeStatus::Unused, 1, 0).await.unwrap();
    assert_eq!((n_unused, unused.len()), (2, 1));
    assert_eq!(unused[0].code, "code-2");

    s.delete_code(unused[0].id).await.unwrap();
    assert!(not_found(s.delete_code(unused[0].id).await));
    assert_eq!(s.list_codes(CodeStatus::Any, 100, 0).await.unwrap().1, 2);
});

on_each_backend!(false, #[tokio::test] async fn balances_never_overflow(db) {
    let s = db.store().await;
    let (user, _) = user_with_key(&s, "rich", i64::MAX - 10, None).await;
    assert!(matches!(s.topup_user(user.id, 11).await, Err(StoreError::Overflow)));
    assert_eq!(s.get_user(user.id).await.unwrap().balance, i64::MAX - 10);
    assert_eq!(s.topup_user(user.id, 10).await.unwrap().balance, i64::MAX);
    let (poor, _) = user_with_key(&s, "poor", 0, None).await;
    s.topup_user(poor.id, i64::MIN + 5).await.unwrap();
    assert!(matches!(s.topup_user(poor.id, -6).await, Err(StoreError::Overflow)));
    assert!(not_found(s.topup_user(999_999, 1).await));

    s.create_codes(&["big".to_owned()], 1).await.unwrap();
    assert!(matches!(s.redeem_code("big", user.id).await, Err(StoreError::Overflow)));
    // The code was not used up by the refused redeem.
    let (unused, _) = s.list_codes(CodeStatus::Unused, 10, 0).await.unwrap();
    assert_eq!(unused.len(), 1);
});
