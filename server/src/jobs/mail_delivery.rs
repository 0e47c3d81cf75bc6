//! The mail job: sends queued mail ([`crate::domain::mail::outbox`]) through the
//! configured mail server. Messages are claimed with a lease, as webhook
//! deliveries are, and a message's outcome is written only by the worker that
//! still holds its lease, so two replicas never send one message twice unless
//! a worker outlives its lease mid-send. A server that is down or answers 4xx
//! is tried again with backoff for 24 hours; a 5xx answer (a bounce: no such
//! mailbox) fails the message at once and says so on the credential's
//! timeline, and no more reminders go to that address.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use tokio_util::sync::CancellationToken;

use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::events::{record_event, EventKind, NewEvent};
use crate::domain::lifecycle::notice_stops;
use crate::domain::mail::outbox::{associated_data, Content};
use crate::infra::mail_transport::{Mailer, SendFailure};

/// Messages being sent at once by this process.
const CONCURRENCY: usize = 4;

/// A claimed message (`lease_until`: the lease this worker holds).
#[derive(Debug, Clone, sqlx::FromRow)]
struct Claimed {
    id: String,
    credential_id: Option<String>,
    organisation_id: Option<String>,
    recipient: String,
    sealed_message: String,
    attempts: i64,
    give_up_at: i64,
    lease_until: i64,
}

pub async fn run(
    ctx: Ctx,
    mailer: Arc<Mailer>,
    poll: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(server = mailer.server, from = %ctx.settings.mail_from, "mail goes out through this server");
    let wakeup = Arc::clone(&ctx.wakeups.mail);
    super::run_claimed(
        ctx,
        super::Cadence::new("mail_delivery", poll),
        shutdown,
        wakeup,
        CONCURRENCY,
        |ctx, limit| async move { claim_due(&ctx, limit).await },
        move |ctx, message| {
            let mailer = Arc::clone(&mailer);
            async move {
                if let Err(error) = send(&ctx, &mailer, &message).await {
                    tracing::error!(
                        mail_id = message.id,
                        error = format!("{error:#}"),
                        "mail could not be handled; the lease will run out and it is tried again"
                    );
                }
            }
        },
    )
    .await
}

async fn claim_due(ctx: &Ctx, limit: usize) -> anyhow::Result<Vec<Claimed>> {
    let now = ctx.clock.now_ms();
    super::give_up_overdue(ctx, super::RetriedQueue::MailOutbox, now).await?;
    let candidates: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT id FROM mail_outbox WHERE state = 'PENDING' AND next_attempt_at <= $1 \
           AND give_up_at > $1 AND (lease_until IS NULL OR lease_until <= $1) \
         ORDER BY next_attempt_at LIMIT {limit}"
    ))
    .bind(now)
    .fetch_all(ctx.db.pool())
    .await?;
    super::lease(
        ctx,
        super::RetriedQueue::MailOutbox,
        &candidates,
        "id, credential_id, organisation_id, recipient, sealed_message, attempts, give_up_at, lease_until",
        now,
    )
    .await
}

#[tracing::instrument(skip_all, fields(mail_id = message.id))]
async fn send(ctx: &Ctx, mailer: &Mailer, message: &Claimed) -> anyhow::Result<()> {
    // A message that cannot be opened or built never will be: it fails for
    // good rather than coming back every lease.
    let content = ctx
        .keyring
        .open(&message.sealed_message, &associated_data(&message.id))
        .map_err(|error| format!("The queued message does not open with the master key: {error}"))
        .and_then(|opened| {
            serde_json::from_slice::<Content>(&opened)
                .map_err(|error| format!("The queued message is not readable: {error}"))
        });
    let outcome = match content.and_then(|content| {
        build(
            &ctx.settings.mail_from,
            &message.id,
            &message.recipient,
            &content,
        )
        .map_err(|error| format!("The message could not be built: {error}"))
    }) {
        Ok(built) => mailer.send(built).await,
        Err(description) => Err(SendFailure {
            permanent: true,
            description,
        }),
    };
    finish(ctx, message, outcome).await
}

