//! The self-service API's route table: every operation under `/api` with its OpenAPI documentation, in one
//! place. Each is a thin handler — guard, extractors, documentation — over a function of its module (`login`,
//! `activity`, `keys`, `redeem`, `playground`), which holds the logic. [`routes`] mounts them (under `/api`, by
//! [`crate::openapi::routes`]).

use super::guard::{AnySession, Redeemer, SessionUser};
use super::key_dto::{CreatedOwnKey, OwnKeyInput, OwnKeyList, OwnKeyView};
use super::login::{JsonOnly, LoginInput, Me, Options, RegisterInput, SessionView};
use super::redeem::{RedeemInput, Redeemed};
use super::{activity, keys, login, playground, redeem};
use crate::admin::documented::{
    BadQuery, FormRefusals, KeyWritesLimited, LogFilters, NotLoggedIn, SessionRefusals, TimeRange,
    TooLarge,
};
use crate::admin::extract::{JsonBody, List, Params, PathParam};
use crate::admin::schemas::{ErrorBody, LogList, ModelList, Page, UsageList};
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use store::LogRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every self-service route with its OpenAPI operation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth_options))
        .routes(routes!(login))
        .routes(routes!(register))
        .routes(routes!(current_session))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_my_keys, create_my_key))
        .routes(routes!(get_my_key, update_my_key, delete_my_key))
        .routes(routes!(my_logs))
        .routes(routes!(my_usage))
        .routes(routes!(redeem))
        .routes(routes!(playground_models))
        .routes(routes!(playground_chat))
}

/// `GET /api/auth/options` (public): what the login page offers.
#[utoipa::path(
    get,
    path = "/auth/options",
    operation_id = "auth_options",
    tag = "auth",
    responses(
        (status = 200, description = "What the login page offers", body = Options),
    )
)]
async fn auth_options(State(state): State<AppState>) -> Json<Options> {
    login::options(&state).await
}

/// `POST /api/auth/login`.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "auth_login",
    tag = "auth",
    request_body(content = LoginInput, description = "`username` and `password`, or `admin_token`"),
    responses(
        (status = 200, description = "Logged in: the session and its CSRF token", body = SessionView, headers(("set-cookie" = String, description = "The signed `tollgate_session` cookie (HttpOnly, SameSite=Lax)"))),
        (status = 400, description = "Neither `username` and `password` nor `admin_token`, or an invalid body", body = ErrorBody),
        (status = 401, description = "Wrong username, password or admin token, or the account is disabled", body = ErrorBody),
        FormRefusals,
        (status = 429, description = "Too many failed attempts from this address, or to this account from this address", body = ErrorBody),
        (status = 503, description = "Too many logins being checked at once; retry after `Retry-After`", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<AppState>,
    parts: Parts,
    JsonOnly(input): JsonOnly<LoginInput>,
) -> Result<Response, ApiError> {
    login::login(&state, parts, input).await
}

/// `POST /api/auth/register`: a new user in the `default` group with no balance, logged in at once.
#[utoipa::path(
    post,
    path = "/auth/register",
    operation_id = "auth_register",
    tag = "auth",
    request_body(content = RegisterInput, description = "A new user in the `default` group with no balance"),
    responses(
        (status = 201, description = "Registered and logged in", body = SessionView, headers(("set-cookie" = String, description = "The signed `tollgate_session` cookie (HttpOnly, SameSite=Lax)"))),
        (status = 400, description = "Invalid username or password, or the username is taken", body = ErrorBody),
        (status = 403, description = "Registration is closed", body = ErrorBody),
        FormRefusals,
        (status = 429, description = "Too many registrations from this address", body = ErrorBody),
        (status = 503, description = "Too many passwords being hashed at once; retry after `Retry-After`", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<AppState>,
    parts: Parts,
    JsonOnly(input): JsonOnly<RegisterInput>,
) -> Result<Response, ApiError> {
    login::register(&state, parts, input).await
}

/// `GET /api/auth/session`: who is logged in, and the CSRF token again (after a page reload).
#[utoipa::path(
    get,
    path = "/auth/session",
    operation_id = "auth_session",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 200, description = "Who is logged in, and the CSRF token again", body = SessionView),
        NotLoggedIn,
    )
)]
async fn current_session(State(state): State<AppState>, session: AnySession) -> Json<SessionView> {
    login::current(&state, session).await
}

