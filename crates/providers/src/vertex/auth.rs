//! Google service-account credentials for Vertex AI: the key JSON, the signed JWT assertion, and the OAuth token
//! exchange at the account's `token_uri` (the JWT-bearer grant, `cloud-platform` scope), cached per account until
//! five minutes before it expires, so requests do not fetch tokens.
//!
//! The JWT is written here rather than with a JWT crate: it is three base64url parts, and the one cryptographic
//! step (RS256, RSA PKCS#1 v1.5 over SHA-256) is `ring`'s, the crypto the TLS stack already builds.

use crate::UpstreamCtx;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::transport;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

/// Where Google issues tokens when the key names no `token_uri`.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long before its expiry a cached token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Largest token answer read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// The fields of a service-account key the token exchange needs.
#[derive(Deserialize)]
pub struct ServiceAccount {
    #[serde(rename = "type")]
    kind: Option<String>,
    pub project_id: String,
    pub client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

impl ServiceAccount {
    /// Reads and checks a key, its private key included (what an admin write or the declared config is told); the
    /// error names what is wrong, never the key's text.
    pub fn parse(key: &str) -> Result<ServiceAccount, String> {
        let account = Self::read(key)?;
        account.key_pair()?;
        Ok(account)
    }

    /// Reads a key's fields without checking its private key, which signing does when a token is exchanged: what
    /// each request does, so it costs a JSON parse and no RSA key check.
    pub fn read(key: &str) -> Result<ServiceAccount, String> {
        let account: ServiceAccount = serde_json::from_str(key).map_err(|_| {
            "a vertex key must be a Google service-account JSON (with project_id, client_email and private_key)"
                .to_owned()
        })?;
        if account
            .kind
            .as_deref()
            .is_some_and(|k| k != "service_account")
        {
            return Err("a vertex key must be a key of `type` \"service_account\"".to_owned());
        }
        for (field, value) in [
            ("project_id", &account.project_id),
            ("client_email", &account.client_email),
        ] {
            if value.trim().is_empty() {
                return Err(format!("the service-account key has an empty `{field}`"));
            }
        }
        Ok(account)
    }

    fn token_uri(&self) -> &str {
        self.token_uri
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(GOOGLE_TOKEN_URI)
    }

    /// The RSA key of `private_key` (PKCS#8 PEM, as Google issues it).
    fn key_pair(&self) -> Result<RsaKeyPair, String> {
        let body: String = self
            .private_key
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "the service-account `private_key` is not PEM".to_owned())?;
        RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| "the service-account `private_key` is not an RSA PKCS#8 key".to_owned())
    }

    /// The signed JWT asking `token_uri` for a `cloud-platform` token, issued at `now` (Unix seconds).
    pub fn assertion(&self, now: u64) -> Result<String, String> {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.private_key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({"iss": self.client_email, "scope": SCOPE, "aud": self.token_uri(),
            "iat": now, "exp": now + 3600});
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signed = format!("{}.{}", part(&header), part(&claims));
        let key = self.key_pair()?;
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "cannot sign the token request".to_owned())?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// What tells this account's tokens apart in the cache.
    fn cache_key(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.client_email,
            self.private_key_id.as_deref().unwrap_or_default(),
            self.token_uri()
        )
    }
}

#[derive(Clone)]
struct Token {
    value: String,
    /// When it must be replaced (its expiry less the margin).
    renew_at: SystemTime,
}

/// One slot per account: a request finding its token stale refreshes it while the others wait for that one
/// exchange instead of starting their own.
type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

static TOKENS: LazyLock<Mutex<HashMap<String, Slot>>> = LazyLock::new(Mutex::default);

fn slot(key: String) -> Slot {
    let mut slots = TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slots.entry(key).or_default().clone()
}

/// A refusal of the credentials: the key goes out of rotation, as after a 401.
fn rejected(message: String) -> UpstreamError {
    let mut e = UpstreamError::new(UpstreamErrorKind::Status(401), message);
    e.code = Some("invalid_api_key".to_owned());
    e
}

/// An access token for `account`: the cached one while it is fresh, else a new one from its `token_uri`.
pub async fn access_token(
    ctx: &UpstreamCtx,
    account: &ServiceAccount,
) -> Result<String, UpstreamError> {
    let slot = slot(account.cache_key());
    let mut cached = slot.lock().await;
    if let Some(token) = cached.as_ref().filter(|t| SystemTime::now() < t.renew_at) {
        return Ok(token.value.clone());
    }
    let token = exchange(ctx, account).await?;
    *cached = Some(token.clone());
    Ok(token.value)
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

async fn exchange(ctx: &UpstreamCtx, account: &ServiceAccount) -> Result<Token, UpstreamError> {
    let assertion = account.assertion(crate::unix_now()).map_err(rejected)?;
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
    );
    let req = ctx
        .client
        .post(account.token_uri())
        .header(
            http::header::CONTENT_TYPE.as_str(),
            "application/x-www-form-urlencoded",
        )
        .body(form);
    let resp = transport::transmit(ctx, req).await?;
    let status = resp.status().as_u16();
    let body = transport::read_body(ctx, resp, MAX_TOKEN_ANSWER).await?;
    if !(200..300).contains(&status) {
        let why = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if (400..500).contains(&status) && status != 429 {
            rejected(format!(
                "the service account's token request was refused: {why}"
            ))
        } else {
            UpstreamError::new(
                UpstreamErrorKind::Status(if status == 429 { 429 } else { 502 }),
                format!("the token endpoint failed: {why}"),
            )
        });
    }
    let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
        UpstreamError::new(
            UpstreamErrorKind::Protocol,
            "the token endpoint answered no access_token",
        )
    })?;
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
    let margin = REFRESH_MARGIN.min(lifetime / 2);
    Ok(Token {
        value: answer.access_token,
        renew_at: SystemTime::now() + lifetime - margin,
    })
}
