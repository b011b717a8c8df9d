//! Extractors for requests made by the dashboard with a session cookie: [`SessionUser`] for the self-service
//! routes, and [`resolve`] (used by the admin guard too) that checks the cookie, the account behind it, and the
//! CSRF token on every state-changing request.

use crate::auth::session::{self, Claims, Subject};
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use http::Method;
use http::request::Parts;
use store::{StoreError, User};

/// A checked session: the claims and, for user sessions, the account as it is now.
pub struct Session {
    pub claims: Claims,
    pub user: Option<User>,
}

impl Session {
    /// Admin pages: the admin token, or a user with the admin role.
    pub fn is_admin(&self) -> bool {
        match &self.user {
            Some(u) => u.admin,
            None => self.claims.subject == Subject::AdminToken,
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The fingerprint a session of `user` must carry (changes when the password does).
pub fn user_fingerprint(state: &AppState, user: &User) -> String {
    state
        .sessions
        .fingerprint(user.password_hash.as_deref().unwrap_or_default())
}

/// The session of this request: `Ok(None)` without a session cookie; an error when the cookie is bad or stale,
/// the account is disabled, or a state-changing request lacks the CSRF token.
pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Session>, ApiError> {
    let Some(value) = session::cookie_in(&parts.headers) else {
        return Ok(None);
    };
    let claims = state
        .sessions
        .open(value, now_secs())
        .ok_or(ApiError::SessionInvalid)?;
    let user = match claims.subject {
        Subject::AdminToken => {
            if claims.fingerprint != state.sessions.fingerprint(&state.admin.credential_id()) {
                return Err(ApiError::SessionInvalid);
            }
            None
        }
        Subject::User(id) => {
            let user = match state.store.get_user(id).await {
                Ok(u) => u,
                Err(StoreError::NotFound) => return Err(ApiError::SessionInvalid),
                Err(e) => return Err(e.into()),
            };
            if claims.fingerprint != user_fingerprint(state, &user) {
                return Err(ApiError::SessionInvalid);
            }
            if !user.enabled {
                return Err(ApiError::UserDisabled);
            }
            Some(user)
        }
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = parts
            .headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !state.sessions.csrf_matches(&claims, presented) {
            return Err(ApiError::CsrfFailed);
        }
    }
    Ok(Some(Session { claims, user }))
}

/// A logged-in user (a person with an account, not the bare admin token): the self-service routes.
pub struct SessionUser {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = resolve(parts, state)
            .await?
            .ok_or(ApiError::SessionRequired)?;
        match session.user.clone() {
            Some(user) => Ok(Self { user, session }),
            None => Err(ApiError::Forbidden(
                "This page is for user accounts; the admin token has no keys or balance of its own.".to_owned(),
            )),
        }
    }
}

/// Any session (user or admin), for reading who is logged in.
pub struct AnySession(pub Session);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        resolve(parts, state)
            .await?
            .map(Self)
            .ok_or(ApiError::SessionRequired)
    }
}

/// The client's address, for the failed-login limit.
pub fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<RequestMeta>().map(|m| m.client_ip)
}

/// Who a code is redeemed for: the logged-in user, or — without a session cookie — the owner of the API key in
/// `Authorization: Bearer sk-…`, so a client that only holds a key can top up its account (a key can only add
/// money here, never read or change anything).
pub struct Redeemer(pub User);

impl FromRequestParts<AppState> for Redeemer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if session::cookie_in(&parts.headers).is_some() {
            return SessionUser::from_request_parts(parts, state)
                .await
                .map(|me| Self(me.user));
        }
        let ip = client_ip(parts).unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let snap = state.catalog.snapshot();
        match crate::auth::key::authenticate(&state.auth_failures, &snap, &parts.headers, ip) {
            Ok(caller) => Ok(Self(caller.user)),
            Err(ApiError::MissingKey) => Err(ApiError::SessionRequired),
            Err(e) => Err(e),
        }
    }
}
