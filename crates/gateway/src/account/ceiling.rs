//! The rule of self-service keys: what an operator set on a key is a ceiling its owner may tighten but never
//! loosen. [`apply`] turns an owner's requested values into the owner's new limits, or refuses the first field
//! that would loosen (or remove) an operator's limit — checking every field before anything is written.
//!
//! A requested value is what the owner wants enforced: `rpm_limit: 50` under an operator's 100 stores 50;
//! `rpm_limit: 100` (back up to the ceiling) is fine; 101, or `null` (no limit), is refused while the operator
//! has a limit, and allowed (it clears the owner's own) while the operator has none.

use crate::catalog::enforced::within;
use crate::catalog::snapshot_parse_cidr;
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use store::{ApiKey, OwnerLimits};

/// What the operator set on a key, as it applies to its owner: the key's operator fields, with the group's
/// default rates where the operator set none (a user's key is never looser than its group's defaults).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ceilings {
    /// `false` when the operator disabled the key (only the operator can enable it again).
    pub enabled: bool,
    /// The models the operator allows (`null` = every model).
    #[schema(required)]
    pub models: Option<Vec<String>>,
    #[schema(required)]
    pub spend_cap: Option<i64>,
    #[schema(required)]
    pub expires_at: Option<DateTime<Utc>>,
    /// CIDR blocks (empty = any address).
    pub ip_allowlist: Vec<String>,
    #[schema(required)]
    pub rpm_limit: Option<i64>,
    #[schema(required)]
    pub tpm_limit: Option<i64>,
}

impl Ceilings {
    pub fn of(key: &ApiKey, (group_rpm, group_tpm): (Option<i64>, Option<i64>)) -> Self {
        Self {
            enabled: key.enabled,
            models: key.models.clone(),
            spend_cap: key.spend_cap,
            expires_at: key.expires_at,
            ip_allowlist: key.ip_allowlist.clone(),
            rpm_limit: key.rpm_limit.or(group_rpm),
            tpm_limit: key.tpm_limit.or(group_tpm),
        }
    }

    /// A key its owner is creating: no operator limit but the group's default rates.
    pub fn for_new_key((rpm_limit, tpm_limit): (Option<i64>, Option<i64>)) -> Self {
        Self {
            enabled: true,
            models: None,
            spend_cap: None,
            expires_at: None,
            ip_allowlist: Vec::new(),
            rpm_limit,
            tpm_limit,
        }
    }
}

/// The owner's requested values (validated); absent fields stay as they are, `Some(None)` asks for "none".
#[derive(Debug, Default)]
pub struct OwnChange {
    pub enabled: Option<bool>,
    pub models: Option<Option<Vec<String>>>,
    pub spend_cap: Option<Option<i64>>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub ip_allowlist: Option<Vec<String>>,
    pub rpm_limit: Option<Option<i64>>,
    pub tpm_limit: Option<Option<i64>>,
}

impl OwnChange {
    /// On create, a `null` rate means "none of my own" — the group's default applies, as if the field were
    /// absent (the dashboard's form sends `null` for an empty field). The other fields have no ceiling on a
    /// new key, so their `null` already means the same.
    pub fn unset_null_rates(mut self) -> Self {
        if self.rpm_limit == Some(None) {
            self.rpm_limit = None;
        }
        if self.tpm_limit == Some(None) {
            self.tpm_limit = None;
        }
        self
    }
}

fn refuse(field: &'static str) -> ApiError {
    ApiError::OperatorLimit { field }
}

/// The owner's limits after `change`, or the first field that would loosen the operator's ceiling.
pub fn apply(
    ceil: &Ceilings,
    current: &OwnerLimits,
    change: OwnChange,
) -> Result<OwnerLimits, ApiError> {
    let mut next = current.clone();
    if let Some(enabled) = change.enabled {
        if enabled && !ceil.enabled {
            return Err(refuse("enabled"));
        }
        next.disabled = !enabled;
    }
    if let Some(v) = change.rpm_limit {
        next.rpm_limit = at_most(v, ceil.rpm_limit, "rpm_limit")?;
    }
    if let Some(v) = change.tpm_limit {
        next.tpm_limit = at_most(v, ceil.tpm_limit, "tpm_limit")?;
    }
    if let Some(v) = change.spend_cap {
        next.spend_cap = at_most(v, ceil.spend_cap, "spend_cap")?;
    }
    if let Some(v) = change.expires_at {
        next.expires_at = no_later(v, ceil.expires_at)?;
    }
    if let Some(v) = change.models {
        next.models = among(v, ceil.models.as_deref())?;
    }
    if let Some(v) = change.ip_allowlist {
        next.ip_allowlist = inside(v, &ceil.ip_allowlist)?;
    }
    Ok(next)
}

