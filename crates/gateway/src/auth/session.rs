//! Dashboard sessions: a signed cookie instead of a server-side session table, so every instance accepts it
//! without a shared store. The cookie is `<kind>.<user id>.<expires>.<fingerprint>.<nonce>.<hmac>`:
//! - `kind` is `a` (logged in with the admin token) or `u` (a user, maybe with the admin role);
//! - `fingerprint` is an HMAC of the credential the login used (the user's password hash, or the admin token's
//!   hash), so changing the password or the admin token ends every session made with the old one;
//! - the HMAC-SHA256 over the rest uses a key generated once and kept in the settings table — or, with
//!   `TOLLGATE_SECRET_KEY`, a key derived by HKDF from the secret and that stored value, so a copy of the
//!   database alone cannot sign a cookie (sessions from before the secret was set, or from another secret, end).
//!
//! CSRF: the cookie is `SameSite=Lax` and `HttpOnly`, and every state-changing request made with it must also
//! carry `X-CSRF-Token`, an HMAC of the cookie's payload that the login answer hands to the page's script. A
//! cross-site form can send the cookie but cannot read or forge the token.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use store::{Store, StoreError};

const SETTING: &str = "session_signing_key";
pub const COOKIE: &str = "tollgate_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a login lasts.
pub const TTL_SECS: i64 = 7 * 86_400;

/// Who a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Logged in with the admin token: the admin pages only.
    AdminToken,
    User(i64),
}

/// A verified cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub subject: Subject,
    pub expires: i64,
    pub fingerprint: String,
    /// Everything but the signature: what the CSRF token is derived from.
    payload: String,
}

#[derive(Clone)]
pub struct SessionKeys {
    key: [u8; 32],
}

impl SessionKeys {
    /// The signing key: the stored random value itself without a `secret`; derived from both with one.
    pub async fn bootstrap(store: &Store, secret: Option<&str>) -> Result<Self, StoreError> {
        let key =
            super::signing_key::setting_key(store, SETTING, secret, "dashboard sessions").await?;
        Ok(Self { key })
    }

    #[cfg(test)]
    fn with_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> Option<Hmac<Sha256>> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        for p in parts {
            m.update(p);
        }
        Some(m)
    }

    fn hex_mac(&self, parts: &[&[u8]], len: usize) -> String {
        self.mac(parts)
            .map(|m| {
                let mut s = hex::encode(m.finalize().into_bytes());
                s.truncate(len);
                s
            })
            .unwrap_or_default()
    }

    /// A secret derived from the signing key and `label`: the same on every instance and after restarts, never
    /// stored (used for the playground's per-user API key).
    pub fn derive(&self, label: &str, len: usize) -> String {
        self.hex_mac(&[b"derive:", label.as_bytes()], len)
    }

    /// The fingerprint of the credential a session was made with.
    pub fn fingerprint(&self, credential: &str) -> String {
        self.hex_mac(&[b"fp:", credential.as_bytes()], 16)
    }

    /// A new cookie value for `subject`, valid until `now + TTL`.
    pub fn issue(&self, subject: Subject, fingerprint: &str, now: i64) -> Claims {
        let (kind, id) = match subject {
            Subject::AdminToken => ("a", 0),
            Subject::User(id) => ("u", id),
        };
        let expires = now.saturating_add(TTL_SECS);
        let nonce = hex::encode(rand::random::<[u8; 8]>());
        Claims {
            subject,
            expires,
            fingerprint: fingerprint.to_owned(),
            payload: format!("{kind}.{id}.{expires}.{fingerprint}.{nonce}"),
        }
    }

    /// The cookie value of `claims`.
    pub fn cookie_value(&self, claims: &Claims) -> String {
        let sig = self.hex_mac(&[claims.payload.as_bytes()], 64);
        format!("{}.{sig}", claims.payload)
    }

    /// The claims of a cookie value whose signature checks out and which has not expired.
    pub fn open(&self, value: &str, now: i64) -> Option<Claims> {
        let (payload, sig) = value.rsplit_once('.')?;
        let sig = hex::decode(sig).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(&[payload.as_bytes()])?.verify_slice(&sig).ok()?;
        let mut parts = payload.split('.');
        let kind = parts.next()?;
        let id: i64 = parts.next()?.parse().ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let fingerprint = parts.next()?.to_owned();
        let _nonce = parts.next()?;
        if parts.next().is_some() || expires <= now {
            return None;
        }
        let subject = match kind {
            "a" => Subject::AdminToken,
            "u" => Subject::User(id),
            _ => return None,
        };
        Some(Claims {
            subject,
            expires,
            fingerprint,
            payload: payload.to_owned(),
        })
    }

    /// The CSRF token that goes with a session.
    pub fn csrf_token(&self, claims: &Claims) -> String {
        self.hex_mac(&[b"csrf:", claims.payload.as_bytes()], 32)
    }

    /// Whether `presented` is the CSRF token of `claims` (constant time).
    pub fn csrf_matches(&self, claims: &Claims, presented: &str) -> bool {
        let expected = self.csrf_token(claims);
        expected.len() == presented.len()
            && expected
                .bytes()
                .zip(presented.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// The `Set-Cookie` value for a new session. `Secure` when the client reached us over HTTPS (through a proxy
/// that says so), so a plain-HTTP deployment on a LAN still works.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TTL_SECS}{secure}")
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn cookie_in(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_tamper_and_expiry() {
        let keys = SessionKeys::with_key([7; 32]);
        let fp = keys.fingerprint("$argon2id$...");
        let claims = keys.issue(Subject::User(42), &fp, 1_000);
        let value = keys.cookie_value(&claims);
        assert_eq!(keys.open(&value, 1_001), Some(claims.clone()));
        assert_eq!(keys.open(&value, 1_000 + TTL_SECS), None, "expired");
        let forged = value.replacen("u.42.", "u.43.", 1);
        assert_eq!(keys.open(&forged, 1_001), None, "altered");
        let other = SessionKeys::with_key([8; 32]);
        assert_eq!(other.open(&value, 1_001), None, "other key");

        let csrf = keys.csrf_token(&claims);
        assert!(keys.csrf_matches(&claims, &csrf));
        assert!(!keys.csrf_matches(&claims, &csrf[1..]));
        let again = keys.issue(Subject::User(42), &fp, 1_000);
        assert!(
            !keys.csrf_matches(&again, &csrf),
            "each login has its own token"
        );
        assert_ne!(keys.fingerprint("other hash"), fp);
    }

    #[test]
    fn finds_the_cookie_among_others() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; tollgate_session=abc.def".parse().unwrap(),
        );
        assert_eq!(cookie_in(&h), Some("abc.def"));
        let mut h = http::HeaderMap::new();
        h.append(http::header::COOKIE, "tollgate_session=".parse().unwrap());
        assert_eq!(cookie_in(&h), None);
    }
}
