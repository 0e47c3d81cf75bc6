//! Organisations: created with their first admin operator (by
//! `gridlink create-organisation`, or by demo mode).

use anyhow::Context;
use shared::validation::EmailAddress;

use crate::passwords::{hash_password, validate_new_password};
use crate::store::Database;
use crate::tokens;

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
    let name = name.trim();
    anyhow::ensure!(
        !name.is_empty() && name.chars().count() <= 100,
        "the organisation name must be 1 to 100 characters"
    );
    let email = EmailAddress::parse(admin_email)
        .map_err(|error| anyhow::anyhow!("admin email: {error}"))?;
    validate_new_password(admin_password)
        .map_err(|error| anyhow::anyhow!("admin password: {error}"))?;
    let organisation_id = tokens::new_id("org");
    let operator_id = tokens::new_id("op");
    let password_hash = hash_password(admin_password.to_owned()).await?;
    let mut tx = db.pool().begin().await?;
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
