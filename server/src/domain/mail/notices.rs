//! Refresh notices: when a credential with a contact email needs its
//! end-user (MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED, or — if the
//! organisation chose it — a token about to expire), Gridlink issues a 72-hour
//! update link and mails it, then reminds at 24 and 48 hours while the
//! credential still needs it. A repair, a deactivation, an operator handling
//! it (a new link, a revoked one, "Retry MFA Verification"), an unsubscribe or
//! an undeliverable address ends the sequence.
//!
//! One sequence per credential and episode (the moment it began to need the
//! end-user), guarded by a unique key; every mail is queued with its timeline
//! event and END_USER_NOTIFIED webhook in one transaction, and a reminder is
//! claimed by a guarded update, so replicas racing here mail once.

use serde_json::json;
use shared::connect::ConnectPurpose;
use shared::credentials::Owner;
use shared::i18n::Language;
use shared::validation::mask_email;
use shared::webhooks::WebhookEventType;
use shared::StatusDetail;
use sqlx::AnyConnection;
use time::Duration;

use super::messages::{self, Notice, NoticeReason};
use super::outbox::{self, MailKind, OutgoingMail};
use crate::domain::credentials::ContactSource;
use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::events::{record_event, EventKind, NewEvent};
use crate::domain::lifecycle::notice_stops::{stop, StopReason};
use crate::domain::lifecycle::sessions::UPDATE_LINK_LIFETIME;
use crate::domain::lifecycle::sessions::{self, NewSession};
use crate::domain::mail::unsubscribe;
use crate::domain::webhooks::outbox::{self as webhooks, CredentialRef};
use crate::infra::clock::from_ms;
use crate::infra::store::LockedTable;
use crate::infra::utility::catalog::UtilityCatalog;

/// Reminders follow the first mail after these delays.
pub const REMINDERS: [Duration; 2] = [Duration::hours(24), Duration::hours(48)];
/// Sequences started or reminders sent per run of the job.
const BATCH: i64 = 100;
const ACTOR: &str = "job:end_user_notices";

/// One run of the notice job: start the sequences due, then send the reminders due.
pub async fn run_once(ctx: &Ctx, utilities: &UtilityCatalog) -> anyhow::Result<usize> {
    let started = start_due(ctx, utilities).await?;
    let reminded = remind_due(ctx, utilities).await?;
    if started + reminded > 0 {
        ctx.wakeups.mail.notify_one();
    }
    Ok(started + reminded)
}

/// id, organisation_id, utility_id, correlation_id, owner, contact_email,
/// contact_email_source, language, episode, status_detail
type Candidate = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
);

async fn start_due(ctx: &Ctx, utilities: &UtilityCatalog) -> anyhow::Result<usize> {
    let now = ctx.clock.now_ms();
    let warning_until = now + ctx.settings.jobs.expiry_warning.whole_milliseconds() as i64;
    // Which episode a credential is in, if any: needing a refresh now, or
    // (when the organisation asks for it) a token running out soon.
    let episode = "(CASE WHEN c.status_detail = 'MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED' \
                        THEN COALESCE(c.repair_needed_since, c.updated_at) \
                      WHEN o.notify_end_users = 'BEFORE_TOKEN_EXPIRY' \
                       AND c.status_detail = 'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL' \
                       AND c.token_expires_at > $1 AND c.token_expires_at <= $2 THEN c.token_expires_at \
                      ELSE NULL END)";
    let candidates: Vec<Candidate> = sqlx::query_as(&format!(
        "SELECT c.id, c.organisation_id, c.utility_id, c.correlation_id, c.owner, c.contact_email, \
                c.contact_email_source, COALESCE(c.contact_language, o.connect_language), \
                {episode}, c.status_detail \
           FROM credentials c JOIN organisations o ON o.id = c.organisation_id \
          WHERE c.contact_email IS NOT NULL AND c.deactivated_at IS NULL AND o.notify_end_users <> 'OFF' \
            AND {episode} IS NOT NULL \
            AND NOT EXISTS (SELECT 1 FROM end_user_notices n WHERE n.credential_id = c.id \
                  AND (n.episode = {episode} OR (n.stopped_at IS NULL AND n.link_expires_at > $1))) \
            AND NOT EXISTS (SELECT 1 FROM mail_unsubscribes u \
                  WHERE u.organisation_id = c.organisation_id AND u.email = c.contact_email) \
          LIMIT {BATCH}"
    ))
    .bind(now)
    .bind(warning_until)
    .fetch_all(ctx.db.pool())
    .await?;
    let mut started = 0;
    for candidate in candidates {
        if start(ctx, utilities, candidate).await? {
            started += 1;
        }
    }
    Ok(started)
}

