//! The sandbox's mail catcher: a real SMTP listener that takes every message
//! and keeps it, so demo mode and tests see what Gridlink mails without a
//! mail server. Shown on `/mail` and as JSON at `/api/mail` (newest first,
//! `?to=` filters by recipient).
//!
//! Two knobs make it misbehave on purpose: a recipient whose address starts
//! with `bounce` is refused for good (550, as a mailbox that does not exist),
//! and `POST /api/admin/mail/outage {"down": true}` makes it turn every
//! connection away (421) until it is switched off again.

use std::time::Duration;

use axum::extract::State;
use axum::response::Html;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::error::{Json, Query};
use super::pages::{escape, page};
use super::state::{CaughtMail, Sandbox};

/// The largest message taken, and the longest command line.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
const MAX_LINE_BYTES: u64 = 4096;
/// A client quiet for this long is disconnected.
const IDLE: Duration = Duration::from_secs(60);
const HOST: &str = "sandbox.gridlink.localhost";

/// Accepts SMTP connections on `listener` until `shutdown` is cancelled.
pub async fn serve_smtp(
    listener: TcpListener,
    sandbox: Sandbox,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sandbox = sandbox.clone();
                tokio::spawn(async move {
                    if let Err(error) = converse(stream, &sandbox).await {
                        tracing::debug!(%error, "sandbox SMTP connection ended");
                    }
                });
            }
        }
    }
}

/// One SMTP conversation (RFC 5321's minimum, without STARTTLS or AUTH) on
/// `stream`: a TCP connection, or (tests of Gridlink's SMTPS) a TLS one.
pub async fn converse<S>(stream: S, sandbox: &Sandbox) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    if sandbox.lock().mail_down {
        write
            .write_all(b"421 4.3.2 The sandbox mail server is down (outage switched on)\r\n")
            .await?;
        return Ok(());
    }
    write
        .write_all(format!("220 {HOST} ESMTP Gridlink sandbox mail catcher\r\n").as_bytes())
        .await?;
    let mut from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut reader).await? else {
            return Ok(());
        };
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => format!("250-{HOST}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE {MAX_MESSAGE_BYTES}"),
            "HELO" => format!("250 {HOST}"),
            "MAIL" => match address_after(&line, "FROM:") {
                Some(address) => {
                    from = Some(address);
                    recipients.clear();
                    "250 2.1.0 Sender OK".into()
                }
                None => "501 5.1.7 Expected MAIL FROM:<address>".into(),
            },
            "RCPT" => match (&from, address_after(&line, "TO:")) {
                (None, _) => "503 5.5.1 MAIL FROM first".into(),
                (_, None) => "501 5.1.3 Expected RCPT TO:<address>".into(),
                (Some(_), Some(address)) if address.to_ascii_lowercase().starts_with("bounce") => {
                    "550 5.1.1 No such mailbox (the sandbox refuses addresses starting with 'bounce')".into()
                }
                (Some(_), Some(address)) => {
                    recipients.push(address);
                    "250 2.1.5 Recipient OK".into()
                }
            },
            "DATA" if recipients.is_empty() => "503 5.5.1 RCPT TO first".into(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(message) = read_data(&mut reader).await? else {
                    write
                        .write_all(b"552 5.3.4 Message too big\r\n")
                        .await?;
                    return Ok(());
                };
                keep(sandbox, &recipients, from.as_deref().unwrap_or_default(), &message);
                from = None;
                recipients.clear();
                "250 2.0.0 Caught".into()
            }
            "RSET" => {
                from = None;
                recipients.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not implemented".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
}

/// A command line without its line ending; `None` at the end of the stream or when idle.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<String>> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(
        IDLE,
        (&mut *reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut bytes),
    )
    .await;
    match read {
        Ok(Ok(0)) | Err(_) => Ok(None),
        Ok(Ok(_)) => Ok(Some(
            String::from_utf8_lossy(&bytes)
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        )),
        Ok(Err(error)) => Err(error),
    }
}

/// The message after DATA, dot-unstuffed; `None` when it is too big.
async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = tokio::time::timeout(IDLE, reader.read_until(b'\n', &mut line)).await;
        match read {
            Ok(Ok(0)) | Err(_) => return Ok(None),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(message));
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        if message.len() + unstuffed.len() > MAX_MESSAGE_BYTES {
            return Ok(None);
        }
        message.extend_from_slice(unstuffed);
    }
}

