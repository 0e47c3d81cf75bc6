//! The metrics that describe what the database holds, read when Prometheus
//! scrapes: credentials per status detail (from the credential counts, not a
//! count over the credentials), session tokens expiring within the warning
//! window, the webhook and mail backlogs and open utility incidents.

use shared::StatusDetail;

use crate::domain::ctx::Ctx;
use crate::infra::metrics::{
    CREDENTIALS, MAIL_BACKLOG, MAIL_BACKLOG_OLDEST_AGE, TOKENS_EXPIRING, UTILITY_INCIDENTS_OPEN,
    WEBHOOK_BACKLOG, WEBHOOK_BACKLOG_OLDEST_AGE,
};

/// Reads each figure and sets its gauge.
pub async fn refresh(ctx: &Ctx) -> Result<(), sqlx::Error> {
    let pool = ctx.db.pool();
    let per_detail: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status_detail, CAST(SUM(active) AS BIGINT) FROM credential_counts GROUP BY status_detail",
    )
    .fetch_all(pool)
    .await?;
    for detail in StatusDetail::ALL {
        let count = per_detail
            .iter()
            .find(|(name, _)| name == detail.as_str())
            .map_or(0, |(_, count)| (*count).max(0));
        metrics::gauge!(CREDENTIALS, "status_detail" => detail.as_str()).set(count as f64);
    }

    let now = ctx.clock.now_ms();
    let window_end = now + ctx.settings.jobs.expiry_warning.whole_milliseconds() as i64;
    let (expiring,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM credentials WHERE token_expires_at > $1 AND token_expires_at <= $2 \
         AND status_detail = $3 AND deactivated_at IS NULL",
    )
    .bind(now)
    .bind(window_end)
    .bind(StatusDetail::LoginAndDataDiscoverySuccessful.as_str())
    .fetch_one(pool)
    .await?;
    metrics::gauge!(TOKENS_EXPIRING).set(expiring as f64);

    for (table, backlog, oldest_age) in [
        (
            "webhook_deliveries",
            WEBHOOK_BACKLOG,
            WEBHOOK_BACKLOG_OLDEST_AGE,
        ),
        ("mail_outbox", MAIL_BACKLOG, MAIL_BACKLOG_OLDEST_AGE),
    ] {
        let (pending, oldest): (i64, Option<i64>) = sqlx::query_as(&format!(
            "SELECT COUNT(*), MIN(created_at) FROM {table} WHERE state = 'PENDING'"
        ))
        .fetch_one(pool)
        .await?;
        metrics::gauge!(backlog).set(pending as f64);
        let age_ms = oldest.map_or(0, |created_at| (now - created_at).max(0));
        metrics::gauge!(oldest_age).set(age_ms as f64 / 1000.0);
    }

    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM utility_incidents WHERE resolved_at IS NULL")
            .fetch_one(pool)
            .await?;
    metrics::gauge!(UTILITY_INCIDENTS_OPEN).set(open as f64);
    Ok(())
}
