//! `/api/keys[/{id}]`: the logged-in user's own API keys. A separate write path from the admin API's: the owner
//! writes only the owner's limits (`store::OwnerLimits`), each checked against what the operator set
//! (`ceiling`), so a key holder can tighten a key but never loosen it past the operator. Writes are limited per
//! user, replace just that key in the catalog (no reload, no ledger rebase) and tell the other instances.
//! Another user's key id is a 404.

use super::ceiling::{self, Ceilings};
use super::guard::SessionUser;
use super::key_dto::{CreatedOwnKey, OwnKeyInput, OwnKeyList, OwnKeyView};
use crate::admin::extract::{Params, PathParam, bad, required_text};
use crate::admin::keys::owned;
use crate::admin::schemas::Page;
use crate::auth::key_format;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use http::StatusCode;
use store::{ApiKey, NewApiKey, StoreError, User};

/// Counts one self-service key write of `user` (30 a minute, across instances).
async fn admit_write(state: &AppState, user: &User) -> Result<(), ApiError> {
    crate::auth::rate_limits::admit_key_write(&state.shared, user.id).await
}

/// The user's group's default (requests, tokens) per minute.
fn group_limits(state: &AppState, user: &User) -> (Option<i64>, Option<i64>) {
    state.catalog.snapshot().group_limits(&user.group)
}

/// Puts the key just written into this instance's catalog and ledger and tells the other instances, so a
/// tightened limit or a disable holds everywhere for the next request.
async fn publish(state: &AppState, key: &ApiKey) {
    state.catalog.put_key(key).await;
    state.ledger.set_key_cap(key.id, key.effective_spend_cap());
    state.shared.announce_change(&state.instance_id).await;
}

/// One page of the user's keys, limits as enforced.
pub(super) async fn list(
    me: SessionUser,
    state: &AppState,
    params: Params,
) -> Result<Json<OwnKeyList>, ApiError> {
    let (limit, offset) = params.accepts::<(Page,)>()?.page()?;
    let (data, total) = state
        .store
        .list_keys(Some(me.user.id), limit, offset)
        .await?;
    let limits = group_limits(state, &me.user);
    Ok(Json(OwnKeyList {
        data: data.iter().map(|k| OwnKeyView::new(k, limits)).collect(),
        total,
    }))
}

/// One of the user's keys; another user's key id is a 404.
pub(super) async fn get(
    me: SessionUser,
    state: &AppState,
    id: PathParam,
) -> Result<Json<OwnKeyView>, ApiError> {
    let id = id.id("API key")?;
    let key = owned(state, id, Some(me.user.id)).await?;
    Ok(Json(OwnKeyView::new(&key, group_limits(state, &me.user))))
}

/// A new key of the user's, its limits at most the group's defaults, answered with its secret this once.
pub(super) async fn create(
    me: SessionUser,
    state: &AppState,
    input: OwnKeyInput,
) -> Result<(StatusCode, Json<CreatedOwnKey>), ApiError> {
    if input.user_id.is_some_and(|u| u != me.user.id) {
        return Err(bad("user_id", "A key can only be created for yourself."));
    }
    admit_write(state, &me.user).await?;
    let (name, change) = input.into_change()?;
    let name = required_text(name, "name")?;
    let limits = group_limits(state, &me.user);
    let owner = ceiling::apply(
        &Ceilings::for_new_key(limits),
        &Default::default(),
        change.unset_null_rates(),
    )?;
    let secret = key_format::generate_key();
    let new = NewApiKey {
        user_id: me.user.id,
        name,
        key_hash: key_format::hash_key(&secret),
        prefix: key_format::display_prefix(&secret),
        enabled: true,
        ..NewApiKey::default()
    };
    let max = state.settings.max_keys_per_user;
    let created = state
        .store
        .create_owned_key(&new, &owner, i64::try_from(max).unwrap_or(i64::MAX))
        .await?;
    let Some(key) = created else {
        return Err(ApiError::KeyLimitReached { max });
    };
    publish(state, &key).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedOwnKey {
            view: OwnKeyView::new(&key, limits),
            key: secret,
        }),
    ))
}

/// Changes the owner's limits of one of the user's keys, never past the operator's.
pub(super) async fn update(
    me: SessionUser,
    state: &AppState,
    id: PathParam,
    input: OwnKeyInput,
) -> Result<Json<OwnKeyView>, ApiError> {
    let id = id.id("API key")?;
    let current = owned(state, id, Some(me.user.id)).await?;
    if input.user_id.is_some_and(|u| u != me.user.id) {
        return Err(bad(
            "user_id",
            "`user_id` cannot be changed; create a new key for the other user.",
        ));
    }
    admit_write(state, &me.user).await?;
    let (name, change) = input.into_change()?;
    let limits = group_limits(state, &me.user);
    let owner = ceiling::apply(&Ceilings::of(&current, limits), &current.owner, change)?;
    let key = state
        .store
        .set_owner_limits(id, name.as_deref(), &owner)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::NotFound {
                what: format!("API key {id}"),
            },
            other => other.into(),
        })?;
    publish(state, &key).await;
    Ok(Json(OwnKeyView::new(&key, limits)))
}

/// Deletes one of the user's keys.
pub(super) async fn delete(
    me: SessionUser,
    state: &AppState,
    id: PathParam,
) -> Result<StatusCode, ApiError> {
    let id = id.id("API key")?;
    let key = owned(state, id, Some(me.user.id)).await?;
    admit_write(state, &me.user).await?;
    match state.store.delete_key(id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    state.catalog.remove_key(&key.key_hash).await;
    state.shared.announce_change(&state.instance_id).await;
    Ok(StatusCode::NO_CONTENT)
}
