//! The web dashboard's files, compiled into the binary (nothing to deploy beside it): `/` is the page,
//! `/assets/*` its script, strings and styles. The page only calls the REST API (`/api/...`), so the API stays
//! the single source of truth. A strict Content-Security-Policy allows nothing but this origin (images may come
//! from anywhere: Midjourney previews).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

const INDEX: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const I18N_JS: &str = include_str!("../../dashboard/i18n.js");
const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: https: http:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

fn file(content_type: &'static str, body: &'static str) -> Response {
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
    let mut resp = file("text/html; charset=utf-8", INDEX);
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

pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => file("text/javascript; charset=utf-8", APP_JS),
        "i18n.js" => file("text/javascript; charset=utf-8", I18N_JS),
        "style.css" => file("text/css; charset=utf-8", STYLE_CSS),
        _ => crate::error::ApiError::RouteNotFound {
            method: "GET".to_owned(),
            path: format!("/assets/{name}"),
        }
        .into_response(),
    }
}