/// `POST /api/auth/logout`: clears the cookie. Needs no valid session, so a stale cookie can always be dropped.
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "auth_logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out: the cookie is cleared", headers(("set-cookie" = String, description = "Expires the `tollgate_session` cookie"))),
    )
)]
async fn logout() -> Response {
    login::logout().await
}

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "account",
    security(("session" = [])),
    responses(
        (status = 200, description = "The logged-in user", body = Me),
        SessionRefusals,
    )
)]
async fn me(me: SessionUser) -> Json<Me> {
    activity::me(me).await
}

#[utoipa::path(
    get,
    path = "/keys",
    operation_id = "my_list_keys",
    tag = "account",
    params(Page),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the user's keys, limits as enforced", body = OwnKeyList),
        BadQuery,
        SessionRefusals,
    )
)]
async fn list_my_keys(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<OwnKeyList>, ApiError> {
    keys::list(me, &state, params).await
}

#[utoipa::path(
    post,
    path = "/keys",
    operation_id = "my_create_key",
    tag = "account",
    request_body(content = OwnKeyInput, description = "`name` is required; limits at most the group's defaults"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "The new key with its `sk-…` secret, shown this once", body = CreatedOwnKey),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The session is the admin token's (no account), its `X-CSRF-Token` is missing, a limit is looser than the group's default (`operator_limit`, field in `param`), or the user has `--max-keys-per-user` keys already (`key_limit_reached`)", body = ErrorBody),
        (status = 409, description = "The user has a key of that name", body = ErrorBody),
        TooLarge,
        KeyWritesLimited,
    )
)]
async fn create_my_key(
    me: SessionUser,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<OwnKeyInput>,
) -> Result<(StatusCode, Json<CreatedOwnKey>), ApiError> {
    keys::create(me, &state, input).await
}

#[utoipa::path(
    get,
    path = "/keys/{id}",
    operation_id = "my_get_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The key (without its secret), limits as enforced", body = OwnKeyView),
        (status = 400, description = "Malformed path", body = ErrorBody),
        SessionRefusals,
        (status = 404, description = "No such key of this user", body = ErrorBody),
    )
)]
async fn get_my_key(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<Json<OwnKeyView>, ApiError> {
    keys::get(me, &state, id).await
}

#[utoipa::path(
    method(patch, put),
    path = "/keys/{id}",
    operation_id = "my_update_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    request_body(content = OwnKeyInput, description = "Fields to change; absent fields stay as they are. A limit may be tightened, or loosened back up to what the operator set (`operator` in the key's view), never past it"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The updated key, limits as enforced", body = OwnKeyView),
        (status = 400, description = "Invalid body (the field at fault in `param`)", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The session is the admin token's (no account), its `X-CSRF-Token` is missing, or a field would loosen or remove a limit the operator set, or re-enable a key the operator disabled (`operator_limit`, field in `param`; nothing changed)", body = ErrorBody),
        (status = 404, description = "No such key of this user", body = ErrorBody),
        (status = 409, description = "The user has another key of that name", body = ErrorBody),
        TooLarge,
        KeyWritesLimited,
    )
)]
async fn update_my_key(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
    JsonBody(input): JsonBody<OwnKeyInput>,
) -> Result<Json<OwnKeyView>, ApiError> {
    keys::update(me, &state, id, input).await
}

