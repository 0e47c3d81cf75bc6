//! Background jobs that run inside the server process: logins, data syncs,
//! the token-expiry sweep with its warnings, the staleness check, the
//! incident watch, the adapters' catalogue refresh, webhook delivery,
//! retention, folding the credential counts, end-user notices, mail and
//! keeping the clock on the database's.
//! They claim work through the database, so several replicas can run them,
//! and they stop when the shutdown token is cancelled.

pub mod catalogue;
pub mod clock_sync;
pub mod count_fold;
pub mod expiry;
pub mod incident_watch;
pub mod logins;
pub mod mail_delivery;
pub mod notices;
pub mod retention;
pub mod runs;
pub mod staleness;
pub mod syncs;
pub mod webhook_delivery;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::domain::ctx::Ctx;
use crate::domain::incidents::tally::CallTally;
use crate::infra::store::outage;
use crate::infra::utility::catalog::UtilityCatalog;
use crate::infra::utility::UtilityConnector;
pub use runs::Cadence;

/// What the jobs work with: the domain context (which this dereferences to)
/// and the utilities they call.
#[derive(Clone)]
pub struct JobCtx {
    pub ctx: Ctx,
    /// How Gridlink reaches utilities.
    pub utility: Arc<dyn UtilityConnector>,
    pub utilities: UtilityCatalog,
    /// How each utility answered, counted until the incident watch stores it.
    pub utility_calls: CallTally,
}

impl std::ops::Deref for JobCtx {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

/// How often each job looks for work when nobody wakes it.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub login_poll: Duration,
    pub sync_poll: Duration,
    pub webhook_poll: Duration,
    pub expiry_sweep: Duration,
    pub staleness_check: Duration,
    pub incident_watch: Duration,
    pub catalogue_refresh: Duration,
    pub retention: Duration,
    pub count_fold: Duration,
    pub mail_poll: Duration,
    pub notices: Duration,
    /// How often Connect waiting on "Connecting" looks at its session when
    /// no login of this process tells it of a change (a login elsewhere).
    pub connect_recheck: Duration,
    /// How often the clock is anchored to its reference again.
    pub clock_sync: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            login_poll: Duration::from_secs(2),
            sync_poll: Duration::from_secs(2),
            webhook_poll: Duration::from_secs(1),
            expiry_sweep: Duration::from_secs(60),
            staleness_check: Duration::from_secs(60),
            incident_watch: Duration::from_secs(5),
            catalogue_refresh: Duration::from_secs(5 * 60),
            retention: Duration::from_secs(60 * 60),
            count_fold: Duration::from_secs(10),
            mail_poll: Duration::from_secs(2),
            notices: Duration::from_secs(60),
            connect_recheck: Duration::from_secs(1),
            clock_sync: Duration::from_secs(60),
        }
    }
}

/// One job's loop, started with the jobs' context, how often it runs (or
/// polls) and the shutdown token.
type JobLoop = fn(
    JobCtx,
    Duration,
    CancellationToken,
) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Starts every job on `tasks`; each returns once `shutdown` is cancelled.
/// Mail goes out only with a mail server (the start warns once when there is none).
pub fn spawn_all(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    ctx: &JobCtx,
    schedule: Schedule,
    shutdown: &CancellationToken,
    mailer: Option<Arc<crate::infra::mail_transport::Mailer>>,
) {
    if let Some(mailer) = mailer {
        tasks.spawn(mail_delivery::run(
            ctx.ctx.clone(),
            mailer,
            schedule.mail_poll,
            shutdown.clone(),
        ));
    }
    let jobs: [(Duration, JobLoop); 11] = [
        (schedule.notices, |jobs, every, stop| {
            Box::pin(notices::run(jobs, every, stop))
        }),
        (schedule.login_poll, |jobs, every, stop| {
            Box::pin(logins::run(jobs, every, stop))
        }),
        (schedule.sync_poll, |jobs, every, stop| {
            Box::pin(syncs::run(jobs, every, stop))
        }),
        (schedule.webhook_poll, |jobs, every, stop| {
            Box::pin(webhook_delivery::run(jobs.ctx, every, stop))
        }),
        (schedule.expiry_sweep, |jobs, every, stop| {
            Box::pin(expiry::run(jobs.ctx, every, stop))
        }),
        (schedule.staleness_check, |jobs, every, stop| {
            Box::pin(staleness::run(jobs.ctx, every, stop))
        }),
        (schedule.incident_watch, |jobs, every, stop| {
            Box::pin(incident_watch::run(jobs, every, stop))
        }),
        (schedule.catalogue_refresh, |jobs, every, stop| {
            Box::pin(catalogue::run(jobs, every, stop))
        }),
        (schedule.retention, |jobs, every, stop| {
            Box::pin(retention::run(
                jobs.ctx.db,
                jobs.ctx.clock,
                jobs.ctx.settings.jobs.audit_retention,
                every,
                stop,
            ))
        }),
        (schedule.count_fold, |jobs, every, stop| {
            Box::pin(count_fold::run(jobs.ctx.db, every, stop))
        }),
        (schedule.clock_sync, |jobs, every, stop| {
            Box::pin(clock_sync::run(jobs.ctx.db, jobs.ctx.clock, every, stop))
        }),
    ];
    for (every, job) in jobs {
        tasks.spawn(job(ctx.clone(), every, shutdown.clone()));
    }
}

