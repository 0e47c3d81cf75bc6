//! An organisation's settings (`/api/v1/organisation`): Connect's branding
//! and the origins allowed to embed it. The data is in
//! [`crate::domain::organisations`].

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use shared::audit::AuditAction;
use shared::operators::{OrganisationSettings, OrganisationSettingsChange};
use shared::routes;
use shared::validation::{AccentColor, DisplayName, EmbedOrigin, HttpsUrl};

use crate::domain::audit::Target;
use crate::domain::organisations::branding;
use crate::http::auth::{Actor, AdminOperator, Principal};
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::Json;
use crate::http::state::AppState;
use crate::infra::store::Database;

/// Origins an organisation may list for embedding.
const MAX_EMBED_ORIGINS: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new().route(
        routes::v1::ORGANISATION,
        get(read_settings).put(change_settings),
    )
}

async fn settings(db: &Database, organisation_id: &str) -> Result<OrganisationSettings, ApiError> {
    let (name, branding) = branding(db, organisation_id).await?;
    let (require_second_factor, allow_passkey_sign_in): (i64, i64) = sqlx::query_as(
        "SELECT require_second_factor, allow_passkey_sign_in FROM organisations WHERE id = $1",
    )
    .bind(organisation_id)
    .fetch_one(db.pool())
    .await?;
    Ok(OrganisationSettings {
        id: organisation_id.to_owned(),
        name,
        logo_url: branding.logo_url,
        accent_color: branding.accent_color,
        terms_url: branding.terms_url,
        privacy_url: branding.privacy_url,
        embed_origins: branding.embed_origins,
        connect_language: branding.default_language,
        notify_end_users: branding.notify_end_users,
        require_second_factor: require_second_factor != 0,
        allow_passkey_sign_in: allow_passkey_sign_in != 0,
    })
}

async fn read_settings(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<OrganisationSettings>, ApiError> {
    Ok(Json(settings(&state.db, &actor.organisation_id).await?))
}

fn optional_url(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
    let value = value.map(str::trim).filter(|value| !value.is_empty())?;
    errors
        .check(field, HttpsUrl::parse(value))
        .map(|url| url.as_str().to_owned())
}

/// The wire names of the settings that differ between `before` and `after`.
fn changed_fields(before: &OrganisationSettings, after: &OrganisationSettings) -> Vec<String> {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(field, value)| before.get(*field) != Some(*value))
        .map(|(field, _)| field.clone())
        .collect()
}

/// Replaces the settings (admins).
async fn change_settings(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Json(body): Json<OrganisationSettingsChange>,
) -> Result<Json<OrganisationSettings>, ApiError> {
    let mut errors = FieldErrors::default();
    if body
        .id
        .as_ref()
        .is_some_and(|id| *id != actor.organisation_id)
    {
        errors.add(
            "id",
            "The id is read-only; send the organisation's own id or leave it out.",
        );
    }
    let name = errors
        .check("name", DisplayName::parse(&body.name))
        .map(|name| name.as_str().to_owned())
        .unwrap_or_default();
    let logo_url = optional_url(&mut errors, "logoUrl", body.logo_url.as_deref());
    let terms_url = optional_url(&mut errors, "termsUrl", body.terms_url.as_deref());
    let privacy_url = optional_url(&mut errors, "privacyUrl", body.privacy_url.as_deref());
    let accent_color = match body
        .accent_color
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
    {
        Some(value) => errors
            .check("accentColor", AccentColor::parse(value))
            .map(|color| color.as_str().to_owned()),
        None => None,
    };
    let mut origins: Vec<String> = Vec::new();
    for (index, value) in body.embed_origins.iter().enumerate() {
        match EmbedOrigin::parse(value) {
            Ok(origin) if !origins.contains(&origin.as_str().to_owned()) => {
                origins.push(origin.as_str().to_owned())
            }
            Ok(_) => {}
            Err(error) => errors.add(&format!("embedOrigins[{index}]"), error.to_string()),
        }
    }
    if origins.len() > MAX_EMBED_ORIGINS {
        errors.add("embedOrigins", "List at most 20 origins.");
    }
    errors.finish()?;
    let before = settings(&state.db, &actor.organisation_id).await?;
    if body.require_second_factor && !before.require_second_factor {
        let Principal::Operator { id, .. } = &actor.principal else {
            unreachable!("AdminOperator is an operator")
        };
        if !crate::domain::second_factor::factors(&state, id)
            .await?
            .any()
        {
            return Err(ApiError::invalid_field(
                "requireSecondFactor",
                "Set up two-factor sign-in for yourself first (on your account page), then require it of everyone.",
            ));
        }
    }
    let after = OrganisationSettings {
        id: actor.organisation_id.clone(),
        name: name.clone(),
        logo_url: logo_url.clone(),
        accent_color: accent_color.clone(),
        terms_url: terms_url.clone(),
        privacy_url: privacy_url.clone(),
        embed_origins: origins.clone(),
        connect_language: body.connect_language,
        notify_end_users: body.notify_end_users,
        require_second_factor: body.require_second_factor,
        allow_passkey_sign_in: body.allow_passkey_sign_in,
    };
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "UPDATE organisations SET name = $1, logo_url = $2, accent_color = $3, terms_url = $4, privacy_url = $5, \
           connect_language = $6, notify_end_users = $7, require_second_factor = $8, \
           allow_passkey_sign_in = $9 WHERE id = $10",
    )
    .bind(&name)
    .bind(logo_url)
    .bind(accent_color)
    .bind(terms_url)
    .bind(privacy_url)
    .bind(body.connect_language.code())
    .bind(body.notify_end_users.as_str())
    .bind(i64::from(body.require_second_factor))
    .bind(i64::from(body.allow_passkey_sign_in))
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM embed_origins WHERE organisation_id = $1")
        .bind(&actor.organisation_id)
        .execute(&mut *tx)
        .await?;
    for origin in &origins {
        sqlx::query(
            "INSERT INTO embed_origins (organisation_id, origin, created_at) VALUES ($1, $2, $3)",
        )
        .bind(&actor.organisation_id)
        .bind(origin)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    actor
        .audit(
            &mut tx,
            now,
            AuditAction::OrganisationSettingsChanged,
            Some(Target::organisation(&actor.organisation_id)),
            json!({ "fields": changed_fields(&before, &after) }),
        )
        .await?;
    tx.commit().await?;
    state.wakeups.notices.notify_one();
    Ok(Json(settings(&state.db, &actor.organisation_id).await?))
}
