//! A sync's writes: what a sync stored (and the next one scheduled), a utility
//! that did not answer (counted, backed off, INACCESSIBLE after a while), a
//! token the utility refused (REFRESH_REQUIRED, token destroyed), and a
//! credential taken off the schedule.

use rand::Rng;
use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;

use super::backoff_ms;
use super::events::{
    record_event, record_event_notify_and_commit, transition, EventKind, NewEvent, Transition,
};
use crate::domain::credentials::store::CredentialRow;
use crate::domain::ctx::Ctx;
use crate::domain::sync::storage;
use crate::infra::store;
use crate::infra::utility::{Account, Statement, UtilityError};

/// Failures in a row before a connected credential shows PROVIDER_WEBSITE_INACCESSIBLE.
pub const INACCESSIBLE_AFTER: i64 = 3;

/// How a sync went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Synced {
        new_accounts: u64,
        new_statements: u64,
    },
    /// The utility refused the token: the credential needs an MFA refresh.
    TokenRejected,
    /// The utility did not answer; another try is scheduled.
    UtilityUnavailable { failures_in_a_row: i64 },
    /// Nothing to sync: the credential is not connected (any more).
    NotConnected,
}

/// What the sync's UPDATE returns its row as (see [`stored`]).
const STALE_SINCE: &str = "stale_since";

/// The longest pause between tries while the utility is down.
const MAX_RETRY_PAUSE_MS: i64 = 60 * 60 * 1000;

/// How long until the next sync: the configured interval, or sooner when the
/// utility said its token dies unused (`idleTimeoutSeconds`): between half and
/// three quarters of that, at random, so its credentials keep their tokens
/// alive spread over time (each sync waits its turn in the utility's
/// in-flight limit like any other).
fn next_sync_delay_ms(ctx: &Ctx, row: &CredentialRow) -> i64 {
    let configured = ctx.settings.next_sync_delay_ms();
    match row.token_idle_timeout_ms.filter(|idle| *idle > 0) {
        Some(idle) => {
            let keep_alive = idle / 2 + rand::thread_rng().gen_range(0..=idle / 4);
            configured.min(keep_alive)
        }
        None => configured,
    }
}

/// Stores what is new, schedules the next sync, and tells about new data.
pub async fn stored(
    ctx: &Ctx,
    row: &CredentialRow,
    accounts: &[Account],
    statements: &[Statement],
    actor: &str,
) -> anyhow::Result<SyncOutcome> {
    let now = ctx.clock.now_ms();
    let writes = storage::Writes::new(&row.id, accounts, statements, now);
    // One trip: the BEGIN, the credential's UPDATE and what of the accounts and
    // statements fits with it, all returning `(kind, value)` rows. The UPDATE
    // returns the staleness flag this sync clears, as it is. (All rows: sqlx's
    // `fetch_one` on SQLite stops at the BEGIN's result.)
    let mut parts = vec![format!(
        "UPDATE credentials SET last_synced_at = $1, last_fresh_at = $1, next_sync_at = $2, sync_failures = 0, \
           sync_lease_until = NULL WHERE id = $3 \
         RETURNING '{STALE_SINCE}' AS kind, CAST(stale_since AS TEXT) AS value"
    )];
    let leading = writes.leading(4);
    let carried = leading.len();
    parts.extend(leading);
    let mut tx = ctx.db.begin_write_in_line().await?;
    let sql = tx.begin_with(&store::sql::together_returning(&tx, &parts));
    let query = sqlx::query_as(&sql)
        .bind(now)
        .bind(now + next_sync_delay_ms(ctx, row))
        .bind(&row.id);
    let returned = writes
        .bind_leading(carried, query)
        .fetch_all(&mut *tx)
        .await?;
    let mut stored = storage::Stored::default();
    let mut stale_since = None;
    let mut updated = false;
    for (kind, value) in returned {
        if kind == STALE_SINCE {
            updated = true;
            stale_since = value.map(|since| since.parse::<i64>()).transpose()?;
        } else {
            stored.add(&kind, value);
        }
    }
    if !updated {
        return Err(sqlx::Error::RowNotFound.into());
    }
    writes.store_rest(carried, &mut tx, &mut stored).await?;
    if let Some(stale_since) = stale_since {
        super::staleness::recovered(&mut tx, row, stale_since, actor, now).await?;
    }
    if row.status_detail == StatusDetail::ProviderWebsiteInaccessible {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::LoginAndDataDiscoverySuccessful,
            actor,
            message: "The utility's website answers again; data synced.".into(),
        };
        transition(&mut tx, &change, now).await?;
    }
    let new_statements = stored.new_statement_ids.len() as u64;
    if stored.new_accounts > 0 || new_statements > 0 {
        let message = format!(
            "New data: {} account(s) and {new_statements} statement(s).",
            stored.new_accounts
        );
        let credential = row.reference();
        let data = credential.data(
            StatusDetail::LoginAndDataDiscoverySuccessful,
            json!({
                "newAccounts": stored.new_accounts,
                "newStatements": new_statements,
                "statementIds": stored.new_statement_ids,
            }),
        );
        record_event_notify_and_commit(
            tx,
            &event(row, EventKind::NewDataAvailable, actor, &message),
            &credential.message(WebhookEventType::NewDataAvailable, data, actor),
            None,
            now,
        )
        .await?;
    } else {
        if !actor.starts_with("job:") {
            // A person asked: the timeline shows the sync ran, even with nothing new.
            let message = "Synced: nothing new since the last sync.";
            record_event(&mut tx, &event(row, EventKind::Synced, actor, message), now).await?;
        }
        tx.commit().await?;
    }
    Ok(SyncOutcome::Synced {
        new_accounts: stored.new_accounts,
        new_statements,
    })
}

