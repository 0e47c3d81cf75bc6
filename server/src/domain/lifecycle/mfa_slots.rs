//! Claiming the right to call the utility during a verification, in the
//! database and before the call: a code check or a send takes its slot with
//! one guarded `UPDATE … RETURNING`, so parallel requests cannot get past the
//! caps, and only one utility call per verification is in flight at a time
//! (two correct codes cannot both complete). A call that did not reach a
//! decision (the utility timed out or failed) gives its slot back.

use shared::{MfaMethod, StatusDetail};

use crate::domain::credentials::store::CredentialRow;
use crate::domain::ctx::Ctx;

/// How long a claimed utility call may run before its claim lapses.
const IN_FLIGHT_MS: i64 = 30_000;
/// The least time between two sends of a code by the same method.
pub const RESEND_COOLDOWN_MS: i64 = 30_000;
/// Codes one credential may have checked at the utility in a day, across
/// every attempt and reconnection.
pub const CODE_CHECKS_PER_DAY: i64 = 100;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Codes that can be sent in one verification attempt (the first and the resends).
pub const MAX_SENDS: i64 = 4;
/// Wrong codes allowed in one verification attempt.
pub const MAX_WRONG_CODES: i64 = 5;
/// Connection attempts an end-user may start for one credential per hour and per day.
pub const ATTEMPTS_PER_HOUR: i64 = 5;
pub const ATTEMPTS_PER_DAY: i64 = 20;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// Records a new connection attempt for `credential_id` inside `tx`, unless
/// the credential reached its hourly or daily ceiling (a reconnect loop would
/// otherwise have the utility send codes without end).
pub async fn claim_login_attempt(
    ctx: &Ctx,
    tx: &mut sqlx::AnyConnection,
    credential_id: &str,
) -> Result<(), NotClaimed> {
    let now = ctx.clock.now_ms();
    ctx.db
        .lock_row(
            tx,
            crate::infra::store::LockedTable::Credentials,
            credential_id,
        )
        .await?;
    let (in_hour, oldest_in_hour, in_day, oldest_in_day): (i64, Option<i64>, i64, Option<i64>) =
        sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE attempted_at > $2), MIN(attempted_at) FILTER (WHERE attempted_at > $2), \
                    COUNT(*), MIN(attempted_at) \
             FROM credential_login_attempts WHERE credential_id = $1 AND attempted_at > $3",
        )
        .bind(credential_id)
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .fetch_one(&mut *tx)
        .await?;
    let refusal = if in_hour >= ATTEMPTS_PER_HOUR {
        Some(oldest_in_hour.unwrap_or(now) + HOUR_MS - now)
    } else if in_day >= ATTEMPTS_PER_DAY {
        Some(oldest_in_day.unwrap_or(now) + DAY_MS - now)
    } else {
        None
    };
    if let Some(retry_after_ms) = refusal {
        return Err(NotClaimed::Refused(Refusal::ConnectingTooOften {
            retry_after_ms,
        }));
    }
    sqlx::query(&login_attempt_sql("$1", "$2"))
        .bind(credential_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records a connection attempt of the credential `credential` (a parameter,
/// like `time`), without checking the ceilings: [`claim_login_attempt`]
/// after its check, or the first attempt of a credential created with it.
pub fn login_attempt_sql(credential: &str, time: &str) -> String {
    format!(
        "INSERT INTO credential_login_attempts (credential_id, attempted_at) VALUES ({credential}, {time})"
    )
}

/// Why a slot could not be claimed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing to check or send now (another request finished the step).
    NotExpected,
    /// Another code or send for this verification is at the utility now.
    InFlight,
    /// The code expired: Gridlink refuses it without asking the utility.
    CodeExpired,
    /// Every wrong code of this attempt was used.
    AttemptsUsed,
    /// Every send of this attempt was used.
    SendsUsed,
    /// Wait this long before another send.
    Cooldown { retry_after_ms: i64 },
    /// The credential's daily ceiling of code checks was reached.
    DailyCeiling { retry_after_ms: i64 },
    /// The credential's hourly or daily ceiling of connection attempts was reached.
    ConnectingTooOften { retry_after_ms: i64 },
}

/// Why a slot or an attempt was not claimed.
#[derive(Debug, thiserror::Error)]
pub enum NotClaimed {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The day window's columns after counting one more code check at `now`.
const COUNT_IN_DAY: &str = "mfa_day_code_checks = CASE WHEN mfa_day_started_at IS NULL OR mfa_day_started_at <= $2 - 86400000 \
       THEN 1 ELSE mfa_day_code_checks + 1 END, \
     mfa_day_started_at = CASE WHEN mfa_day_started_at IS NULL OR mfa_day_started_at <= $2 - 86400000 \
       THEN $2 ELSE mfa_day_started_at END";

/// Claims one code check of `row`'s verification.
pub async fn claim_code_check(ctx: &Ctx, row: &CredentialRow) -> Result<(), NotClaimed> {
    let now = ctx.clock.now_ms();
    let claimed = sqlx::query(&format!(
        "UPDATE credentials SET mfa_wrong_codes = mfa_wrong_codes + 1, mfa_in_flight_until = $2 + {IN_FLIGHT_MS}, \
           mfa_last_activity_at = $2, {COUNT_IN_DAY} \
         WHERE id = $1 AND status_detail = $3 AND mfa_challenge_id IS NOT NULL \
           AND mfa_wrong_codes < {MAX_WRONG_CODES} AND mfa_code_expires_at > $2 \
           AND (mfa_in_flight_until IS NULL OR mfa_in_flight_until <= $2) \
           AND (mfa_day_started_at IS NULL OR mfa_day_started_at <= $2 - {DAY_MS} \
                OR mfa_day_code_checks < {CODE_CHECKS_PER_DAY})"
    ))
    .bind(&row.id)
    .bind(now)
    .bind(StatusDetail::MultiFactorAuthenticationCodeRequired.as_str())
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(());
    }
    Err(NotClaimed::Refused(
        why_refused(ctx, &row.id, now, true).await?,
    ))
}

/// Claims one send by `method`. Sending by the method of the last send is a
/// resend however it was asked for ("Resend code", or choosing the same
/// method again), and waits for the cooldown (case 41); another method may
/// be chosen at once.
pub async fn claim_send(
    ctx: &Ctx,
    row: &CredentialRow,
    method: MfaMethod,
) -> Result<(), NotClaimed> {
    let now = ctx.clock.now_ms();
    let claimed = sqlx::query(&format!(
        "UPDATE credentials SET mfa_sends = mfa_sends + 1, mfa_in_flight_until = $2 + {IN_FLIGHT_MS}, \
           mfa_last_activity_at = $2 \
         WHERE id = $1 AND status_detail IN ($3, $4) AND mfa_challenge_id IS NOT NULL \
           AND mfa_sends < {MAX_SENDS} \
           AND (mfa_in_flight_until IS NULL OR mfa_in_flight_until <= $2) \
           AND (mfa_last_send_at IS NULL OR mfa_method IS NULL OR mfa_method <> $5 \
                OR mfa_last_send_at <= $2 - {RESEND_COOLDOWN_MS})"
    ))
    .bind(&row.id)
    .bind(now)
    .bind(StatusDetail::MultiFactorAuthenticationMethodRequired.as_str())
    .bind(StatusDetail::MultiFactorAuthenticationCodeRequired.as_str())
    .bind(method.wire_name())
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(());
    }
    Err(NotClaimed::Refused(
        why_refused(ctx, &row.id, now, false).await?,
    ))
}

