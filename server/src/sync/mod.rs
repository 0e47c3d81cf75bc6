//! Data sync: reads a connected credential's accounts and statements from its
//! utility with the stored session token and stores what is new.
//!
//! The outcome decides what happens next: new data gives a
//! NEW_DATA_AVAILABLE event and webhook; a rejected token moves the
//! credential to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED (once); a
//! utility that is not answering is tried again with backoff, and after
//! [`INACCESSIBLE_AFTER`] failures in a row the credential shows
//! PROVIDER_WEBSITE_INACCESSIBLE until a sync succeeds again.

pub mod storage;

use serde_json::json;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;

use crate::credentials::secrets::open_token;
use crate::credentials::status::{record_event, transition, NewEvent, Transition};
use crate::credentials::store::{find_by_id, CredentialRow};
use crate::credentials::token_was_rejected;
use crate::state::AppState;
use crate::utility::{Account, SecretToken, Statement, UtilityError};
use crate::webhooks::outbox::{self, CredentialRef};

/// Failures in a row before a connected credential shows PROVIDER_WEBSITE_INACCESSIBLE.
pub const INACCESSIBLE_AFTER: i64 = 3;
/// The longest pause between tries while the utility is down.
const MAX_RETRY_PAUSE_MS: i64 = 60 * 60 * 1000;

/// How a sync went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Synced {
        new_accounts: u64,
        new_statements: u64,
    },
    /// The utility refused the token: the credential needs an MFA refresh.
    TokenRejected,
    /// The utility did not answer; another try is scheduled.
    UtilityUnavailable { failures_in_a_row: i64 },
    /// Nothing to sync: the credential is not connected (any more).
    NotConnected,
}

/// Syncs one credential now and schedules its next sync.
#[tracing::instrument(skip(state, actor))]
pub async fn sync(
    state: &AppState,
    credential_id: &str,
    actor: &str,
) -> anyhow::Result<SyncOutcome> {
    let Some(row) = find_by_id(&state.db, credential_id).await? else {
        return Ok(SyncOutcome::NotConnected);
    };
    let Some(token) = stored_token(state, &row).await? else {
        unschedule(state, credential_id).await?;
        return Ok(SyncOutcome::NotConnected);
    };
    match read_utility(state, &row, &token).await {
        Ok((accounts, statements)) => stored(state, &row, &accounts, &statements, actor).await,
        Err(error) if token_was_rejected(&error) => {
            mark_refresh_required(state, &row, actor).await?;
            Ok(SyncOutcome::TokenRejected)
        }
        // Down, answering nonsense, or not knowing the utility any more: a
        // person cannot fix that on the credential, so try again later.
        Err(error) => {
            let failures_in_a_row = retry_later(state, &row, &error, actor).await?;
            Ok(SyncOutcome::UtilityUnavailable { failures_in_a_row })
        }
    }
}

/// Whether the credential can sync: active, and connected or waiting for its
/// utility to answer again.
pub fn is_syncable(row: &CredentialRow) -> bool {
    row.deactivated_at.is_none()
        && matches!(
            row.status_detail,
            StatusDetail::LoginAndDataDiscoverySuccessful
                | StatusDetail::ProviderWebsiteInaccessible
        )
}

/// The session token of a credential that can be synced, if it has one.
async fn stored_token(
    state: &AppState,
    row: &CredentialRow,
) -> anyhow::Result<Option<SecretToken>> {
    if !is_syncable(row) {
        return Ok(None);
    }
    let (sealed,): (Option<String>,) =
        sqlx::query_as("SELECT sealed_session_token FROM credentials WHERE id = $1")
            .bind(&row.id)
            .fetch_one(state.db.pool())
            .await?;
    sealed
        .map(|sealed| open_token(&state.keyring, &row.id, &sealed))
        .transpose()
}

async fn read_utility(
    state: &AppState,
    row: &CredentialRow,
    token: &SecretToken,
) -> Result<(Vec<Account>, Vec<Statement>), UtilityError> {
    let accounts = state.utility.accounts(&row.utility_id, token).await?;
    let mut statements = Vec::new();
    for account in &accounts {
        statements.append(
            &mut state
                .utility
                .statements(&row.utility_id, token, &account.account_number)
                .await?,
        );
    }
    Ok((accounts, statements))
}

