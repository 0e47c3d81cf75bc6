//! The expiry sweep: every connected credential whose session token's expiry
//! has passed moves to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED, with one
//! event each, even when several sweeps (or replicas) race.
//!
//! It works in batches: one guarded `UPDATE … RETURNING` moves a batch and
//! reports exactly the rows it moved, and the events for those rows are
//! inserted in the same transaction. A racing sweep's UPDATE finds those rows
//! no longer connected and returns nothing for them.

use std::time::Duration;

use shared::StatusDetail;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::state::AppState;
use crate::store::{Database, DatabaseKind};

const ACTOR: &str = "job:expiry_sweep";
const MESSAGE: &str = "The session token expired; the end-user must verify again.";
const BATCH: usize = 1000;

pub async fn run(
    state: AppState,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        match sweep_expired_tokens(&state.db, &state.clock).await {
            Ok(0) => {}
            Ok(flagged) => {
                tracing::info!(flagged, "expiry sweep flagged credentials for MFA refresh")
            }
            Err(error) => tracing::error!(error = format!("{error:#}"), "expiry sweep failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Flags every expired token now; returns how many credentials this call moved.
pub async fn sweep_expired_tokens(db: &Database, clock: &Clock) -> anyhow::Result<u64> {
    let mut flagged = 0;
    loop {
        let moved = sweep_batch(db, clock).await?;
        flagged += moved as u64;
        if moved < BATCH {
            return Ok(flagged);
        }
    }
}

async fn sweep_batch(db: &Database, clock: &Clock) -> anyhow::Result<usize> {
    let now = clock.now_ms();
    let connected = StatusDetail::LoginAndDataDiscoverySuccessful.as_str();
    let refresh = StatusDetail::MultiFactorAuthenticationRefreshRequired.as_str();
    // Concurrent PostgreSQL sweeps take different rows instead of waiting.
    let skip_locked = match db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let mut tx = db.pool().begin().await?;
    // The status is written out (not bound) so SQLite can use the partial index.
    let moved: Vec<(String, String)> = sqlx::query_as(&format!(
        "UPDATE credentials SET status_detail = $1, updated_at = $2, failure_message = $3, sealed_session_token = NULL \
         WHERE id IN (SELECT id FROM credentials WHERE status_detail = '{connected}' AND token_expires_at <= $2 \
                        AND deactivated_at IS NULL ORDER BY token_expires_at LIMIT {BATCH} {skip_locked}) \
           AND status_detail = '{connected}' \
         RETURNING id, organisation_id"
    ))
    .bind(refresh)
    .bind(now)
    .bind(MESSAGE)
    .fetch_all(&mut *tx)
    .await?;
    for chunk in moved.chunks(250) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|index| {
                format!(
                    "(${}, ${}, 'STATUS_CHANGE', $1, $2, $3, $4, $5)",
                    6 + 2 * index,
                    7 + 2 * index
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO credential_events (credential_id, organisation_id, kind, from_detail, to_detail, actor, message, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql)
            .bind(connected)
            .bind(refresh)
            .bind(ACTOR)
            .bind(MESSAGE)
            .bind(now);
        for (id, organisation_id) in chunk {
            insert = insert.bind(id.as_str()).bind(organisation_id.as_str());
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    for (id, _) in &moved {
        tracing::debug!(
            credential_id = id,
            actor = ACTOR,
            "credential status changed to {refresh}"
        );
    }
    Ok(moved.len())
}
