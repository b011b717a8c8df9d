//! The self-service API under `/api` that the dashboard calls with a session cookie (PRODUCT §6): log in and out,
//! the user's own keys, logs, usage and balance, redeeming a code, and the playground. Shapes and rules are the
//! admin API's, scoped to the logged-in user — except keys, whose owner writes only their own limits on top of the
//! operator's (`keys`, `ceiling`).

pub(crate) mod activity;
pub(crate) mod ceiling;
pub mod guard;
pub(crate) mod key_dto;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod playground;
pub(crate) mod redeem;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every self-service route with its OpenAPI operation (mounted under `/api` by [`crate::openapi::routes`]).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login::options))
        .routes(routes!(login::login))
        .routes(routes!(login::register))
        .routes(routes!(login::current))
        .routes(routes!(login::logout))
        .routes(routes!(activity::me))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::get, keys::update, keys::delete))
        .routes(routes!(activity::logs))
        .routes(routes!(activity::usage))
        .routes(routes!(redeem::redeem))
        .routes(routes!(playground::models))
        .routes(routes!(playground::chat))
}
