//! The admin REST API under `/api/admin` (PRODUCT §6): bare JSON records, lists as `{"data":[…],"total":N}`,
//! 201 on create, 204 on delete, errors in the OpenAI shape. Every handler takes the [`guard::Admin`] extractor
//! first (401 without the admin token); handlers validate, call the store, and reload the catalog after every
//! write so the relay sees the change on its next request.

pub(crate) mod channel_dto;
pub(crate) mod channel_models;
pub(crate) mod channels;
pub(crate) mod codes;
mod crud;
pub mod documented;
pub(crate) mod extract;
pub(crate) mod groups;
mod guard;
pub(crate) mod keys;
pub(crate) mod logs;
pub(crate) mod logs_csv;
pub(crate) mod mj_tasks;
pub(crate) mod prices;
pub mod schemas;
pub(crate) mod usage;
pub(crate) mod users;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every admin route with its OpenAPI operation: a handler's `#[utoipa::path]` is both its route and its
/// documentation (the table is mounted under `/api/admin` by [`crate::openapi::routes`]).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::get, channels::update, channels::delete))
        .routes(routes!(channel_models::fetch))
        .routes(routes!(channels::test))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::topup))
        .routes(routes!(keys::list, keys::create))
        .routes(routes!(keys::get, keys::update, keys::delete))
        .routes(routes!(prices::list, prices::create))
        .routes(routes!(
            prices::get,
            prices::put,
            prices::patch,
            prices::delete
        ))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::upsert, groups::delete))
        .routes(routes!(logs::list))
        .routes(routes!(logs_csv::export))
        .routes(routes!(usage::usage))
        .routes(routes!(codes::list, codes::create))
        .routes(routes!(codes::export))
        .routes(routes!(codes::delete))
        .routes(routes!(mj_tasks::list))
}
