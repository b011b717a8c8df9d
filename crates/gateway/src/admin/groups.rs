//! `/api/admin/groups[/{name}]`: price groups and their per-mille multiplier (1000 = ×1, 1500 = ×1.5).

use super::crud;
use super::extract::{bad, not_negative, nullable};
use crate::config::validate;
use crate::error::ApiError;
use crate::state::AppState;
use serde::Deserialize;
use store::{Group, StoreError};

/// The group every user and channel is in unless told otherwise; it cannot be deleted.
const DEFAULT_GROUP: &str = "default";

/// Body of `POST /groups` (`name` required, `multiplier` defaults to 1000) and `PUT`/`PATCH /groups/{name}`
/// (`name` optional, must match the path).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    name: Option<String>,
    multiplier: Option<i64>,
    /// Default requests per minute for each key of the group (null = none).
    #[serde(default, deserialize_with = "nullable")]
    rpm_limit: Option<Option<i64>>,
    /// Default tokens per minute for each key of the group (null = none).
    #[serde(default, deserialize_with = "nullable")]
    tpm_limit: Option<Option<i64>>,
}

fn limit(v: Option<Option<i64>>, field: &str) -> Result<Option<Option<i64>>, ApiError> {
    match v {
        Some(Some(n)) if n < 1 => Err(bad(
            field,
            format!("`{field}` must be at least 1, or null for no limit."),
        )),
        other => Ok(other),
    }
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    validate::group_name(name).map_err(|m| bad("name", m))?;
    Ok(name.to_owned())
}

crud::record!(Groups, "Group", by name, in_catalog = true, load = get_group => Group as Group);

crud::whole_list!(Groups, list_groups => Group as Group);

impl crud::Create for Groups {
    type Input = GroupInput;
    type New = Group;
    async fn prepare(state: &AppState, input: GroupInput) -> Result<Group, ApiError> {
        let Some(name) = &input.name else {
            return Err(bad("name", "`name` is required."));
        };
        let name = checked_name(name)?;
        let group = <Self as crud::Upsert>::merge(&name, None, input, true)?;
        match state.store.get_group(&name).await {
            Ok(_) => Err(ApiError::Conflict(format!(
                "Group `{name}` already exists."
            ))),
            Err(StoreError::NotFound) => Ok(group),
            Err(e) => Err(e.into()),
        }
    }
    async fn insert(store: &store::Store, group: &Group) -> Result<Group, StoreError> {
        store.upsert_group(group).await
    }
}

impl crud::Upsert for Groups {
    type Input = GroupInput;
    type Whole = Group;
    /// Absent fields keep the stored group's values (a new group: multiplier 1000, no limits).
    fn merge(
        name: &String,
        existing: Option<Group>,
        input: GroupInput,
        _replace: bool,
    ) -> Result<Group, ApiError> {
        let name = checked_name(name)?;
        if let Some(body_name) = &input.name
            && body_name.trim() != name
        {
            return Err(bad(
                "name",
                format!(
                    "`name` in the body (`{body_name}`) differs from the group in the path (`{name}`); groups cannot be renamed."
                ),
            ));
        }
        let base = existing.unwrap_or(Group {
            name,
            multiplier: 1000,
            rpm_limit: None,
            tpm_limit: None,
        });
        Ok(Group {
            multiplier: match input.multiplier {
                Some(m) => not_negative(m, "multiplier")?,
                None => base.multiplier,
            },
            rpm_limit: limit(input.rpm_limit, "rpm_limit")?.unwrap_or(base.rpm_limit),
            tpm_limit: limit(input.tpm_limit, "tpm_limit")?.unwrap_or(base.tpm_limit),
            name: base.name,
        })
    }
    async fn upsert(store: &store::Store, group: &Group) -> Result<Group, StoreError> {
        store.upsert_group(group).await
    }
}

impl crud::Remove for Groups {
    fn refuse(name: &String) -> Result<(), ApiError> {
        if name == DEFAULT_GROUP {
            return Err(ApiError::Conflict(
                "The `default` group cannot be deleted; users and channels fall back to it."
                    .to_owned(),
            ));
        }
        Ok(())
    }
    fn in_use(name: &String) -> ApiError {
        ApiError::Conflict(format!(
            "Group `{name}` still has users; move them to another group first."
        ))
    }
    async fn remove(store: &store::Store, name: &String) -> Result<(), StoreError> {
        store.delete_group(name).await
    }
}
