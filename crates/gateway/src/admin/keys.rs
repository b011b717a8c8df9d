//! `/api/admin/keys[/{id}]`: users' API keys. The `sk-…` secret is generated here, answered once on create and
//! stored only as its SHA-256 and a display prefix. The fields read and written here are the operator's
//! ceilings; what a key's owner set on top (`/api/keys`, `account::keys`) is theirs, and is enforced only where
//! it is tighter.

use super::crud;
use super::extract::{
    List, Params, bad, non_empty, non_empty_list, not_found, not_negative, nullable, parse_time,
    required_text,
};
use crate::auth::key_format;
use crate::config::validate;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use store::{ApiKey, ApiKeyPatch, NewApiKey, Store, StoreError};

/// Body of `POST /keys` (`user_id` and `name` required) and `PATCH`/`PUT /keys/{id}` (partial; `null` clears
/// `models`, `spend_cap`, `expires_at` and `rpm_limit`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    user_id: Option<i64>,
    name: Option<String>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    spend_cap: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<String>>,
    ip_allowlist: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    rpm_limit: Option<Option<i64>>,
    /// Prompt + completion tokens per minute (null = the group's default, if any).
    #[serde(default, deserialize_with = "nullable")]
    tpm_limit: Option<Option<i64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    id: i64,
    user_id: i64,
    name: String,
    /// `sk-` and the next four characters of the secret.
    prefix: String,
    enabled: bool,
    #[schema(required)]
    models: Option<Vec<String>>,
    #[schema(required)]
    spend_cap: Option<i64>,
    spent: i64,
    reserved: i64,
    /// `spend_cap - spent - reserved`, `null` without a cap.
    #[schema(required)]
    remaining: Option<i64>,
    #[schema(required)]
    expires_at: Option<DateTime<Utc>>,
    ip_allowlist: Vec<String>,
    #[schema(required)]
    rpm_limit: Option<i64>,
    #[schema(required)]
    tpm_limit: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            remaining: k
                .spend_cap
                .map(|cap| cap.saturating_sub(k.spent).saturating_sub(k.reserved)),
            id: k.id,
            user_id: k.user_id,
            name: k.name,
            prefix: k.prefix,
            enabled: k.enabled,
            models: k.models,
            spend_cap: k.spend_cap,
            spent: k.spent,
            reserved: k.reserved,
            expires_at: k.expires_at,
            ip_allowlist: k.ip_allowlist,
            rpm_limit: k.rpm_limit,
            tpm_limit: k.tpm_limit,
            created_at: k.created_at,
        }
    }
}

/// The create answer: the record plus the secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    view: KeyView,
    key: String,
}

fn what(id: i64) -> impl FnOnce() -> String {
    move || format!("API key {id}")
}

/// The validated optional fields, shared by create and update.
fn into_patch(input: KeyInput) -> Result<ApiKeyPatch, ApiError> {
    let models = match input.models {
        Some(Some(m)) => Some(Some(non_empty_list(m, "models")?)),
        other => other,
    };
    let spend_cap = match input.spend_cap {
        Some(Some(c)) => Some(Some(not_negative(c, "spend_cap")?)),
        other => other,
    };
    let expires_at = match input.expires_at {
        Some(Some(t)) => Some(Some(parse_time(t.trim()).ok_or_else(|| {
            bad(
                "expires_at",
                format!("`expires_at` must be an RFC 3339 time (2025-01-31T00:00:00Z) or null, got `{t}`."),
            )
        })?)),
        Some(None) => Some(None),
        None => None,
    };
    if let Some(list) = &input.ip_allowlist {
        validate::cidrs(list).map_err(|m| bad("ip_allowlist", m))?;
    }
    if let Some(Some(rpm)) = input.rpm_limit
        && rpm < 1
    {
        return Err(bad(
            "rpm_limit",
            "`rpm_limit` must be at least 1 (null for no limit; disable the key with `enabled: false`).",
        ));
    }
    if let Some(Some(tpm)) = input.tpm_limit
        && tpm < 1
    {
        return Err(bad(
            "tpm_limit",
            "`tpm_limit` must be at least 1 (null for no limit).",
        ));
    }
    Ok(ApiKeyPatch {
        tpm_limit: input.tpm_limit,
        name: input.name.map(|n| non_empty(n, "name")).transpose()?,
        key_hash: None,
        enabled: input.enabled,
        models,
        spend_cap,
        expires_at,
        ip_allowlist: input.ip_allowlist,
        rpm_limit: input.rpm_limit,
    })
}

