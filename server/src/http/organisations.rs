//! Organisations: created with their first admin operator (by
//! `gridlink create-organisation`, or by demo mode), and their settings
//! (`/api/v1/organisation`): Connect's branding and the origins allowed to embed it.

use anyhow::Context;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use shared::connect::Branding;
use shared::i18n::Language;
use shared::operators::{NotifyEndUsers, OrganisationSettings, OrganisationSettingsChange};
use shared::validation::{AccentColor, DisplayName, EmailAddress, EmbedOrigin, HttpsUrl};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::http::auth::{Actor, AdminOperator};
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::Json;
use crate::http::state::AppState;
use crate::infra::passwords::{hash_password, validate_new_password};
use crate::infra::store::{Database, DatabaseKind};
use crate::infra::tokens;

/// Origins an organisation may list for embedding.
const MAX_EMBED_ORIGINS: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/organisation", get(read_settings).put(change_settings))
}

/// The columns [`branding_of`] decodes: the name and branding of the
/// organisation aliased `o`, its embed origins as one JSON array. Connect's
/// every answer carries them, so they are read with the session in one
/// statement (`connect::session`).
pub fn branding_columns(kind: DatabaseKind) -> &'static str {
    match kind {
        DatabaseKind::Sqlite => {
            "o.name AS organisation_name, o.logo_url, o.accent_color, o.terms_url, o.privacy_url, \
             o.connect_language, o.notify_end_users, \
             (SELECT json_group_array(origin) FROM \
               (SELECT origin FROM embed_origins WHERE organisation_id = o.id ORDER BY origin)) AS embed_origins"
        }
        DatabaseKind::Postgres => {
            "o.name AS organisation_name, o.logo_url, o.accent_color, o.terms_url, o.privacy_url, \
             o.connect_language, o.notify_end_users, \
             (SELECT CAST(COALESCE(json_agg(origin ORDER BY origin), '[]') AS TEXT) \
               FROM embed_origins WHERE organisation_id = o.id) AS embed_origins"
        }
    }
}

/// The organisation's name and branding from a row read with [`branding_columns`].
pub fn branding_of(row: &AnyRow) -> Result<(String, Branding), sqlx::Error> {
    let origins: String = row.try_get("embed_origins")?;
    let embed_origins: Vec<String> = serde_json::from_str(&origins)
        .map_err(|error| sqlx::Error::Decode(format!("embed origins: {error}").into()))?;
    let language: String = row.try_get("connect_language")?;
    let notify: String = row.try_get("notify_end_users")?;
    Ok((
        row.try_get("organisation_name")?,
        Branding {
            logo_url: row.try_get("logo_url")?,
            accent_color: row.try_get("accent_color")?,
            terms_url: row.try_get("terms_url")?,
            privacy_url: row.try_get("privacy_url")?,
            embed_origins,
            default_language: Language::from_tag(&language).unwrap_or_default(),
            notify_end_users: NotifyEndUsers::parse(&notify).unwrap_or_default(),
        },
    ))
}

/// The organisation's name and branding, as Connect shows them, in one query.
pub async fn branding(
    db: &Database,
    organisation_id: &str,
) -> Result<(String, Branding), sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM organisations o WHERE o.id = $1",
        branding_columns(db.kind())
    ))
    .bind(organisation_id)
    .fetch_one(db.pool())
    .await?;
    branding_of(&row)
}

pub async fn embed_origins(
    db: &Database,
    organisation_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT origin FROM embed_origins WHERE organisation_id = $1 ORDER BY origin",
    )
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(origin,)| origin).collect())
}

async fn settings(db: &Database, organisation_id: &str) -> Result<OrganisationSettings, ApiError> {
    let (name, branding) = branding(db, organisation_id).await?;
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
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "UPDATE organisations SET name = $1, logo_url = $2, accent_color = $3, terms_url = $4, privacy_url = $5, \
           connect_language = $6, notify_end_users = $7 WHERE id = $8",
    )
    .bind(&name)
    .bind(logo_url)
    .bind(accent_color)
    .bind(terms_url)
    .bind(privacy_url)
    .bind(body.connect_language.code())
    .bind(body.notify_end_users.as_str())
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
    tx.commit().await?;
    state.wakeups.notices.notify_one();
    Ok(Json(settings(&state.db, &actor.organisation_id).await?))
}

/// The ids of a new organisation and its admin.
#[derive(Debug, Clone)]
pub struct CreatedOrganisation {
    pub organisation_id: String,
    pub operator_id: String,
}

/// Creates an organisation and its first admin operator.
pub async fn create_with_admin(
    db: &Database,
    name: &str,
    admin_email: &str,
    admin_password: &str,
    now_ms: i64,
) -> anyhow::Result<CreatedOrganisation> {
    let name =
        DisplayName::parse(name).map_err(|error| anyhow::anyhow!("organisation name: {error}"))?;
    let name = name.as_str();
    let email = EmailAddress::parse(admin_email)
        .map_err(|error| anyhow::anyhow!("admin email: {error}"))?;
    validate_new_password(admin_password)
        .map_err(|error| anyhow::anyhow!("admin password: {error}"))?;
    let organisation_id = tokens::new_id("org");
    let operator_id = tokens::new_id("op");
    let password_hash = hash_password(admin_password.to_owned()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&organisation_id)
        .bind(name)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO operators (id, organisation_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, 'ADMIN', $5)",
    )
    .bind(&operator_id)
    .bind(&organisation_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now_ms)
    .execute(&mut *tx)
    .await
    .context("Failed to create the admin operator (is the email already used?)")?;
    tx.commit().await?;
    Ok(CreatedOrganisation {
        organisation_id,
        operator_id,
    })
}
