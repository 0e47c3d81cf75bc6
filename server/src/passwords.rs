//! Operator passwords: Argon2id, hashed and checked off the async threads,
//! at most one per core at a time. Each hash takes ~19 MiB, so a burst of
//! sign-ins waits for a permit (or is told to retry) instead of growing memory
//! without bound.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// One permit per core: the hashes running at once.
static HASHING: LazyLock<std::sync::Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    std::sync::Arc::new(Semaphore::new(cores))
});
/// How long a sign-in waits for a hashing permit before it is told to retry.
const PERMIT_WAIT: Duration = Duration::from_secs(5);

/// Every core is busy hashing and the wait ran out: try again shortly.
#[derive(Debug, thiserror::Error)]
#[error("every password check slot is busy")]
pub struct HashingBusy;

async fn hashing_permit(wait: Option<Duration>) -> anyhow::Result<OwnedSemaphorePermit> {
    let acquire = std::sync::Arc::clone(&HASHING).acquire_owned();
    let permit = match wait {
        Some(wait) => tokio::time::timeout(wait, acquire)
            .await
            .map_err(|_| HashingBusy)?,
        None => acquire.await,
    };
    permit.context("The password hashing semaphore was closed")
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let permit = hashing_permit(None).await?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
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
/// Fails with [`HashingBusy`] when no permit came within a few seconds.
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let permit = hashing_permit(Some(PERMIT_WAIT)).await?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
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
