//! The incident watch: every few seconds it stores the calls counted in
//! memory, opens an incident for each utility failing too often (once, even
//! with several replicas: a unique index allows one open incident per
//! utility), probes each open incident with one sync, and resolves it after
//! [`PROBES_TO_RESOLVE`] successful probes in a row. On resolution the
//! utility's waiting credentials are given sync times spread over a few
//! minutes, so they resume without a stampede.

use std::time::Duration;

use shared::webhooks::WebhookEventType;
use shared::StatusDetail;
use tokio_util::sync::CancellationToken;

use crate::domain::incidents::{
    self, announce, is_failing, Announcement, PROBES_TO_RESOLVE, PROBE_EVERY_MS, WINDOW_MS,
};
use crate::domain::lifecycle::syncs::SyncOutcome;
use crate::domain::sync;
use crate::infra::store::outage;
use crate::jobs::JobCtx;

const PROBE_ACTOR: &str = "job:incident_probe";
/// Tallies older than this are deleted.
const KEEP_TALLIES_MS: i64 = 60 * 60_000;
/// Resumed credentials are spread this far apart…
const RESUME_STEP_MS: i64 = 250;
/// …over at most this long.
const RESUME_SPREAD_MS: i64 = 10 * 60_000;

pub async fn run(ctx: JobCtx, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("incident_watch", every),
        &shutdown,
        || async {
            if let Err(error) = watch_once(&ctx).await {
                outage::job_failed("incident watch", &error);
            }
        },
    )
    .await;
    // What was counted since the last run is stored before leaving.
    if let Err(error) = store_tallies(&ctx).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "utility call counts not stored"
        );
    }
    Ok(())
}

/// What one run of the watch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WatchReport {
    pub opened: Vec<String>,
    pub probed: Vec<String>,
    pub resolved: Vec<String>,
}

/// Stores the counts, then opens, probes and resolves incidents.
pub async fn watch_once(ctx: &JobCtx) -> anyhow::Result<WatchReport> {
    store_tallies(ctx).await?;
    let mut report = WatchReport::default();
    let open = incidents::open_incidents(&ctx.db).await?;
    for (utility_id, calls, failures, failing_since) in window(ctx).await? {
        if !open.contains_key(&utility_id)
            && is_failing(calls, failures)
            && open_incident(ctx, &utility_id, calls, failures, failing_since).await?
        {
            report.opened.push(utility_id);
        }
    }
    for (incident_id, utility_id) in open_ids(ctx).await? {
        match probe(ctx, &incident_id, &utility_id).await? {
            Probe::NotDue => {}
            Probe::Failed | Probe::Succeeded { resolved: false } => report.probed.push(utility_id),
            Probe::Succeeded { resolved: true } => {
                report.probed.push(utility_id.clone());
                report.resolved.push(utility_id);
            }
        }
    }
    Ok(report)
}

/// Adds the calls counted in memory to the per-minute tallies.
async fn store_tallies(ctx: &JobCtx) -> anyhow::Result<()> {
    let taken = ctx.utility_calls.take();
    if taken.is_empty() {
        return Ok(());
    }
    let stored = async {
        let mut tx = ctx.db.begin_write().await?;
        for ((utility_id, minute), counts) in &taken {
            sqlx::query(
                "INSERT INTO utility_call_tallies (utility_id, minute, calls, failures) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (utility_id, minute) DO UPDATE SET calls = utility_call_tallies.calls + excluded.calls, \
                   failures = utility_call_tallies.failures + excluded.failures",
            )
            .bind(utility_id)
            .bind(minute)
            .bind(counts.calls)
            .bind(counts.failures)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM utility_call_tallies WHERE minute < $1")
            .bind(ctx.clock.now_ms() - KEEP_TALLIES_MS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        anyhow::Ok(())
    }
    .await;
    if stored.is_err() {
        ctx.utility_calls.put_back(taken);
    }
    stored
}

/// Per utility over the window: calls, failures, and the first failing minute.
/// Calls from before the utility's last incident ended do not count again.
async fn window(ctx: &JobCtx) -> anyhow::Result<Vec<(String, i64, i64, i64)>> {
    let rows: Vec<(String, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT utility_id, CAST(SUM(calls) AS BIGINT), CAST(SUM(failures) AS BIGINT), MIN(CASE WHEN failures > 0 THEN minute END) \
         FROM utility_call_tallies t WHERE minute > $1 \
           AND minute >= COALESCE((SELECT MAX(resolved_at) FROM utility_incidents i WHERE i.utility_id = t.utility_id), 0) \
         GROUP BY utility_id",
    )
    .bind(ctx.clock.now_ms() - WINDOW_MS)
    .fetch_all(ctx.db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(utility, calls, failures, since)| Some((utility, calls, failures, since?)))
        .collect())
}

async fn open_ids(ctx: &JobCtx) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, utility_id FROM utility_incidents WHERE resolved_at IS NULL ORDER BY opened_at",
    )
    .fetch_all(ctx.db.pool())
    .await?)
}