/// Starts one sequence: a new update link (replacing older ones), its mail,
/// the event and the webhook. `false` when another replica got there first.
async fn start(
    ctx: &Ctx,
    utilities: &UtilityCatalog,
    candidate: Candidate,
) -> anyhow::Result<bool> {
    let (
        credential_id,
        organisation_id,
        utility_id,
        correlation_id,
        owner,
        contact_email,
        contact_source,
        language,
        episode,
        status_detail,
    ) = candidate;
    let now = ctx.clock.now_ms();
    let detail = StatusDetail::parse(&status_detail)
        .unwrap_or(StatusDetail::MultiFactorAuthenticationRefreshRequired);
    // A credential in an episode needs a refresh now, or its token runs out soon.
    let reason = if detail == StatusDetail::MultiFactorAuthenticationRefreshRequired {
        NoticeReason::RefreshRequired
    } else {
        NoticeReason::TokenExpiring
    };
    let language = Language::from_tag(&language).unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    ctx.db
        .lock_row(&mut tx, LockedTable::Credentials, &credential_id)
        .await?;
    let notice_id = crate::infra::tokens::new_id("eun");
    sessions::replace_update_links(&mut tx, &credential_id, now).await?;
    let link = sessions::open(
        &mut tx,
        ctx,
        NewSession {
            organisation_id: &organisation_id,
            purpose: ConnectPurpose::UpdateLink,
            credential_id: Some(&credential_id),
            utility_id: Some(&utility_id),
            correlation_id: correlation_id.as_deref(),
            owner: Owner::parse(&owner).unwrap_or(Owner::EndUser),
            created_by: ACTOR,
            lifetime: UPDATE_LINK_LIFETIME,
            contact: None,
        },
    )
    .await?;
    let link_expires_at = now + UPDATE_LINK_LIFETIME.whole_milliseconds() as i64;
    let inserted = sqlx::query(
        "INSERT INTO end_user_notices (id, credential_id, organisation_id, episode, reason, contact_email, \
           language, link_session_id, sealed_link, link_expires_at, mails_sent, next_reminder_at, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12) \
         ON CONFLICT (credential_id, episode) DO NOTHING",
    )
    .bind(&notice_id)
    .bind(&credential_id)
    .bind(&organisation_id)
    .bind(episode)
    .bind(reason.as_str())
    .bind(&contact_email)
    .bind(language.code())
    .bind(&link.id)
    .bind(
        ctx
            .keyring
            .seal(link.url.as_bytes(), &link_associated_data(&notice_id)),
    )
    .bind(link_expires_at)
    .bind(now + REMINDERS[0].whole_milliseconds() as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let recipient = Recipient {
        credential: CredentialRef {
            id: &credential_id,
            organisation_id: &organisation_id,
            utility_id: &utility_id,
            correlation_id: correlation_id.as_deref(),
        },
        detail,
        contact_email: &contact_email,
        contact_source: contact_source.as_deref(),
        language,
        reason,
    };
    recipient
        .queue(
            &mut tx,
            ctx,
            utilities,
            0,
            &UpdateLink {
                url: &link.url,
                expires_at: link_expires_at,
            },
            now,
        )
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Whom a notice or reminder goes to, and what its event and webhook say.
struct Recipient<'a> {
    credential: CredentialRef<'a>,
    detail: StatusDetail,
    contact_email: &'a str,
    /// Who gave the address: only the integrator's goes into webhooks.
    contact_source: Option<&'a str>,
    language: Language,
    reason: NoticeReason,
}

/// The update link a notice carries, and when it stops working.
#[derive(Clone, Copy)]
struct UpdateLink<'a> {
    url: &'a str,
    expires_at: i64,
}

