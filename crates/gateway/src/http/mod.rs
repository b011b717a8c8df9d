//! HTTP pieces every route shares: per-request metadata (request id, client IP behind trusted proxies), header text, body
//! reading, and the embedded dashboard's files. The route table and the accept loop are in [`crate::startup`].

pub mod body;
pub mod client_addr;
pub mod dashboard;
pub mod meta;

use http::HeaderMap;
use http::header::AsHeaderName;

/// A request header's value as text; `None` when it is absent or not visible ASCII.
pub fn header_text(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