/// The queues whose rows carry a `give_up_at` (webhooks and mail).
#[derive(Debug, Clone, Copy)]
pub enum RetriedQueue {
    WebhookDeliveries,
    MailOutbox,
}

impl RetriedQueue {
    fn table(self) -> &'static str {
        match self {
            RetriedQueue::WebhookDeliveries => "webhook_deliveries",
            RetriedQueue::MailOutbox => "mail_outbox",
        }
    }
}

/// Leases the queue's `candidates` (ids read without a lock) until
/// [`Ctx::lease_until`] with one guarded UPDATE that re-checks each row — still
/// pending, inside its retry window, not leased — so two replicas never lease
/// one message. Answers the `returning` columns of the rows it leased.
pub async fn lease<Row>(
    ctx: &Ctx,
    queue: RetriedQueue,
    candidates: &[(String,)],
    returning: &str,
    now_ms: i64,
) -> anyhow::Result<Vec<Row>>
where
    Row: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..candidates.len())
        .map(|index| format!("${}", index + 3))
        .collect();
    let sql = format!(
        "UPDATE {} SET lease_until = $1 \
         WHERE id IN ({}) AND state = 'PENDING' AND give_up_at > $2 \
           AND (lease_until IS NULL OR lease_until <= $2) \
         RETURNING {returning}",
        queue.table(),
        placeholders.join(", ")
    );
    let mut claim = sqlx::query_as(&sql)
        .bind(ctx.lease_until(now_ms))
        .bind(now_ms);
    for (id,) in candidates {
        claim = claim.bind(id);
    }
    Ok(claim.fetch_all(&mut *ctx.db.writer().await?).await?)
}

/// Fails the queue's unleased rows whose retry window closed while nobody
/// sent them (the servers were down, or the endpoint disabled), so that no
/// claim ever takes a row past its `give_up_at` (case 38). A failed webhook
/// can still be replayed from the dashboard.
pub async fn give_up_overdue(ctx: &Ctx, queue: RetriedQueue, now_ms: i64) -> anyhow::Result<u64> {
    let table = queue.table();
    let overdue =
        "state = 'PENDING' AND give_up_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)";
    // Read first: the writer is taken only when there is something to fail.
    let any: Option<(i64,)> =
        sqlx::query_as(&format!("SELECT 1 FROM {table} WHERE {overdue} LIMIT 1"))
            .bind(now_ms)
            .fetch_optional(ctx.db.pool())
            .await?;
    if any.is_none() {
        return Ok(0);
    }
    let failed = sqlx::query(&format!(
        "UPDATE {table} SET state = 'FAILED', next_attempt_at = NULL, \
           last_error = 'Not sent before its retry window closed.' WHERE {overdue}"
    ))
    .bind(now_ms)
    .execute(&mut *ctx.db.writer().await?)
    .await?
    .rows_affected();
    if failed > 0 {
        tracing::warn!(
            table,
            failed,
            "queued messages given up: their retry window closed before they were sent"
        );
    }
    Ok(failed)
}

