//! Background jobs that run inside the server process: the login worker and
//! the token-expiry sweep. They claim work through the database, so several
//! replicas can run them, and they stop when the shutdown token is cancelled.

pub mod expiry;
pub mod logins;

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
}

/// How often each job looks for work when nobody wakes it.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub login_poll: Duration,
    pub expiry_sweep: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            login_poll: Duration::from_secs(2),
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
    tasks.spawn(expiry::run(
        state.clone(),
        schedule.expiry_sweep,
        shutdown.clone(),
    ));
}