/// Opens the utility's incident unless another replica just did; returns whether this one did.
async fn open_incident(
    ctx: &JobCtx,
    utility_id: &str,
    calls: i64,
    failures: i64,
    failing_since: i64,
) -> anyhow::Result<bool> {
    let now = ctx.clock.now_ms();
    let id = crate::infra::tokens::new_id("inc");
    let name = ctx.utilities.name_of(utility_id).await;
    let mut tx = ctx.db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO utility_incidents (id, utility_id, opened_at, failing_since, calls, failures) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (utility_id) WHERE resolved_at IS NULL DO NOTHING",
    )
    .bind(&id)
    .bind(utility_id)
    .bind(now)
    .bind(failing_since)
    .bind(calls)
    .bind(failures)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let announcement = Announcement {
        event_type: WebhookEventType::UtilityIncidentOpened,
        incident_id: &id,
        utility_id,
        utility_name: &name,
        failing_since,
        opened_at: now,
        resolved_at: None,
    };
    announce(&mut tx, &announcement, now).await?;
    tx.commit().await?;
    tracing::warn!(
        utility_id,
        calls,
        failures,
        "utility incident opened: syncs to it wait for it to answer again"
    );
    Ok(true)
}

enum Probe {
    NotDue,
    Failed,
    Succeeded { resolved: bool },
}

/// Tries the utility with one sync if a probe is due (one replica does it:
/// the guarded UPDATE of `last_probe_at` decides which). Without a credential
/// to sync, the window decides: no failing share any more means it is back.
async fn probe(ctx: &JobCtx, incident_id: &str, utility_id: &str) -> anyhow::Result<Probe> {
    let now = ctx.clock.now_ms();
    let claimed = sqlx::query(
        "UPDATE utility_incidents SET last_probe_at = $1 WHERE id = $2 AND resolved_at IS NULL \
           AND (last_probe_at IS NULL OR last_probe_at <= $3)",
    )
    .bind(now)
    .bind(incident_id)
    .bind(now - PROBE_EVERY_MS)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(Probe::NotDue);
    }
    let answered = match probe_candidate(ctx, utility_id).await? {
        Some(credential_id) => !matches!(
            sync::sync(ctx, ctx.utility.as_ref(), &credential_id, PROBE_ACTOR).await?,
            SyncOutcome::UtilityUnavailable { .. }
        ),
        None => {
            let recent = window(ctx).await?;
            !recent.iter().any(|(utility, calls, failures, _)| {
                utility == utility_id && is_failing(*calls, *failures)
            })
        }
    };
    if !answered {
        sqlx::query("UPDATE utility_incidents SET probes_succeeded = 0 WHERE id = $1")
            .bind(incident_id)
            .execute(&mut *ctx.db.writer().await?)
            .await?;
        return Ok(Probe::Failed);
    }
    let (succeeded,): (i64,) = sqlx::query_as(
        "UPDATE utility_incidents SET probes_succeeded = probes_succeeded + 1 WHERE id = $1 \
         RETURNING probes_succeeded",
    )
    .bind(incident_id)
    .fetch_one(&mut *ctx.db.writer().await?)
    .await?;
    let resolved = succeeded >= PROBES_TO_RESOLVE && resolve(ctx, incident_id, utility_id).await?;
    Ok(Probe::Succeeded { resolved })
}

/// A credential of the utility that can sync, the longest-waiting first.
async fn probe_candidate(ctx: &JobCtx, utility_id: &str) -> anyhow::Result<Option<String>> {
    let candidate: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM credentials WHERE utility_id = $1 AND deactivated_at IS NULL \
           AND status_detail IN ($2, $3) AND next_sync_at IS NOT NULL \
           AND (sync_lease_until IS NULL OR sync_lease_until <= $4) \
         ORDER BY next_sync_at LIMIT 1",
    )
    .bind(utility_id)
    .bind(StatusDetail::LoginAndDataDiscoverySuccessful.as_str())
    .bind(StatusDetail::ProviderWebsiteInaccessible.as_str())
    .bind(ctx.clock.now_ms())
    .fetch_optional(ctx.db.pool())
    .await?;
    Ok(candidate.map(|(id,)| id))
}

/// Closes the incident (once), tells the organisations, and spreads the
/// waiting credentials' next syncs so they resume a few at a time.
async fn resolve(ctx: &JobCtx, incident_id: &str, utility_id: &str) -> anyhow::Result<bool> {
    let now = ctx.clock.now_ms();
    let name = ctx.utilities.name_of(utility_id).await;
    let mut tx = ctx.db.begin_write().await?;
    let closed: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE utility_incidents SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL \
         RETURNING failing_since, opened_at",
    )
    .bind(now)
    .bind(incident_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((failing_since, opened_at)) = closed else {
        return Ok(false);
    };
    let resumed = crate::domain::lifecycle::syncs::spread_resumed_syncs(
        &mut tx,
        utility_id,
        now,
        RESUME_SPREAD_MS,
        RESUME_STEP_MS,
    )
    .await?;
    let announcement = Announcement {
        event_type: WebhookEventType::UtilityIncidentResolved,
        incident_id,
        utility_id,
        utility_name: &name,
        failing_since,
        opened_at,
        resolved_at: Some(now),
    };
    announce(&mut tx, &announcement, now).await?;
    let mailed =
        incidents::recovery_alerts::mail_waiting(&mut tx, ctx, incident_id, &name, now).await?;
    tx.commit().await?;
    ctx.wakeups.syncs.notify_one();
    if mailed > 0 {
        ctx.wakeups.mail.notify_one();
    }
    tracing::info!(
        utility_id,
        resumed,
        mailed,
        "utility incident resolved: its credentials resume, end-users who asked are mailed"
    );
    Ok(true)
}
