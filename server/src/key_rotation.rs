//! `gridlink rotate-key`: re-seals every stored secret under the current
//! master key, so an old key can be retired. Each row is re-sealed on its
//! own with a guarded update, so an interrupted rotation resumes where it
//! stopped, and a secret written meanwhile is never overwritten.

use anyhow::Context;

use crate::crypto::Keyring;
use crate::store::Database;

/// What a rotation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    pub already_current: u64,
}

const BATCH: i64 = 500;

/// Re-seals every password and session token not sealed under the current key.
pub async fn rotate(db: &Database, keyring: &Keyring) -> anyhow::Result<RotationReport> {
    let current_prefix = format!("v1.{}.", keyring.current().id());
    let mut report = RotationReport::default();
    for column in ["sealed_password", "sealed_session_token"] {
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT id, {column} FROM credentials WHERE id > $1 AND {column} IS NOT NULL ORDER BY id LIMIT {BATCH}"
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
                let aad = match column {
                    "sealed_password" => format!("credential:{id}:password"),
                    _ => format!("credential:{id}:session_token"),
                };
                let plaintext = keyring.open(&sealed, &aad).with_context(|| {
                    format!(
                        "Cannot open the {column} of credential {id}: is its key still configured?"
                    )
                })?;
                let resealed = keyring.seal(&plaintext, &aad);
                sqlx::query(&format!(
                    "UPDATE credentials SET {column} = $1 WHERE id = $2 AND {column} = $3"
                ))
                .bind(resealed)
                .bind(&id)
                .bind(&sealed)
                .execute(db.pool())
                .await?;
                report.resealed += 1;
            }
        }
    }
    Ok(report)
}
