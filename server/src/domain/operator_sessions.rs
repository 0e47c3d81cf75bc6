//! Operator sessions: created at sign-in, found by the hash of the cookie,
//! ended by sign-out, idle timeout or maximum age.

use shared::operators::Role;
use time::Duration;

use crate::domain::ctx::Ctx;
use crate::infra::tokens;

/// An operator session ends after this long without a request.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::hours(2);
/// And after this long in any case.
pub const SESSION_MAX_AGE: Duration = Duration::days(7);

/// A live session and who it belongs to.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub operator_id: String,
    pub organisation_id: String,
    pub role: Role,
    pub csrf_token: String,
}

/// Starts a session from `client`; returns the cookie secret and the CSRF token.
pub async fn create(
    ctx: &Ctx,
    operator_id: &str,
    client: &str,
) -> Result<(String, String), sqlx::Error> {
    let secret = tokens::generate("gls_");
    let csrf_token = tokens::generate("");
    let now = ctx.clock.now_ms();
    sqlx::query(
        "INSERT INTO operator_sessions (token_hash, operator_id, csrf_token, created_at, last_seen_at, expires_at, client) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
    )
    .bind(tokens::hash(&secret))
    .bind(operator_id)
    .bind(&csrf_token)
    .bind(now)
    .bind(now + SESSION_MAX_AGE.whole_milliseconds() as i64)
    .bind(client)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok((secret, csrf_token))
}

/// The public name of a session: the start of its secret's hash (which
/// reveals nothing of the secret), enough to tell sessions apart and end one.
pub fn public_id(token_hash: &str) -> String {
    token_hash.chars().take(16).collect()
}

/// Records a sign-in to `operator_id`'s account, for its history.
pub async fn record_sign_in(
    ctx: &Ctx,
    operator_id: &str,
    client: &str,
    succeeded: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sign_in_history (operator_id, signed_in_at, client, outcome) VALUES ($1, $2, $3, $4)",
    )
    .bind(operator_id)
    .bind(ctx.clock.now_ms())
    .bind(client)
    .bind(if succeeded { "SUCCEEDED" } else { "FAILED" })
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

/// The session behind `secret` if it has neither expired nor idled out, and
/// its operator is still active. Refreshes its last-seen time.
pub async fn find_live(ctx: &Ctx, secret: &str) -> Result<Option<LiveSession>, sqlx::Error> {
    let now = ctx.clock.now_ms();
    let idle_cutoff = now - SESSION_IDLE_TIMEOUT.whole_milliseconds() as i64;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "UPDATE operator_sessions SET last_seen_at = $1 \
         WHERE token_hash = $2 AND expires_at > $1 AND last_seen_at > $3 \
           AND operator_id IN (SELECT id FROM operators WHERE removed_at IS NULL) \
         RETURNING operator_id, csrf_token, \
           (SELECT organisation_id FROM operators WHERE operators.id = operator_sessions.operator_id), \
           (SELECT role FROM operators WHERE operators.id = operator_sessions.operator_id)",
    )
    .bind(now)
    .bind(tokens::hash(secret))
    .bind(idle_cutoff)
    .fetch_optional(&mut *ctx.db.writer().await?)
    .await?;
    Ok(row.map(
        |(operator_id, csrf_token, organisation_id, role)| LiveSession {
            operator_id,
            organisation_id,
            role: Role::parse(&role).unwrap_or(Role::Member),
            csrf_token,
        },
    ))
}

pub async fn delete(ctx: &Ctx, secret: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1")
        .bind(tokens::hash(secret))
        .execute(&mut *ctx.db.writer().await?)
        .await?;
    Ok(())
}

/// Ends every session of an operator (removed, or password changed).
pub async fn delete_all_of(ctx: &Ctx, operator_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1")
        .bind(operator_id)
        .execute(&mut *ctx.db.writer().await?)
        .await?;
    Ok(())
}

/// Ends every session of an operator but the one behind `kept_secret`.
pub async fn delete_others_of(
    ctx: &Ctx,
    operator_id: &str,
    kept_secret: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1 AND token_hash <> $2")
        .bind(operator_id)
        .bind(tokens::hash(kept_secret))
        .execute(&mut *ctx.db.writer().await?)
        .await?;
    Ok(())
}
