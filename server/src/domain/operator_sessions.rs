//! Operator sessions: created at sign-in, found by the hash of the cookie,
//! ended by sign-out, idle timeout or maximum age.

use shared::audit::{AuditAction, AuditActorKind};
use shared::operators::Role;
use time::Duration;

use crate::domain::audit::{self, AuditActor, Target};
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
    pub email: String,
    pub csrf_token: String,
    /// The organisation requires a second factor this operator has not set up.
    pub must_set_up_second_factor: bool,
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

/// An operator account a sign-in tried, as the audit trail names it.
#[derive(Debug, Clone)]
pub struct SignInTarget {
    pub operator_id: String,
    pub organisation_id: String,
    pub email: String,
}

/// Records a sign-in to an operator's account, for its history and the
/// organisation's audit trail; `factor` says what was checked (`PASSWORD`).
pub async fn record_sign_in(
    ctx: &Ctx,
    target: &SignInTarget,
    client: &str,
    user_agent: &str,
    factor: &str,
    succeeded: bool,
) -> Result<(), sqlx::Error> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO sign_in_history (operator_id, signed_in_at, client, outcome) VALUES ($1, $2, $3, $4)",
    )
    .bind(&target.operator_id)
    .bind(now)
    .bind(client)
    .bind(if succeeded { "SUCCEEDED" } else { "FAILED" })
    .execute(&mut *tx)
    .await?;
    let (kind, action) = if succeeded {
        (AuditActorKind::Operator, AuditAction::SignInSucceeded)
    } else {
        (AuditActorKind::Anonymous, AuditAction::SignInFailed)
    };
    let actor = AuditActor::new(
        kind,
        succeeded.then(|| target.operator_id.clone()),
        target.email.clone(),
        client,
        user_agent,
    );
    audit::record(
        &mut tx,
        now,
        audit::Entry {
            organisation_id: Some(&target.organisation_id),
            actor: &actor,
            action,
            target: Some(Target::operator(&target.operator_id)),
            details: serde_json::json!({ "factor": factor }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The session behind `secret` if it has neither expired nor idled out, and
/// its operator is still active. Refreshes its last-seen time.
pub async fn find_live(ctx: &Ctx, secret: &str) -> Result<Option<LiveSession>, sqlx::Error> {
    let now = ctx.clock.now_ms();
    let idle_cutoff = now - SESSION_IDLE_TIMEOUT.whole_milliseconds() as i64;
    let row: Option<(String, String, String, String, String, i64, i64)> = sqlx::query_as(
        "UPDATE operator_sessions SET last_seen_at = $1 \
         WHERE token_hash = $2 AND expires_at > $1 AND last_seen_at > $3 \
           AND operator_id IN (SELECT id FROM operators WHERE removed_at IS NULL) \
         RETURNING operator_id, csrf_token, \
           (SELECT organisation_id FROM operators WHERE operators.id = operator_sessions.operator_id), \
           (SELECT role FROM operators WHERE operators.id = operator_sessions.operator_id), \
           (SELECT email FROM operators WHERE operators.id = operator_sessions.operator_id), \
           (SELECT o.require_second_factor FROM operators p JOIN organisations o ON o.id = p.organisation_id \
             WHERE p.id = operator_sessions.operator_id), \
           (SELECT COUNT(*) FROM operator_totp t \
             WHERE t.operator_id = operator_sessions.operator_id AND t.confirmed_at IS NOT NULL) \
           + (SELECT COUNT(*) FROM operator_passkeys k WHERE k.operator_id = operator_sessions.operator_id)",
    )
    .bind(now)
    .bind(tokens::hash(secret))
    .bind(idle_cutoff)
    .fetch_optional(&mut *ctx.db.writer().await?)
    .await?;
    Ok(row.map(
        |(operator_id, csrf_token, organisation_id, role, email, required, factors)| LiveSession {
            operator_id,
            organisation_id,
            role: Role::parse(&role).unwrap_or(Role::Member),
            email,
            csrf_token,
            must_set_up_second_factor: required != 0 && factors == 0,
        },
    ))
}

/// Ends the session behind `secret`, inside `tx`.
pub async fn delete(tx: &mut sqlx::AnyConnection, secret: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1")
        .bind(tokens::hash(secret))
        .execute(&mut *tx)
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
