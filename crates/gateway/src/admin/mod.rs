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
mod routes;
pub mod schemas;
pub(crate) mod usage;
pub(crate) mod users;

pub use routes::routes;
