//! The admin guard: an extractor every admin handler takes first, so no route can be reached without
//! `Authorization: Bearer <admin token>` or an admin's dashboard session (cookie + CSRF token on writes; see
//! [`crate::auth::dashboard`]). Failed token attempts count against the per-address auth-failure limit, like keys;
//! a valid token is served even from an address over that limit.

use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::request::Parts;

/// Proof that the request carried the admin token or an admin's session.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers);
        // A valid token is served even from an address over the failure limit (the limit is for floods).
        if token.is_some_and(|t| state.admin.verify(t)) {
            return Ok(Self);
        }
        if token.is_none()
            && let Some(session) =
                crate::auth::dashboard::resolve(parts, &state.sessions, &state.admin, &state.store)
                    .await?
        {
            return if session.is_admin() {
                Ok(Self)
            } else {
                Err(ApiError::Forbidden(
                    "This needs an administrator; your account is not one.".to_owned(),
                ))
            };
        }
        if let Some(ip) = parts.extensions.get::<RequestMeta>().map(|m| m.client_ip) {
            if let Some(retry_after) = state.auth_failures.blocked(ip) {
                return Err(ApiError::TooManyAuthFailures { retry_after });
            }
            state.auth_failures.record_failure(ip);
        }
        Err(ApiError::AdminUnauthorized)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
