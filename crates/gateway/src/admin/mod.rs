//! The admin REST API under `/api/admin` (PRODUCT §6): bare JSON records, lists as `{"data":[…],"total":N}`,
//! 201 on create, errors in the OpenAI shape. Handlers validate and call the store; every write reloads the catalog.

pub mod validate;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
