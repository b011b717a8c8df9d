//! Channel input (create and partial update) and the read view, where upstream secrets only appear masked.

use super::extract::{bad, non_empty, non_empty_list, not_negative, nullable};
use crate::config::validate;
use crate::error::ApiError;
use api_types::ChannelKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Channel, ChannelPatch, NewChannel};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// Body of `POST /channels` (name, kind, base_url and keys required) and of `PATCH`/`PUT /channels/{id}`
/// (every field optional; absent fields stay as they are).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub base_url: Option<String>,
    /// Write-only upstream secrets; replacing them puts the channel back to healthy.
    pub keys: Option<Vec<String>>,
    pub models: Option<Vec<String>>,
    pub model_mapping: Option<BTreeMap<String, String>>,
    pub groups: Option<Vec<String>>,
    pub priority: Option<i64>,
    pub weight: Option<i64>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub api_version: Option<Option<String>>,
    /// `vertex`: the Vertex AI location (`null`: `us-central1`).
    #[serde(default, deserialize_with = "nullable")]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub modes: Option<Option<Vec<String>>>,
    pub headers: Option<BTreeMap<String, String>>,
    /// Anthropic: forward http(s) image URLs as `url` sources instead of downloading and inlining them.
    pub forward_image_urls: Option<bool>,
}

impl ChannelInput {
    pub fn into_new(self) -> Result<NewChannel, ApiError> {
        // A bedrock channel may leave `base_url` out: its key's region names the endpoint.
        let bedrock = self.kind.as_deref().map(str::trim) == Some(ChannelKind::Bedrock.as_str());
        let present = [
            ("name", self.name.is_some()),
            ("kind", self.kind.is_some()),
            ("base_url", self.base_url.is_some() || bedrock),
        ];
        if let Some((field, _)) = present.iter().find(|(_, p)| !p) {
            return Err(bad(field, format!("`{field}` is required.")));
        }
        if self.keys.is_none() {
            return Err(bad(
                "keys",
                "`keys` is required: a list of one or more upstream secrets.",
            ));
        }
        let p = self.into_patch(None)?;
        let Some(kind) = p.kind else {
            return Err(bad("kind", "`kind` is required."));
        };
        Ok(NewChannel {
            name: p.name.unwrap_or_default(),
            kind,
            base_url: p.base_url.unwrap_or_default(),
            keys: p.keys.unwrap_or_default(),
            models: p.models.unwrap_or_default(),
            model_mapping: p.model_mapping.unwrap_or_default(),
            groups: p.groups.unwrap_or_else(|| vec!["default".to_owned()]),
            priority: p.priority.unwrap_or(0),
            weight: p.weight.unwrap_or(1),
            enabled: p.enabled.unwrap_or(true),
            api_version: p.api_version.flatten(),
            region: p.region.flatten(),
            modes: p.modes.flatten(),
            headers: p.headers.unwrap_or_default(),
            forward_image_urls: p.forward_image_urls.unwrap_or(false),
        })
    }

