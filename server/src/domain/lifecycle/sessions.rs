//! Connect sessions (the rows behind Connect tokens and update links): opened,
//! attached to the credential they create, their attempts started, completed
//! by a connection, and revoked.

use shared::connect::{ConnectPurpose, ConnectToken};
use shared::credentials::Owner;
use time::Duration;

use super::events::{FollowUp, Value};
use crate::domain::ctx::Ctx;
use crate::infra::clock::from_ms;
use crate::infra::tokens;

/// An update link sent to an end-user lasts 72 hours.
pub const UPDATE_LINK_LIFETIME: Duration = Duration::hours(72);

/// A Connect session to open.
pub struct NewSession<'a> {
    pub organisation_id: &'a str,
    pub purpose: ConnectPurpose,
    pub credential_id: Option<&'a str>,
    pub utility_id: Option<&'a str>,
    pub correlation_id: Option<&'a str>,
    pub owner: Owner,
    pub created_by: &'a str,
    pub lifetime: Duration,
    /// The end-user's contact the integrator gave with a new Connect token;
    /// the credential the session creates takes it.
    pub contact: Option<&'a crate::domain::credentials::Contact>,
}

/// Opens a Connect session; only the hash of its token is stored.
pub async fn open(
    connection: &mut sqlx::AnyConnection,
    ctx: &Ctx,
    new: NewSession<'_>,
) -> Result<ConnectToken, sqlx::Error> {
    let token = tokens::generate("gct_");
    let id = tokens::new_id("cs");
    let now = ctx.clock.now_ms();
    let expires_at = now + new.lifetime.whole_milliseconds() as i64;
    sqlx::query(
        "INSERT INTO connect_sessions (id, token_hash, organisation_id, purpose, credential_id, utility_id, \
           correlation_id, owner, created_by, created_at, expires_at, contact_email, contact_language) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(tokens::hash(&token))
    .bind(new.organisation_id)
    .bind(new.purpose.as_str())
    .bind(new.credential_id)
    .bind(new.utility_id)
    .bind(new.correlation_id)
    .bind(new.owner.as_str())
    .bind(new.created_by)
    .bind(now)
    .bind(expires_at)
    .bind(new.contact.map(|contact| contact.email.as_str()))
    .bind(new.contact.and_then(|contact| contact.language.map(|language| language.code())))
    .execute(connection)
    .await?;
    Ok(ConnectToken {
        id,
        purpose: new.purpose,
        url: ctx.settings.absolute_url(&format!("/connect/{token}")),
        token,
        credential_id: new.credential_id.map(str::to_owned),
        created_at: from_ms(now),
        expires_at: from_ms(expires_at),
    })
}

/// An end-user opened the session's page for the first time.
pub async fn mark_opened(
    connection: &mut sqlx::AnyConnection,
    session_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connect_sessions SET first_opened_at = $1 WHERE id = $2 AND first_opened_at IS NULL")
        .bind(now_ms)
        .bind(session_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// The browser (the hash of its `X-Connect-Browser` value) that drives the
/// session from now on: the first to act on it.
pub async fn bind_browser(
    connection: &mut sqlx::AnyConnection,
    session_id: &str,
    browser_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connect_sessions SET browser_hash = $1 \
         WHERE id = $2 AND browser_hash IS NULL AND completed_at IS NULL",
    )
    .bind(browser_hash)
    .bind(session_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Why a session stopped working before it was used (Connect says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A newer update link took its place.
    Replaced,
    /// An operator or integrator revoked it.
    Revoked,
    /// Its credential was deactivated.
    Deactivated,
}

impl Revocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Revocation::Replaced => "REPLACED",
            Revocation::Revoked => "REVOKED",
            Revocation::Deactivated => "DEACTIVATED",
        }
    }
}

const OPEN: &str = "revoked_at IS NULL AND completed_at IS NULL";

/// Revokes every open session of the credential.
pub async fn revoke_open(
    connection: &mut sqlx::AnyConnection,
    credential_id: &str,
    why: Revocation,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE connect_sessions SET revoked_at = $1, revoked_reason = $2 WHERE credential_id = $3 AND {OPEN}"
    ))
    .bind(now_ms)
    .bind(why.as_str())
    .bind(credential_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Replaces the credential's open update links (one active link at a time).
pub async fn replace_update_links(
    connection: &mut sqlx::AnyConnection,
    credential_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE connect_sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE credential_id = $3 AND purpose = 'UPDATE_LINK' AND {OPEN}"
    ))
    .bind(now_ms)
    .bind(Revocation::Replaced.as_str())
    .bind(credential_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Revokes one open update link of the organisation's credential; false when
/// there is no such open link.
pub async fn revoke_update_link(
    connection: &mut sqlx::AnyConnection,
    link_id: &str,
    credential_id: &str,
    organisation_id: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query(&format!(
        "UPDATE connect_sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND credential_id = $4 AND organisation_id = $5 AND purpose = 'UPDATE_LINK' AND {OPEN}"
    ))
    .bind(now_ms)
    .bind(Revocation::Revoked.as_str())
    .bind(link_id)
    .bind(credential_id)
    .bind(organisation_id)
    .execute(connection)
    .await?;
    Ok(revoked.rows_affected() == 1)
}

/// The session started a connection attempt (so the connection completes it);
/// the first marks when the end-user went on past the first screen.
pub async fn start_attempt(
    connection: &mut sqlx::AnyConnection,
    session_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connect_sessions SET attempt_started_at = $1, \
           first_continued_at = COALESCE(first_continued_at, $1) WHERE id = $2",
    )
    .bind(now_ms)
    .bind(session_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Completes the sessions whose attempt the credential's connection ends (an
/// update link is used up this way): a statement that goes with the transition.
pub fn complete_waiting(credential_id: &str, now_ms: i64) -> FollowUp<'_> {
    FollowUp {
        sql: |first| {
            format!(
                "UPDATE connect_sessions SET completed_at = ${first} WHERE credential_id = ${} \
                   AND attempt_started_at IS NOT NULL AND {OPEN}",
                first + 1
            )
        },
        values: vec![
            Value::Integer(Some(now_ms)),
            Value::Text(Some(credential_id)),
        ],
    }
}