impl Recipient<'_> {
    /// Queues mail number `reminder` (0: the first) with `link`, in the
    /// organisation's name and branding, with its event and webhook.
    async fn queue(
        &self,
        connection: &mut AnyConnection,
        ctx: &Ctx,
        utilities: &UtilityCatalog,
        reminder: i64,
        link: &UpdateLink<'_>,
        now: i64,
    ) -> anyhow::Result<()> {
        let UpdateLink {
            url: link,
            expires_at: link_expires_at,
        } = *link;
        let utility = utilities.name_of(self.credential.utility_id).await;
        let (organisation, branding) =
            crate::domain::organisations::branding(&ctx.db, self.credential.organisation_id)
                .await?;
        let unsubscribe_url = unsubscribe::issue(
            connection,
            ctx,
            self.credential.organisation_id,
            self.contact_email,
            now,
        )
        .await?;
        let notice = Notice {
            language: self.language,
            reason: self.reason,
            reminder,
            organisation: &organisation,
            accent_color: branding.accent_color.as_deref(),
            logo_url: branding.logo_url.as_deref(),
            utility: &utility,
            link,
            link_expires_at: from_ms(link_expires_at),
            unsubscribe_url: &unsubscribe_url,
        };
        let kind = if reminder == 0 {
            MailKind::RefreshNotice
        } else {
            MailKind::RefreshReminder
        };
        outbox::enqueue(
            connection,
            &ctx.keyring,
            &OutgoingMail {
                organisation_id: Some(self.credential.organisation_id),
                credential_id: Some(self.credential.id),
                kind,
                to: self.contact_email,
                content: messages::refresh_notice(&notice),
            },
            now,
        )
        .await?;
        let words = match reminder {
            0 => format!(
                "Update link mailed to {} (valid until {}).",
                mask_email(self.contact_email),
                crate::infra::clock::readable(link_expires_at)
            ),
            n => format!(
                "Reminder {n} of {} mailed to {}.",
                REMINDERS.len(),
                mask_email(self.contact_email)
            ),
        };
        let event = NewEvent::notice(&self.credential, EventKind::EndUserNotified, ACTOR, &words);
        record_event(connection, &event, now).await?;
        let mut extra = json!({
            "notice": if reminder == 0 { "FIRST" } else { "REMINDER" },
            "reminder": reminder,
            "reason": self.reason.as_str(),
            "language": self.language.code(),
            "linkExpiresAt": webhooks::rfc3339(link_expires_at),
        });
        if self.contact_source == Some(ContactSource::Integrator.as_str()) {
            extra["contactEmail"] = json!(self.contact_email);
        }
        let data = self.credential.data(self.detail, extra);
        webhooks::enqueue(
            connection,
            &self
                .credential
                .message(WebhookEventType::EndUserNotified, data, ACTOR),
            now,
        )
        .await?;
        Ok(())
    }
}

/// What the link is sealed under: the sequence's id.
pub fn link_associated_data(notice_id: &str) -> String {
    format!("end_user_notices:{notice_id}")
}

/// A running sequence whose next reminder is due, with what decides whether
/// the credential still needs it.
#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: String,
    credential_id: String,
    organisation_id: String,
    utility_id: String,
    correlation_id: Option<String>,
    episode: i64,
    reason: String,
    contact_email: String,
    contact_email_source: Option<String>,
    language: String,
    sealed_link: String,
    link_expires_at: i64,
    mails_sent: i64,
    started_at: i64,
    status_detail: String,
    repair_needed_since: Option<i64>,
    token_expires_at: Option<i64>,
    deactivated: i64,
    link_revoked: i64,
    link_completed: i64,
    unsubscribed: i64,
}