/// The utility decided (a wrong code, a code sent): the slot stays used and
/// the next call may go.
pub async fn release(ctx: &Ctx, credential_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credentials SET mfa_in_flight_until = NULL WHERE id = $1")
        .bind(credential_id)
        .execute(&mut *ctx.db.writer().await?)
        .await?;
    Ok(())
}

/// The utility did not decide (timeout, outage): the code check is given back.
pub async fn give_back_code_check(ctx: &Ctx, credential_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET mfa_wrong_codes = mfa_wrong_codes - 1, \
           mfa_day_code_checks = mfa_day_code_checks - 1, mfa_in_flight_until = NULL \
         WHERE id = $1 AND mfa_wrong_codes > 0 AND mfa_day_code_checks > 0",
    )
    .bind(credential_id)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

/// The utility did not decide: the send is given back.
pub async fn give_back_send(ctx: &Ctx, credential_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET mfa_sends = mfa_sends - 1, mfa_in_flight_until = NULL \
         WHERE id = $1 AND mfa_sends > 0",
    )
    .bind(credential_id)
    .execute(&mut *ctx.db.writer().await?)
    .await?;
    Ok(())
}

/// Reads the row again to say why a claim found nothing to update.
async fn why_refused(
    ctx: &Ctx,
    credential_id: &str,
    now: i64,
    code_check: bool,
) -> Result<Refusal, sqlx::Error> {
    type Row = (
        String,
        Option<i64>,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        i64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT status_detail, mfa_code_expires_at, mfa_wrong_codes, mfa_sends, mfa_in_flight_until, \
           mfa_last_send_at, mfa_day_started_at, mfa_day_code_checks FROM credentials WHERE id = $1",
    )
    .bind(credential_id)
    .fetch_optional(ctx.db.pool())
    .await?;
    let Some((detail, expires, wrong, sends, in_flight, last_send, day_start, day_checks)) = row
    else {
        return Ok(Refusal::NotExpected);
    };
    let detail = StatusDetail::parse(&detail);
    let verifying = if code_check {
        detail == Some(StatusDetail::MultiFactorAuthenticationCodeRequired)
    } else {
        detail.is_some_and(StatusDetail::is_verifying)
    };
    if !verifying {
        return Ok(Refusal::NotExpected);
    }
    if in_flight.is_some_and(|until| until > now) {
        return Ok(Refusal::InFlight);
    }
    if code_check {
        if expires.is_none_or(|at| at <= now) {
            return Ok(Refusal::CodeExpired);
        }
        if wrong >= MAX_WRONG_CODES {
            return Ok(Refusal::AttemptsUsed);
        }
        if let Some(start) = day_start.filter(|start| *start > now - DAY_MS) {
            if day_checks >= CODE_CHECKS_PER_DAY {
                return Ok(Refusal::DailyCeiling {
                    retry_after_ms: start + DAY_MS - now,
                });
            }
        }
        return Ok(Refusal::InFlight);
    }
    if sends >= MAX_SENDS {
        return Ok(Refusal::SendsUsed);
    }
    Ok(match last_send {
        Some(at) if at > now - RESEND_COOLDOWN_MS => Refusal::Cooldown {
            retry_after_ms: at + RESEND_COOLDOWN_MS - now,
        },
        _ => Refusal::InFlight,
    })
}
