//! Unsubscribe links. Every notice carries one (in its words and as a
//! one-click `List-Unsubscribe` header); using it stops notices from that
//! organisation to that address, the running sequences included. The link
//! token is random and only its hash is stored.

use sqlx::AnyConnection;

use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::notice_stops::{self, StopReason};
use crate::infra::tokens;

/// Whom an unsubscribe link is for.
#[derive(Debug)]
pub struct Recipient {
    pub organisation_id: String,
    pub organisation_name: String,
    pub email: String,
}

/// A new unsubscribe link for `email` at `organisation_id`.
pub async fn issue(
    connection: &mut AnyConnection,
    ctx: &Ctx,
    organisation_id: &str,
    email: &str,
    now_ms: i64,
) -> Result<String, sqlx::Error> {
    let token = tokens::generate("gus_");
    sqlx::query(
        "INSERT INTO unsubscribe_tokens (token_hash, organisation_id, email, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens::hash(&token))
    .bind(organisation_id)
    .bind(email)
    .bind(now_ms)
    .execute(connection)
    .await?;
    Ok(ctx.settings.absolute_url(&format!("/unsubscribe/{token}")))
}

/// The recipient of the link `token`, if it is one.
pub async fn recipient(ctx: &Ctx, token: &str) -> Result<Option<Recipient>, sqlx::Error> {
    let found: Option<(String, String, String)> = sqlx::query_as(
        "SELECT t.organisation_id, t.email, o.name FROM unsubscribe_tokens t \
         JOIN organisations o ON o.id = t.organisation_id WHERE t.token_hash = $1",
    )
    .bind(tokens::hash(token))
    .fetch_optional(ctx.db.pool())
    .await?;
    Ok(
        found.map(|(organisation_id, email, organisation_name)| Recipient {
            organisation_id,
            organisation_name,
            email,
        }),
    )
}

/// Whether `email` asked `organisation_id` for no more notices.
pub async fn is_unsubscribed(ctx: &Ctx, recipient: &Recipient) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM mail_unsubscribes WHERE organisation_id = $1 AND email = $2")
            .bind(&recipient.organisation_id)
            .bind(&recipient.email)
            .fetch_optional(ctx.db.pool())
            .await?;
    Ok(found.is_some())
}

/// Stops notices from the organisation to the address, the running
/// sequences included; doing it twice is no error.
pub async fn unsubscribe(ctx: &Ctx, recipient: &Recipient) -> Result<(), sqlx::Error> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO mail_unsubscribes (organisation_id, email, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organisation_id, email) DO NOTHING",
    )
    .bind(&recipient.organisation_id)
    .bind(&recipient.email)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    notice_stops::stop_for_contact(
        &mut tx,
        &recipient.organisation_id,
        &recipient.email,
        StopReason::Unsubscribed,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
