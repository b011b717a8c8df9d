//! Shared fixtures for the store's integration tests: a user with one key.

use store::{ApiKey, NewApiKey, NewUser, Store, User};

/// Creates user `name` with `balance` and a key `k` capped at `cap`.
#[expect(
    clippy::unwrap_used,
    reason = "test fixture: failing loudly is the point"
)]
pub async fn user_with_key(
    store: &Store,
    name: &str,
    balance: i64,
    cap: Option<i64>,
) -> (User, ApiKey) {
    let user = store
        .create_user(&NewUser {
            name: name.into(),
            group: "default".into(),
            balance,
            enabled: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    let key = store
        .create_key(&NewApiKey {
            user_id: user.id,
            name: "k".into(),
            key_hash: format!("hash-{name}"),
            prefix: "sk-test".into(),
            enabled: true,
            spend_cap: cap,
            ..NewApiKey::default()
        })
        .await
        .unwrap();
    (user, key)
}
