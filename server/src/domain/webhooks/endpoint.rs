//! The organisation's webhook endpoint: its URL and sealed signing secrets.

use shared::webhooks::WebhookEndpoint;

use crate::domain::ctx::Ctx;
use crate::infra::clock::from_ms;
use crate::infra::webhook_signing::SigningSecret;

/// How long the previous secret keeps signing after a rotation, so receivers
/// can switch to the new one without missing a message.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

type EndpointRow = (
    String,
    i64,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// The endpoint as the API shows it (without secrets).
pub async fn find(
    ctx: &Ctx,
    organisation_id: &str,
) -> Result<Option<WebhookEndpoint>, sqlx::Error> {
    let row: Option<EndpointRow> = sqlx::query_as(
        "SELECT url, secret_created_at, previous_secret_expires_at, created_at, updated_at, \
           disabled_at, disabled_reason FROM webhook_endpoints WHERE organisation_id = $1",
    )
    .bind(organisation_id)
    .fetch_optional(ctx.db.pool())
    .await?;
    let now = ctx.clock.now_ms();
    Ok(row.map(
        |(
            url,
            secret_created_at,
            previous_expires,
            created_at,
            updated_at,
            disabled_at,
            disabled_reason,
        )| WebhookEndpoint {
            url,
            secret_created_at: from_ms(secret_created_at),
            previous_secret_expires_at: previous_expires
                .filter(|expires| *expires > now)
                .map(from_ms),
            created_at: from_ms(created_at),
            updated_at: from_ms(updated_at),
            disabled_at: disabled_at.map(from_ms),
            disabled_reason,
        },
    ))
}

/// Where to send and the secrets that sign: the current one first, then the
/// previous one while its overlap lasts.
#[derive(Debug)]
pub struct SigningTarget {
    pub url: String,
    pub secrets: Vec<SigningSecret>,
}

pub async fn signing_target(
    ctx: &Ctx,
    organisation_id: &str,
) -> anyhow::Result<Option<SigningTarget>> {
    let row: Option<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT url, sealed_secret, sealed_previous_secret, previous_secret_expires_at \
         FROM webhook_endpoints WHERE organisation_id = $1",
    )
    .bind(organisation_id)
    .fetch_optional(ctx.db.pool())
    .await?;
    let Some((url, sealed, sealed_previous, previous_expires)) = row else {
        return Ok(None);
    };
    let mut secrets = vec![SigningSecret::open(&ctx.keyring, organisation_id, &sealed)?];
    if let (Some(previous), Some(expires)) = (sealed_previous, previous_expires) {
        if expires > ctx.clock.now_ms() {
            secrets.push(SigningSecret::open(
                &ctx.keyring,
                organisation_id,
                &previous,
            )?);
        }
    }
    Ok(Some(SigningTarget { url, secrets }))
}

/// The receiver said its endpoint is gone (410): stop sending until an admin
/// saves the endpoint again. Returns whether this call disabled it.
pub async fn disable(ctx: &Ctx, organisation_id: &str, reason: &str) -> Result<bool, sqlx::Error> {
    let disabled = sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 \
         WHERE organisation_id = $3 AND disabled_at IS NULL",
    )
    .bind(ctx.clock.now_ms())
    .bind(reason)
    .bind(organisation_id)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(disabled.rows_affected() == 1)
}
