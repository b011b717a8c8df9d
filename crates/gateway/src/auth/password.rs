//! User passwords: argon2id hashes (PHC strings). Used by the admin API now and by dashboard logins.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

pub fn hash(password: &str) -> Result<String, String> {
    if password.len() < 8 {
        return Err("password must be at least 8 characters".to_owned());
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// Spends the time of one verification against a throwaway hash, for logins to accounts that do not exist (so
/// the answer's timing does not tell which names exist).
pub fn decoy_verify(password: &str) {
    static DECOY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("decoy password, matches nothing").unwrap_or_default());
    let _ = verify(password, &DECOY);
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let h = super::hash("correct horse").unwrap();
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse!", &h));
        assert!(super::hash("short").is_err());
    }
}
