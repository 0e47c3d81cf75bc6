//! A connection attempt, shared by the login worker and Connect: a challenge
//! that waits for the end-user, a code sent, a wrong code, a verification that
//! fails, and a session token that completes the connection.

use shared::connect::MfaOption;
use shared::{MfaMethod, StatusDetail};

use super::events::{
    record_event, transition_alone, AlsoWrite, EventKind, NewEvent, Transition, Value,
};
use crate::domain::credentials::secrets::seal_token;
use crate::domain::credentials::store::{CredentialRow, COLUMNS};
use crate::domain::ctx::Ctx;
use crate::infra::clock::{from_ms, to_ms};
use crate::infra::utility::{CodeSent, MfaChallenge, SessionToken};

/// The utility wants a code: store the challenge and ask for a method (and
/// end the login request made at `ends_login`, when it did so).
pub async fn start_challenge(
    ctx: &Ctx,
    row: &CredentialRow,
    challenge: &MfaChallenge,
    ends_login: Option<i64>,
    actor: &str,
) -> anyhow::Result<bool> {
    let now = ctx.clock.now_ms();
    let options: Vec<MfaOption> = challenge
        .options
        .iter()
        .map(|option| MfaOption {
            method: option.method,
            destination: option.destination.clone(),
        })
        .collect();
    let methods: Vec<&str> = options.iter().map(|option| option.method.label()).collect();
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
    let options = serde_json::to_string(&options)?;
    let challenge_columns = AlsoWrite::columns(
        "mfa_challenge_id = $6, mfa_options = $7, mfa_method = NULL, mfa_destination = NULL, \
         mfa_code_expires_at = NULL, mfa_sends = 0, mfa_wrong_codes = 0, mfa_in_flight_until = NULL, \
         mfa_last_send_at = NULL, mfa_last_activity_at = $2",
        vec![
            Value::Text(Some(&challenge.challenge_id)),
            Value::Text(Some(&options)),
        ],
    )
    .ending_login(ends_login);
    Ok(
        transition_alone(&ctx.db, &change, &challenge_columns, None, now)
            .await?
            .is_some(),
    )
}

/// The utility issued a session: seal and store it, mark the credential
/// connected, and complete the Connect sessions that were waiting for it
/// (an update link is used up this way); also ends the login request made at
/// `ends_login`, when the login worker connected it. The credential as
/// connected, when this call connected it.
pub async fn complete_connection(
    ctx: &Ctx,
    row: &CredentialRow,
    session: &SessionToken,
    ends_login: Option<i64>,
    actor: &str,
) -> anyhow::Result<Option<CredentialRow>> {
    let now = ctx.clock.now_ms();
    // A stated expiry, or (the utility says nothing) one predicted from the
    // lives of its recent tokens, or none while there is no history.
    let (expires_at, predicted, message) = match session.expires_at {
        Some(at) => {
            let at = to_ms(at);
            let message = format!(
                "Connected. The session token is valid until {}.",
                from_ms(at).date()
            );
            (Some(at), false, message)
        }
        None => {
            let mut connection = ctx.db.pool().acquire().await?;
            match crate::domain::lifetimes::predicted_life(&mut connection, &row.utility_id, now)
                .await?
            {
                Some((life, observed)) => (
                    Some(now + life),
                    true,
                    format!(
                        "Connected. The utility does not say how long the session token lasts; \
                         predicted until {} from {observed} tokens seen before.",
                        from_ms(now + life).date()
                    ),
                ),
                None => (
                    None,
                    true,
                    "Connected. The utility does not say how long the session token lasts, \
                     and no token of it has been seen ending yet."
                        .to_owned(),
                ),
            }
        }
    };
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::LoginAndDataDiscoverySuccessful,
        actor,
        message,
    };
    let sealed = seal_token(&ctx.keyring, &row.id, &session.secret);
    let session_columns = AlsoWrite::columns(
        "sealed_session_token = $6, token_expires_at = $7, mfa_challenge_id = NULL, \
         mfa_options = NULL, mfa_method = NULL, mfa_destination = NULL, mfa_code_expires_at = NULL, \
         mfa_sends = 0, mfa_wrong_codes = 0, mfa_last_activity_at = NULL, mfa_in_flight_until = NULL, \
         mfa_last_send_at = NULL, first_connected_at = COALESCE(first_connected_at, $2), last_fresh_at = $2, \
         next_sync_at = $2, sync_lease_until = NULL, sync_failures = 0, expiry_warned_at = NULL, \
         token_issued_at = $2, token_expiry_predicted = $8, token_idle_timeout_ms = $9",
        vec![
            Value::Text(Some(&sealed)),
            Value::Integer(expires_at),
            Value::Integer(Some(i64::from(predicted))),
            Value::Integer(
                session
                    .idle_timeout
                    .map(|idle| i64::try_from(idle.as_millis()).unwrap_or(i64::MAX)),
            ),
        ],
    )
    .ending_login(ends_login);
    let waiting_sessions = super::sessions::complete_waiting(&row.id, now);
    let connected = transition_alone(
        &ctx.db,
        &change,
        &session_columns,
        Some(&waiting_sessions),
        now,
    )
    .await?;
    if connected.is_some() {
        // The first sync runs right away.
        ctx.wakeups.syncs.notify_one();
    }
    Ok(connected)
}

