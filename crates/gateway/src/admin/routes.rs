//! The admin API's route table: every operation under `/api/admin` with its OpenAPI documentation, in one place,
//! so a route cannot exist undocumented or be documented but absent. A record's generic operations are one row
//! each ([`crud`]'s `*_route!` macros write the handler and its `#[utoipa::path]`); the other operations are thin
//! handlers here — guard, extractors, documentation — over a function of the resource's module, which holds the
//! logic. [`routes`] mounts them all (under `/api/admin`, by [`crate::openapi::routes`]).

use super::channel_dto::{ChannelInput, ChannelView};
use super::channel_models::{self, FetchModelsInput};
use super::channels::{self, Channels};
use super::codes::{self, Codes, CodesInput};
use super::crud;
use super::documented::{BadQuery, LogFilters, LogScope, TimeRange};
use super::extract::{JsonBody, List, Params, PathParam};
use super::groups::{GroupInput, Groups};
use super::guard::Admin;
use super::keys::{self, CreatedKey, KeyInput, KeyView, Keys};
use super::mj_tasks::{self, TaskView};
use super::prices::{PriceInput, Prices};
use super::schemas::{
    AdminReadRefusals, AdminWriteRefusals, ChannelList, CodeList, ErrorBody, GroupList, KeyList,
    LogList, ModelNameList, Page, PriceList, TaskList, UsageList, UserList,
};
use super::users::{self, Topup, UserInput, UserView, Users};
use super::{logs, logs_csv, usage};
use crate::error::ApiError;
use crate::routing::probe::TestOutcome;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::Value;
use store::{Group, LogRow, Price, RedemptionCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every admin route with its OpenAPI operation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel, update_channel, delete_channel))
        .routes(routes!(fetch_channel_models))
        .routes(routes!(test_channel))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(topup_user))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, update_key, delete_key))
        .routes(routes!(list_prices, create_price))
        .routes(routes!(get_price, put_price, patch_price, delete_price))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, upsert_group, delete_group))
        .routes(routes!(list_logs))
        .routes(routes!(export_logs))
        .routes(routes!(usage))
        .routes(routes!(list_codes, create_codes))
        .routes(routes!(export_codes))
        .routes(routes!(delete_code))
        .routes(routes!(list_mj_tasks))
}

// Channels: the generic record operations, the model list of an upstream account, a test request.

crud::list_route!(
    fn list_channels, Channels, "/channels", "admin_list_channels", "channels", [], ChannelView as ChannelList,
    "Every channel, upstream secrets masked", "A query parameter was given (none are accepted)"
);

crud::get_route!(
    fn get_channel, Channels, "/channels/{id}", "admin_get_channel", "channels", "id": i64 = "Channel id",
    ChannelView as ChannelView, "The channel, upstream secrets masked", "No such channel"
);

crud::create_route!(
    fn create_channel, Channels, "/channels", "admin_create_channel", "channels", ChannelInput,
    ChannelView as ChannelView, "`name`, `kind`, `base_url` and `keys` are required", "The new channel",
    "Invalid body (the field at fault in `param`)",
    (status = 409, description = "A channel of that name exists", body = ErrorBody)
);

crud::update_route!(
    /// `PATCH` and `PUT`: both partial (absent fields stay as they are).
    fn update_channel, Channels, "/channels/{id}", "admin_update_channel", "channels", "id": i64 = "Channel id",
    ChannelInput = "Fields to change; absent fields stay as they are", ChannelView as ChannelView,
    "The updated channel", "Invalid body (the field at fault in `param`)", "No such channel",
    (status = 409, description = "Another channel has that name", body = ErrorBody)
);

crud::delete_route!(
    fn delete_channel, Channels, "/channels/{id}", "admin_delete_channel", "channels", "id": i64 = "Channel id",
    "Deleted", "No such channel"
);

