//! The web dashboard's files, compiled into the binary (nothing to deploy beside it): `/` is the page,
//! `/assets/<path>` its ES modules, strings and styles (`main.js`, `lib/…`, `pages/…`, `i18n/…`, `css/…`). The
//! build script (`crates/gateway/build.rs`) turns every file of `crates/gateway/dashboard/` into a row of
//! [`ASSETS`]; nothing here lists them by hand. The page only calls the REST API (`/api/...`), so the API stays
//! the single source of truth. A strict Content-Security-Policy allows nothing but this origin (images may come
//! from anywhere: Midjourney previews).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));
}

/// Every asset as `(path under /assets/, Content-Type, bytes)`, generated from `crates/gateway/dashboard/`.
pub use generated::ASSETS;

/// The page, served at `/`.
pub const INDEX: &str = include_str!("../../dashboard/index.html");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: https: http:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

fn file(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Small files, and a new binary must never run with an old script: revalidate each time.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

pub async fn index() -> Response {
    let mut resp = file("text/html; charset=utf-8", INDEX.as_bytes());
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// The asset at `path` (relative to `/assets/`): its content type and bytes. Only exact table paths match; a path
/// with an empty, `.` or `..` segment or a backslash is refused before the lookup.
pub fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    if path.contains('\\')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return None;
    }
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|&(_, content_type, body)| (content_type, body))
}

pub async fn asset(Path(path): Path<String>) -> Response {
    match find(&path) {
        Some((content_type, body)) => file(content_type, body),
        None => crate::error::ApiError::RouteNotFound {
            method: "GET".to_owned(),
            path: format!("/assets/{path}"),
        }
        .into_response(),
    }
}