/// `<address>` after `FROM:` or `TO:` (case-insensitive).
fn address_after(line: &str, keyword: &str) -> Option<String> {
    let upper = line.to_ascii_uppercase();
    let start = upper.find(keyword)? + keyword.len();
    let rest = line[start..].trim_start();
    let open = rest.find('<')?;
    let close = rest[open..].find('>')? + open;
    Some(rest[open + 1..close].to_owned())
}

fn keep(sandbox: &Sandbox, recipients: &[String], from: &str, message: &[u8]) {
    let parsed = mail_parser::MessageParser::default().parse(message);
    let (subject, text, html, list_unsubscribe) = match &parsed {
        Some(parsed) => (
            parsed.subject().unwrap_or_default().to_owned(),
            parsed.body_text(0).unwrap_or_default().into_owned(),
            if parsed.html_body_count() > 0 {
                parsed.body_html(0).unwrap_or_default().into_owned()
            } else {
                String::new()
            },
            parsed
                .header_raw("List-Unsubscribe")
                .map(|value| value.trim().to_owned()),
        ),
        None => Default::default(),
    };
    let mut data = sandbox.lock();
    let sent_at = data.now();
    data.mail.push(CaughtMail {
        to: recipients.join(", "),
        from: from.to_owned(),
        subject,
        text,
        html,
        list_unsubscribe,
        sent_at,
    });
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailFilter {
    /// Only mail to this address (case-insensitive).
    pub to: Option<String>,
}

fn caught(sandbox: &Sandbox, filter: &MailFilter) -> Vec<CaughtMail> {
    let data = sandbox.lock();
    data.mail
        .iter()
        .rev()
        .filter(|mail| {
            filter.to.as_ref().is_none_or(|to| {
                mail.to
                    .split(", ")
                    .any(|recipient| recipient.eq_ignore_ascii_case(to.trim()))
            })
        })
        .cloned()
        .collect()
}

pub async fn mail_json(
    State(sandbox): State<Sandbox>,
    Query(filter): Query<MailFilter>,
) -> Json<Vec<CaughtMail>> {
    Json(caught(&sandbox, &filter))
}

pub async fn mail_page(
    State(sandbox): State<Sandbox>,
    Query(filter): Query<MailFilter>,
) -> Html<String> {
    let mails = caught(&sandbox, &filter);
    let body = if mails.is_empty() {
        "<p>No mail yet. Mail Gridlink sends (update links, reminders, operator invitations) appears here.</p>".to_owned()
    } else {
        mails
            .iter()
            .map(|mail| {
                format!(
                    "<article class=\"mail\"><h2>{subject}</h2><p>To <strong>{to}</strong> · from {from} · {sent_at} UTC</p><pre>{text}</pre></article>",
                    subject = escape(&mail.subject),
                    to = escape(&mail.to),
                    from = escape(&mail.from),
                    sent_at = mail
                        .sent_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    text = link_urls(&escape(&mail.text)),
                )
            })
            .collect()
    };
    Html(page(
        "Mail",
        &format!("<p><a href=\"/\">← Sandbox utilities</a> · Newest first; reload to see new mail. JSON: <a href=\"/api/mail\">/api/mail</a></p>{body}"),
    ))
}

/// Makes the `http(s)://` addresses in escaped text into links.
fn link_urls(escaped: &str) -> String {
    escaped
        .split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                format!(
                    "<a href=\"{trimmed}\">{trimmed}</a>{}",
                    &word[trimmed.len()..]
                )
            } else {
                word.to_owned()
            }
        })
        .collect()
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outage {
    pub down: bool,
}

/// `POST /api/admin/mail/outage`: turn every SMTP connection away, or stop doing so.
pub async fn set_outage(
    State(sandbox): State<Sandbox>,
    Json(outage): Json<Outage>,
) -> Json<Outage> {
    sandbox.lock().mail_down = outage.down;
    Json(outage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_mail_and_rcpt_commands() {
        assert_eq!(
            address_after("MAIL FROM:<a@example.com> SIZE=12", "FROM:").as_deref(),
            Some("a@example.com")
        );
        assert_eq!(
            address_after("rcpt to: <B@Example.com>", "TO:").as_deref(),
            Some("B@Example.com")
        );
        assert_eq!(address_after("RCPT TO:nobody", "TO:"), None);
    }

    #[test]
    fn urls_in_text_become_links() {
        assert_eq!(
            link_urls("Open https://x.test/a?b=1&amp;c=2 now"),
            "Open <a href=\"https://x.test/a?b=1&amp;c=2\">https://x.test/a?b=1&amp;c=2</a> now"
        );
    }
}