    /// Validates the fields that are present; `current` is the kind of the channel being changed, if any (keys and
    /// base URL are checked against the kind the channel will have).
    pub fn into_patch(self, current: Option<ChannelKind>) -> Result<ChannelPatch, ApiError> {
        let name = self.name.map(|v| non_empty(v, "name")).transpose()?;
        let kind = self
            .kind
            .map(|k| validate::channel_kind(k.trim()).map_err(|m| bad("kind", m)))
            .transpose()?;
        let will_be = kind.or(current);
        let base_url = self
            .base_url
            .map(|u| {
                let u = u.trim().to_owned();
                validate::channel_base_url(will_be, &u)
                    .map(|()| u)
                    .map_err(|m| bad("base_url", m))
            })
            .transpose()?;
        let keys = self.keys.map(|k| check_keys(k, will_be)).transpose()?;
        let models = self
            .models
            .map(|m| non_empty_list(m, "models"))
            .transpose()?;
        if let Some(map) = &self.model_mapping
            && map
                .iter()
                .any(|(k, v)| k.trim().is_empty() || v.trim().is_empty())
        {
            return Err(bad(
                "model_mapping",
                "`model_mapping` maps model names to model names; neither may be empty.",
            ));
        }
        let groups = self
            .groups
            .map(|g| non_empty_list(g, "groups"))
            .transpose()?;
        let weight = self.weight.map(|w| not_negative(w, "weight")).transpose()?;
        let api_version = match self.api_version {
            Some(Some(v)) => Some(Some(non_empty(v, "api_version")?)),
            other => other,
        };
        let region = match self.region {
            Some(Some(v)) => Some(Some(
                validate::region(v.trim()).map_err(|m| bad("region", m))?,
            )),
            other => other,
        };
        let modes = match self.modes {
            Some(Some(modes)) => Some(Some(
                validate::mj_modes(&modes).map_err(|m| bad("modes", m))?,
            )),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(h) = &self.headers {
            validate::headers(h).map_err(|m| bad("headers", m))?;
        }
        Ok(ChannelPatch {
            name,
            kind,
            base_url,
            keys,
            models,
            model_mapping: self.model_mapping,
            groups,
            priority: self.priority,
            weight,
            enabled: self.enabled,
            api_version,
            region,
            modes,
            headers: self.headers,
            forward_image_urls: self.forward_image_urls,
        })
    }
}

fn check_keys(keys: Vec<String>, kind: Option<ChannelKind>) -> Result<Vec<String>, ApiError> {
    let keys = non_empty_list(keys, "keys")?;
    if keys.is_empty() {
        return Err(bad("keys", "`keys` needs at least one upstream secret."));
    }
    if keys.iter().any(|k| k.contains('…') || k == "****") {
        return Err(bad(
            "keys",
            "`keys` must hold the full upstream secrets; the masked values shown on reads cannot be written back. \
             Leave `keys` out to keep the current ones.",
        ));
    }
    if let Some(kind) = kind {
        for (i, key) in keys.iter().enumerate() {
            validate::channel_key(kind, key)
                .map_err(|m| bad("keys", format!("`keys[{i}]`: {m}")))?;
        }
    }
    Ok(keys)
}

/// What reads show instead of a secret: the first and last four characters, or `****` for short ones.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}…{tail}")
}

/// Replaces any of the channel's secrets inside upstream error text with its mask.
pub fn scrub(text: &str, channel: &Channel) -> String {
    channel
        .keys
        .iter()
        .filter(|k| !k.secret.is_empty())
        .fold(text.to_owned(), |t, k| {
            t.replace(&k.secret, &mask(&k.secret))
        })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyStatus {
    pub key: String,
    pub healthy: bool,
    #[schema(required)]
    pub disabled_reason: Option<String>,
}

/// A channel as every admin read shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    #[schema(schema_with = kind_schema)]
    pub kind: ChannelKind,
    pub base_url: String,
    pub keys: Vec<String>,
    pub key_status: Vec<KeyStatus>,
    pub models: Vec<String>,
    pub model_mapping: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub priority: i64,
    pub weight: i64,
    pub enabled: bool,
    #[schema(required)]
    pub api_version: Option<String>,
    #[schema(required)]
    pub region: Option<String>,
    #[schema(required, value_type = Option<Vec<String>>)]
    pub modes: Option<Vec<api_types::MjMode>>,
    pub headers: BTreeMap<String, String>,
    pub forward_image_urls: bool,
    pub health: String,
    #[schema(required)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `kind` in the document: one of the texts of [`ChannelKind`].
fn kind_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ChannelKind::ALL.map(ChannelKind::as_str)))
        .build()
}

impl From<Channel> for ChannelView {
    fn from(c: Channel) -> Self {
        let key_status = c
            .keys
            .iter()
            .map(|k| KeyStatus {
                key: mask(&k.secret),
                healthy: k.healthy,
                disabled_reason: k.disabled_reason.as_deref().map(|r| scrub(r, &c)),
            })
            .collect();
        let last_error = c.last_error.as_deref().map(|e| scrub(e, &c));
        Self {
            id: c.id,
            keys: c.keys.iter().map(|k| mask(&k.secret)).collect(),
            key_status,
            last_error,
            name: c.name,
            kind: c.kind,
            base_url: c.base_url,
            models: c.models,
            model_mapping: c.model_mapping,
            groups: c.groups,
            priority: c.priority,
            weight: c.weight,
            enabled: c.enabled,
            api_version: c.api_version,
            region: c.region,
            modes: c.modes,
            headers: c.headers,
            forward_image_urls: c.forward_image_urls,
            health: c.health.as_str().to_owned(),
            created_at: c.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_long_and_short_secrets() {
        assert_eq!(mask("sk-abcdefghijklmnopwxyz"), "sk-a…wxyz");
        assert_eq!(mask("short-key"), "****");
        assert_eq!(mask("123456789012"), "1234…9012");
    }
}