/// The message as sent: the sender under the organisation's name, a plain
/// text and an HTML part, and one-click unsubscribe headers when it has them.
/// Stored words that would end a header early (a line break in an old
/// organisation name, say) make it unbuildable rather than let them in.
fn build(
    sender: &Mailbox,
    id: &str,
    recipient: &str,
    content: &Content,
) -> anyhow::Result<lettre::Message> {
    let header_texts = [
        content.from_name.as_deref(),
        Some(content.subject.as_str()),
        content.unsubscribe_url.as_deref(),
        Some(recipient),
    ];
    if let Some(text) = header_texts
        .into_iter()
        .flatten()
        .find(|text| text.chars().any(char::is_control))
    {
        anyhow::bail!("a header would hold a control character ({text:?})");
    }
    let from = Mailbox::new(
        content.from_name.clone().or_else(|| sender.name.clone()),
        sender.email.clone(),
    );
    let mut built = lettre::Message::builder()
        .from(from.clone())
        .to(recipient.parse()?)
        .subject(&content.subject)
        .message_id(Some(format!("<{id}@{}>", from.email.domain())))
        .multipart(MultiPart::alternative_plain_html(
            content.text.clone(),
            content.html.clone(),
        ))?;
    if let Some(url) = &content.unsubscribe_url {
        let headers = built.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ));
    }
    Ok(built)
}

async fn finish(
    ctx: &Ctx,
    message: &Claimed,
    outcome: Result<(), SendFailure>,
) -> anyhow::Result<()> {
    let now = ctx.clock.now_ms();
    let attempts = message.attempts + 1;
    let (next_state, next_attempt_at, error) = match &outcome {
        Ok(()) => ("SENT", None, None),
        Err(failure) if failure.permanent => ("FAILED", None, Some(failure.description.as_str())),
        Err(failure) => {
            match super::webhook_delivery::next_attempt(now, attempts, message.give_up_at) {
                Some(at) => ("PENDING", Some(at), Some(failure.description.as_str())),
                None => ("FAILED", None, Some(failure.description.as_str())),
            }
        }
    };
    let mut tx = ctx.db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE mail_outbox SET state = $1, attempts = $2, next_attempt_at = $3, lease_until = NULL, \
           sent_at = $4, last_error = $5 WHERE id = $6 AND lease_until = $7",
    )
    .bind(next_state)
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(outcome.is_ok().then_some(now))
    .bind(error)
    .bind(&message.id)
    .bind(message.lease_until)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        // The lease ran out meanwhile and another worker owns the message now.
        tx.rollback().await?;
        return Ok(());
    }
    if let (Some(credential_id), Some(organisation_id), "FAILED") =
        (&message.credential_id, &message.organisation_id, next_state)
    {
        let words = format!(
            "A mail to the end-user could not be delivered: {}",
            error.unwrap_or_default()
        );
        let event = NewEvent {
            credential_id,
            organisation_id,
            kind: EventKind::MailNotDelivered,
            change: None,
            actor: "job:mail",
            message: &words,
        };
        record_event(&mut tx, &event, now).await?;
        notice_stops::stop(
            &mut tx,
            credential_id,
            notice_stops::StopReason::Undeliverable,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    metrics::counter!(
        crate::infra::metrics::MAIL_DELIVERIES,
        "outcome" => super::webhook_delivery::attempt_outcome(next_state)
    )
    .increment(1);
    match next_state {
        "SENT" => tracing::debug!(attempts, "mail sent"),
        "FAILED" => tracing::warn!(attempts, error, "mail given up"),
        _ => tracing::info!(attempts, error, "mail not sent; retrying later"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(from_name: &str, subject: &str) -> Content {
        Content {
            from_name: Some(from_name.to_owned()),
            subject: subject.to_owned(),
            text: "Hello".to_owned(),
            html: "<p>Hello</p>".to_owned(),
            unsubscribe_url: Some("https://gridlink.example/u/abc".to_owned()),
        }
    }

    #[test]
    fn case_37_stored_words_that_would_end_a_header_make_the_mail_unbuildable() {
        let sender: Mailbox = "Gridlink <no-reply@gridlink.example>".parse().unwrap();
        let good = build(&sender, "mail_1", "a@example.com", &content("Acme", "Hi")).unwrap();
        let text = String::from_utf8(good.formatted()).unwrap();
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        for bad in [
            content("Acme\r\nBcc: victim@example.com", "Hi"),
            content("Acme", "Hi\r\nBcc: victim@example.com"),
            Content {
                unsubscribe_url: Some("https://x.example/\r\nBcc: v@example.com".to_owned()),
                ..content("Acme", "Hi")
            },
        ] {
            assert!(
                build(&sender, "mail_2", "a@example.com", &bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(build(&sender, "mail_3", "not an address", &content("Acme", "Hi")).is_err());
    }
}