/// The loop of a job that runs on a timer: `work` now, then at the
/// cadence, until `shutdown` is cancelled (a run in progress is finished
/// first). Each run is observed ([`runs`]).
pub async fn every<Work, Done>(cadence: Cadence, shutdown: &CancellationToken, mut work: Work)
where
    Work: FnMut() -> Done,
    Done: Future<Output = ()>,
{
    loop {
        let run = cadence.start();
        work().instrument(cadence.span()).await;
        run.finished();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(cadence.every) => {}
        }
    }
}

/// The loop of a job that claims batches through the database: asks `claim`
/// for up to as many items as it has free slots (`concurrency` in all), runs
/// `work` on each (each claim and each item in a span of the job's), and
/// looks again when one finishes, when `wakeup` fires, or at the cadence — and at once while claims keep filling every free slot, so a
/// backlog drains as fast as the work allows, not a batch per poll. On
/// shutdown it claims nothing more and lets the work in flight finish; a
/// crash instead leaves the claims' leases to run out.
pub async fn run_claimed<State, T, Claim, Claimed, Work, Done>(
    ctx: State,
    cadence: Cadence,
    shutdown: CancellationToken,
    wakeup: Arc<Notify>,
    concurrency: usize,
    claim: Claim,
    work: Work,
) -> anyhow::Result<()>
where
    State: Clone,
    T: Send + 'static,
    Claim: Fn(State, usize) -> Claimed,
    Claimed: Future<Output = anyhow::Result<Vec<T>>>,
    Work: Fn(State, T) -> Done,
    Done: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut running = JoinSet::new();
    // Whether the last claim filled every free slot: then more work is
    // probably due, and the next free slot should claim at once.
    let mut more_due = false;
    loop {
        let free = permits.available_permits();
        if free > 0 && !shutdown.is_cancelled() {
            more_due = false;
            let run = cadence.start();
            match claim(ctx.clone(), free).instrument(cadence.span()).await {
                Ok(claimed) => {
                    more_due = claimed.len() == free;
                    for item in claimed {
                        let permit = Arc::clone(&permits).acquire_owned().await?;
                        let done = work(ctx.clone(), item).instrument(cadence.span());
                        running.spawn(async move {
                            let _permit = permit;
                            done.await;
                        });
                    }
                }
                Err(error) => outage::job_failed("claiming work", &error),
            }
            run.finished();
        }
        while running.try_join_next().is_some() {}
        // Read once: a slot that frees after this is seen by `join_next`.
        let busy = permits.available_permits() == 0;
        if more_due && !busy && !shutdown.is_cancelled() {
            // Work finished while claiming: claim again at once rather than
            // wait for the next poll with due work left.
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = wakeup.notified() => {}
            () = tokio::time::sleep(cadence.every) => {}
            Some(_) = running.join_next(), if busy => {}
        }
    }
    while running.join_next().await.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A backlog far larger than the concurrency drains without waiting for
    /// the poll: here the poll is an hour and nothing wakes the job. Work
    /// finishes on the other thread while the loop is still claiming, as it
    /// does in the server.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backlog_drains_without_waiting_for_the_poll() {
        const BACKLOG: usize = 10_000;
        let due = Arc::new(AtomicUsize::new(BACKLOG));
        let done = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let job = tokio::spawn(run_claimed(
            (Arc::clone(&due), Arc::clone(&done)),
            Cadence::new("test", Duration::from_secs(3600)),
            shutdown.clone(),
            Arc::new(Notify::new()),
            16,
            |(due, _), limit| async move {
                let taken = due
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                        Some(left - left.min(limit))
                    })
                    .unwrap_or_default()
                    .min(limit);
                Ok(vec![(); taken])
            },
            |(_, done), ()| async move {
                done.fetch_add(1, Ordering::SeqCst);
            },
        ));
        let drained = tokio::time::timeout(Duration::from_secs(20), async {
            while done.load(Ordering::SeqCst) < BACKLOG {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        shutdown.cancel();
        job.await.unwrap().unwrap();
        assert!(
            drained.is_ok(),
            "only {} of {BACKLOG} ran within 20 s ({} never claimed)",
            done.load(Ordering::SeqCst),
            due.load(Ordering::SeqCst)
        );
    }
}
