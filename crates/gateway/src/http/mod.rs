//! HTTP pieces every route shares: per-request metadata (request id, client IP behind trusted proxies), body
//! reading, and the embedded dashboard's files. The route table and the accept loop are in [`crate::startup`].

pub mod body;
pub mod client_addr;
pub mod dashboard;
pub mod meta;
