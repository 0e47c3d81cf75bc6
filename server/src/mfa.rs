//! The two ends of a connection attempt, shared by the login worker and
//! Connect: a challenge that waits for the end-user, and a session token that
//! completes the connection.

use shared::connect::MfaOption;
use shared::StatusDetail;

use crate::clock::{from_ms, to_ms};
use crate::credentials::secrets::seal_token;
use crate::credentials::status::{transition, Transition};
use crate::credentials::store::CredentialRow;
use crate::state::AppState;
use crate::utility::{MfaChallenge, SessionToken};

/// The utility wants a code: store the challenge and ask for a method.
pub async fn start_challenge(
    state: &AppState,
    row: &CredentialRow,
    challenge: &MfaChallenge,
    actor: &str,
) -> anyhow::Result<bool> {
    let now = state.clock.now_ms();
    let options: Vec<MfaOption> = challenge
        .options
        .iter()
        .map(|option| MfaOption {
            method: option.method,
            destination: option.destination.clone(),
        })
        .collect();
    let methods: Vec<&str> = options.iter().map(|option| option.method.label()).collect();
    let mut tx = state.db.begin_write().await?;
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::MultiFactorAuthenticationMethodRequired,
        actor,
        message: format!(
            "The utility asks for a verification code ({}).",
            methods.join(", ")
        ),
    };
    let changed = transition(&mut tx, &change, now).await?;
    if changed {
        sqlx::query(
            "UPDATE credentials SET mfa_challenge_id = $1, mfa_options = $2, mfa_method = NULL, mfa_destination = NULL, \
               mfa_code_expires_at = NULL, mfa_sends = 0, mfa_wrong_codes = 0, mfa_in_flight_until = NULL, \
               mfa_last_send_at = NULL, mfa_last_activity_at = $3 WHERE id = $4",
        )
        .bind(&challenge.challenge_id)
        .bind(serde_json::to_string(&options)?)
        .bind(now)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The utility issued a session: seal and store it, mark the credential
/// connected, and complete the Connect sessions that were waiting for it
/// (an update link is used up this way).
pub async fn complete_connection(
    state: &AppState,
    row: &CredentialRow,
    session: &SessionToken,
    actor: &str,
) -> anyhow::Result<bool> {
    let now = state.clock.now_ms();
    let expires_at = to_ms(session.expires_at);
    let mut tx = state.db.begin_write().await?;
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::LoginAndDataDiscoverySuccessful,
        actor,
        message: format!(
            "Connected. The session token is valid until {}.",
            from_ms(expires_at).date()
        ),
    };
    let changed = transition(&mut tx, &change, now).await?;
    if changed {
        sqlx::query(
            "UPDATE credentials SET sealed_session_token = $1, token_expires_at = $2, mfa_challenge_id = NULL, \
               mfa_options = NULL, mfa_method = NULL, mfa_destination = NULL, mfa_code_expires_at = NULL, \
               mfa_sends = 0, mfa_wrong_codes = 0, mfa_last_activity_at = NULL, mfa_in_flight_until = NULL, \
               mfa_last_send_at = NULL, first_connected_at = COALESCE(first_connected_at, $4), last_fresh_at = $4, next_sync_at = $4, \
               sync_lease_until = NULL, sync_failures = 0, expiry_warned_at = NULL WHERE id = $3",
        )
        .bind(seal_token(&state.keyring, &row.id, &session.secret))
        .bind(expires_at)
        .bind(&row.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE connect_sessions SET completed_at = $1 WHERE credential_id = $2 \
               AND attempt_started_at IS NOT NULL AND completed_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if changed {
        // The first sync runs right away.
        state.wakeups.syncs.notify_one();
    }
    Ok(changed)
}