async fn remind_due(ctx: &Ctx, utilities: &UtilityCatalog) -> anyhow::Result<usize> {
    let now = ctx.clock.now_ms();
    let due: Vec<Due> = sqlx::query_as(&format!(
        "SELECT n.id, n.credential_id, n.organisation_id, c.utility_id, c.correlation_id, n.episode, n.reason, \
                n.contact_email, c.contact_email_source, n.language, n.sealed_link, n.link_expires_at, \
                n.mails_sent, n.started_at, c.status_detail, c.repair_needed_since, c.token_expires_at, \
                CASE WHEN c.deactivated_at IS NULL THEN 0 ELSE 1 END AS deactivated, \
                CASE WHEN s.revoked_at IS NULL THEN 0 ELSE 1 END AS link_revoked, \
                CASE WHEN s.completed_at IS NULL THEN 0 ELSE 1 END AS link_completed, \
                CASE WHEN EXISTS (SELECT 1 FROM mail_unsubscribes u WHERE u.organisation_id = n.organisation_id \
                                   AND u.email = n.contact_email) THEN 1 ELSE 0 END AS unsubscribed \
           FROM end_user_notices n JOIN credentials c ON c.id = n.credential_id \
           JOIN connect_sessions s ON s.id = n.link_session_id \
          WHERE n.stopped_at IS NULL AND n.next_reminder_at <= $1 \
          ORDER BY n.next_reminder_at LIMIT {BATCH}"
    ))
    .bind(now)
    .fetch_all(ctx.db.pool())
    .await?;
    let mut reminded = 0;
    for row in due {
        if remind(ctx, utilities, row).await? {
            reminded += 1;
        }
    }
    Ok(reminded)
}

/// Sends the next reminder of one sequence, or ends it when the credential
/// no longer needs the end-user.
async fn remind(ctx: &Ctx, utilities: &UtilityCatalog, row: Due) -> anyhow::Result<bool> {
    let Due {
        id: notice_id,
        credential_id,
        organisation_id,
        utility_id,
        correlation_id,
        episode,
        reason,
        contact_email,
        contact_email_source: contact_source,
        language,
        sealed_link,
        link_expires_at,
        mails_sent,
        started_at,
        status_detail,
        repair_needed_since,
        token_expires_at,
        deactivated,
        link_revoked,
        link_completed,
        unsubscribed,
    } = row;
    let now = ctx.clock.now_ms();
    let reason = NoticeReason::parse(&reason);
    let detail = StatusDetail::parse(&status_detail)
        .unwrap_or(StatusDetail::MultiFactorAuthenticationRefreshRequired);
    let still_needed = match reason {
        NoticeReason::RefreshRequired => {
            detail == StatusDetail::MultiFactorAuthenticationRefreshRequired
                && repair_needed_since.is_none_or(|since| since == episode)
        }
        NoticeReason::TokenExpiring => {
            token_expires_at == Some(episode)
                || detail == StatusDetail::MultiFactorAuthenticationRefreshRequired
        }
    };
    let stop_reason = if deactivated == 1 {
        Some(StopReason::Deactivated)
    } else if unsubscribed == 1 {
        Some(StopReason::Unsubscribed)
    } else if link_completed == 1 || !still_needed {
        Some(StopReason::Repaired)
    } else if link_revoked == 1 || link_expires_at <= now {
        Some(StopReason::HandledManually)
    } else {
        None
    };
    let mut tx = ctx.db.begin_write().await?;
    if let Some(reason) = stop_reason {
        stop(&mut tx, &credential_id, reason, now).await?;
        tx.commit().await?;
        return Ok(false);
    }
    let next_reminder_at = REMINDERS
        .get(mails_sent as usize)
        .map(|delay| started_at + delay.whole_milliseconds() as i64);
    let claimed = sqlx::query(
        "UPDATE end_user_notices SET mails_sent = mails_sent + 1, next_reminder_at = $1 \
         WHERE id = $2 AND mails_sent = $3 AND stopped_at IS NULL",
    )
    .bind(next_reminder_at)
    .bind(&notice_id)
    .bind(mails_sent)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let link = ctx
        .keyring
        .open(&sealed_link, &link_associated_data(&notice_id))
        .map_err(|error| anyhow::anyhow!("the notice's link does not open: {error}"))?;
    let link = String::from_utf8(link)?;
    let recipient = Recipient {
        credential: CredentialRef {
            id: &credential_id,
            organisation_id: &organisation_id,
            utility_id: &utility_id,
            correlation_id: correlation_id.as_deref(),
        },
        detail,
        contact_email: &contact_email,
        contact_source: contact_source.as_deref(),
        language: Language::from_tag(&language).unwrap_or_default(),
        reason,
    };
    recipient
        .queue(
            &mut tx,
            ctx,
            utilities,
            mails_sent,
            &UpdateLink {
                url: &link,
                expires_at: link_expires_at,
            },
            now,
        )
        .await?;
    tx.commit().await?;
    Ok(true)
}
