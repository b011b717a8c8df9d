//! `/api/auth/*`: log in (username + password, or the admin token), register when the operator allows it, read
//! the current session, log out. A login answers the session's CSRF token and sets the signed cookie.
//! Login and registration take only JSON, are throttled before any password is hashed, and hash under the
//! process-wide password permits (see `auth::login_throttle` and `auth::password`).

use super::guard::{AnySession, client_ip, user_fingerprint};
use crate::admin::extract::{JsonBody, bad};
use crate::admin::users::Role;
use crate::auth::login_throttle::Account;
use crate::auth::session::{self, Claims, Subject};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use store::{NewUser, StoreError, User};

/// A user as they see themselves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub group: String,
    pub role: Role,
    pub balance: i64,
    pub spent: i64,
}

impl From<&User> for Me {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            name: u.name.clone(),
            group: u.group.clone(),
            role: Role::of(u.admin),
            balance: u.balance,
            spent: u.spent,
        }
    }
}

/// The answer of login, register and `GET /api/auth/session`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub role: Role,
    /// `null` when logged in with the admin token.
    #[schema(required)]
    pub user: Option<Me>,
    pub csrf_token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Options {
    pub registration: bool,
}

/// `GET /api/auth/options` (public): what the login page offers.
pub(super) async fn options(state: &AppState) -> Json<Options> {
    Json(Options {
        registration: state.settings.allow_registration,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    username: Option<String>,
    password: Option<String>,
    admin_token: Option<String>,
}

fn view(state: &AppState, claims: &Claims, user: Option<&User>) -> SessionView {
    SessionView {
        role: match user {
            Some(u) => Role::of(u.admin),
            None => Role::Admin,
        },
        user: user.map(Me::from),
        csrf_token: state.sessions.csrf_token(claims),
    }
}

/// Behind a TLS-terminating proxy the cookie gets `Secure`.
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn with_cookie(status: StatusCode, body: SessionView, cookie: &str) -> Response {
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    resp
}

/// Starts the session of a user with an account (a login or a registration).
fn start_user(state: &AppState, parts: &Parts, status: StatusCode, user: &User) -> Response {
    let fp = user_fingerprint(&state.sessions, user);
    start(
        state,
        parts,
        status,
        Subject::User(user.id),
        &fp,
        Some(user),
    )
}

fn start(
    state: &AppState,
    parts: &Parts,
    status: StatusCode,
    subject: Subject,
    fingerprint: &str,
    user: Option<&User>,
) -> Response {
    let claims = state
        .sessions
        .issue(subject, fingerprint, chrono::Utc::now().timestamp());
    let cookie = session::set_cookie(
        &state.sessions.cookie_value(&claims),
        over_https(&parts.headers),
    );
    with_cookie(status, view(state, &claims, user), &cookie)
}

/// A JSON body on a route that accepts nothing else: a cross-site HTML form can post `text/plain`, form-encoded
/// or multipart bodies without a preflight, never `application/json`, so a login cannot be forged from another
/// site. Anything else is a 415 before the body is read.
pub struct JsonOnly<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonOnly<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let JsonBody(body) = JsonBody::from_request(req, state).await?;
        Ok(Self(body))
    }
}

/// The address the login throttles count for (the middleware always sets it; unspecified only without one).
fn login_ip(parts: &Parts) -> IpAddr {
    client_ip(parts).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `POST /api/auth/login`.
pub(super) async fn login(
    state: &AppState,
    parts: Parts,
    input: LoginInput,
) -> Result<Response, ApiError> {
    let ip = login_ip(&parts);
    if let Some(retry_after) = state.auth_failures.blocked(ip) {
        return Err(ApiError::TooManyAuthFailures { retry_after });
    }
    let failed = |err: ApiError| {
        state.auth_failures.record_failure(ip);
        err
    };
    let account = match (&input.admin_token, &input.username) {
        (Some(_), _) => Account::AdminToken,
        (None, Some(name)) => Account::User(name.trim().to_owned()),
        (None, None) => {
            return Err(bad(
                "username",
                "Send `username` and `password`, or `admin_token`.",
            ));
        }
    };
    // Counted as a failure before anything is checked; a success clears it.
    let throttle = &state.logins.failures;
    throttle
        .begin(&account, ip)
        .map_err(|retry_after| ApiError::TooManyLoginFailures { retry_after })?;
    if let Some(token) = input.admin_token {
        if !state.admin.verify(token.trim()) {
            return Err(failed(ApiError::AdminUnauthorized));
        }
        throttle.succeeded(&account, ip);
        let fp = state.sessions.fingerprint(&state.admin.credential_id());
        return Ok(start(
            state,
            &parts,
            StatusCode::OK,
            Subject::AdminToken,
            &fp,
            None,
        ));
    }
    let (Some(name), Some(plain)) = (input.username, input.password) else {
        return Err(bad(
            "username",
            "Send `username` and `password`, or `admin_token`.",
        ));
    };
    let user = match state.store.get_user_by_name(name.trim()).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if !state.logins.passwords.verify(plain, hash).await? {
        return Err(failed(ApiError::LoginFailed));
    }
    let Some(user) = user else {
        return Err(failed(ApiError::LoginFailed));
    };
    throttle.succeeded(&account, ip);
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    Ok(start_user(state, &parts, StatusCode::OK, &user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    username: String,
    password: String,
}

/// `POST /api/auth/register`: a new user in the `default` group with no balance, logged in at once.
pub(super) async fn register(
    state: &AppState,
    parts: Parts,
    input: RegisterInput,
) -> Result<Response, ApiError> {
    if !state.settings.allow_registration {
        return Err(ApiError::Forbidden(
            "Registration is closed; ask the operator for an account.".to_owned(),
        ));
    }
    let name = input.username.trim().to_owned();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_whitespace) {
        return Err(bad(
            "username",
            "`username` must be 1 to 64 characters without spaces.",
        ));
    }
    state
        .logins
        .registrations
        .admit(login_ip(&parts))
        .map_err(|retry_after| ApiError::TooManyRegistrations { retry_after })?;
    let hash = state
        .logins
        .passwords
        .hash(input.password)
        .await?
        .map_err(|m| bad("password", format!("`password`: {m}.")))?;
    let user = state
        .store
        .create_user(&NewUser {
            name,
            password_hash: Some(hash),
            group: "default".to_owned(),
            balance: 0,
            enabled: true,
            admin: false,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => bad("username", "That username is taken."),
            other => other.into(),
        })?;
    state.refresh_catalog().await;
    Ok(start_user(state, &parts, StatusCode::CREATED, &user))
}

/// `GET /api/auth/session`: who is logged in, and the CSRF token again (after a page reload).
pub(super) async fn current(
    state: &AppState,
    AnySession(session): AnySession,
) -> Json<SessionView> {
    Json(view(state, &session.claims, session.user.as_ref()))
}

/// `POST /api/auth/logout`: clears the cookie. Needs no valid session, so a stale cookie can always be dropped.
pub(super) async fn logout() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        resp.headers_mut().insert(http::header::SET_COOKIE, v);
    }
    resp
}
