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
use api_types::MjMode;
use axum::routing::{get, post};
use axum::{Extension, Router};

/// The speed mode a route prefix selects (`/mj-fast` …); `None` on plain `/mj`, where the client's
/// `accountFilter.modes` may name some, else the channel's default applies.
pub type RouteMode = Option<MjMode>;

fn task_routes(mode: RouteMode) -> Router<AppState> {
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
        .nest("/mj", task_routes(None))
        .route("/mj/image/{id}", get(image::proxy));
    for (prefix, mode) in [
        ("/mj-fast", Some(MjMode::Fast)),
        ("/mj-relax", Some(MjMode::Relax)),
        ("/mj-turbo", Some(MjMode::Turbo)),
    ] {
        r = r
            .nest(prefix, task_routes(mode))
            .nest(&format!("{prefix}/mj"), task_routes(mode));
    }
    r
}
