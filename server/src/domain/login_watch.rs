//! Connect waiting on "Connecting with your utility" without polling: a read
//! of the session may ask to wait (`GET /api/connect/session?waitSeconds=N`)
//! while its credential is connecting, and is answered the moment the login
//! worker is done with it, or when N seconds have passed.
//!
//! The login worker tells [`LoginWatch::login_ended`] in its own process; a
//! login run by another replica (or a change an operator made) is seen by a
//! read of the session every second (`Schedule::connect_recheck`), as often
//! as Connect used to poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The longest a read may wait: under the idle timeouts of common proxies.
pub const MAX_WAIT_SECONDS: u64 = 30;
/// Reads waiting at once in this process; beyond that a read is answered at
/// once and Connect asks again a second later, as it did before it could wait.
const MAX_WAITING: usize = 10_000;

/// Who waits for which credential's login to end.
#[derive(Debug, Clone)]
pub struct LoginWatch {
    waiting: Arc<Mutex<Waiting>>,
    /// How often a waiting read looks at the session when nobody tells it of a change.
    recheck: Duration,
    /// Cancelled when the server shuts down: every wait ends with the state
    /// as it is, so that no read holds the shutdown up.
    shutdown: CancellationToken,
}

#[derive(Debug, Default)]
struct Waiting {
    by_credential: HashMap<String, Arc<Notify>>,
    /// Reads waiting now, across credentials.
    count: usize,
}

impl LoginWatch {
    pub fn new(recheck: Duration, shutdown: CancellationToken) -> LoginWatch {
        LoginWatch {
            waiting: Arc::default(),
            recheck,
            shutdown,
        }
    }

    /// Starts watching `credential_id`, or `None` when [`MAX_WAITING`] reads
    /// wait already or the server is shutting down.
    pub fn watch(&self, credential_id: &str) -> Option<Watching> {
        if self.shutdown.is_cancelled() {
            return None;
        }
        let mut waiting = self.lock();
        if waiting.count >= MAX_WAITING {
            return None;
        }
        waiting.count += 1;
        let notify = Arc::clone(
            waiting
                .by_credential
                .entry(credential_id.to_owned())
                .or_default(),
        );
        Some(Watching {
            watch: self.clone(),
            credential_id: credential_id.to_owned(),
            notify,
        })
    }

    /// Wakes every read waiting for `credential_id`: its login ended (or
    /// was put off), so its status may have changed.
    pub fn login_ended(&self, credential_id: &str) {
        if let Some(notify) = self.lock().by_credential.get(credential_id) {
            notify.notify_waiters();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // The map stays consistent whatever panicked while holding it.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One read watching one credential, until dropped.
#[derive(Debug)]
pub struct Watching {
    watch: LoginWatch,
    credential_id: String,
    notify: Arc<Notify>,
}

impl Watching {
    /// Until the credential's login ends, `at_most` passes, it is time to
    /// look again anyway, or the server shuts down, whichever comes first.
    /// Call [`Watching::armed`] before reading the state the wait is about,
    /// so that an end in between is not missed.
    pub async fn wait(&self, armed: Armed<'_>, at_most: Duration) {
        tokio::select! {
            () = armed.0 => {}
            () = tokio::time::sleep(at_most.min(self.watch.recheck)) => {}
            () = self.watch.shutdown.cancelled() => {}
        }
    }

    /// A wake-up that counts from now.
    pub fn armed(&self) -> Armed<'_> {
        let mut notified = Box::pin(self.notify.notified());
        notified.as_mut().enable();
        Armed(notified)
    }

    /// Whether the server is shutting down: waiting ends.
    pub fn is_over(&self) -> bool {
        self.watch.shutdown.is_cancelled()
    }
}

/// A wake-up registered before a read (see [`Watching::armed`]).
pub struct Armed<'a>(std::pin::Pin<Box<tokio::sync::futures::Notified<'a>>>);

impl Drop for Watching {
    fn drop(&mut self) {
        let mut waiting = self.watch.lock();
        waiting.count -= 1;
        // Every handle to a credential's `Notify` is made under the lock:
        // the map's and this one left means this was its last reader.
        if Arc::strong_count(&self.notify) == 2 {
            waiting.by_credential.remove(&self.credential_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> LoginWatch {
        LoginWatch::new(Duration::from_secs(3600), CancellationToken::new())
    }

    #[tokio::test]
    async fn a_login_that_ends_wakes_the_reads_waiting_for_it_alone() {
        let watch = watch();
        let first = watch.watch("cred_1").expect("room to wait");
        let second = watch.watch("cred_1").expect("room to wait");
        let other = watch.watch("cred_2").expect("room to wait");
        let (first_armed, second_armed, other_armed) =
            (first.armed(), second.armed(), other.armed());
        // Told before anyone waits: the armed wake-ups keep it.
        watch.login_ended("cred_1");
        let long = Duration::from_secs(60);
        tokio::time::timeout(Duration::from_secs(5), async {
            first.wait(first_armed, long).await;
            second.wait(second_armed, long).await;
        })
        .await
        .expect("both reads of cred_1 woken");
        let still_waiting =
            tokio::time::timeout(Duration::from_millis(50), other.wait(other_armed, long)).await;
        assert!(still_waiting.is_err(), "cred_2's login has not ended");
    }

    #[tokio::test]
    async fn a_wait_ends_to_look_again_when_nobody_tells_it() {
        // A login on another replica tells this process nothing.
        let watch = LoginWatch::new(Duration::from_millis(50), CancellationToken::new());
        let waiting = watch.watch("cred_1").expect("room to wait");
        tokio::time::timeout(
            Duration::from_secs(5),
            waiting.wait(waiting.armed(), Duration::from_secs(60)),
        )
        .await
        .expect("the wait ends at the recheck");
    }

    #[tokio::test]
    async fn the_last_reader_gone_forgets_the_credential() {
        let watch = watch();
        let first = watch.watch("cred_1").expect("room to wait");
        let second = watch.watch("cred_1").expect("room to wait");
        drop(first);
        assert_eq!(watch.lock().by_credential.len(), 1);
        assert_eq!(watch.lock().count, 1);
        drop(second);
        assert!(watch.lock().by_credential.is_empty());
        assert_eq!(watch.lock().count, 0);
    }

    #[tokio::test]
    async fn no_read_waits_beyond_the_limit_or_after_shutdown() {
        let shutdown = CancellationToken::new();
        let watch = LoginWatch::new(Duration::from_secs(3600), shutdown.clone());
        let held: Vec<Watching> = (0..MAX_WAITING)
            .map(|n| watch.watch(&format!("cred_{n}")).expect("room to wait"))
            .collect();
        assert!(watch.watch("cred_more").is_none(), "full");
        drop(held);
        let waiting = watch.watch("cred_1").expect("room again");
        let armed = waiting.armed();
        shutdown.cancel();
        tokio::time::timeout(
            Duration::from_secs(5),
            waiting.wait(armed, Duration::from_secs(60)),
        )
        .await
        .expect("shutdown ends the wait");
        assert!(waiting.is_over());
        assert!(
            watch.watch("cred_2").is_none(),
            "no new wait after shutdown"
        );
    }
}
