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
