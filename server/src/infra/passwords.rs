//! Operator passwords: Argon2id, hashed and checked on a few threads of
//! their own, at most one per core at a time. Each hash takes ~19 MiB, so a
//! burst of sign-ins waits for a slot (or is told to retry) instead of growing
//! memory without bound (`cargo bench -p server --bench sign_in_burst`).

use std::sync::{mpsc, Arc, LazyLock, Mutex};
use std::time::Duration;

use anyhow::Context;
use std::cell::RefCell;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

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

/// Hashes run on this many threads of their own, one per core. Argon2 takes
/// ~19 MiB per hash; on a few long-lived threads the allocator reuses those
/// buffers, where tokio's blocking pool (hundreds of short-lived threads,
/// each with its own malloc arena) kept hundreds of megabytes after a burst.
static HASHING: LazyLock<HashingPool> = LazyLock::new(|| {
    HashingPool::start(std::thread::available_parallelism().map_or(2, usize::from))
});
/// How long a sign-in waits for a hashing slot before it is told to retry.
const PERMIT_WAIT: Duration = Duration::from_secs(5);

/// Every core is busy hashing and the wait ran out: try again shortly.
#[derive(Debug, thiserror::Error)]
#[error("every password check slot is busy")]
pub struct HashingBusy;

type Job = Box<dyn FnOnce() + Send>;

/// A few threads that hash passwords, and a semaphore with a permit per
/// thread so callers wait (with a deadline) instead of piling up jobs.
struct HashingPool {
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
}

impl HashingPool {
    fn start(threads: usize) -> HashingPool {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("password-hashing-{index}"))
                .spawn(move || loop {
                    // Only waiting for the next job holds the lock.
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("a password hashing thread starts");
        }
        HashingPool {
            jobs: sender,
            permits: Arc::new(Semaphore::new(threads)),
        }
    }

    /// Runs `work` on a hashing thread once a slot is free (waiting at most `wait`).
    async fn run<T: Send + 'static>(
        &self,
        wait: Option<Duration>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let acquire = Arc::clone(&self.permits).acquire_owned();
        let permit: OwnedSemaphorePermit = match wait {
            Some(wait) => tokio::time::timeout(wait, acquire)
                .await
                .map_err(|_| HashingBusy)?,
            None => acquire.await,
        }
        .context("The password hashing semaphore was closed")?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("The password hashing threads stopped"))?;
        result.await.context("A password hashing job was dropped")
    }
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    HASHING
        .run(None, move || hash_with_reused_memory(password.as_bytes()))
        .await?
        .context("Failed to hash a password")
}

/// Whether `password` matches `stored`. With no stored hash (unknown email) it
/// still spends the same work, so timing does not reveal which emails exist.
/// Fails with [`HashingBusy`] when no slot came free within a few seconds.
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    HASHING
        .run(Some(PERMIT_WAIT), move || {
            let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            verify_with_reused_memory(password.as_bytes(), &stored)
        })
        .await?
}

thread_local! {
    /// Argon2's working memory, kept by each hashing thread and reused: a
    /// fresh 19 MiB buffer per hash fragments the allocator's heap, and a
    /// burst of sign-ins left hundreds of megabytes behind.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 with `params` into `out`, on this thread's reused memory.
fn argon2_into(params: Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> anyhow::Result<()> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let needed = argon2.params().block_count();
        if memory.len() < needed {
            memory.resize(needed, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut memory[..needed])
            .map_err(|error| anyhow::anyhow!("{error}"))
    })
}

/// A PHC string (`$argon2id$v=19$m=…`) with Argon2's default parameters.
fn hash_with_reused_memory(password: &[u8]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let params = Params::default();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon2_into(params.clone(), password, salt_bytes, &mut out)?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|error| anyhow::anyhow!("{error}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|error| anyhow::anyhow!("{error}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` hashes to `stored` (a PHC string), compared in constant time.
fn verify_with_reused_memory(password: &[u8], stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|error| anyhow::anyhow!("{error}"))?;
    anyhow::ensure!(
        parsed.algorithm == argon2::ARGON2ID_IDENT,
        "a stored password hash is not Argon2id"
    );
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("a stored password hash has no salt or no hash");
    };
    let params = Params::try_from(&parsed).map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(params, password, salt_bytes, &mut out)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(|error| anyhow::anyhow!("{error}"))? == expected)
}

/// A hash of nothing anyone knows, checked when the email is unknown.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_with_reused_memory(b"no such operator").unwrap_or_default());

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
    async fn a_hash_made_by_the_argon2_crate_itself_verifies_and_ours_verify_there() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify_password("correct horse battery".into(), Some(theirs))
                .await
                .unwrap()
        );
        let ours = hash_password("correct horse battery".into()).await.unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
            .is_ok());
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
