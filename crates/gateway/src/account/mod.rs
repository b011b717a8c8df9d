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
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/options", get(login::options))
        .route("/auth/login", post(login::login))
        .route("/auth/register", post(login::register))
        .route("/auth/session", get(login::current))
        .route("/auth/logout", post(login::logout))
        .route("/me", get(activity::me))
        .route("/keys", get(keys::list).post(keys::create))
        .route(
            "/keys/{id}",
            get(keys::get)
                .patch(keys::update)
                .put(keys::update)
                .delete(keys::delete),
        )
        .route("/logs", get(activity::logs))
        .route("/usage", get(activity::usage))
        .route("/redeem", post(redeem::redeem))
        .route("/playground/models", get(playground::models))
        .route("/playground/chat/completions", post(playground::chat))
}
