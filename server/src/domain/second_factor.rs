//! Operators' second factor: an authenticator app (TOTP, RFC 6238: six
//! digits, 30-second steps, one step of clock drift either way) and ten
//! one-time recovery codes. The TOTP secret is sealed with the master key; a
//! code is accepted once (its step is remembered, so neither it nor an older
//! one works again); recovery codes are stored hashed.

use rand::Rng;
use totp_rs::{Algorithm, TOTP};

use crate::domain::ctx::Ctx;
use crate::infra::crypto::Keyring;
use crate::infra::tokens;

/// Seconds a code lasts.
const STEP_SECONDS: i64 = 30;
/// Steps accepted either side of now: a phone's clock may drift.
const DRIFT_STEPS: i64 = 1;
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "Gridlink";

/// The associated data of an operator's sealed TOTP secret.
pub fn secret_associated_data(operator_id: &str) -> String {
    format!("operator:{operator_id}:totp")
}

fn totp(secret: Vec<u8>, account: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS as u64,
        secret,
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// A new, unconfirmed enrolment: the secret in base32, its `otpauth://` URL
/// and that URL as a QR code (SVG).
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// Starts (or restarts) `operator_id`'s enrolment; `None` when they already
/// have a confirmed authenticator (remove it first).
pub async fn start_enrolment(
    ctx: &Ctx,
    operator_id: &str,
    email: &str,
) -> Result<Option<Enrolment>, sqlx::Error> {
    let secret: [u8; 20] = rand::thread_rng().gen();
    let totp = totp(secret.to_vec(), email).expect("a 160-bit secret is valid");
    let sealed = ctx
        .keyring
        .seal(&secret, &secret_associated_data(operator_id));
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query("DELETE FROM operator_totp WHERE operator_id = $1 AND confirmed_at IS NULL")
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO operator_totp (operator_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (operator_id) DO NOTHING",
    )
    .bind(operator_id)
    .bind(sealed)
    .bind(ctx.clock.now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    tx.commit().await?;
    let otpauth_url = totp.get_url();
    Ok(Some(Enrolment {
        secret_base32: totp.get_secret_base32(),
        qr_svg: qr_svg(&otpauth_url),
        otpauth_url,
    }))
}

/// Whether `code` is right for `operator_id`'s authenticator now, and not
/// used before: a right code uses its step up (inside `tx`, so two requests
/// with one code cannot both pass). `confirmed`: only a confirmed
/// authenticator (sign-in, removal) or only the pending one (confirmation).
pub async fn use_code(
    tx: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    operator_id: &str,
    code: &str,
    now_ms: i64,
    confirmed: bool,
) -> Result<bool, sqlx::Error> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(false);
    }
    let row: Option<(String, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT sealed_secret, last_used_step FROM operator_totp WHERE operator_id = $1 AND confirmed_at IS {}NULL",
        if confirmed { "NOT " } else { "" }
    ))
    .bind(operator_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((sealed, last_used_step)) = row else {
        return Ok(false);
    };
    let Ok(secret) = keyring.open(&sealed, &secret_associated_data(operator_id)) else {
        tracing::error!(operator_id, "an operator's TOTP secret did not open");
        return Ok(false);
    };
    let Some(totp) = totp(secret, "") else {
        return Ok(false);
    };
    let now_step = now_ms.div_euclid(1000) / STEP_SECONDS;
    let matched = (now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS).find(|step| {
        let expected = totp.generate((step * STEP_SECONDS) as u64);
        constant_time_equal(expected.as_bytes(), code.as_bytes())
    });
    let Some(step) = matched else {
        return Ok(false);
    };
    if last_used_step.is_some_and(|used| step <= used) {
        tracing::warn!(operator_id, "a TOTP code was used again");
        return Ok(false);
    }
    let used = sqlx::query(
        "UPDATE operator_totp SET last_used_step = $1 \
         WHERE operator_id = $2 AND (last_used_step IS NULL OR last_used_step < $1)",
    )
    .bind(step)
    .bind(operator_id)
    .execute(&mut *tx)
    .await?;
    Ok(used.rows_affected() == 1)
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Confirms the pending authenticator (its code already checked in `tx`)
/// and replaces the recovery codes; returns the new codes, shown once.
pub async fn confirm(
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    now_ms: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query("UPDATE operator_totp SET confirmed_at = $1 WHERE operator_id = $2")
        .bind(now_ms)
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM operator_recovery_codes WHERE operator_id = $1")
        .bind(operator_id)
        .execute(&mut *tx)
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let code = recovery_code();
        sqlx::query("INSERT INTO operator_recovery_codes (operator_id, code_hash) VALUES ($1, $2)")
            .bind(operator_id)
            .bind(tokens::hash(&normalise_recovery_code(&code)))
            .execute(&mut *tx)
            .await?;
        codes.push(code);
    }
    Ok(codes)
}

/// `xxxxx-xxxxx` from an alphabet without look-alikes (50 bits).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let mut part = || -> String {
        (0..5)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect()
    };
    format!("{}-{}", part(), part())
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Uses one of `operator_id`'s recovery codes up, inside `tx`; false when it
/// is not one of theirs or was used.
pub async fn use_recovery_code(
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    code: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query(
        "UPDATE operator_recovery_codes SET used_at = $1 \
         WHERE operator_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now_ms)
    .bind(operator_id)
    .bind(tokens::hash(&normalise_recovery_code(code)))
    .execute(&mut *tx)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Whether `operator_id` has a confirmed authenticator, and their unused
/// recovery codes.
pub async fn status(ctx: &Ctx, operator_id: &str) -> Result<(bool, i64), sqlx::Error> {
    let (enabled, left): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM operator_totp WHERE operator_id = $1 AND confirmed_at IS NOT NULL), \
                (SELECT COUNT(*) FROM operator_recovery_codes WHERE operator_id = $1 AND used_at IS NULL)",
    )
    .bind(operator_id)
    .fetch_one(ctx.db.pool())
    .await?;
    Ok((enabled > 0, left))
}

/// The second factors an operator has.
pub struct Factors {
    /// A confirmed authenticator app.
    pub totp: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

impl Factors {
    /// Whether a sign-in needs a second step.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// `operator_id`'s second factors.
pub async fn factors(ctx: &Ctx, operator_id: &str) -> Result<Factors, sqlx::Error> {
    let (totp, left) = status(ctx, operator_id).await?;
    let (passkeys,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM operator_passkeys WHERE operator_id = $1")
            .bind(operator_id)
            .fetch_one(ctx.db.pool())
            .await?;
    Ok(Factors {
        totp,
        passkeys,
        recovery_codes_left: left,
    })
}

/// Removes the authenticator and the recovery codes, inside `tx`.
pub async fn remove(tx: &mut sqlx::AnyConnection, operator_id: &str) -> Result<(), sqlx::Error> {
    for table in ["operator_totp", "operator_recovery_codes"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE operator_id = $1"))
            .bind(operator_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// `text` as a QR code in an SVG document, drawn as one path of dark modules
/// on a white square with the quiet zone the standard asks for.
pub fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let border = 4;
    let size = qr.size() + border * 2;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/><path d=\"{path}\" fill=\"#000000\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_typed_loosely_and_are_long_enough() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalise_recovery_code(&code.to_uppercase().replace('-', " ")),
            code.replace('-', "")
        );
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_url() {
        let svg = qr_svg("otpauth://totp/Gridlink:a%40b.c?secret=ABC&issuer=Gridlink");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<path d=\"M"));
    }
}
