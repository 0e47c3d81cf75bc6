//! Logins the login worker runs (see `jobs::logins`): claimed with a lease,
//! finished, failed, or retried while the utility does not answer.

use shared::StatusDetail;

use super::backoff_ms;
use super::events::{
    record_event, transition, transition_alone, AlsoWrite, EventKind, NewEvent, Transition,
};
use crate::domain::credentials::store::CredentialRow;
use crate::domain::ctx::Ctx;

/// Claims up to `limit` of the oldest requested logins whose lease is free:
/// each credential's id and when its login was requested.
pub async fn claim_due(ctx: &Ctx, limit: usize) -> anyhow::Result<Vec<(String, i64)>> {
    let now = ctx.clock.now_ms();
    let skip_locked = ctx.db.skip_locked();
    let claimed: Vec<(String, i64)> = sqlx::query_as(&format!(
        "UPDATE credentials SET login_lease_until = $1, login_attempts = login_attempts + 1 \
         WHERE id IN (SELECT id FROM credentials WHERE login_requested_at IS NOT NULL \
                        AND (login_lease_until IS NULL OR login_lease_until <= $2) AND deactivated_at IS NULL \
                      ORDER BY login_requested_at LIMIT {limit} {skip_locked}) \
           AND (login_lease_until IS NULL OR login_lease_until <= $2) \
         RETURNING id, login_requested_at"
    ))
    .bind(ctx.lease_until(now))
    .bind(now)
    .fetch_all(&mut *ctx.db.writer().await?)
    .await?;
    Ok(claimed)
}

/// Ends the request (unless a newer one arrived meanwhile).
pub async fn finish_request(
    ctx: &Ctx,
    credential_id: &str,
    requested_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE credentials SET login_requested_at = NULL, login_lease_until = NULL \
         WHERE id = $1 AND login_requested_at = $2",
    )
    .bind(credential_id)
    .bind(requested_at)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

/// The utility refused the login made at `requested_at`: the credential fails
/// with `to`, and the request ends. False when the credential had moved on
/// meanwhile (nothing written).
pub async fn failed(
    ctx: &Ctx,
    row: &CredentialRow,
    to: StatusDetail,
    message: &str,
    requested_at: i64,
    actor: &str,
) -> anyhow::Result<bool> {
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to,
        actor,
        message: message.to_owned(),
    };
    let ends_login = AlsoWrite::default().ending_login(Some(requested_at));
    let now = ctx.clock.now_ms();
    Ok(transition_alone(&ctx.db, &change, &ends_login, None, now)
        .await?
        .is_some())
}

/// The utility is not answering: show PROVIDER_WEBSITE_INACCESSIBLE and try
/// again after a growing pause (30 s, 1, 2, 4 min), up to `max_attempts`.
pub async fn unanswered(
    ctx: &Ctx,
    row: &CredentialRow,
    attempts: i64,
    max_attempts: i64,
    reason: &str,
    actor: &str,
) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    if row.status_detail != StatusDetail::ProviderWebsiteInaccessible {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::ProviderWebsiteInaccessible,
            actor,
            message: "The utility's website is not answering; retrying.".to_owned(),
        };
        transition(&mut tx, &change, now).await?;
        // The utility's or the network's own words: for the operator's timeline only.
        let details = format!("What the login ran into: {reason}.");
        let event = NewEvent {
            credential_id: &row.id,
            organisation_id: &row.organisation_id,
            kind: EventKind::UtilityError,
            change: None,
            actor,
            message: &details,
        };
        record_event(&mut tx, &event, now).await?;
    }
    if attempts >= max_attempts {
        sqlx::query("UPDATE credentials SET login_requested_at = NULL, login_lease_until = NULL, failure_message = $1 WHERE id = $2")
            .bind("The utility's website did not answer after several tries. Try again later.")
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
    } else {
        let pause_ms = backoff_ms(30_000, attempts, 8 * 60_000);
        sqlx::query("UPDATE credentials SET login_lease_until = $1 WHERE id = $2")
            .bind(now + pause_ms)
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
