//! `[[channels]]`, `[[users]]`, `[[keys]]`, `[[prices]]` and `[[groups]]` from the TOML file, upserted by name at
//! start-up so a deployment can be fully declarative. A user's `balance` is applied only when the user is created:
//! re-applying it on every restart would hand back money already spent.

use crate::auth::{key_format, password};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use store::{
    ApiKeyPatch, ChannelPatch, Group, NewApiKey, NewChannel, NewUser, Price, Store, StoreError,
    UserPatch,
};

/// What the TOML file declares; each table may be absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Declared {
    pub channels: Vec<DeclaredChannel>,
    pub users: Vec<DeclaredUser>,
    pub keys: Vec<DeclaredKey>,
    pub prices: Vec<DeclaredPrice>,
    pub groups: Vec<DeclaredGroup>,
}

fn default_groups() -> Vec<String> {
    vec!["default".to_owned()]
}
fn default_group() -> String {
    "default".to_owned()
}
fn yes() -> bool {
    true
}
fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredChannel {
    pub name: String,
    pub kind: String,
    /// Required, except for a bedrock channel (the endpoint of its key's region).
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub model_mapping: BTreeMap<String, String>,
    #[serde(default = "default_groups")]
    pub groups: Vec<String>,
    #[serde(default)]
    pub priority: i64,
    #[serde(default = "one")]
    pub weight: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub api_version: Option<String>,
    /// `vertex`: the Vertex AI location (absent: `us-central1`).
    pub region: Option<String>,
    pub modes: Option<Vec<api_types::MjMode>>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Anthropic: forward http(s) image URLs as `url` sources instead of downloading and inlining them.
    #[serde(default)]
    pub forward_image_urls: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredUser {
    pub name: String,
    pub password: Option<String>,
    #[serde(default = "default_group")]
    pub group: String,
    #[serde(default)]
    pub balance: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredKey {
    pub name: String,
    /// The owning user's name.
    pub user: String,
    /// The secret clients send (`sk-…`), so a declared key survives redeploys unchanged.
    pub key: String,
    pub models: Option<Vec<String>>,
    pub spend_cap: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredPrice {
    pub model: String,
    pub input_per_million: Option<i64>,
    pub cached_input_per_million: Option<i64>,
    pub cache_write_per_million: Option<i64>,
    pub cache_write_1h_per_million: Option<i64>,
    pub audio_input_per_million: Option<i64>,
    pub audio_output_per_million: Option<i64>,
    pub output_per_million: Option<i64>,
    pub per_request: Option<i64>,
    pub max_output_tokens: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredGroup {
    pub name: String,
    pub multiplier: i64,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{entity} `{name}`: {message}")]
    Invalid {
        entity: &'static str,
        name: String,
        message: String,
    },
    #[error("{entity} `{name}`: {source}")]
    Store {
        entity: &'static str,
        name: String,
        source: StoreError,
    },
}

fn invalid(entity: &'static str, name: &str, message: impl Into<String>) -> ApplyError {
    ApplyError::Invalid {
        entity,
        name: name.to_owned(),
        message: message.into(),
    }
}

fn store_err(entity: &'static str, name: &str) -> impl FnOnce(StoreError) -> ApplyError {
    let name = name.to_owned();
    move |source| ApplyError::Store {
        entity,
        name,
        source,
    }
}

/// The row a name lookup found, `None` when there is none to update (it is to be created), or the store error
/// naming the declared `entity`.
fn existing<T>(
    found: Result<T, StoreError>,
    entity: &'static str,
    name: &str,
) -> Result<Option<T>, ApplyError> {
    match found {
        Ok(row) => Ok(Some(row)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(store_err(entity, name)(e)),
    }
}

impl Declared {
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
            && self.users.is_empty()
            && self.keys.is_empty()
            && self.prices.is_empty()
            && self.groups.is_empty()
    }

    /// Checks what can be checked without the database (kinds, CIDRs, key format).
    pub fn validate(&self) -> Result<(), ApplyError> {
        for c in &self.channels {
            let bad = |m| invalid("channel", &c.name, m);
            let kind = super::validate::channel_kind(&c.kind).map_err(bad)?;
            super::validate::channel_base_url(Some(kind), &c.base_url).map_err(bad)?;
            for key in &c.keys {
                super::validate::channel_key(kind, key)
                    .map_err(|m| invalid("channel", &c.name, format!("keys: {m}")))?;
            }
            if let Some(region) = &c.region {
                super::validate::region(region).map_err(bad)?;
            }
        }
        for k in &self.keys {
            if !key_format::looks_like_key(&k.key) {
                return Err(invalid(
                    "key",
                    &k.name,
                    "`key` must be an `sk-` secret of at least 20 characters",
                ));
            }
            super::validate::cidrs(&k.ip_allowlist).map_err(|m| invalid("key", &k.name, m))?;
        }
        for g in &self.groups {
            if g.multiplier < 0 {
                return Err(invalid("group", &g.name, "multiplier must not be negative"));
            }
        }
        Ok(())
    }

    /// Upserts everything by name. Order matters: groups before users, users before keys.
    pub async fn apply(&self, store: &Store) -> Result<(), ApplyError> {
        self.validate()?;
        for g in &self.groups {
            apply_group(store, g).await?;
        }
        for u in &self.users {
            apply_user(store, u).await?;
        }
        for k in &self.keys {
            apply_key(store, k).await?;
        }
        for c in &self.channels {
            apply_channel(store, c).await?;
        }
        for p in &self.prices {
            apply_price(store, p).await?;
        }
        Ok(())
    }
}

/// Upserts one declared group by its name.
async fn apply_group(store: &Store, g: &DeclaredGroup) -> Result<(), ApplyError> {
    store
        .upsert_group(&Group {
            name: g.name.clone(),
            multiplier: g.multiplier,
            rpm_limit: g.rpm_limit,
            tpm_limit: g.tpm_limit,
        })
        .await
        .map_err(store_err("group", &g.name))?;
    Ok(())
}

/// Upserts one declared user by its name.
async fn apply_user(store: &Store, u: &DeclaredUser) -> Result<(), ApplyError> {
    let hash_it = |p: &str| password::hash(p).map_err(|m| invalid("user", &u.name, m));
    let written = match existing(store.get_user_by_name(&u.name).await, "user", &u.name)? {
        Some(existing) => {
            // A password that still matches keeps its hash (and so the user's sessions) across restarts.
            let unchanged = |p: &str| {
                existing
                    .password_hash
                    .as_deref()
                    .is_some_and(|h| password::verify(p, h))
            };
            let password_hash = match &u.password {
                Some(p) if !unchanged(p) => Some(Some(hash_it(p)?)),
                _ => None,
            };
            let patch = UserPatch {
                group: Some(u.group.clone()),
                enabled: Some(u.enabled),
                password_hash,
                ..Default::default()
            };
            store.update_user(existing.id, &patch).await
        }
        None => {
            let new = NewUser {
                name: u.name.clone(),
                password_hash: u.password.as_deref().map(hash_it).transpose()?,
                group: u.group.clone(),
                balance: u.balance,
                enabled: u.enabled,
                admin: false,
            };
            store.create_user(&new).await
        }
    };
    written.map(drop).map_err(store_err("user", &u.name))
}

/// Upserts one declared key by its name.
async fn apply_key(store: &Store, k: &DeclaredKey) -> Result<(), ApplyError> {
    let user = store.get_user_by_name(&k.user).await.map_err(|e| match e {
        StoreError::NotFound => {
            invalid("key", &k.name, format!("user `{}` does not exist", k.user))
        }
        other => store_err("key", &k.name)(other),
    })?;
    let hash = key_format::hash_key(&k.key);
    let prefix = key_format::display_prefix(&k.key);
    let found = store.get_key_by_name(user.id, &k.name).await;
    let written = match existing(found, "key", &k.name)? {
        Some(existing) => {
            let patch = ApiKeyPatch {
                key_hash: (existing.key_hash != hash).then(|| (hash.clone(), prefix.clone())),
                enabled: Some(k.enabled),
                models: Some(k.models.clone()),
                spend_cap: Some(k.spend_cap),
                expires_at: Some(k.expires_at),
                ip_allowlist: Some(k.ip_allowlist.clone()),
                rpm_limit: Some(k.rpm_limit),
                tpm_limit: Some(k.tpm_limit),
                ..Default::default()
            };
            store.update_key(existing.id, &patch).await
        }
        None => {
            let new = NewApiKey {
                user_id: user.id,
                name: k.name.clone(),
                key_hash: hash,
                prefix,
                enabled: k.enabled,
                models: k.models.clone(),
                spend_cap: k.spend_cap,
                expires_at: k.expires_at,
                ip_allowlist: k.ip_allowlist.clone(),
                rpm_limit: k.rpm_limit,
                tpm_limit: k.tpm_limit,
            };
            store.create_key(&new).await
        }
    };
    written.map(drop).map_err(store_err("key", &k.name))
}

/// Upserts one declared channel by its name.
async fn apply_channel(store: &Store, c: &DeclaredChannel) -> Result<(), ApplyError> {
    let kind =
        super::validate::channel_kind(&c.kind).map_err(|m| invalid("channel", &c.name, m))?;
    let found = match store.get_channel_by_name(&c.name).await {
        Ok(existing) => Ok((existing.id, Some(existing.keys))),
        // A row that does not read back (a kind edited by hand, say): the declaration overwrites it, keys too.
        Err(StoreError::Corrupt(_)) => store.channel_id_by_name(&c.name).await.map(|id| (id, None)),
        Err(e) => Err(e),
    };
    let written = match existing(found, "channel", &c.name)? {
        Some((id, keys)) => {
            let declared: Vec<&str> = c.keys.iter().map(String::as_str).collect();
            let unchanged = keys.is_some_and(|keys| {
                keys.iter()
                    .map(|k| k.secret.as_str())
                    .eq(declared.iter().copied())
            });
            let patch = ChannelPatch {
                kind: Some(kind),
                base_url: Some(c.base_url.clone()),
                // Unchanged keys keep their health; only a real change replaces them.
                keys: (!unchanged).then(|| c.keys.clone()),
                models: Some(c.models.clone()),
                model_mapping: Some(c.model_mapping.clone()),
                groups: Some(c.groups.clone()),
                priority: Some(c.priority),
                weight: Some(c.weight),
                enabled: Some(c.enabled),
                api_version: Some(c.api_version.clone()),
                region: Some(c.region.clone()),
                modes: Some(c.modes.clone()),
                headers: Some(c.headers.clone()),
                forward_image_urls: Some(c.forward_image_urls),
                ..Default::default()
            };
            store.update_channel(id, &patch).await
        }
        None => {
            let new = NewChannel {
                name: c.name.clone(),
                kind,
                base_url: c.base_url.clone(),
                keys: c.keys.clone(),
                models: c.models.clone(),
                model_mapping: c.model_mapping.clone(),
                groups: c.groups.clone(),
                priority: c.priority,
                weight: c.weight,
                enabled: c.enabled,
                api_version: c.api_version.clone(),
                region: c.region.clone(),
                modes: c.modes.clone(),
                headers: c.headers.clone(),
                forward_image_urls: c.forward_image_urls,
            };
            store.create_channel(&new).await
        }
    };
    written.map(drop).map_err(store_err("channel", &c.name))
}

/// Upserts one declared price by its name.
async fn apply_price(store: &Store, p: &DeclaredPrice) -> Result<(), ApplyError> {
    let price = Price {
        model: p.model.clone(),
        input_per_million: p.input_per_million,
        cached_input_per_million: p.cached_input_per_million,
        cache_write_per_million: p.cache_write_per_million,
        cache_write_1h_per_million: p.cache_write_1h_per_million,
        audio_input_per_million: p.audio_input_per_million,
        audio_output_per_million: p.audio_output_per_million,
        output_per_million: p.output_per_million,
        per_request: p.per_request,
        max_output_tokens: p.max_output_tokens,
    };
    store
        .upsert_price(&price)
        .await
        .map_err(store_err("price", &p.model))?;
    Ok(())
}
