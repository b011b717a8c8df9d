//! The HTTP edge: routes, per-request metadata (request id, client IP behind trusted proxies), body reading, and the server loop.

pub mod body;
pub mod client_addr;
pub mod dashboard;
pub mod meta;
pub mod router;
pub mod serve;
