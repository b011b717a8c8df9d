//! The HTTP edge: routes, per-request metadata (request id, client IP), body reading, and the server loop.

pub mod body;
pub mod dashboard;
pub mod meta;
pub mod router;
pub mod serve;