fn event<'a>(
    row: &'a CredentialRow,
    kind: EventKind,
    actor: &'a str,
    message: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind,
        change: None,
        actor,
        message,
    }
}

/// The utility did not answer: count it, show PROVIDER_WEBSITE_INACCESSIBLE
/// once it has gone on for a while, and try again after a growing pause
/// (1, 2, 4 … minutes, at most an hour). Returns the failures in a row.
pub async fn retry_later(
    ctx: &Ctx,
    row: &CredentialRow,
    error: &UtilityError,
    actor: &str,
) -> anyhow::Result<i64> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    let (failures,): (i64,) = sqlx::query_as(
        "UPDATE credentials SET sync_failures = sync_failures + 1 WHERE id = $1 RETURNING sync_failures",
    )
    .bind(&row.id)
    .fetch_one(&mut *tx)
    .await?;
    let pause = backoff_ms(60_000, failures, MAX_RETRY_PAUSE_MS);
    sqlx::query("UPDATE credentials SET next_sync_at = $1, sync_lease_until = NULL WHERE id = $2")
        .bind(now + pause)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    if failures >= INACCESSIBLE_AFTER
        && row.status_detail == StatusDetail::LoginAndDataDiscoverySuccessful
    {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::ProviderWebsiteInaccessible,
            actor,
            message: format!(
                "The utility's website has not answered {failures} syncs in a row; retrying."
            ),
        };
        transition(&mut tx, &change, now).await?;
        if let Some(details) = error.details() {
            let message = format!("What the last try ran into: {details}.");
            record_event(
                &mut tx,
                &event(row, EventKind::UtilityError, actor, &message),
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    // A utility that stops answering postpones every sync of it: the
    // incident watch says so once, and a credential warns only when it
    // turns PROVIDER_WEBSITE_INACCESSIBLE.
    if failures == INACCESSIBLE_AFTER {
        tracing::warn!(credential_id = row.id, failures, error = %error, "sync postponed: the utility is not answering");
    } else {
        tracing::info!(credential_id = row.id, failures, error = %error, "sync postponed: the utility is not answering");
    }
    Ok(failures)
}

/// Nothing to sync any more: take the credential off the schedule.
pub async fn unschedule(ctx: &Ctx, credential_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET next_sync_at = NULL, sync_lease_until = NULL WHERE id = $1",
    )
    .bind(credential_id)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

const TOKEN_REJECTED: &str = "The utility rejected the session token: it has expired.";

/// Moves a credential whose token the utility refused to REFRESH_REQUIRED and
/// destroys the token. Returns whether this call made the change (false if
/// another sync or the sweep already did).
pub async fn mark_refresh_required(
    ctx: &Ctx,
    row: &CredentialRow,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::MultiFactorAuthenticationRefreshRequired,
        actor,
        message: TOKEN_REJECTED.to_owned(),
    };
    let changed = transition(&mut tx, &change, now).await?;
    if changed {
        crate::domain::lifetimes::record_rejected(&mut tx, &row.id, now).await?;
        sqlx::query(
            "UPDATE credentials SET sealed_session_token = NULL, next_sync_at = NULL, \
               sync_lease_until = NULL, sync_failures = 0 WHERE id = $1",
        )
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if changed {
        ctx.wakeups.notices.notify_one();
    }
    Ok(changed)
}

/// Extends the lease of a sync still running (a finished one has none left to extend).
pub async fn renew_lease(ctx: &Ctx, credential_id: &str) -> Result<(), sqlx::Error> {
    let lease_until = ctx.lease_until(ctx.clock.now_ms());
    sqlx::query(
        "UPDATE credentials SET sync_lease_until = $1 WHERE id = $2 AND sync_lease_until IS NOT NULL",
    )
    .bind(lease_until)
    .bind(credential_id)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

/// Claims up to `limit` credentials whose sync is due. Credentials of a
/// utility with an open incident wait: the incident watch probes it instead.
pub async fn claim_due(ctx: &Ctx, limit: usize) -> anyhow::Result<Vec<String>> {
    let now = ctx.clock.now_ms();
    let lease_until = ctx.lease_until(now);
    let skip_locked = ctx.db.skip_locked();
    let claimed: Vec<(String,)> = sqlx::query_as(&format!(
        "UPDATE credentials SET sync_lease_until = $1 \
         WHERE id IN (SELECT id FROM credentials WHERE next_sync_at <= $2 \
                        AND (sync_lease_until IS NULL OR sync_lease_until <= $2) \
                        AND utility_id NOT IN (SELECT utility_id FROM utility_incidents WHERE resolved_at IS NULL) \
                      ORDER BY next_sync_at LIMIT {limit} {skip_locked}) \
           AND (sync_lease_until IS NULL OR sync_lease_until <= $2) \
         RETURNING id"
    ))
    .bind(lease_until)
    .bind(now)
    .fetch_all(&mut *ctx.db.writer().await?)
    .await?;
    Ok(claimed.into_iter().map(|(id,)| id).collect())
}

/// After an incident: the utility's credentials whose sync came due (or comes
/// due within `spread_ms`) sync from now on, `step_ms` apart at most and all
/// within `spread_ms`, instead of all at once. Returns how many.
pub async fn spread_resumed_syncs(
    connection: &mut sqlx::AnyConnection,
    utility_id: &str,
    now_ms: i64,
    spread_ms: i64,
    step_ms: i64,
) -> Result<usize, sqlx::Error> {
    let waiting: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM credentials WHERE utility_id = $1 AND next_sync_at IS NOT NULL \
           AND next_sync_at <= $2 AND deactivated_at IS NULL ORDER BY next_sync_at, id",
    )
    .bind(utility_id)
    .bind(now_ms + spread_ms)
    .fetch_all(&mut *connection)
    .await?;
    let step = if waiting.is_empty() {
        step_ms
    } else {
        step_ms.min(spread_ms / waiting.len() as i64)
    };
    for (position, (credential_id,)) in waiting.iter().enumerate() {
        sqlx::query("UPDATE credentials SET next_sync_at = $1 WHERE id = $2")
            .bind(now_ms + position as i64 * step)
            .bind(credential_id)
            .execute(&mut *connection)
            .await?;
    }
    Ok(waiting.len())
}
