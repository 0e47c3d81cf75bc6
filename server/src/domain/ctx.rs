//! The narrow context every domain operation takes: the database, the clock,
//! the keyring, the settings, and the wake-ups that tell the jobs of new work.
//! `jobs` and `http` build theirs on it (and dereference to it), so a domain
//! function asks for `&Ctx` and is called with either.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::login_watch::LoginWatch;
use crate::domain::settings::Settings;
use crate::infra::clock::Clock;
use crate::infra::crypto::Keyring;
use crate::infra::store::Database;

/// Shared, cheaply cloned domain context.
#[derive(Clone)]
pub struct Ctx {
    pub db: Database,
    pub clock: Clock,
    pub keyring: Arc<Keyring>,
    pub settings: Arc<Settings>,
    /// Nudges the background jobs when there is new work for them.
    pub wakeups: Wakeups,
}

impl Ctx {
    /// When a claim a job takes now runs out (`GRIDLINK_JOB_LEASE`): a crashed
    /// worker's rows are taken again after that. Claims query with
    /// [`Database::skip_locked`], so replicas take different rows.
    pub fn lease_until(&self, now_ms: i64) -> i64 {
        now_ms + self.settings.jobs.lease.whole_milliseconds() as i64
    }
}

/// Ways to wake a job early when there is new work.
#[derive(Debug, Clone)]
pub struct Wakeups {
    pub logins: Arc<Notify>,
    pub syncs: Arc<Notify>,
    pub webhooks: Arc<Notify>,
    pub mail: Arc<Notify>,
    /// A credential may need its end-user mailed (flagged, or given a contact).
    pub notices: Arc<Notify>,
    /// Connect sessions waiting for their credential's login to end.
    pub connecting: LoginWatch,
}

impl Wakeups {
    /// Nothing to wake yet; Connect's waits look again every `connect_recheck`
    /// (for a login another replica ran) and end at `shutdown`.
    pub fn new(connect_recheck: Duration, shutdown: &CancellationToken) -> Wakeups {
        Wakeups {
            logins: Arc::default(),
            syncs: Arc::default(),
            webhooks: Arc::default(),
            mail: Arc::default(),
            notices: Arc::default(),
            connecting: LoginWatch::new(connect_recheck, shutdown.clone()),
        }
    }
}
