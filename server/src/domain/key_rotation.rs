//! `gridlink rotate-key`: re-seals every stored secret under the current
//! master key, so an old key can be retired; and `gridlink verify-backup`'s
//! check that every stored secret opens. Each row is re-sealed on its
//! own with a guarded update, so an interrupted rotation resumes where it
//! stopped, and a secret written meanwhile is never overwritten.

use anyhow::Context;

use crate::infra::crypto::Keyring;
use crate::infra::store::Database;

/// What a rotation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    pub already_current: u64,
}

const BATCH: i64 = 500;

/// A sealed column and how its associated data is formed from the row's key.
struct SealedColumn {
    table: &'static str,
    key: &'static str,
    column: &'static str,
    associated_data: fn(&str) -> String,
}

const SEALED_COLUMNS: [SealedColumn; 8] = [
    SealedColumn {
        table: "sso_providers",
        key: "id",
        column: "sealed_client_secret",
        associated_data: crate::domain::single_sign_on::secret_associated_data,
    },
    SealedColumn {
        table: "operator_totp",
        key: "operator_id",
        column: "sealed_secret",
        associated_data: crate::domain::second_factor::secret_associated_data,
    },
    SealedColumn {
        table: "credentials",
        key: "id",
        column: "sealed_password",
        associated_data: |id| format!("credential:{id}:password"),
    },
    SealedColumn {
        table: "credentials",
        key: "id",
        column: "sealed_session_token",
        associated_data: |id| format!("credential:{id}:session_token"),
    },
    SealedColumn {
        table: "webhook_endpoints",
        key: "organisation_id",
        column: "sealed_secret",
        associated_data: crate::infra::webhook_signing::aad,
    },
    SealedColumn {
        table: "webhook_endpoints",
        key: "organisation_id",
        column: "sealed_previous_secret",
        associated_data: crate::infra::webhook_signing::aad,
    },
    SealedColumn {
        table: "mail_outbox",
        key: "id",
        column: "sealed_message",
        associated_data: crate::domain::mail::outbox::associated_data,
    },
    SealedColumn {
        table: "end_user_notices",
        key: "id",
        column: "sealed_link",
        associated_data: crate::domain::mail::notices::link_associated_data,
    },
];

/// How many secrets of one sealed column opened, and how many did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCount {
    pub table: &'static str,
    pub column: &'static str,
    pub opened: u64,
    pub unopened: u64,
}

/// Opens every stored secret (utility passwords, session tokens, webhook
/// signing secrets, queued mail, notices' links) with `keyring`, reading
/// through `connection` only, and counts what opened per column.
pub async fn open_every_secret(
    connection: &mut sqlx::AnyConnection,
    keyring: &Keyring,
) -> Result<Vec<SealedCount>, sqlx::Error> {
    let mut counts = Vec::with_capacity(SEALED_COLUMNS.len());
    for SealedColumn {
        table,
        key,
        column,
        associated_data,
    } in SEALED_COLUMNS
    {
        let mut count = SealedCount {
            table,
            column,
            opened: 0,
            unopened: 0,
        };
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT {key}, {column} FROM {table} WHERE {key} > $1 AND {column} IS NOT NULL AND {column} <> '' ORDER BY {key} LIMIT {BATCH}"
            ))
            .bind(&after)
            .fetch_all(&mut *connection)
            .await?;
            let Some((last_id, _)) = rows.last() else {
                break;
            };
            after = last_id.clone();
            for (id, sealed) in rows {
                match keyring.open(&sealed, &associated_data(&id)) {
                    Ok(_) => count.opened += 1,
                    Err(_) => count.unopened += 1,
                }
            }
        }
        counts.push(count);
    }
    Ok(counts)
}

/// Re-seals every stored secret (utility passwords, session tokens, webhook
/// signing secrets, queued mail, notices' links) not sealed under the current
/// key (the command line's `rotate-key`, audited for every organisation).
pub async fn rotate(db: &Database, keyring: &Keyring) -> anyhow::Result<RotationReport> {
    let current_prefix = format!("v1.{}.", keyring.current().id());
    let mut report = RotationReport::default();
    for SealedColumn {
        table,
        key,
        column,
        associated_data,
    } in SEALED_COLUMNS
    {
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT {key}, {column} FROM {table} WHERE {key} > $1 AND {column} IS NOT NULL AND {column} <> '' ORDER BY {key} LIMIT {BATCH}"
            ))
            .bind(&after)
            .fetch_all(db.pool())
            .await?;
            let Some((last_id, _)) = rows.last() else {
                break;
            };
            after = last_id.clone();
            for (id, sealed) in rows {
                if sealed.starts_with(&current_prefix) {
                    report.already_current += 1;
                    continue;
                }
                let aad = associated_data(&id);
                let plaintext = keyring.open(&sealed, &aad).with_context(|| {
                    format!("Cannot open {table}.{column} of {id}: is its key still configured?")
                })?;
                let resealed = keyring.seal(&plaintext, &aad);
                sqlx::query(&format!(
                    "UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {column} = $3"
                ))
                .bind(resealed)
                .bind(&id)
                .bind(&sealed)
                .execute(&mut *db.writer().await?)
                .await?;
                report.resealed += 1;
            }
        }
    }
    let mut tx = db.begin_write().await?;
    crate::domain::audit::record(
        &mut tx,
        crate::infra::clock::Clock::default().now_ms(),
        crate::domain::audit::Entry {
            organisation_id: None,
            actor: &crate::domain::audit::AuditActor::cli(),
            action: shared::audit::AuditAction::MasterKeyRotated,
            target: None,
            details: serde_json::json!({
                "keyId": keyring.current().id(),
                "resealed": report.resealed,
                "alreadyCurrent": report.already_current,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}
