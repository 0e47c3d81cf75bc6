//! Background jobs that run inside the server process: logins, data syncs,
//! the token-expiry sweep with its warnings, and webhook delivery. They claim
//! work through the database, so several replicas can run them, and they
//! stop when the shutdown token is cancelled.

pub mod expiry;
pub mod logins;
pub mod syncs;
pub mod webhook_delivery;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Ways to wake a job early when there is new work.
#[derive(Debug, Clone, Default)]
pub struct Wakeups {
    pub logins: Arc<Notify>,
    pub syncs: Arc<Notify>,
    pub webhooks: Arc<Notify>,
}

/// How often each job looks for work when nobody wakes it.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub login_poll: Duration,
    pub sync_poll: Duration,
    pub webhook_poll: Duration,
    pub expiry_sweep: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            login_poll: Duration::from_secs(2),
            sync_poll: Duration::from_secs(2),
            webhook_poll: Duration::from_secs(1),
            expiry_sweep: Duration::from_secs(60),
        }
    }
}

/// Starts every job on `tasks`; each returns once `shutdown` is cancelled.
pub fn spawn_all(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    state: &AppState,
    schedule: Schedule,
    shutdown: &CancellationToken,
) {
    tasks.spawn(logins::run(
        state.clone(),
        schedule.login_poll,
        shutdown.clone(),
    ));
    tasks.spawn(syncs::run(
        state.clone(),
        schedule.sync_poll,
        shutdown.clone(),
    ));
    tasks.spawn(webhook_delivery::run(
        state.clone(),
        schedule.webhook_poll,
        shutdown.clone(),
    ));
    tasks.spawn(expiry::run(
        state.clone(),
        schedule.expiry_sweep,
        shutdown.clone(),
    ));
}
