//! API key secrets: generation, hashing for storage and lookup, display prefix, and reading them from headers.

use http::HeaderMap;
use rand::Rng;
use sha2::{Digest, Sha256};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `sk-` followed by 48 random base62 characters (PRODUCT §4).
pub fn generate_key() -> String {
    random_secret("sk-", 48)
}

pub fn random_secret(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    for _ in 0..len {
        s.push(char::from(BASE62[rng.random_range(0..BASE62.len())]));
    }
    s
}

/// Keys are high-entropy random strings, so a plain SHA-256 is a sound storage hash (no salt or stretching needed:
/// there is nothing to brute-force) and lets the hot path find a key by its hash in a map.
pub fn hash_bytes(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn hash_key(secret: &str) -> String {
    hex::encode(hash_bytes(secret))
}

/// What the dashboard and admin API show instead of the secret: `sk-` and the next four characters.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(7).collect()
}

pub fn looks_like_key(secret: &str) -> bool {
    secret.starts_with("sk-") && secret.len() >= 20 && secret.bytes().all(|b| b.is_ascii_graphic())
}

/// The bearer secret, if the request carries one: `Authorization: Bearer …`, else `x-api-key` (Anthropic-style
/// clients). `Ok(None)`: no credentials at all; `Err`: an Authorization header that is not a bearer token.
/// A malformed `Authorization` header (not `Bearer <token>`).
#[derive(Debug, PartialEq, Eq)]
pub struct MalformedAuthorization;

pub fn credential(headers: &HeaderMap) -> Result<Option<&str>, MalformedAuthorization> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| MalformedAuthorization)?.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or(MalformedAuthorization)?
            .trim();
        return if token.is_empty() {
            Err(MalformedAuthorization)
        } else {
            Ok(Some(token))
        };
    }
    match headers.get("x-api-key") {
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| MalformedAuthorization),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let k = generate_key();
        assert_eq!(k.len(), 51);
        assert!(looks_like_key(&k));
        assert_ne!(k, generate_key());
        assert_eq!(display_prefix(&k).len(), 7);
        assert_eq!(hash_key(&k).len(), 64);
    }

    #[test]
    fn reads_bearer_and_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(credential(&h), Ok(None));
        h.insert("x-api-key", "sk-abc".parse().unwrap());
        assert_eq!(credential(&h), Ok(Some("sk-abc")));
        h.insert("authorization", "Bearer sk-xyz".parse().unwrap());
        assert_eq!(credential(&h), Ok(Some("sk-xyz")));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(credential(&h), Err(MalformedAuthorization));
    }
}
