//! One-time links mailed to operators: an admin's invitation (the operator
//! chooses their first password; 48 hours) and "Forgot password?" (1 hour;
//! using it ends every session of that operator). Only the hash of a link's
//! token is stored; a link works once.
//!
//! `POST /api/password-reset` answers the same whether or not the address
//! belongs to an operator, and does its work after answering, so neither the
//! words nor the time tell.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use shared::audit::{AuditAction, AuditActorKind};
use shared::operators::{NewPassword, OperatorLink, OperatorLinkPurpose, PasswordResetRequest};
use shared::routes;
use shared::validation::EmailAddress;
use sqlx::AnyConnection;
use time::Duration;

use crate::domain::audit::{self, AuditActor, Target};
use crate::domain::mail::messages;
use crate::domain::mail::outbox::{self, MailKind, OutgoingMail};
use crate::domain::operator_sessions as sessions;
use crate::http::auth::user_agent;
use crate::http::client_ip::ClientIp;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::passwords::{hash_password, validate_new_password};
use crate::infra::tokens;

pub const INVITATION_LIFETIME: Duration = Duration::hours(48);
pub const RESET_LIFETIME: Duration = Duration::hours(1);
/// A second reset mail to one operator within this long is not sent.
const RESET_PAUSE: Duration = Duration::minutes(1);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::session::PASSWORD_RESET, post(request_reset))
        .route(
            routes::session::PASSWORD_LINK,
            axum::routing::get(describe).post(choose_password),
        )
}

/// Issues a link for `operator_id` and queues its mail, in the caller's transaction.
pub async fn mail_link(
    connection: &mut AnyConnection,
    state: &AppState,
    operator_id: &str,
    email: &str,
    purpose: OperatorLinkPurpose,
) -> Result<(), sqlx::Error> {
    let now = state.clock.now_ms();
    let lifetime = match purpose {
        OperatorLinkPurpose::Invitation => INVITATION_LIFETIME,
        OperatorLinkPurpose::PasswordReset => RESET_LIFETIME,
    };
    let expires_at = now + lifetime.whole_milliseconds() as i64;
    let token = tokens::generate("gol_");
    sqlx::query(
        "INSERT INTO operator_links (token_hash, operator_id, purpose, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tokens::hash(&token))
    .bind(operator_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(&mut *connection)
    .await?;
    let link = state
        .settings
        .absolute_url(&format!("/dashboard/set-password/{token}"));
    let content = match purpose {
        OperatorLinkPurpose::Invitation => {
            let (organisation,): (String,) = sqlx::query_as(
                "SELECT o.name FROM organisations o JOIN operators p ON p.organisation_id = o.id WHERE p.id = $1",
            )
            .bind(operator_id)
            .fetch_one(&mut *connection)
            .await?;
            messages::operator_invitation(&organisation, &link, from_ms(expires_at))
        }
        OperatorLinkPurpose::PasswordReset => messages::password_reset(&link, from_ms(expires_at)),
    };
    outbox::enqueue(
        connection,
        &state.keyring,
        &OutgoingMail {
            organisation_id: None,
            credential_id: None,
            kind: match purpose {
                OperatorLinkPurpose::Invitation => MailKind::OperatorInvitation,
                OperatorLinkPurpose::PasswordReset => MailKind::PasswordReset,
            },
            to: email,
            content,
        },
        now,
    )
    .await?;
    Ok(())
}

/// "Forgot password?": always 202 with the same words.
async fn request_reset(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<PasswordResetRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let email = EmailAddress::parse(&body.email)
        .map_err(|error| ApiError::invalid_field("email", error.to_string()))?;
    let asker = AuditActor::new(
        AuditActorKind::Anonymous,
        None,
        email.as_str(),
        client.0.to_string(),
        &user_agent(&headers),
    );
    tokio::spawn(async move {
        if let Err(error) = send_reset(&state, &email, &asker).await {
            tracing::error!(
                error = format!("{error:#}"),
                "a password reset could not be queued"
            );
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "message": "If an operator account uses this address, a link to choose a new password is on its way. It works for one hour."
        })),
    ))
}

