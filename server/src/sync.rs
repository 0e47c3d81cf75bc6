//! Reading a connected credential's utility with its stored session token.
//! A token the utility rejects moves the credential to
//! MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED, exactly once.

use shared::StatusDetail;

use crate::credentials::secrets::open_token;
use crate::credentials::status::{record_event, transition, NewEvent, Transition};
use crate::credentials::store::CredentialRow;
use crate::credentials::token_was_rejected;
use crate::error::ApiError;
use crate::state::AppState;
use crate::utility::{Account, SecretToken, Statement, UtilityError};

/// The stored session token of a connected credential; 409 for any other.
async fn connected_token(state: &AppState, row: &CredentialRow) -> Result<SecretToken, ApiError> {
    if row.deactivated_at.is_some()
        || row.status_detail != StatusDetail::LoginAndDataDiscoverySuccessful
    {
        return Err(ApiError::Conflict(format!(
            "Only a connected credential can reach its utility; this one is {}: {}",
            row.status_detail,
            row.status_detail.explanation()
        )));
    }
    let (sealed,): (Option<String>,) =
        sqlx::query_as("SELECT sealed_session_token FROM credentials WHERE id = $1")
            .bind(&row.id)
            .fetch_one(state.db.pool())
            .await?;
    let sealed = sealed
        .ok_or_else(|| ApiError::Conflict("This credential has no session token yet.".into()))?;
    Ok(open_token(&state.keyring, &row.id, &sealed)?)
}

const TOKEN_REJECTED: &str = "The utility rejected the session token: it has expired.";

/// What a failed utility read means for the caller. A rejected token moves the
/// credential to REFRESH_REQUIRED first.
async fn read_failed(
    state: &AppState,
    row: &CredentialRow,
    error: UtilityError,
    actor: &str,
) -> ApiError {
    if token_was_rejected(&error) {
        if let Err(failure) = mark_refresh_required(state, &row.id, TOKEN_REJECTED, actor).await {
            return failure.into();
        }
        return ApiError::Conflict(format!(
            "{TOKEN_REJECTED} The credential now needs an MFA refresh."
        ));
    }
    if error.is_transient() {
        return ApiError::ServiceUnavailable(
            "The utility is not answering. Try again in a few minutes.".into(),
        );
    }
    ApiError::Internal(anyhow::Error::new(error).context("Reading the utility failed"))
}

/// The credential's accounts, read from the utility with the stored token.
#[tracing::instrument(skip_all, fields(credential_id = %row.id))]
pub async fn read_accounts(
    state: &AppState,
    row: &CredentialRow,
    actor: &str,
) -> Result<Vec<Account>, ApiError> {
    let token = connected_token(state, row).await?;
    match state.utility.accounts(&row.utility_id, &token).await {
        Ok(accounts) => Ok(accounts),
        Err(error) => Err(read_failed(state, row, error, actor).await),
    }
}

/// The statements of all the credential's accounts, newest first.
#[tracing::instrument(skip_all, fields(credential_id = %row.id))]
pub async fn read_statements(
    state: &AppState,
    row: &CredentialRow,
    actor: &str,
) -> Result<Vec<Statement>, ApiError> {
    let token = connected_token(state, row).await?;
    let accounts = match state.utility.accounts(&row.utility_id, &token).await {
        Ok(accounts) => accounts,
        Err(error) => return Err(read_failed(state, row, error, actor).await),
    };
    let mut statements = Vec::new();
    for account in &accounts {
        match state
            .utility
            .statements(&row.utility_id, &token, &account.account_number)
            .await
        {
            Ok(mut found) => statements.append(&mut found),
            Err(error) => return Err(read_failed(state, row, error, actor).await),
        }
    }
    statements.sort_by(|a, b| {
        b.period_start
            .cmp(&a.period_start)
            .then_with(|| a.account_number.cmp(&b.account_number))
    });
    Ok(statements)
}

/// "Sync now": reads the utility at once. A rejected token is not an error
/// here: the credential's new state (REFRESH_REQUIRED) is the answer.
#[tracing::instrument(skip_all, fields(credential_id = %row.id))]
pub async fn sync_credential(
    state: &AppState,
    row: &CredentialRow,
    actor: &str,
) -> Result<(), ApiError> {
    let token = connected_token(state, row).await?;
    let accounts = match state.utility.accounts(&row.utility_id, &token).await {
        Ok(accounts) => accounts,
        Err(error) if token_was_rejected(&error) => {
            mark_refresh_required(state, &row.id, TOKEN_REJECTED, actor).await?;
            return Ok(());
        }
        Err(error) => return Err(read_failed(state, row, error, actor).await),
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.pool().begin().await?;
    sqlx::query("UPDATE credentials SET last_synced_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    let message = format!("Synced: the utility lists {} account(s).", accounts.len());
    let event = NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind: "SYNCED",
        change: None,
        actor,
        message: &message,
    };
    record_event(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a connected credential to REFRESH_REQUIRED and destroys its token.
/// Returns whether this call made the change (false if another already did).
pub async fn mark_refresh_required(
    state: &AppState,
    credential_id: &str,
    message: &str,
    actor: &str,
) -> Result<bool, sqlx::Error> {
    let now = state.clock.now_ms();
    let mut tx = state.db.pool().begin().await?;
    let change = Transition {
        credential_id,
        from: StatusDetail::LoginAndDataDiscoverySuccessful,
        to: StatusDetail::MultiFactorAuthenticationRefreshRequired,
        actor,
        message: message.to_owned(),
    };
    let changed = transition(&mut tx, &change, now).await?;
    if changed {
        sqlx::query("UPDATE credentials SET sealed_session_token = NULL WHERE id = $1")
            .bind(credential_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(changed)
}
