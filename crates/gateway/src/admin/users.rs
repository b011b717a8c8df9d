//! `/api/admin/users[/{id}]` and `POST /api/admin/users/{id}/topup`. Passwords are write-only (argon2 hashes).

use super::crud;
use super::extract::{
    List, Params, PathParam, bad, non_empty, not_found, not_negative, nullable, required_text,
};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::{NewUser, Store, StoreError, User, UserPatch};

/// Body of `POST /users` (`name` required) and `PATCH`/`PUT /users/{id}` (partial).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    name: Option<String>,
    /// Write-only; `null` removes the password (no dashboard login).
    #[serde(default, deserialize_with = "nullable")]
    password: Option<Option<String>>,
    group: Option<String>,
    balance: Option<i64>,
    enabled: Option<bool>,
    /// `user` (default) or `admin` (may also use the dashboard's admin pages).
    role: Option<Role>,
}

/// What a user may do in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn of(admin: bool) -> Self {
        if admin { Self::Admin } else { Self::User }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Topup {
    amount: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    id: i64,
    name: String,
    group: String,
    balance: i64,
    /// Same as `balance`: what the user can still spend (reservations in flight are already deducted).
    remaining: i64,
    spent: i64,
    enabled: bool,
    role: Role,
    created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            group: u.group,
            balance: u.balance,
            remaining: u.balance,
            spent: u.spent,
            enabled: u.enabled,
            role: Role::of(u.admin),
            created_at: u.created_at,
        }
    }
}

fn what(id: i64) -> impl FnOnce() -> String {
    move || format!("User {id}")
}

/// Hashes under the process-wide password permits, like logins and registrations.
async fn hash_password(
    state: &AppState,
    p: Option<Option<String>>,
) -> Result<Option<Option<String>>, ApiError> {
    let Some(Some(plain)) = p else {
        return Ok(p);
    };
    let hashed = state.logins.passwords.hash(plain).await?;
    hashed
        .map(|h| Some(Some(h)))
        .map_err(|m| bad("password", format!("`password`: {m}.")))
}

async fn existing_group(state: &AppState, group: String) -> Result<String, ApiError> {
    let group = non_empty(group, "group")?;
    match state.store.get_group(&group).await {
        Ok(_) => Ok(group),
        Err(StoreError::NotFound) => Err(bad(
            "group",
            format!("Group `{group}` does not exist; create it under /api/admin/groups first."),
        )),
        Err(e) => Err(e.into()),
    }
}

crud::record!(Users, "User", by id, in_catalog = true, load = get_user => store::User as UserView, remove = delete_user);

impl crud::Listed for Users {
    type Item = User;
    type View = UserView;
    const FILTERS: &'static [&'static str] = &[];
    const PAGED: bool = true;
    async fn fetch(store: &Store, params: &Params) -> Result<List<User>, ApiError> {
        let (limit, offset) = params.page()?;
        let (data, total) = store.list_users(limit, offset).await?;
        Ok(List { data, total })
    }
}

impl crud::Create for Users {
    type Input = UserInput;
    type New = NewUser;
    async fn prepare(state: &AppState, input: UserInput) -> Result<NewUser, ApiError> {
        // Cheap checks first: the password is hashed (argon2) only for an otherwise valid user.
        let name = required_text(input.name, "name")?;
        let group =
            existing_group(state, input.group.unwrap_or_else(|| "default".to_owned())).await?;
        let balance = not_negative(input.balance.unwrap_or(0), "balance")?;
        Ok(NewUser {
            name,
            password_hash: hash_password(state, input.password).await?.flatten(),
            group,
            balance,
            enabled: input.enabled.unwrap_or(true),
            admin: input.role == Some(Role::Admin),
        })
    }
    async fn insert(store: &Store, new: &NewUser) -> Result<User, StoreError> {
        store.create_user(new).await
    }
}

impl crud::Update for Users {
    type Input = UserInput;
    type Patch = UserPatch;
    async fn prepare(state: &AppState, _: &i64, input: UserInput) -> Result<UserPatch, ApiError> {
        let name = input.name.map(|n| non_empty(n, "name")).transpose()?;
        let group = match input.group {
            Some(g) => Some(existing_group(state, g).await?),
            None => None,
        };
        let balance = input
            .balance
            .map(|b| not_negative(b, "balance"))
            .transpose()?;
        Ok(UserPatch {
            name,
            password_hash: hash_password(state, input.password).await?,
            group,
            balance,
            enabled: input.enabled,
            admin: input.role.map(|r| r == Role::Admin),
        })
    }
    async fn save(store: &Store, id: &i64, patch: &UserPatch) -> Result<User, StoreError> {
        store.update_user(*id, patch).await
    }
}

/// Adds `amount` (negative deducts) to the balance atomically and answers the updated user.
pub(super) async fn topup(
    state: &AppState,
    id: PathParam,
    input: Topup,
) -> Result<Json<UserView>, ApiError> {
    let id = id.id("User")?;
    if input.amount == 0 {
        return Err(bad("amount", "`amount` must be a non-zero integer."));
    }
    let user = state
        .store
        .topup_user(id, input.amount)
        .await
        .map_err(not_found(what(id)))?;
    state.refresh_catalog().await;
    Ok(Json(user.into()))
}