/// A bound no looser than the ceiling (`None` = unbounded).
fn at_most(
    v: Option<i64>,
    ceiling: Option<i64>,
    field: &'static str,
) -> Result<Option<i64>, ApiError> {
    match (v, ceiling) {
        (None, Some(_)) => Err(refuse(field)),
        (Some(v), Some(c)) if v > c => Err(refuse(field)),
        _ => Ok(v),
    }
}

fn no_later(
    v: Option<DateTime<Utc>>,
    ceiling: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match (v, ceiling) {
        (None, Some(_)) => Err(refuse("expires_at")),
        (Some(v), Some(c)) if v > c => Err(refuse("expires_at")),
        _ => Ok(v),
    }
}

fn among(
    v: Option<Vec<String>>,
    ceiling: Option<&[String]>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(allowed) = ceiling else { return Ok(v) };
    match &v {
        Some(list) if list.iter().all(|m| allowed.contains(m)) => Ok(v),
        _ => Err(refuse("models")),
    }
}

/// An allowlist whose every block lies inside the operator's (an empty list, "any address", only when the
/// operator has none). Entries were validated as CIDRs or addresses already.
fn inside(v: Vec<String>, ceiling: &[String]) -> Result<Vec<String>, ApiError> {
    if v.is_empty() && !ceiling.is_empty() {
        return Err(refuse("ip_allowlist"));
    }
    let all_inside = v
        .iter()
        .all(|c| snapshot_parse_cidr(c).is_some_and(|block| within(&block, ceiling)));
    if all_inside {
        Ok(v)
    } else {
        Err(refuse("ip_allowlist"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator() -> Ceilings {
        Ceilings {
            enabled: true,
            models: Some(vec!["a".into(), "b".into()]),
            spend_cap: Some(1000),
            expires_at: DateTime::from_timestamp(2_000_000_000, 0),
            ip_allowlist: vec!["10.0.0.0/8".into()],
            rpm_limit: Some(100),
            tpm_limit: None,
        }
    }

    fn param(r: Result<OwnerLimits, ApiError>) -> &'static str {
        match r {
            Err(ApiError::OperatorLimit { field }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn loosening_any_operator_limit_names_the_field() {
        let ceil = operator();
        let own = OwnerLimits::default();
        let with = |set: fn(&mut OwnChange)| {
            let mut change = OwnChange::default();
            set(&mut change);
            change
        };
        let loosening = [
            (with(|c| c.rpm_limit = Some(Some(101))), "rpm_limit"),
            (with(|c| c.rpm_limit = Some(None)), "rpm_limit"),
            (with(|c| c.spend_cap = Some(None)), "spend_cap"),
            (with(|c| c.models = Some(None)), "models"),
            (with(|c| c.models = Some(Some(vec!["c".into()]))), "models"),
            (with(|c| c.ip_allowlist = Some(vec![])), "ip_allowlist"),
            (
                with(|c| c.ip_allowlist = Some(vec!["11.0.0.1".into()])),
                "ip_allowlist",
            ),
            (with(|c| c.expires_at = Some(None)), "expires_at"),
        ];
        for (change, field) in loosening {
            assert_eq!(param(apply(&ceil, &own, change)), field);
        }
        let disabled = Ceilings {
            enabled: false,
            ..operator()
        };
        assert_eq!(
            param(apply(
                &disabled,
                &own,
                OwnChange {
                    enabled: Some(true),
                    ..Default::default()
                }
            )),
            "enabled"
        );
    }

    #[test]
    fn tightening_and_loosening_back_to_the_ceiling_are_allowed() {
        let ceil = operator();
        let tight = apply(
            &ceil,
            &OwnerLimits::default(),
            OwnChange {
                rpm_limit: Some(Some(10)),
                tpm_limit: Some(Some(5000)),
                models: Some(Some(vec!["b".into()])),
                ip_allowlist: Some(vec!["10.1.0.0/16".into()]),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(tight.rpm_limit, Some(10));
        assert!(tight.disabled);
        let back = apply(
            &ceil,
            &tight,
            OwnChange {
                rpm_limit: Some(Some(100)),
                enabled: Some(true),
                tpm_limit: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (back.rpm_limit, back.disabled, back.tpm_limit),
            (Some(100), false, None)
        );
        assert_eq!(back.models, Some(vec!["b".to_owned()]));
    }
}
