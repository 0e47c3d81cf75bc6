//! The login worker: logs credentials in to their utility in the background.
//!
//! A login is requested by setting `login_requested_at`; a worker claims it
//! with a lease (`login_lease_until`), so a crashed or restarted server's
//! logins are picked up again once the lease runs out, and two replicas never
//! run the same login at once. A utility that is down is retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use shared::StatusDetail;
use sqlx::any::AnyRow;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::domain::credentials::secrets::open_password;
use crate::domain::credentials::store::find_by_id_with;
use crate::domain::lifecycle::{connection, logins};
use crate::infra::utility::{LoginOutcome, UtilityError};
use crate::jobs::JobCtx;

const ACTOR: &str = "job:login";
/// Logins running at once in this process. A login mostly waits for the
/// utility (real ones take seconds), and an end-user waits for it on
/// "Connecting with your utility": sized for waiting, like syncs, while
/// `GRIDLINK_UTILITY_MAX_IN_FLIGHT` keeps each utility's share polite.
const CONCURRENCY: usize = 256;
/// Tries while the utility is unavailable, then the credential waits for a person.
const MAX_ATTEMPTS: i64 = 5;

pub async fn run(ctx: JobCtx, poll: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    let wakeup = Arc::clone(&ctx.wakeups.logins);
    super::run_claimed(
        ctx,
        super::Cadence::new("logins", poll),
        shutdown,
        wakeup,
        CONCURRENCY,
        |ctx, limit| async move { logins::claim_due(&ctx, limit).await },
        |ctx, (credential_id, requested_at)| async move {
            if let Err(error) = log_in(&ctx, &credential_id, requested_at).await {
                tracing::error!(
                    credential_id,
                    error = format!("{error:#}"),
                    "background login failed"
                );
            }
            // Connect, if it waits on "Connecting with your utility", looks again.
            ctx.wakeups.connecting.login_ended(&credential_id);
        },
    )
    .await
}

#[tracing::instrument(skip(ctx, requested_at))]
async fn log_in(ctx: &JobCtx, credential_id: &str, requested_at: i64) -> anyhow::Result<()> {
    let read_login = |row: &AnyRow| {
        Ok((
            row.try_get::<i64, _>("login_attempts")?,
            row.try_get::<String, _>("sealed_password")?,
        ))
    };
    let found = find_by_id_with(
        &ctx.db,
        credential_id,
        &["login_attempts", "sealed_password"],
        read_login,
    )
    .await?;
    let Some((row, (attempts, sealed_password))) = found else {
        return Ok(());
    };
    if !matches!(
        row.status_detail,
        StatusDetail::Connecting | StatusDetail::ProviderWebsiteInaccessible
    ) {
        return logins::finish_request(ctx, credential_id, requested_at).await;
    }
    let password = open_password(&ctx.keyring, credential_id, &sealed_password)?;
    let username = shared::validation::Username::parse(&row.username)
        .map_err(|error| anyhow::anyhow!("stored username is invalid: {error}"))?;
    let outcome = ctx
        .utility
        .login(&row.utility_id, &username, &password)
        .await;
    // Each outcome ends the request in the statement that records it.
    let ended = match outcome {
        Ok(LoginOutcome::Authenticated(session)) => {
            connection::complete_connection(ctx, &row, &session, Some(requested_at), ACTOR)
                .await?
                .is_some()
        }
        Ok(LoginOutcome::MfaRequired(challenge)) => {
            connection::start_challenge(ctx, &row, &challenge, Some(requested_at), ACTOR).await?
        }
        Err(UtilityError::Unavailable(reason)) | Err(UtilityError::Protocol(reason)) => {
            return logins::unanswered(ctx, &row, attempts, MAX_ATTEMPTS, &reason, ACTOR).await;
        }
        Err(error) => {
            let to = failure_detail(&error);
            logins::failed(ctx, &row, to, &describe(&error), requested_at, ACTOR).await?
        }
    };
    if ended {
        return Ok(());
    }
    // The credential moved on while the utility answered: the request ends alone.
    logins::finish_request(ctx, credential_id, requested_at).await
}

/// The status detail a failed login leads to.
fn failure_detail(error: &UtilityError) -> StatusDetail {
    match error {
        UtilityError::InvalidCredentials => StatusDetail::InvalidCredentials,
        UtilityError::AccountLocked { .. } => StatusDetail::OtherAccessLimitation,
        UtilityError::UnsupportedMfa => StatusDetail::UnsupportedMultiFactorAuthentication,
        _ => StatusDetail::OtherAccessLimitation,
    }
}

fn describe(error: &UtilityError) -> String {
    match error {
        UtilityError::InvalidCredentials => "The utility rejected the username or password.".into(),
        UtilityError::AccountLocked { .. } => {
            "The account is locked at the utility; unlock it on the utility's website.".into()
        }
        UtilityError::UnsupportedMfa => {
            "The utility asks for a kind of verification Gridlink cannot do (security questions)."
                .into()
        }
        other => format!("The login failed: {other}."),
    }
}