/// A code is on its way: CODE_REQUIRED after the first send (a resend or
/// another method is an MFA_CODE_SENT event), and the method, destination and
/// expiry remembered. The credential as this left it; None when it had moved
/// on (or was deactivated) meanwhile.
pub async fn code_sent(
    ctx: &Ctx,
    row: &CredentialRow,
    method: MfaMethod,
    sent: &CodeSent,
    actor: &str,
) -> Result<Option<CredentialRow>, sqlx::Error> {
    let now = ctx.clock.now_ms();
    let message = format!("Code sent by {} to {}.", method.label(), sent.destination);
    let code_expires_at = to_ms(sent.code_expires_at);
    if row.status_detail == StatusDetail::MultiFactorAuthenticationMethodRequired {
        let change = Transition {
            credential_id: &row.id,
            from: row.status_detail,
            to: StatusDetail::MultiFactorAuthenticationCodeRequired,
            actor,
            message,
        };
        let sent_columns = AlsoWrite::columns(
            &code_sent_columns(6, "$2"),
            vec![
                Value::Text(Some(method.wire_name())),
                Value::Text(Some(&sent.destination)),
                Value::Integer(Some(code_expires_at)),
            ],
        );
        return transition_alone(&ctx.db, &change, &sent_columns, None, now).await;
    }
    let event = NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind: EventKind::MfaCodeSent,
        change: None,
        actor,
        message: &message,
    };
    let mut tx = ctx.db.begin_write().await?;
    record_event(&mut tx, &event, now).await?;
    let updated = sqlx::query(&format!(
        "UPDATE credentials SET {} WHERE id = $5 AND deactivated_at IS NULL RETURNING {COLUMNS}",
        code_sent_columns(1, "$4")
    ))
    .bind(method.wire_name())
    .bind(&sent.destination)
    .bind(code_expires_at)
    .bind(now)
    .bind(&row.id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    updated.as_ref().map(CredentialRow::from_row).transpose()
}

/// The columns a code sent sets: the method, destination and expiry (the
/// parameters from `first` on, in that order) and the time `now` (a parameter).
fn code_sent_columns(first: usize, now: &str) -> String {
    let (method, destination, expires) = (first, first + 1, first + 2);
    format!(
        "mfa_method = ${method}, mfa_destination = ${destination}, mfa_code_expires_at = ${expires}, \
         mfa_in_flight_until = NULL, mfa_last_send_at = {now}, mfa_last_activity_at = {now}"
    )
}

/// A wrong code (already counted when its check was claimed): the check is
/// over, MFA_CODE_REJECTED with the attempts `left` on the timeline.
pub async fn wrong_code(
    ctx: &Ctx,
    row: &CredentialRow,
    left: i64,
    actor: &str,
) -> Result<(), sqlx::Error> {
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query(
        "UPDATE credentials SET mfa_in_flight_until = NULL, mfa_last_activity_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(&row.id)
    .execute(&mut *tx)
    .await?;
    let message = format!("A wrong code was entered; {left} attempts left.");
    let event = NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind: EventKind::MfaCodeRejected,
        change: None,
        actor,
        message: &message,
    };
    record_event(&mut tx, &event, now).await?;
    tx.commit().await
}

/// Ends the verification as MULTI_FACTOR_AUTHENTICATION_FAILED and forgets
/// the challenge; false when the credential had moved on meanwhile.
pub async fn fail_verification(
    ctx: &Ctx,
    row: &CredentialRow,
    actor: &str,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let change = Transition {
        credential_id: &row.id,
        from: row.status_detail,
        to: StatusDetail::MultiFactorAuthenticationFailed,
        actor,
        message: message.to_owned(),
    };
    let forget_challenge = AlsoWrite::columns(
        "mfa_challenge_id = NULL, mfa_in_flight_until = NULL",
        Vec::new(),
    );
    Ok(transition_alone(
        &ctx.db,
        &change,
        &forget_challenge,
        None,
        ctx.clock.now_ms(),
    )
    .await?
    .is_some())
}
