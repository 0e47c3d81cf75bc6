//! Retention: webhook deliveries (and their attempts) are kept for 30 days
//! after they were created, then deleted in batches. Pending ones are kept
//! until they are delivered or given up. Sent or failed mail goes after 30
//! days too, operator links a day after they stopped working, and
//! idempotency keys after a day. The audit trail keeps each record for
//! GRIDLINK_AUDIT_RETENTION (400 days unless set).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::infra::clock::Clock;
use crate::infra::store::Database;

/// How long a delivery stays visible in the dashboard and the API.
pub const DELIVERY_RETENTION: time::Duration = time::Duration::days(30);
/// How long an `Idempotency-Key` and its stored answer are kept.
pub const IDEMPOTENCY_KEY_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
const BATCH: usize = 1000;

pub async fn run(
    db: Database,
    clock: Clock,
    audit_retention: time::Duration,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("retention", every),
        &shutdown,
        || async {
            match prune_deliveries(&db, &clock).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(deleted, "deleted webhook deliveries older than 30 days")
                }
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    "pruning webhook deliveries failed"
                ),
            }
            match crate::domain::audit::prune(&db, clock.now_ms(), audit_retention).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(deleted, "removed audit records past their retention")
                }
                Err(error) => tracing::error!(%error, "pruning the audit trail failed"),
            }
            if let Err(error) = prune_short_lived_records(&db, &clock).await {
                tracing::error!(
                error = format!("{error:#}"),
                "pruning idempotency keys, connection attempts, old mail and operator links failed"
            );
            }
        },
    )
    .await;
    Ok(())
}

/// Forgets `Idempotency-Key` uses older than their 24 hours, connection
/// attempts older than the day the reconnect ceiling looks at, mail sent or
/// given up over 30 days ago, and operator links expired over a day ago.
pub async fn prune_short_lived_records(db: &Database, clock: &Clock) -> anyhow::Result<u64> {
    let cutoff = clock.now_ms() - IDEMPOTENCY_KEY_LIFETIME_MS;
    let deleted = sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
        .bind(cutoff)
        .execute(&mut *db.writer().await?)
        .await?;
    let attempts = sqlx::query("DELETE FROM credential_login_attempts WHERE attempted_at <= $1")
        .bind(cutoff)
        .execute(&mut *db.writer().await?)
        .await?;
    let mail = sqlx::query("DELETE FROM mail_outbox WHERE created_at < $1 AND state <> 'PENDING'")
        .bind(clock.now_ms() - DELIVERY_RETENTION.whole_milliseconds() as i64)
        .execute(&mut *db.writer().await?)
        .await?;
    let links = sqlx::query("DELETE FROM operator_links WHERE expires_at <= $1")
        .bind(cutoff)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(deleted.rows_affected()
        + attempts.rows_affected()
        + mail.rows_affected()
        + links.rows_affected())
}

/// Deletes every finished delivery older than [`DELIVERY_RETENTION`]; returns how many.
pub async fn prune_deliveries(db: &Database, clock: &Clock) -> anyhow::Result<u64> {
    let before = clock.now_ms() - DELIVERY_RETENTION.whole_milliseconds() as i64;
    let mut deleted = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let old: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT id FROM webhook_deliveries WHERE created_at < $1 AND state <> 'PENDING' LIMIT {BATCH}"
        ))
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        if old.is_empty() {
            return Ok(deleted);
        }
        let placeholders: Vec<String> = (1..=old.len()).map(|n| format!("${n}")).collect();
        let list = placeholders.join(", ");
        for table_and_key in [
            "webhook_attempts WHERE delivery_id",
            "webhook_deliveries WHERE id",
        ] {
            let sql = format!("DELETE FROM {table_and_key} IN ({list})");
            let mut delete = sqlx::query(&sql);
            for (id,) in &old {
                delete = delete.bind(id.as_str());
            }
            delete.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        deleted += old.len() as u64;
        if old.len() < BATCH {
            return Ok(deleted);
        }
    }
}
