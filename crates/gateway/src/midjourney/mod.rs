//! The Midjourney task API (`/mj/…`, PRODUCT §5): submits relayed to `midjourney` channels (midjourney-proxy
//! compatible upstreams) and billed at a fixed price per action and mode; tasks stored per user and answered from
//! the store; a background poller moving tasks forward; image links signed and proxied so the upstream stays hidden.
//!
//! The same routes answer under `/mj`, `/mj-fast`, `/mj-relax`, `/mj-turbo` (and `/mj-fast/mj` etc., as new-api
//! accepts); the prefix is the speed mode, which channels must serve and prices may differ by.

mod action;
mod auth;
mod error;
pub mod image;
mod image_source;
pub mod notify;
mod policy;
pub mod poller;
mod shape;
mod submit;
mod tasks;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::{Extension, Router};

/// The speed mode a route prefix selects; `None` = the channel's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Default,
    Fast,
    Relax,
    Turbo,
}

impl Mode {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::Fast => Some("fast"),
            Self::Relax => Some("relax"),
            Self::Turbo => Some("turbo"),
        }
    }
}

fn task_routes(mode: Mode) -> Router<AppState> {
    Router::new()
        .route("/submit/{kind}", post(submit::handle))
        .route("/insight-face/swap", post(submit::swap_face))
        .route("/task/{id}/fetch", get(tasks::fetch))
        .route("/task/list-by-condition", post(tasks::list_by_condition))
        .route("/task/{id}/image-seed", get(tasks::image_seed))
        .layer(Extension(mode))
}

/// Every `/mj…` route, to be merged into the app router.
pub fn router() -> Router<AppState> {
    let mut r = Router::new()
        .nest("/mj", task_routes(Mode::Default))
        .route("/mj/image/{id}", get(image::proxy));
    for (prefix, mode) in [
        ("/mj-fast", Mode::Fast),
        ("/mj-relax", Mode::Relax),
        ("/mj-turbo", Mode::Turbo),
    ] {
        r = r
            .nest(prefix, task_routes(mode))
            .nest(&format!("{prefix}/mj"), task_routes(mode));
    }
    r
}