#[utoipa::path(
    post,
    path = "/channels/fetch-models",
    operation_id = "admin_fetch_channel_models",
    tag = "channels",
    request_body(content = FetchModelsInput, description = "`kind`, `base_url` and `key`, or the `channel_id` of a stored channel"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The model ids the upstream account lists", body = ModelNameList),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 404, description = "No such channel (`channel_id`)", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 502, description = "The upstream failed or answered something unreadable", body = ErrorBody),
        (status = 504, description = "The upstream did not answer in time", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
async fn fetch_channel_models(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<FetchModelsInput>,
) -> Result<Json<List<String>>, ApiError> {
    channel_models::fetch(&state, input).await
}

/// Sends one tiny chat request through the channel; 200 with the outcome whether or not it passed.
#[utoipa::path(
    post,
    path = "/channels/{id}/test",
    operation_id = "admin_test_channel",
    tag = "channels",
    params(("id" = i64, Path, description = "Channel id")),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The test's outcome, passed or not", body = TestOutcome),
        (status = 400, description = "Malformed path", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
async fn test_channel(
    _: Admin,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<Json<TestOutcome>, ApiError> {
    channels::test(&state, id).await
}

// Users: the generic record operations and a top-up.

crud::list_route!(
    fn list_users, Users, "/users", "admin_list_users", "users", [crate::admin::schemas::Page],
    UserView as UserList, "One page of users, by id", "Unknown or invalid query parameter (named in `param`)"
);

crud::get_route!(
    fn get_user, Users, "/users/{id}", "admin_get_user", "users", "id": i64 = "User id", UserView as UserView,
    "The user", "No such user"
);

crud::create_route!(
    fn create_user, Users, "/users", "admin_create_user", "users", UserInput, UserView as UserView,
    "`name` is required", "The new user",
    "Invalid body, or the group does not exist (the field at fault in `param`)",
    (status = 409, description = "A user of that name exists", body = ErrorBody)
);

crud::update_route!(
    /// `PATCH` and `PUT`: both partial.
    fn update_user, Users, "/users/{id}", "admin_update_user", "users", "id": i64 = "User id",
    UserInput = "Fields to change; absent fields stay as they are", UserView as UserView, "The updated user",
    "Invalid body, or the group does not exist (the field at fault in `param`)", "No such user",
    (status = 409, description = "Another user has that name", body = ErrorBody)
);

crud::delete_route!(
    /// Deletes the user and its keys.
    fn delete_user, Users, "/users/{id}", "admin_delete_user", "users", "id": i64 = "User id",
    "Deleted, with the user's keys", "No such user"
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
async fn topup_user(
    _: Admin,
    State(state): State<AppState>,
    id: PathParam,
    JsonBody(input): JsonBody<Topup>,
) -> Result<Json<UserView>, ApiError> {
    users::topup(&state, id, input).await
}

// API keys: created by their own handler (the answer carries the secret, once); the rest is generic.

crud::list_route!(
    fn list_keys, Keys, "/keys", "admin_list_keys", "keys",
    [("user_id" = Option<i64>, Query, description = "Only this user's rows"), crate::admin::schemas::Page],
    KeyView as KeyList, "One page of API keys, by id", "Unknown or invalid query parameter (named in `param`)"
);

crud::get_route!(
    fn get_key, Keys, "/keys/{id}", "admin_get_key", "keys", "id": i64 = "API key id", KeyView as KeyView,
    "The API key (without its secret)", "No such API key"
);

crud::update_route!(
    /// `PATCH` and `PUT`: both partial. A key cannot move to another user.
    fn update_key, Keys, "/keys/{id}", "admin_update_key", "keys", "id": i64 = "API key id",
    KeyInput = "Fields to change; absent fields stay as they are, `null` clears", KeyView as KeyView,
    "The updated key", "Invalid body, or an attempt to move the key to another user", "No such API key",
    (status = 409, description = "The user has another key of that name", body = ErrorBody)
);

crud::delete_route!(
    fn delete_key, Keys, "/keys/{id}", "admin_delete_key", "keys", "id": i64 = "API key id", "Deleted",
    "No such API key"
);

#[utoipa::path(
    post,
    path = "/keys",
    operation_id = "admin_create_key",
    tag = "keys",
    request_body(content = KeyInput, description = "`user_id` and `name` are required"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new key with its `sk-…` secret, shown this once", body = CreatedKey),
        (status = 400, description = "Invalid body, or the user does not exist (the field at fault in `param`)", body = ErrorBody),
        (status = 409, description = "The user has a key of that name", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
async fn create_key(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<KeyInput>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    keys::create(&state, input).await
}

// Prices: `PUT` replaces (absent fields reset), `PATCH` merges; both create a missing price.

crud::list_route!(
    fn list_prices, Prices, "/prices", "admin_list_prices", "prices", [], Price as PriceList, "Every price",
    "A query parameter was given (none are accepted)"
);

crud::get_route!(
    fn get_price, Prices, "/prices/{*model}", "admin_get_price", "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    Price as store::Price, "The model's price", "No such price"
);

crud::create_route!(
    /// Creates or replaces the price of `model`; always 201.
    fn create_price, Prices, "/prices", "admin_create_price", "prices", PriceInput, Price as store::Price,
    "`model` is required; creates or replaces its price", "The saved price",
    "Invalid body: a negative price, no price at all, or a `model` differing from the path's"
);

crud::upsert_route!(
    fn put_price, [put], replace = true, Prices, "/prices/{*model}", "admin_put_price", "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    PriceInput = "Replaces every field (absent = null)", Price as store::Price, "The replaced price",
    "The new price", "Invalid body: a negative price, no price at all, or a `model` differing from the path's"
);

crud::upsert_route!(
    fn patch_price, [patch], replace = false, Prices, "/prices/{*model}", "admin_patch_price", "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    PriceInput = "Changes only the fields present", Price as store::Price, "The updated price", "The new price",
    "Invalid body: a negative price, no price at all, or a `model` differing from the path's"
);

crud::delete_route!(
    fn delete_price, Prices, "/prices/{*model}", "admin_delete_price", "prices",
    "model": String = "Model name, `*` for the default price; may contain `/` (the route is a wildcard, `/api/admin/prices/{*model}`)",
    "Deleted", "No such price"
);

// Groups.

crud::list_route!(
    fn list_groups, Groups, "/groups", "admin_list_groups", "groups", [], Group as GroupList, "Every group",
    "A query parameter was given (none are accepted)"
);

crud::get_route!(
    fn get_group, Groups, "/groups/{name}", "admin_get_group", "groups", "name": String = "Group name",
    Group as store::Group, "The group", "No such group"
);

crud::create_route!(
    /// 409 when the group exists already (use `PUT /groups/{name}` to change it).
    fn create_group, Groups, "/groups", "admin_create_group", "groups", GroupInput, Group as store::Group,
    "`name` is required; `multiplier` defaults to 1000", "The new group",
    "Invalid body (the field at fault in `param`)",
    (status = 409, description = "The group exists already (use `PUT /api/admin/groups/{name}`)", body = ErrorBody)
);

crud::upsert_route!(
    /// `PUT` and `PATCH`: create or change; 201 when new, else 200. Without `multiplier` an existing group stays
    /// as it is and a new one gets 1000.
    fn upsert_group, [method(put, patch)], replace = false, Groups, "/groups/{name}", "admin_upsert_group",
    "groups", "name": String = "Group name", GroupInput = "`name`, if given, must match the path",
    Group as store::Group, "The changed group", "The new group",
    "Invalid body, an invalid group name, or a `name` differing from the path's"
);

crud::delete_route!(
    /// 409 while users are still in the group, and always for `default`.
    fn delete_group, Groups, "/groups/{name}", "admin_delete_group", "groups", "name": String = "Group name",
    "Deleted", "No such group",
    (status = 409, description = "The group still has users, or is `default`", body = ErrorBody)
);

// Request logs, their CSV export, and usage totals.

#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "admin_list_logs",
    tag = "logs",
    params(LogFilters, LogScope, TimeRange, Page),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of log rows, newest first", body = LogList),
        BadQuery,
        AdminReadRefusals,
    )
)]
async fn list_logs(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<LogRow>>, ApiError> {
    logs::list(&state, params).await
}

#[utoipa::path(
    get,
    path = "/logs/export",
    operation_id = "admin_export_logs",
    tag = "logs",
    params(LogFilters, LogScope, TimeRange),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The filtered rows as CSV (RFC 4180), newest first, at most 100 000", content_type = "text/csv", body = String),
        BadQuery,
        AdminReadRefusals,
    )
)]
async fn export_logs(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    logs_csv::export(&state, params).await
}

#[utoipa::path(
    get,
    path = "/usage",
    operation_id = "admin_usage",
    tag = "usage",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated dimensions: `day`, `model`, `user`, `channel`; none gives one grand total"),
        TimeRange,
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Request, token and cost totals per bucket", body = UsageList),
        BadQuery,
        AdminReadRefusals,
    )
)]
async fn usage(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<Value>>, ApiError> {
    usage::usage(&state, params).await
}

// Redemption codes.

crud::list_route!(
    fn list_codes, Codes, "/codes", "admin_list_codes", "codes",
    [("status" = Option<String>, Query, description = "`unused`, `used` or `all` (default)"), crate::admin::schemas::Page],
    RedemptionCode as CodeList, "One page of codes", "Unknown or invalid query parameter (named in `param`)"
);

crud::delete_route!(
    fn delete_code, Codes, "/codes/{id}", "admin_delete_code", "codes", "id": i64 = "Code id", "Withdrawn",
    "No such code"
);

#[utoipa::path(
    post,
    path = "/codes",
    operation_id = "admin_create_codes",
    tag = "codes",
    request_body(content = CodesInput, description = "`amount` per code (micro-units) and how many codes (1 to 1000, default 1)"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new codes", body = CodeList),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        (status = 409, description = "A generated code exists already", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        AdminWriteRefusals,
    )
)]
async fn create_codes(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<CodesInput>,
) -> Result<(StatusCode, Json<List<RedemptionCode>>), ApiError> {
    codes::create(&state, input).await
}

