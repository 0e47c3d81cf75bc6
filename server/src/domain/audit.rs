//! The audit trail: every change an operator, API key, end-user, the CLI or
//! Gridlink makes to an organisation's setup is recorded with who, from where,
//! when and to what — in the transaction of the change itself, so a change is
//! never committed without its record. Rows are append-only (a trigger
//! refuses updates) and leave only by retention.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use shared::audit::{AuditAction, AuditActorKind};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// Who acted, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub kind: AuditActorKind,
    pub id: Option<String>,
    /// The operator's email or the API key's name, as it was then.
    pub name: String,
    /// The client's address; empty for the CLI and Gridlink.
    pub client: String,
    pub user_agent: String,
}

/// The longest user agent kept; the rest is cut.
const USER_AGENT_MAX: usize = 256;

impl AuditActor {
    pub fn new(
        kind: AuditActorKind,
        id: Option<String>,
        name: impl Into<String>,
        client: impl Into<String>,
        user_agent: &str,
    ) -> AuditActor {
        AuditActor {
            kind,
            id,
            name: name.into(),
            client: client.into(),
            user_agent: user_agent.chars().take(USER_AGENT_MAX).collect(),
        }
    }

    /// The `gridlink` command line, run by whoever has the server's shell.
    pub fn cli() -> AuditActor {
        let user = std::env::var("USER").unwrap_or_default();
        AuditActor::new(AuditActorKind::Cli, None, user, "", "")
    }
}

/// What was acted on.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: &'static str,
    pub id: &'a str,
}

impl<'a> Target<'a> {
    pub fn credential(id: &'a str) -> Target<'a> {
        Target {
            kind: "credential",
            id,
        }
    }
    pub fn operator(id: &'a str) -> Target<'a> {
        Target {
            kind: "operator",
            id,
        }
    }
    pub fn api_key(id: &'a str) -> Target<'a> {
        Target {
            kind: "api_key",
            id,
        }
    }
    pub fn organisation(id: &'a str) -> Target<'a> {
        Target {
            kind: "organisation",
            id,
        }
    }
    pub fn webhook_delivery(id: &'a str) -> Target<'a> {
        Target {
            kind: "webhook_delivery",
            id,
        }
    }
    pub fn session(id: &'a str) -> Target<'a> {
        Target {
            kind: "session",
            id,
        }
    }
}

/// One record to write.
#[derive(Debug)]
pub struct Entry<'a> {
    /// `None`: the whole deployment (shown to every organisation).
    pub organisation_id: Option<&'a str>,
    pub actor: &'a AuditActor,
    pub action: AuditAction,
    pub target: Option<Target<'a>>,
    /// Field names, counts, filters: never a secret value.
    pub details: Value,
}

/// The parameters [`insert_sql`] has.
pub const PARAMETERS: usize = 12;

/// The INSERT of one record, its parameters numbered from `$first`, for a
/// batch that writes it together with the change ([`bind`] fills them).
pub fn insert_sql(first: usize) -> String {
    let values: Vec<String> = (first..first + PARAMETERS)
        .map(|n| format!("${n}"))
        .collect();
    format!(
        "INSERT INTO audit_events (id, organisation_id, occurred_at, action, actor_kind, actor_id, \
           actor_name, client, user_agent, target_kind, target_id, details) VALUES ({})",
        values.join(", ")
    )
}

/// Binds `entry`'s [`PARAMETERS`] to `query`, in [`insert_sql`]'s order.
pub fn bind<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    entry: &'q Entry<'q>,
    now_ms: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    let details = match &entry.details {
        Value::Null => "{}".to_owned(),
        details => details.to_string(),
    };
    query
        .bind(record_id(now_ms))
        .bind(entry.organisation_id)
        .bind(now_ms)
        .bind(entry.action.as_str())
        .bind(entry.actor.kind.as_str())
        .bind(entry.actor.id.as_deref())
        .bind(&entry.actor.name)
        .bind(&entry.actor.client)
        .bind(&entry.actor.user_agent)
        .bind(entry.target.map(|target| target.kind))
        .bind(entry.target.map(|target| target.id))
        .bind(details)
}

/// A record's id, `aud_` and 32 hex digits: the time, a counter of this
/// process and random bits, so records sort in the order they were made even
/// within one millisecond (the trail pages by time, then id).
fn record_id(now_ms: i64) -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let made = MADE.fetch_add(1, Ordering::Relaxed);
    let random: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
    format!(
        "aud_{:012x}{made:08x}{random:012x}",
        now_ms.clamp(0, 0xffff_ffff_ffff)
    )
}

/// Writes `entry` at `now_ms` inside `tx`, the transaction of the change.
pub async fn record(
    tx: &mut sqlx::AnyConnection,
    now_ms: i64,
    entry: Entry<'_>,
) -> Result<(), sqlx::Error> {
    let sql = insert_sql(1);
    bind(sqlx::query(&sql), &entry, now_ms)
        .execute(&mut *tx)
        .await?;
    tracing::debug!(action = entry.action.as_str(), "audited");
    Ok(())
}

/// Removes records older than `retention` (the only way one ever leaves);
/// returns how many went.
pub async fn prune(
    db: &crate::infra::store::Database,
    now_ms: i64,
    retention: time::Duration,
) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms - retention.whole_milliseconds() as i64;
    let deleted = sqlx::query("DELETE FROM audit_events WHERE occurred_at < $1")
        .bind(cutoff)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(deleted.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_made_in_one_millisecond_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..100).map(|_| record_id(1_700_000_000_000)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.len() == 4 + 32));
        assert!(record_id(1) < record_id(2));
    }
}
