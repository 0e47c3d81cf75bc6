//! The login worker: logs credentials in to their utility in the background.
//!
//! A login is requested by setting `login_requested_at`; a worker claims it
//! with a lease (`login_lease_until`), so a crashed or restarted server's
//! logins are picked up again once the lease runs out, and two replicas never
//! run the same login at once. A utility that is down is retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use shared::StatusDetail;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::credentials::secrets::open_password;
use crate::credentials::status::{record_event, transition, NewEvent, Transition};
use crate::credentials::store::{find_by_id, CredentialRow};
use crate::mfa;
use crate::state::AppState;
use crate::store::DatabaseKind;
use crate::utility::{LoginOutcome, UtilityError};

const ACTOR: &str = "job:login";
/// Logins running at once in this process.
const CONCURRENCY: usize = 8;
/// Tries while the utility is unavailable, then the credential waits for a person.
const MAX_ATTEMPTS: i64 = 5;

pub async fn run(
    state: AppState,
    poll: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    loop {
        while let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
            match claim_next(&state).await {
                Ok(Some((credential_id, requested_at))) => {
                    let state = state.clone();
                    running.spawn(async move {
                        let _permit = permit;
                        if let Err(error) = log_in(&state, &credential_id, requested_at).await {
                            tracing::error!(
                                credential_id,
                                error = format!("{error:#}"),
                                "background login failed"
                            );
                        }
                    });
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "cannot claim a login");
                    break;
                }
            }
        }
        while running.try_join_next().is_some() {}
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = state.wakeups.logins.notified() => {}
            () = tokio::time::sleep(poll) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    // Let logins in flight finish (they are short); their leases cover a crash.
    while running.join_next().await.is_some() {}
    Ok(())
}

/// Claims the oldest requested login whose lease is free.
async fn claim_next(state: &AppState) -> anyhow::Result<Option<(String, i64)>> {
    let now = state.clock.now_ms();
    let skip_locked = match state.db.kind() {
        DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
        DatabaseKind::Sqlite => "",
    };
    let claimed: Option<(String, i64)> = sqlx::query_as(&format!(
        "UPDATE credentials SET login_lease_until = $1, login_attempts = login_attempts + 1 \
         WHERE id = (SELECT id FROM credentials WHERE login_requested_at IS NOT NULL \
                       AND (login_lease_until IS NULL OR login_lease_until <= $2) AND deactivated_at IS NULL \
                     ORDER BY login_requested_at LIMIT 1 {skip_locked}) \
           AND (login_lease_until IS NULL OR login_lease_until <= $2) \
         RETURNING id, login_requested_at"
    ))
    .bind(now + state.settings.jobs.lease.whole_milliseconds() as i64)
    .bind(now)
    .fetch_optional(state.db.pool())
    .await?;
    Ok(claimed)
}

/// Ends the request (unless a newer one arrived meanwhile).
async fn finish_request(
    state: &AppState,
    credential_id: &str,
    requested_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE credentials SET login_requested_at = NULL, login_lease_until = NULL \
         WHERE id = $1 AND login_requested_at = $2",
    )
    .bind(credential_id)
    .bind(requested_at)
    .execute(state.db.pool())
    .await?;
    Ok(())
}

#[tracing::instrument(skip(state, requested_at))]
async fn log_in(state: &AppState, credential_id: &str, requested_at: i64) -> anyhow::Result<()> {
    let Some(row) = find_by_id(&state.db, credential_id).await? else {
        return Ok(());
    };
    if !matches!(
        row.status_detail,
        StatusDetail::Connecting | StatusDetail::ProviderWebsiteInaccessible
    ) {
        return finish_request(state, credential_id, requested_at).await;
    }
    let (attempts, sealed_password): (i64, String) =
        sqlx::query_as("SELECT login_attempts, sealed_password FROM credentials WHERE id = $1")
            .bind(credential_id)
            .fetch_one(state.db.pool())
            .await?;
    let password = open_password(&state.keyring, credential_id, &sealed_password)?;
    let username = shared::validation::Username::parse(&row.username)
        .map_err(|error| anyhow::anyhow!("stored username is invalid: {error}"))?;
    let outcome = state
        .utility
        .login(&row.utility_id, &username, &password)
        .await;
    match outcome {
        Ok(LoginOutcome::Authenticated(session)) => {
            mfa::complete_connection(state, &row, &session, ACTOR).await?;
        }
        Ok(LoginOutcome::MfaRequired(challenge)) => {
            mfa::start_challenge(state, &row, &challenge, ACTOR).await?;
        }
        Err(UtilityError::Unavailable(reason)) | Err(UtilityError::Protocol(reason)) => {
            return retry_later(state, &row, attempts, &reason).await;
        }
        Err(error) => {
            let to = failure_detail(&error);
            fail(state, &row, to, &describe(&error)).await?;
        }
    }
    finish_request(state, credential_id, requested_at).await
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

async fn fail(
    state: &AppState,
    row: &CredentialRow,
    to: StatusDetail,
    message: &str,
) -> anyhow::Result<()> {
    let mut tx = state.db.begin_write().await?;
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to,
        actor: ACTOR,
        message: message.to_owned(),
    };
    transition(&mut tx, &change, state.clock.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// The utility is not answering: show PROVIDER_WEBSITE_INACCESSIBLE and try
/// again after a growing pause, up to [`MAX_ATTEMPTS`].
async fn retry_later(
    state: &AppState,
    row: &CredentialRow,
    attempts: i64,
    reason: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    if row.status_detail != StatusDetail::ProviderWebsiteInaccessible {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::ProviderWebsiteInaccessible,
            actor: ACTOR,
            message: "The utility's website is not answering; retrying.".to_owned(),
        };
        transition(&mut tx, &change, now).await?;
        // The utility's or the network's own words: for the operator's timeline only.
        let details = format!("What the login ran into: {reason}.");
        let event = NewEvent {
            credential_id: &row.id,
            organisation_id: &row.organisation_id,
            kind: "UTILITY_ERROR",
            change: None,
            actor: ACTOR,
            message: &details,
        };
        record_event(&mut tx, &event, now).await?;
    }
    if attempts >= MAX_ATTEMPTS {
        sqlx::query("UPDATE credentials SET login_requested_at = NULL, login_lease_until = NULL, failure_message = $1 WHERE id = $2")
            .bind("The utility's website did not answer after several tries. Try again later.")
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
    } else {
        // 30 s, 1 min, 2 min, 4 min between tries.
        let pause_ms = 30_000 * (1_i64 << (attempts - 1).clamp(0, 4));
        sqlx::query("UPDATE credentials SET login_lease_until = $1 WHERE id = $2")
            .bind(now + pause_ms)
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
