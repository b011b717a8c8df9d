//! The admin REST API under `/api/admin` (PRODUCT §6): bare JSON records, lists as `{"data":[…],"total":N}`,
//! 201 on create, 204 on delete, errors in the OpenAI shape. Every handler takes the [`guard::Admin`] extractor
//! first (401 without the admin token); handlers validate, call the store, and reload the catalog after every
//! write so the relay sees the change on its next request.

pub(crate) mod channel_dto;
pub(crate) mod channel_models;
pub(crate) mod channels;
pub(crate) mod codes;
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
use axum::Router;
use axum::routing::{delete, get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(channels::list).post(channels::create))
        .route(
            "/channels/{id}",
            get(channels::get)
                .patch(channels::update)
                .put(channels::update)
                .delete(channels::delete),
        )
        .route("/channels/fetch-models", post(channel_models::fetch))
        .route("/channels/{id}/test", post(channels::test))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{id}",
            get(users::get)
                .patch(users::update)
                .put(users::update)
                .delete(users::delete),
        )
        .route("/users/{id}/topup", post(users::topup))
        .route("/keys", get(keys::list).post(keys::create))
        .route(
            "/keys/{id}",
            get(keys::get)
                .patch(keys::update)
                .put(keys::update)
                .delete(keys::delete),
        )
        .route("/prices", get(prices::list).post(prices::create))
        .route(
            "/prices/{*model}",
            get(prices::get)
                .put(prices::put)
                .patch(prices::patch)
                .delete(prices::delete),
        )
        .route("/groups", get(groups::list).post(groups::create))
        .route(
            "/groups/{name}",
            get(groups::get)
                .put(groups::upsert)
                .patch(groups::upsert)
                .delete(groups::delete),
        )
        .route("/logs", get(logs::list))
        .route("/logs/export", get(logs_csv::export))
        .route("/usage", get(usage::usage))
        .route("/codes", get(codes::list).post(codes::create))
        .route("/codes/export", get(codes::export))
        .route("/codes/{id}", delete(codes::delete))
        .route("/mj/tasks", get(mj_tasks::list))
}
