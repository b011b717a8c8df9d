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
mod routes;

pub use routes::routes;
