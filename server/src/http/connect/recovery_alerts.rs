//! `POST /api/connect/recovery-alert`: when Connect says a utility is having
//! trouble right now, the end-user may leave an address to hear when it works
//! again ([`crate::domain::incidents::recovery_alerts`] mails them then).

use axum::extract::State;
use axum::http::StatusCode;
use shared::connect::{RecoveryAlert, RecoveryAlertRequest};
use shared::validation::{mask_email, EmailAddress};

use super::session::ConnectSession;
use crate::domain::incidents::recovery_alerts::{self, NewAlert};
use crate::http::credentials::check_utility;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::Json;
use crate::http::state::AppState;

/// Records the address for the utility's open incident; 409 when the
/// utility has none (it works: the end-user can connect now).
pub async fn request_alert(
    State(state): State<AppState>,
    session: ConnectSession,
    Json(body): Json<RecoveryAlertRequest>,
) -> Result<(StatusCode, Json<RecoveryAlert>), ApiError> {
    session.require_open()?;
    let language = session.language;
    let mut errors = FieldErrors::default();
    let email = errors.check(
        "email",
        EmailAddress::parse(&body.email).map_err(|error| error.in_language(language)),
    );
    check_utility(&state, &mut errors, "utilityId", &body.utility_id).await?;
    errors.finish()?;
    let Some(email) = email else {
        unreachable!("FieldErrors::finish returned Ok, so the address parsed")
    };
    let incident: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM utility_incidents WHERE utility_id = $1 AND resolved_at IS NULL",
    )
    .bind(&body.utility_id)
    .fetch_optional(state.db.pool())
    .await?;
    let Some((incident_id,)) = incident else {
        let utility = state.utilities.name_of(&body.utility_id).await;
        return Err(ApiError::Conflict(
            language.recovery_alert_not_needed(utility),
        ));
    };
    let mut tx = state.db.begin_write().await?;
    recovery_alerts::record(
        &mut tx,
        &NewAlert {
            organisation_id: &session.organisation_id,
            incident_id: &incident_id,
            utility_id: &body.utility_id,
            session_id: &session.id,
            email: email.as_str(),
            language,
        },
        state.clock.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RecoveryAlert {
            utility_id: body.utility_id,
            email: mask_email(email.as_str()),
        }),
    ))
}
