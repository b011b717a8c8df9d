//! Tollgate's gateway: the HTTP server, auth, routing, relay, billing, logs and the admin API.
//! `build_app` gives the whole router so tests can drive it without a socket; `run` is the `serve` command.

pub mod account;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod catalog;
pub mod config;
pub mod error;
pub mod http;
pub mod import;
pub mod midjourney;
pub mod observe;
pub mod openapi;
pub mod relay;
pub mod routing;
pub mod startup;
pub mod state;
pub mod streaming;

pub use startup::router::build_app;
