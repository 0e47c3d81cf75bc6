//! Operator passwords: Argon2id, hashed and checked off the async threads.

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Operators' passwords: at least 12 characters (NIST 800-63B favours length).
pub fn validate_new_password(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < 12 {
        return Err("Use at least 12 characters.");
    }
    if length > 256 {
        return Err("Use at most 256 characters.");
    }
    Ok(())
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("{error}"))
    })
    .await
    .context("The password hashing task failed")?
    .context("Failed to hash a password")
}

/// Whether `password` matches `stored`. With no stored hash (unknown email) it
/// still spends the same work, so timing does not reveal which emails exist.
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.with(Clone::clone));
        let parsed = PasswordHash::new(&stored).map_err(|error| anyhow::anyhow!("{error}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("The password check task failed")?
}

thread_local! {
    static DUMMY_HASH: String = Argon2::default()
        .hash_password(b"no such operator", &SaltString::generate(&mut rand::rngs::OsRng))
        .map(|hash| hash.to_string())
        .unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_unknown_operator_never_verifies() {
        assert!(!verify_password("anything at all".into(), None)
            .await
            .unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password("a long enough password").is_ok());
    }
}
