//! The shapes of `/api/keys`: what a key's owner may send (requested values, checked against the operator's
//! ceilings by `ceiling`), and what they see — the limits as enforced plus the operator's ceilings. The admin
//! API's shapes (`admin::keys`) show the operator's fields instead.

use super::ceiling::{Ceilings, OwnChange};
use crate::admin::extract::{bad, non_empty, non_empty_list, not_negative, nullable, parse_time};
use crate::admin::keys::KeyView;
use crate::catalog::enforced::enforced;
use crate::config::validate;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use store::ApiKey;

/// Body of `POST /api/keys` (`name` required) and `PATCH`/`PUT /api/keys/{id}` (partial). Each limit is the
/// value wanted enforced: at most what the operator set (`null` = none, only where the operator set none).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnKeyInput {
    /// Only the user's own id (keys cannot be made for, or moved to, someone else).
    pub(super) user_id: Option<i64>,
    pub(super) name: Option<String>,
    /// `false` disables the key; `true` enables it again unless the operator disabled it.
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    spend_cap: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    expires_at: Option<Option<String>>,
    /// CIDR blocks or addresses; each inside the operator's list, if the operator set one.
    ip_allowlist: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    rpm_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    tpm_limit: Option<Option<i64>>,
}

fn positive(v: Option<Option<i64>>, field: &str) -> Result<Option<Option<i64>>, ApiError> {
    if let Some(Some(n)) = v
        && n < 1
    {
        return Err(bad(
            field,
            format!("`{field}` must be at least 1 (null for no limit)."),
        ));
    }
    Ok(v)
}

impl OwnKeyInput {
    /// The validated change (the name apart); malformed values are a 400 naming the field.
    pub(super) fn into_change(self) -> Result<(Option<String>, OwnChange), ApiError> {
        let expires_at = match self.expires_at {
            Some(Some(t)) => Some(Some(parse_time(t.trim()).ok_or_else(|| {
                bad(
                    "expires_at",
                    format!("`expires_at` must be an RFC 3339 time (2025-01-31T00:00:00Z) or null, got `{t}`."),
                )
            })?)),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(list) = &self.ip_allowlist {
            validate::cidrs(list).map_err(|m| bad("ip_allowlist", m))?;
        }
        let models = match self.models {
            Some(Some(m)) => Some(Some(non_empty_list(m, "models")?)),
            other => other,
        };
        let spend_cap = match self.spend_cap {
            Some(Some(c)) => Some(Some(not_negative(c, "spend_cap")?)),
            other => other,
        };
        let change = OwnChange {
            enabled: self.enabled,
            models,
            spend_cap,
            expires_at,
            ip_allowlist: self.ip_allowlist,
            rpm_limit: positive(self.rpm_limit, "rpm_limit")?,
            tpm_limit: positive(self.tpm_limit, "tpm_limit")?,
        };
        let name = self.name.map(|n| non_empty(n, "name")).transpose()?;
        Ok((name, change))
    }
}

/// A key as its owner sees it: the admin view of the key as enforced (every limit the tighter of the operator's and
/// the owner's), and under `operator` what the operator set (the most the owner may ask for).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnKeyView {
    #[serde(flatten)]
    key: KeyView,
    /// The limits the operator set (with the group's default rates): the owner can only tighten these.
    operator: Ceilings,
}

impl OwnKeyView {
    /// `key` as stored; `group_limits` are the owner's group's default (requests, tokens) per minute.
    pub fn new(key: &ApiKey, group_limits: (Option<i64>, Option<i64>)) -> Self {
        Self {
            operator: Ceilings::of(key, group_limits),
            key: KeyView::from(enforced(key, group_limits)),
        }
    }
}

/// The create answer: the key plus its secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedOwnKey {
    #[serde(flatten)]
    pub view: OwnKeyView,
    pub key: String,
}

/// `{"data":[OwnKeyView…],"total":N}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnKeyList {
    pub data: Vec<OwnKeyView>,
    /// Rows over all pages.
    pub total: i64,
}
