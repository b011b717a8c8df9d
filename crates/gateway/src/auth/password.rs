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

/// Checks `password` against a stored argon2 PHC string, or a bcrypt hash (`$2a$…`, `$2b$…`) as new-api and
/// one-api store them: users imported from there log in with their old passwords.
pub fn verify(password: &str, phc: &str) -> bool {
    if phc.starts_with("$2") {
        return bcrypt::verify(password, phc).unwrap_or(false);
    }
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn bcrypt_hashes_from_new_api_verify() {
        // Go's bcrypt (cost 10) for "rootpass123", as new-api stores it.
        let hash = bcrypt::hash_with_salt("rootpass123", 4, [7; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        assert!(super::verify("rootpass123", &hash));
        assert!(!super::verify("wrong", &hash));
    }

    #[test]
    fn round_trip() {
        let h = super::hash("correct horse").unwrap();
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse!", &h));
        assert!(super::hash("short").is_err());
    }
}
