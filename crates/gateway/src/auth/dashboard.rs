//! A dashboard session: the cookie checked against the session keys, the account behind it as it is now (enabled,
//! password unchanged), and the CSRF token on every state-changing request. The admin guard and the self-service
//! extractors both take it from here.

use super::admin::AdminAuth;
use super::session::{self, Claims, SessionKeys, Subject};
use crate::error::ApiError;
use crate::http::header_text;
use http::Method;
use http::request::Parts;
use store::{Store, StoreError, User};

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
pub fn user_fingerprint(keys: &SessionKeys, user: &User) -> String {
    keys.fingerprint(user.password_hash.as_deref().unwrap_or_default())
}

/// The session of this request: `Ok(None)` without a session cookie; an error when the cookie is bad or stale,
/// the account is disabled, or a state-changing request lacks the CSRF token.
pub async fn resolve(
    parts: &Parts,
    keys: &SessionKeys,
    admin: &AdminAuth,
    store: &Store,
) -> Result<Option<Session>, ApiError> {
    let Some(value) = session::cookie_in(&parts.headers) else {
        return Ok(None);
    };
    let claims = keys
        .open(value, now_secs())
        .ok_or(ApiError::SessionInvalid)?;
    let user = match claims.subject {
        Subject::AdminToken => {
            if claims.fingerprint != keys.fingerprint(&admin.credential_id()) {
                return Err(ApiError::SessionInvalid);
            }
            None
        }
        Subject::User(id) => {
            let user = match store.get_user(id).await {
                Ok(u) => u,
                Err(StoreError::NotFound) => return Err(ApiError::SessionInvalid),
                Err(e) => return Err(e.into()),
            };
            if claims.fingerprint != user_fingerprint(keys, &user) {
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
        let presented = header_text(&parts.headers, session::CSRF_HEADER).unwrap_or_default();
        if !keys.csrf_matches(&claims, presented) {
            return Err(ApiError::CsrfFailed);
        }
    }
    Ok(Some(Session { claims, user }))
}
