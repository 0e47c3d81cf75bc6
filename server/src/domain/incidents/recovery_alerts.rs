//! "Email me when it works again": an end-user who meets a utility having
//! trouble in Connect may leave an address. When the utility's incident
//! resolves, Gridlink mails a fresh Connect link there, once, in the
//! end-user's language and the organisation's name and branding: an update
//! link when the visit was about an account already connected, otherwise a
//! link to connect one (with the visit's utility, correlation id and owner).

use shared::connect::ConnectPurpose;
use shared::credentials::Owner;
use shared::i18n::Language;
use sqlx::AnyConnection;

use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::sessions::{self, NewSession, UPDATE_LINK_LIFETIME};
use crate::domain::mail::messages::{self, Recovery};
use crate::domain::mail::outbox::{self, MailKind, OutgoingMail};
use crate::infra::clock::from_ms;

/// Who creates the links these mails carry.
const ACTOR: &str = "job:incident_watch";

/// An address left in Connect during an incident.
pub struct NewAlert<'a> {
    pub organisation_id: &'a str,
    pub incident_id: &'a str,
    pub utility_id: &'a str,
    /// The Connect session (visit) it was left in.
    pub session_id: &'a str,
    pub email: &'a str,
    pub language: Language,
}

/// Records `alert`; from the same visit during the same incident, a new
/// address replaces the earlier one (one mail per visit).
pub async fn record(
    connection: &mut AnyConnection,
    alert: &NewAlert<'_>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO utility_recovery_alerts \
           (id, organisation_id, incident_id, utility_id, session_id, email, language, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (incident_id, session_id) \
           DO UPDATE SET email = excluded.email, language = excluded.language",
    )
    .bind(crate::infra::tokens::new_id("ura"))
    .bind(alert.organisation_id)
    .bind(alert.incident_id)
    .bind(alert.utility_id)
    .bind(alert.session_id)
    .bind(alert.email)
    .bind(alert.language.code())
    .bind(now_ms)
    .execute(connection)
    .await?;
    Ok(())
}

/// One alert waiting for its incident to resolve, with the visit it came from.
#[derive(sqlx::FromRow)]
struct Waiting {
    id: String,
    organisation_id: String,
    utility_id: String,
    email: String,
    language: String,
    purpose: String,
    credential_id: Option<String>,
    correlation_id: Option<String>,
    owner: String,
    /// The visit's credential is still active (an update link can repair it).
    credential_active: i64,
}

/// Mails every alert of the resolved incident, in the transaction that
/// resolves it (which happens once, so each alert is mailed once). Returns
/// how many were queued.
pub async fn mail_waiting(
    connection: &mut AnyConnection,
    ctx: &Ctx,
    incident_id: &str,
    utility_name: &str,
    now_ms: i64,
) -> anyhow::Result<u64> {
    let waiting: Vec<Waiting> = sqlx::query_as(
        "SELECT a.id, a.organisation_id, a.utility_id, a.email, a.language, s.purpose, \
                s.credential_id, s.correlation_id, s.owner, \
                CASE WHEN c.id IS NOT NULL AND c.deactivated_at IS NULL THEN 1 ELSE 0 END AS credential_active \
           FROM utility_recovery_alerts a JOIN connect_sessions s ON s.id = a.session_id \
           LEFT JOIN credentials c ON c.id = s.credential_id \
          WHERE a.incident_id = $1 AND a.mailed_at IS NULL ORDER BY a.created_at",
    )
    .bind(incident_id)
    .fetch_all(&mut *connection)
    .await?;
    let mut mailed = 0;
    for alert in &waiting {
        mail(connection, ctx, alert, utility_name, now_ms).await?;
        mailed += 1;
    }
    Ok(mailed)
}

async fn mail(
    connection: &mut AnyConnection,
    ctx: &Ctx,
    alert: &Waiting,
    utility_name: &str,
    now_ms: i64,
) -> anyhow::Result<()> {
    let reconnects = ConnectPurpose::parse(&alert.purpose)
        .is_some_and(ConnectPurpose::is_update_mode)
        && alert.credential_active == 1;
    let credential_id = alert.credential_id.as_deref().filter(|_| reconnects);
    if let Some(credential_id) = credential_id {
        sessions::replace_update_links(connection, credential_id, now_ms).await?;
    }
    let link = sessions::open(
        connection,
        ctx,
        NewSession {
            organisation_id: &alert.organisation_id,
            purpose: if reconnects {
                ConnectPurpose::UpdateLink
            } else {
                ConnectPurpose::NewCredential
            },
            credential_id,
            utility_id: Some(&alert.utility_id),
            correlation_id: alert.correlation_id.as_deref(),
            owner: Owner::parse(&alert.owner).unwrap_or(Owner::EndUser),
            created_by: ACTOR,
            lifetime: UPDATE_LINK_LIFETIME,
            contact: None,
        },
    )
    .await?;
    let (organisation, branding) =
        crate::domain::organisations::branding(&ctx.db, &alert.organisation_id).await?;
    let content = messages::utility_recovered(&Recovery {
        language: Language::from_tag(&alert.language).unwrap_or_default(),
        organisation: &organisation,
        accent_color: branding.accent_color.as_deref(),
        logo_url: branding.logo_url.as_deref(),
        utility: utility_name,
        link: &link.url,
        link_expires_at: from_ms(now_ms + UPDATE_LINK_LIFETIME.whole_milliseconds() as i64),
        reconnects,
    });
    outbox::enqueue(
        connection,
        &ctx.keyring,
        &OutgoingMail {
            organisation_id: Some(&alert.organisation_id),
            credential_id,
            kind: MailKind::UtilityRecovered,
            to: &alert.email,
            content,
        },
        now_ms,
    )
    .await?;
    sqlx::query("UPDATE utility_recovery_alerts SET mailed_at = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(&alert.id)
        .execute(&mut *connection)
        .await?;
    Ok(())
}