crud::record!(Keys, "API key", by id, in_catalog = true, load = get_key => store::ApiKey as KeyView, remove = delete_key);

impl crud::Listed for Keys {
    type Item = ApiKey;
    type View = KeyView;
    const FILTERS: &'static [&'static str] = &["user_id"];
    const PAGED: bool = true;
    async fn fetch(store: &Store, params: &Params) -> Result<List<ApiKey>, ApiError> {
        let (limit, offset) = params.page()?;
        let (data, total) = store
            .list_keys(params.int("user_id")?, limit, offset)
            .await?;
        Ok(List { data, total })
    }
}

/// A new key for `user_id`, answered with its secret this once.
pub(super) async fn create(
    state: &AppState,
    mut input: KeyInput,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let Some(user_id) = input.user_id.take() else {
        return Err(bad("user_id", "`user_id` is required."));
    };
    create_for(state, user_id, input).await
}

/// Creates a key of `user_id` and answers it with its secret.
async fn create_for(
    state: &AppState,
    user_id: i64,
    mut input: KeyInput,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = required_text(input.name.take(), "name")?;
    let p = into_patch(input)?;
    let missing_user = || bad("user_id", format!("User {user_id} does not exist."));
    match state.store.get_user(user_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(missing_user()),
        Err(e) => return Err(e.into()),
    }
    let secret = key_format::generate_key();
    let new = NewApiKey {
        user_id,
        name,
        key_hash: key_format::hash_key(&secret),
        prefix: key_format::display_prefix(&secret),
        enabled: p.enabled.unwrap_or(true),
        models: p.models.flatten(),
        spend_cap: p.spend_cap.flatten(),
        expires_at: p.expires_at.flatten(),
        ip_allowlist: p.ip_allowlist.unwrap_or_default(),
        rpm_limit: p.rpm_limit.flatten(),
        tpm_limit: p.tpm_limit.flatten(),
    };
    let key = state.store.create_key(&new).await.map_err(|e| match e {
        // The user went away between the check and the insert (foreign key).
        StoreError::NotFound => missing_user(),
        other => other.into(),
    })?;
    state.refresh_catalog().await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            view: key.into(),
            key: secret,
        }),
    ))
}

/// The key `id`, if `owner` (when given) owns it; someone else's key is as good as missing.
pub async fn owned(state: &AppState, id: i64, owner: Option<i64>) -> Result<ApiKey, ApiError> {
    let key = state.store.get_key(id).await.map_err(not_found(what(id)))?;
    if owner.is_some_and(|o| o != key.user_id) {
        return Err(ApiError::NotFound { what: what(id)() });
    }
    Ok(key)
}

impl crud::Update for Keys {
    type Input = KeyInput;
    type Patch = ApiKeyPatch;
    async fn prepare(state: &AppState, id: &i64, input: KeyInput) -> Result<ApiKeyPatch, ApiError> {
        if input.user_id.is_some() {
            let current = owned(state, *id, None).await?;
            if input.user_id.is_some_and(|u| u != current.user_id) {
                return Err(bad(
                    "user_id",
                    "`user_id` cannot be changed; create a new key for the other user.",
                ));
            }
        }
        into_patch(input)
    }
    async fn save(store: &Store, id: &i64, patch: &ApiKeyPatch) -> Result<ApiKey, StoreError> {
        store.update_key(*id, patch).await
    }
}