async fn send_reset(
    state: &AppState,
    email: &EmailAddress,
    asker: &AuditActor,
) -> anyhow::Result<()> {
    let now = state.clock.now_ms();
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT id, organisation_id FROM operators WHERE email = $1 AND removed_at IS NULL",
    )
    .bind(email.as_str())
    .fetch_optional(state.db.pool())
    .await?;
    let Some((operator_id, organisation_id)) = found else {
        return Ok(());
    };
    let mut tx = state.db.begin_write().await?;
    // Holds the operator's row until commit (PostgreSQL; SQLite writes one at
    // a time anyway), so two requests at once cannot both find no recent
    // link and mail twice.
    sqlx::query("UPDATE operators SET id = id WHERE id = $1")
        .bind(&operator_id)
        .execute(&mut *tx)
        .await?;
    let recent: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM operator_links WHERE operator_id = $1 AND purpose = 'PASSWORD_RESET' AND created_at > $2",
    )
    .bind(&operator_id)
    .bind(now - RESET_PAUSE.whole_milliseconds() as i64)
    .fetch_optional(&mut *tx)
    .await?;
    if recent.is_some() {
        tracing::info!(
            operator_id,
            "password reset asked again within a minute; not mailed twice"
        );
        return Ok(());
    }
    mail_link(
        &mut tx,
        state,
        &operator_id,
        email.as_str(),
        OperatorLinkPurpose::PasswordReset,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        audit::Entry {
            organisation_id: Some(&organisation_id),
            actor: asker,
            action: AuditAction::PasswordResetRequested,
            target: Some(Target::operator(&operator_id)),
            details: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    state.wakeups.mail.notify_one();
    tracing::info!(operator_id, "password reset mailed");
    Ok(())
}

/// operator_id, purpose, expires_at, used_at, email, organisation name, organisation id
type LinkRow = (String, String, i64, Option<i64>, String, String, String);

async fn find(state: &AppState, token: &str) -> Result<LinkRow, ApiError> {
    let row: Option<LinkRow> = sqlx::query_as(
        "SELECT l.operator_id, l.purpose, l.expires_at, l.used_at, p.email, o.name, o.id \
           FROM operator_links l JOIN operators p ON p.id = l.operator_id \
           JOIN organisations o ON o.id = p.organisation_id \
          WHERE l.token_hash = $1 AND p.removed_at IS NULL",
    )
    .bind(tokens::hash(token))
    .fetch_optional(state.db.pool())
    .await?;
    let row = row.ok_or(ApiError::NotFound("This link"))?;
    if row.3.is_some() {
        return Err(ApiError::Conflict(
            "This link was already used. Sign in, or ask for a new one with \"Forgot password?\"."
                .into(),
        ));
    }
    if row.2 <= state.clock.now_ms() {
        return Err(ApiError::Conflict(
            "This link has expired. Ask for a new one with \"Forgot password?\" (or ask an admin for a new invitation).".into(),
        ));
    }
    Ok(row)
}

async fn describe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<OperatorLink>, ApiError> {
    let (_, purpose, expires_at, _, email, organisation_name, _) = find(&state, &token).await?;
    Ok(Json(OperatorLink {
        purpose: OperatorLinkPurpose::parse(&purpose).unwrap_or(OperatorLinkPurpose::PasswordReset),
        email,
        organisation_name,
        expires_at: from_ms(expires_at),
    }))
}

/// Sets the password and uses the link up; every session of the operator ends.
async fn choose_password(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    Json(body): Json<NewPassword>,
) -> Result<StatusCode, ApiError> {
    let (operator_id, purpose, _, _, email, _, organisation_id) = find(&state, &token).await?;
    let mut errors = FieldErrors::default();
    errors.check("newPassword", validate_new_password(&body.new_password));
    errors.finish()?;
    let password_hash = hash_password(body.new_password).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let used = sqlx::query(
        "UPDATE operator_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(tokens::hash(&token))
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() == 0 {
        return Err(ApiError::Conflict("This link was already used.".into()));
    }
    sqlx::query("UPDATE operators SET password_hash = $1, invited_at = NULL WHERE id = $2")
        .bind(password_hash)
        .bind(&operator_id)
        .execute(&mut *tx)
        .await?;
    // Every other link of theirs stops working too.
    sqlx::query(
        "UPDATE operator_links SET used_at = $1 WHERE operator_id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&operator_id)
    .execute(&mut *tx)
    .await?;
    let operator = AuditActor::new(
        AuditActorKind::Operator,
        Some(operator_id.clone()),
        email,
        client.0.to_string(),
        &user_agent(&headers),
    );
    audit::record(
        &mut tx,
        now,
        audit::Entry {
            organisation_id: Some(&organisation_id),
            actor: &operator,
            action: AuditAction::PasswordReset,
            target: Some(Target::operator(&operator_id)),
            details: serde_json::json!({ "link": purpose }),
        },
    )
    .await?;
    tx.commit().await?;
    sessions::delete_all_of(&state, &operator_id).await?;
    tracing::info!(
        operator_id,
        "operator chose a password through a mailed link; their sessions ended"
    );
    Ok(StatusCode::NO_CONTENT)
}