/// Every code matching `status` (default: unused) as CSV: `code,amount,created_at,redeemed_by,redeemed_at`.
#[utoipa::path(
    get,
    path = "/codes/export",
    operation_id = "admin_export_codes",
    tag = "codes",
    params(
        ("status" = Option<String>, Query, description = "`unused` (default), `used` or `all`"),
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The codes as CSV: `code,amount,created_at,redeemed_by,redeemed_at`", content_type = "text/csv", body = String),
        BadQuery,
        AdminReadRefusals,
    )
)]
async fn export_codes(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Response, ApiError> {
    codes::export(&state, params).await
}

// Midjourney tasks.

#[utoipa::path(
    get,
    path = "/mj/tasks",
    operation_id = "admin_list_mj_tasks",
    tag = "midjourney",
    params(
        ("user_id" = Option<i64>, Query, description = "Only this user's rows"),
        ("status" = Option<String>, Query, description = "Only tasks in this status (`SUBMITTED`, `IN_PROGRESS`, `SUCCESS`, `FAILURE`, …)"),
        Page,
    ),
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of Midjourney tasks, newest first", body = TaskList),
        BadQuery,
        AdminReadRefusals,
    )
)]
async fn list_mj_tasks(
    _: Admin,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<TaskView>>, ApiError> {
    mj_tasks::list(&state, params).await
}