#[utoipa::path(
    delete,
    path = "/keys/{id}",
    operation_id = "my_delete_key",
    tag = "account",
    params(
        ("id" = i64, Path, description = "API key id"),
    ),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed path", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        (status = 404, description = "No such key of this user", body = ErrorBody),
        KeyWritesLimited,
    )
)]
async fn delete_my_key(
    me: SessionUser,
    State(state): State<AppState>,
    id: PathParam,
) -> Result<StatusCode, ApiError> {
    keys::delete(me, &state, id).await
}

#[utoipa::path(
    get,
    path = "/logs",
    operation_id = "my_logs",
    tag = "account",
    params(LogFilters, TimeRange, Page),
    security(("session" = [])),
    responses(
        (status = 200, description = "One page of the user's own log rows, newest first", body = LogList),
        BadQuery,
        SessionRefusals,
    )
)]
async fn my_logs(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<LogRow>>, ApiError> {
    activity::logs(me, &state, params).await
}

#[utoipa::path(
    get,
    path = "/usage",
    operation_id = "my_usage",
    tag = "account",
    params(
        ("group_by" = Option<String>, Query, description = "Comma-separated dimensions: `day`, `model`; none gives one grand total"),
        TimeRange,
    ),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user's own totals per bucket", body = UsageList),
        BadQuery,
        SessionRefusals,
    )
)]
async fn my_usage(
    me: SessionUser,
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<List<Value>>, ApiError> {
    activity::usage(me, &state, params).await
}

#[utoipa::path(
    post,
    path = "/redeem",
    operation_id = "redeem_code",
    tag = "account",
    request_body(content = RedeemInput, description = "The redemption code"),
    security(("session" = [], "csrf" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Redeemed: the amount added and the new balance", body = Redeemed),
        (status = 400, description = "Invalid body, or the code does not exist or was used (`code`: `invalid_code`)", body = ErrorBody),
        (status = 401, description = "Not logged in (no session, no API key), the session expired, the key is invalid, or the account is disabled", body = ErrorBody),
        (status = 403, description = "The session is the admin token's (no account), or its `X-CSRF-Token` is missing", body = ErrorBody),
        TooLarge,
    )
)]
async fn redeem(
    redeemer: Redeemer,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RedeemInput>,
) -> Result<Json<Redeemed>, ApiError> {
    redeem::redeem(redeemer, &state, input).await
}

#[utoipa::path(
    get,
    path = "/playground/models",
    operation_id = "playground_models",
    tag = "playground",
    security(("session" = [])),
    responses(
        (status = 200, description = "The models the user's `playground` key may use", body = ModelList),
        SessionRefusals,
    )
)]
async fn playground_models(
    me: SessionUser,
    State(state): State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
) -> Response {
    playground::models(me, state, meta, headers).await
}

#[utoipa::path(
    post,
    path = "/playground/chat/completions",
    operation_id = "playground_chat",
    tag = "playground",
    request_body(content = serde_json::Value, description = "An OpenAI chat completion request, relayed as `POST /v1/chat/completions` with the user's `playground` key", content_type = "application/json"),
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "The OpenAI chat completion, or its server-sent event stream with `stream: true`", content((serde_json::Value = "application/json"), (String = "text/event-stream"))),
        (status = 400, description = "Invalid request", body = ErrorBody),
        NotLoggedIn,
        (status = 403, description = "The admin token's session (no account), a missing `X-CSRF-Token`, or a model the key may not use", body = ErrorBody),
        (status = 404, description = "Unknown model", body = ErrorBody),
        TooLarge,
        (status = 429, description = "Rate limit or insufficient quota", body = ErrorBody),
        (status = 502, description = "The upstream failed", body = ErrorBody),
        (status = 503, description = "No channel serves the model", body = ErrorBody),
    )
)]
async fn playground_chat(
    me: SessionUser,
    State(state): State<AppState>,
    meta: Extension<RequestMeta>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    playground::chat(me, state, meta, headers, body).await
}
