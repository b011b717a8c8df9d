//! `/api/admin/users[/{id}]` and `POST /api/admin/users/{id}/topup`. Passwords are write-only (argon2 hashes).

use super::crud;
use super::extract::{
    JsonBody, List, Params, PathParam, bad, non_empty, not_found, not_negative, nullable,
    required_text,
};
use super::guard::Admin;
use crate::admin::schemas::{AdminWriteRefusals, ErrorBody, UserList};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
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

crud::list_route!(
    Users,
    "/users",
    "admin_list_users",
    "users",
    [crate::admin::schemas::Page],
    UserView as UserList,
    "One page of users, by id",
    "Unknown or invalid query parameter (named in `param`)"
);

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

crud::get_route!(
    Users,
    "/users/{id}",
    "admin_get_user",
    "users",
    "id": i64 = "User id",
    UserView as UserView,
    "The user",
    "No such user"
);

crud::create_route!(
    Users,
    "/users",
    "admin_create_user",
    "users",
    UserInput,
    UserView as UserView,
    "`name` is required",
    "The new user",
    "Invalid body, or the group does not exist (the field at fault in `param`)",
    (
        status = 409,
        description = "A user of that name exists",
        body = ErrorBody
    ),
);

crud::update_route!(
    /// `PATCH` and `PUT`: both partial.
    Users,
    "/users/{id}",
    "admin_update_user",
    "users",
    "id": i64 = "User id",
    UserInput = "Fields to change; absent fields stay as they are",
    UserView as UserView,
    "The updated user",
    "Invalid body, or the group does not exist (the field at fault in `param`)",
    "No such user",
    (status = 409, description = "Another user has that name", body = ErrorBody),
);

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

crud::delete_route!(
/// Deletes the user and its keys.
    Users,
    "/users/{id}",
    "admin_delete_user",
    "users",
    "id": i64 = "User id",
    "Deleted, with the user's keys",
    "No such user"
);

/// Adds `amount` (negative deducts) to the balance atomically and answers the updated user.
#[utoipa::path(
    post,
    path = "/users/{id}/topup",
    operation_id = "admin_topup_user",
    tag = "users",
    params(
        ("id" = i64, Path, description = "User id"),
    ),
    request_body(content = Topup, description = "`amount` in micro-units; negative deducts"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The user with the new balance", body = UserView),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
pub async fn topup(
    _: Admin,
    State(state): State<AppState>,
    id: PathParam,
    JsonBody(input): JsonBody<Topup>,
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
