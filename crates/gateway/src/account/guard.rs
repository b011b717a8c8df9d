//! Extractors for requests made by the dashboard with a session cookie ([`SessionUser`], [`AnySession`]) or a
//! key ([`Redeemer`]), on top of [`crate::auth::dashboard::resolve`].

pub use crate::auth::dashboard::{Session, user_fingerprint};
use crate::auth::session;
use crate::error::ApiError;
use crate::http::meta::RequestMeta;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use http::request::Parts;
use store::User;

/// The request's dashboard session, if it carries one.
pub async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, ApiError> {
    crate::auth::dashboard::resolve(parts, &state.sessions, &state.admin, &state.store).await
}

/// A logged-in user (a person with an account, not the bare admin token): the self-service routes.
pub struct SessionUser {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = session_of(parts, state)
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
        session_of(parts, state)
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
        match crate::auth::authenticate::authenticate(
            &state.auth_failures,
            &snap,
            &parts.headers,
            ip,
        ) {
            Ok(caller) => Ok(Self(caller.user)),
            Err(ApiError::MissingKey) => Err(ApiError::SessionRequired),
            Err(e) => Err(e),
        }
    }
}
