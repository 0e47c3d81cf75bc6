//! The mail queue. A message is written in the transaction of the change it
//! tells about and sent later by the mail job, so a mail server outage loses
//! nothing and a rolled-back change mails nobody. Its words are sealed with
//! the master key (they may hold an update link; the database keeps only the
//! hash of a link token in the clear) and fixed here, so every attempt sends
//! the same message under the same `Message-ID`.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::infra::crypto::Keyring;

/// Attempts stop this long after a message was queued.
pub const RETRY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// What a message is for (stored as `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// The first mail of a notice sequence: a new update link.
    RefreshNotice,
    /// A reminder of the same link.
    RefreshReminder,
    OperatorInvitation,
    PasswordReset,
    /// The utility works again: a fresh Connect link, the one mail the
    /// end-user asked for in Connect.
    UtilityRecovered,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::RefreshNotice => "REFRESH_NOTICE",
            MailKind::RefreshReminder => "REFRESH_REMINDER",
            MailKind::OperatorInvitation => "OPERATOR_INVITATION",
            MailKind::PasswordReset => "PASSWORD_RESET",
            MailKind::UtilityRecovered => "UTILITY_RECOVERED",
        }
    }
}

/// A message's words, as sealed in the queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// The sender's display name (the organisation's, for end-user mail).
    pub from_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Where a click unsubscribes (`List-Unsubscribe`, one-click).
    pub unsubscribe_url: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct OutgoingMail<'a> {
    pub organisation_id: Option<&'a str>,
    pub credential_id: Option<&'a str>,
    pub kind: MailKind,
    pub to: &'a str,
    pub content: Content,
}

/// What the key seals a message under: its id, so a sealed message moved to
/// another row does not open.
pub fn associated_data(id: &str) -> String {
    format!("mail_outbox:{id}")
}

/// `mail_` + the creation time + 64 random bits (ids made together sort together).
fn mail_id(now_ms: i64) -> String {
    format!(
        "mail_{:012x}{:016x}",
        now_ms.max(0),
        rand::thread_rng().gen::<u64>()
    )
}

/// Queues `mail`; returns its id.
pub async fn enqueue(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    mail: &OutgoingMail<'_>,
    now_ms: i64,
) -> Result<String, sqlx::Error> {
    let id = mail_id(now_ms);
    let content = serde_json::to_vec(&mail.content).expect("mail content serialises");
    sqlx::query(
        "INSERT INTO mail_outbox (id, organisation_id, credential_id, kind, recipient, sealed_message, \
           state, attempts, next_attempt_at, give_up_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 0, $7, $8, $7)",
    )
    .bind(&id)
    .bind(mail.organisation_id)
    .bind(mail.credential_id)
    .bind(mail.kind.as_str())
    .bind(mail.to)
    .bind(keyring.seal(&content, &associated_data(&id)))
    .bind(now_ms)
    .bind(now_ms + RETRY_WINDOW_MS)
    .execute(connection)
    .await?;
    Ok(id)
}
