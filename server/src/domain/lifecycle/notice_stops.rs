//! Stopping refresh notices: a sequence of update-link mails ends when the
//! credential is repaired or deactivated, an operator handles it, the address
//! unsubscribes or cannot be delivered to. The lifecycle stops them in the
//! transaction of the change; the notice job (`mail::notices`) starts them.

use sqlx::AnyConnection;

shared::wire_enum! {
    /// Why a sequence ended before its last reminder (`stop_reason`, as stored).
    pub enum StopReason {
        Repaired = "REPAIRED",
        Deactivated = "DEACTIVATED",
        HandledManually = "HANDLED_MANUALLY",
        Unsubscribed = "UNSUBSCRIBED",
        Undeliverable = "UNDELIVERABLE",
    }
}

/// Ends the credential's running sequence, if any.
pub async fn stop(
    connection: &mut AnyConnection,
    credential_id: &str,
    reason: StopReason,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE end_user_notices SET stopped_at = $1, stop_reason = $2, next_reminder_at = NULL \
         WHERE credential_id = $3 AND stopped_at IS NULL",
    )
    .bind(now_ms)
    .bind(reason.as_str())
    .bind(credential_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Ends every running sequence to `email` at `organisation_id`.
pub async fn stop_for_contact(
    connection: &mut AnyConnection,
    organisation_id: &str,
    email: &str,
    reason: StopReason,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE end_user_notices SET stopped_at = $1, stop_reason = $2, next_reminder_at = NULL \
         WHERE organisation_id = $3 AND contact_email = $4 AND stopped_at IS NULL",
    )
    .bind(now_ms)
    .bind(reason.as_str())
    .bind(organisation_id)
    .bind(email)
    .execute(connection)
    .await?;
    Ok(())
}