/// Stores what is new, schedules the next sync, and tells about new data.
async fn stored(
    state: &AppState,
    row: &CredentialRow,
    accounts: &[Account],
    statements: &[Statement],
    actor: &str,
) -> anyhow::Result<SyncOutcome> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let stored = storage::store(&mut tx, &row.id, accounts, statements, now).await?;
    sqlx::query(
        "UPDATE credentials SET last_synced_at = $1, last_fresh_at = $1, next_sync_at = $2, sync_failures = 0, \
           sync_lease_until = NULL WHERE id = $3",
    )
    .bind(now)
    .bind(now + state.settings.next_sync_delay_ms())
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    crate::jobs::staleness::recovered(&mut tx, row, actor, now).await?;
    if row.status_detail == StatusDetail::ProviderWebsiteInaccessible {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::LoginAndDataDiscoverySuccessful,
            actor,
            message: "The utility's website answers again; data synced.".into(),
        };
        transition(&mut tx, &change, now).await?;
    }
    let new_statements = stored.new_statement_ids.len() as u64;
    if stored.new_accounts > 0 || new_statements > 0 {
        let message = format!(
            "New data: {} account(s) and {new_statements} statement(s).",
            stored.new_accounts
        );
        record_event(
            &mut tx,
            &event(row, "NEW_DATA_AVAILABLE", actor, &message),
            now,
        )
        .await?;
        let credential = credential_ref(row);
        let data = credential.data(
            StatusDetail::LoginAndDataDiscoverySuccessful,
            json!({
                "newAccounts": stored.new_accounts,
                "newStatements": new_statements,
                "statementIds": stored.new_statement_ids,
            }),
        );
        outbox::enqueue(
            &mut tx,
            &credential.message(WebhookEventType::NewDataAvailable, data),
            now,
        )
        .await?;
    } else if !actor.starts_with("job:") {
        // A person asked: the timeline shows the sync ran, even with nothing new.
        let message = "Synced: nothing new since the last sync.";
        record_event(&mut tx, &event(row, "SYNCED", actor, message), now).await?;
    }
    tx.commit().await?;
    Ok(SyncOutcome::Synced {
        new_accounts: stored.new_accounts,
        new_statements,
    })
}

fn event<'a>(
    row: &'a CredentialRow,
    kind: &'a str,
    actor: &'a str,
    message: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind,
        change: None,
        actor,
        message,
    }
}

fn credential_ref(row: &CredentialRow) -> CredentialRef<'_> {
    CredentialRef {
        id: &row.id,
        organisation_id: &row.organisation_id,
        utility_id: &row.utility_id,
        correlation_id: row.correlation_id.as_deref(),
    }
}

/// The utility did not answer: count it, show PROVIDER_WEBSITE_INACCESSIBLE
/// once it has gone on for a while, and try again after a growing pause
/// (1, 2, 4 … minutes, at most an hour). Returns the failures in a row.
async fn retry_later(
    state: &AppState,
    row: &CredentialRow,
    error: &UtilityError,
    actor: &str,
) -> anyhow::Result<i64> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let (failures,): (i64,) = sqlx::query_as(
        "UPDATE credentials SET sync_failures = sync_failures + 1 WHERE id = $1 RETURNING sync_failures",
    )
    .bind(&row.id)
    .fetch_one(&mut *tx)
    .await?;
    let pause = (60_000_i64 << (failures - 1).clamp(0, 6)).min(MAX_RETRY_PAUSE_MS);
    sqlx::query("UPDATE credentials SET next_sync_at = $1, sync_lease_until = NULL WHERE id = $2")
        .bind(now + pause)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    if failures >= INACCESSIBLE_AFTER
        && row.status_detail == StatusDetail::LoginAndDataDiscoverySuccessful
    {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::ProviderWebsiteInaccessible,
            actor,
            message: format!(
                "The utility's website has not answered {failures} syncs in a row; retrying."
            ),
        };
        transition(&mut tx, &change, now).await?;
        if let Some(details) = error.details() {
            let message = format!("What the last try ran into: {details}.");
            record_event(&mut tx, &event(row, "UTILITY_ERROR", actor, &message), now).await?;
        }
    }
    tx.commit().await?;
    tracing::warn!(credential_id = row.id, failures, error = %error, "sync postponed: the utility is not answering");
    Ok(failures)
}

/// Nothing to sync any more: take the credential off the schedule.
async fn unschedule(state: &AppState, credential_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET next_sync_at = NULL, sync_lease_until = NULL WHERE id = $1",
    )
    .bind(credential_id)
    .execute(state.db.pool())
    .await?;
    Ok(())
}

const TOKEN_REJECTED: &str = "The utility rejected the session token: it has expired.";

/// Moves a credential whose token the utility refused to REFRESH_REQUIRED and
/// destroys the token. Returns whether this call made the change (false if
/// another sync or the sweep already did).
async fn mark_refresh_required(
    state: &AppState,
    row: &CredentialRow,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::MultiFactorAuthenticationRefreshRequired,
        actor,
        message: TOKEN_REJECTED.to_owned(),
    };
    let changed = transition(&mut tx, &change, now).await?;
    if changed {
        sqlx::query(
            "UPDATE credentials SET sealed_session_token = NULL, next_sync_at = NULL, \
               sync_lease_until = NULL, sync_failures = 0 WHERE id = $1",
        )
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}
