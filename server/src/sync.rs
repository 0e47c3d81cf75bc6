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
use crate::utility::{Account, Statement, UtilityError};

/// Reads the credential's accounts and their statements from the utility
/// with the stored token (newest statement first). A rejected token flags the
/// credential for an MFA refresh and answers 409.
#[tracing::instrument(skip_all, fields(credential_id = %row.id))]
pub async fn read_bills(
    state: &AppState,
    row: &CredentialRow,
) -> Result<(Vec<Account>, Vec<Statement>), ApiError> {
    if row.deactivated_at.is_some()
        || row.status_detail != StatusDetail::LoginAndDataDiscoverySuccessful
    {
        return Err(ApiError::Conflict(format!(
            "Bills can be read only while the credential is connected; it is {}.",
            row.status_detail
        )));
    }
    let (sealed,): (Option<String>,) =
        sqlx::query_as("SELECT sealed_session_token FROM credentials WHERE id = $1")
            .bind(&row.id)
            .fetch_one(state.db.pool())
            .await?;
    let sealed = sealed
        .ok_or_else(|| ApiError::Conflict("This credential has no session token yet.".into()))?;
    let token = open_token(&state.keyring, &row.id, &sealed)?;
    let rejected = |error: &UtilityError| token_was_rejected(error);
    let accounts = match state.utility.accounts(&row.utility_id, &token).await {
        Ok(accounts) => accounts,
        Err(error) => return Err(bills_error(state, row, &error, rejected(&error)).await),
    };
    let mut statements = Vec::new();
    for account in &accounts {
        match state
            .utility
            .statements(&row.utility_id, &token, &account.account_number)
            .await
        {
            Ok(mut found) => statements.append(&mut found),
            Err(error) => return Err(bills_error(state, row, &error, rejected(&error)).await),
        }
    }
    statements.sort_by(|a, b| {
        b.period_start
            .cmp(&a.period_start)
            .then_with(|| a.account_number.cmp(&b.account_number))
    });
    Ok((accounts, statements))
}

async fn bills_error(
    state: &AppState,
    row: &CredentialRow,
    error: &UtilityError,
    token_rejected: bool,
) -> ApiError {
    if token_rejected {
        let message = "The utility rejected the session token: it has expired.";
        if let Err(failure) = mark_refresh_required(state, &row.id, message, "job:read_bills").await
        {
            return failure.into();
        }
        return ApiError::Conflict(format!(
            "{message} The credential now needs an MFA refresh."
        ));
    }
    if error.is_transient() {
        return ApiError::ServiceUnavailable(
            "The utility is not answering. Try again in a few minutes.".into(),
        );
    }
    ApiError::Internal(anyhow::Error::new(error.clone()).context("Reading bills failed"))
}

#[tracing::instrument(skip_all, fields(credential_id = %row.id))]
pub async fn sync_credential(
    state: &AppState,
    row: &CredentialRow,
    actor: &str,
) -> Result<(), ApiError> {
    let (sealed,): (Option<String>,) =
        sqlx::query_as("SELECT sealed_session_token FROM credentials WHERE id = $1")
            .bind(&row.id)
            .fetch_one(state.db.pool())
            .await?;
    let Some(sealed) = sealed else {
        return Err(ApiError::Conflict(
            "This credential has no session token yet.".into(),
        ));
    };
    let token = open_token(&state.keyring, &row.id, &sealed)?;
    let now = state.clock.now_ms();
    match state.utility.accounts(&row.utility_id, &token).await {
        Ok(accounts) => {
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
        Err(error) if token_was_rejected(&error) => {
            mark_refresh_required(
                state,
                &row.id,
                "The utility rejected the session token: it has expired.",
                actor,
            )
            .await?;
            Ok(())
        }
        Err(error) if error.is_transient() => Err(ApiError::ServiceUnavailable(
            "The utility is not answering. Try again in a few minutes.".into(),
        )),
        Err(error) => Err(ApiError::Internal(
            anyhow::Error::new(error).context("Sync failed"),
        )),
    }
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
