//! Organisations as data: created with their first admin operator (by
//! `gridlink create-organisation`, or by demo mode), their name, Connect's
//! branding and the origins allowed to embed Connect.

use anyhow::Context;
use shared::connect::Branding;
use shared::i18n::Language;
use shared::operators::NotifyEndUsers;
use shared::validation::{DisplayName, EmailAddress};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::infra::passwords::{hash_password, validate_new_password};
use crate::infra::store::{Database, DatabaseKind};
use crate::infra::tokens;

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

/// The ids of a new organisation and its admin.
#[derive(Debug, Clone)]
pub struct CreatedOrganisation {
    pub organisation_id: String,
    pub operator_id: String,
}

/// Creates an organisation and its first admin operator (the command line's
/// `create-organisation`, audited as such).
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
    crate::domain::audit::record(
        &mut tx,
        now_ms,
        crate::domain::audit::Entry {
            organisation_id: Some(&organisation_id),
            actor: &crate::domain::audit::AuditActor::cli(),
            action: shared::audit::AuditAction::OrganisationCreated,
            target: Some(crate::domain::audit::Target::organisation(&organisation_id)),
            details: serde_json::json!({ "name": name, "adminEmail": email.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedOrganisation {
        organisation_id,
        operator_id,
    })
}
