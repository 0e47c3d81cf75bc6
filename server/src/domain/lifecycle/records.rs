//! A credential's record: created (asking for a login), its correlation id
//! and password changed, a login requested, deactivated.

use shared::audit::AuditAction;
use shared::validation::Password;
use shared::StatusDetail;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

use super::events::{bind_event, event_sql, record_event, EventKind, NewEvent};
use super::mfa_slots;
use crate::domain::audit::{self, AuditActor, Target};
use crate::domain::credentials::secrets;
use crate::domain::credentials::store::CredentialRow;
use crate::domain::credentials::{Contact, ContactSource, ValidatedCredential};
use crate::domain::ctx::Ctx;
use crate::domain::webhooks::outbox::CredentialRef;
use crate::infra::store;
use crate::infra::tokens;

/// Asks the login worker to (re)connect the credential. Part of the caller's transaction.
pub async fn request_login(
    connection: &mut sqlx::AnyConnection,
    credential_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET login_requested_at = $1, login_lease_until = NULL, login_attempts = 0, \
           mfa_challenge_id = NULL, mfa_options = NULL, mfa_method = NULL, mfa_destination = NULL, \
           mfa_code_expires_at = NULL, mfa_sends = 0, mfa_wrong_codes = 0, mfa_last_activity_at = NULL, \
           mfa_in_flight_until = NULL, mfa_last_send_at = NULL \
         WHERE id = $2",
    )
    .bind(now_ms)
    .bind(credential_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// Inserts a new credential that asks for a login, with its CREATED event
/// (the API and the demo): one trip to SQLite's writer, BEGIN to COMMIT. The
/// caller wakes the login worker once it has read what it answers, so the
/// answer shows CONNECTING rather than a login that already went further.
pub async fn insert_credential(
    ctx: &Ctx,
    organisation_id: &str,
    new: &ValidatedCredential,
    actor: &str,
    audited: &AuditActor,
) -> Result<String, sqlx::Error> {
    let creation = Creation::new(ctx, organisation_id, new, actor, audited);
    let mut tx = ctx.db.begin_write_in_line().await?;
    let sql = tx.begin_with(&store::sql::together(&tx, &creation.statements()));
    let sql = tx.commit_with(&sql);
    let audit_entry = creation.audit_entry();
    tx.commit_after(creation.bind(&sql, &audit_entry)).await?;
    super::events::count_connect_flow_started();
    Ok(creation.id)
}

/// [`insert_credential`] for the Connect session `session_id`, which it is
/// attached to, with the credential's first connection attempt recorded: one
/// trip to SQLite's writer, then the COMMIT. The credential as inserted, or
/// None when the session had a credential already (a double submit lost the
/// race): nothing is written.
pub async fn insert_credential_for_session(
    ctx: &Ctx,
    session_id: &str,
    organisation_id: &str,
    new: &ValidatedCredential,
    actor: &str,
    audited: &AuditActor,
) -> Result<Option<CredentialRow>, sqlx::Error> {
    let creation = Creation::new(ctx, organisation_id, new, actor, audited);
    let mut statements = creation.statements();
    // $1 is the credential's id, $9 the time, the one after the creation's
    // parameters the session's id.
    statements.push(mfa_slots::login_attempt_sql("$1", "$9"));
    statements.push(format!(
        "UPDATE connect_sessions SET credential_id = $1, attempt_started_at = $9 \
         WHERE id = ${} AND credential_id IS NULL RETURNING id",
        Creation::PARAMETERS + 1
    ));
    let mut tx = ctx.db.begin_write_in_line().await?;
    let sql = tx.begin_with(&store::sql::together(&tx, &statements));
    let audit_entry = creation.audit_entry();
    let attached = creation
        .bind(&sql, &audit_entry)
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
    if attached.is_empty() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    super::events::count_connect_flow_started();
    Ok(Some(creation.row()))
}

/// What creating a credential writes: the credential, its CREATED event and
/// the audit record.
struct Creation<'a> {
    id: String,
    organisation_id: &'a str,
    new: &'a ValidatedCredential,
    actor: &'a str,
    audited: &'a AuditActor,
    sealed_password: String,
    message: String,
    now: i64,
}

impl<'a> Creation<'a> {
    /// The parameters of [`Creation::statements`].
    const PARAMETERS: usize = 20 + audit::PARAMETERS;

    fn new(
        ctx: &Ctx,
        organisation_id: &'a str,
        new: &'a ValidatedCredential,
        actor: &'a str,
        audited: &'a AuditActor,
    ) -> Creation<'a> {
        let id = tokens::new_id("cred");
        Creation {
            audited,
            sealed_password: secrets::seal_password(&ctx.keyring, &id, &new.password),
            message: format!(
                "Credential for {} at {} created; connecting.",
                new.username.as_str(),
                new.utility_id
            ),
            id,
            organisation_id,
            new,
            actor,
            now: ctx.clock.now_ms(),
        }
    }

    /// The three statements, parameters `$1` to [`Creation::PARAMETERS`],
    /// to go together ([`store::sql::together`]).
    fn statements(&self) -> Vec<String> {
        vec![
            "INSERT INTO credentials (id, organisation_id, utility_id, username, correlation_id, owner, \
               status_detail, sealed_password, created_at, updated_at, login_requested_at, contact_email, \
               contact_email_source, contact_language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11, $12)"
                .to_owned(),
            event_sql(13),
            audit::insert_sql(21),
        ]
    }

    /// The credential as [`Creation::statements`] insert it, without reading
    /// it back: what a Connect login answers.
    fn row(&self) -> CredentialRow {
        let contact = self.new.contact.as_ref();
        CredentialRow {
            id: self.id.clone(),
            organisation_id: self.organisation_id.to_owned(),
            utility_id: self.new.utility_id.clone(),
            username: self.new.username.as_str().to_owned(),
            correlation_id: self.new.correlation_id.clone(),
            owner: self.new.owner,
            status_detail: StatusDetail::Connecting,
            failure_message: None,
            token_expires_at: None,
            last_synced_at: None,
            next_sync_at: None,
            created_at: self.now,
            updated_at: self.now,
            deactivated_at: None,
            mfa_challenge_id: None,
            mfa_options: None,
            mfa_method: None,
            mfa_destination: None,
            mfa_code_expires_at: None,
            mfa_sends: 0,
            mfa_wrong_codes: 0,
            mfa_last_activity_at: None,
            stale_since: None,
            contact_email: contact.map(|contact| contact.email.as_str().to_owned()),
            contact_language: contact.and_then(|contact| contact.language),
            token_expiry_predicted: false,
            token_idle_timeout_ms: None,
        }
    }

    /// `sql`, built on [`Creation::statements`], with their parameters bound.
    fn bind<'q>(
        &'q self,
        sql: &'q str,
        audit_entry: &'q audit::Entry<'q>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        let contact = self.new.contact.as_ref();
        let query = sqlx::query(sql)
            .bind(&self.id)
            .bind(self.organisation_id)
            .bind(&self.new.utility_id)
            .bind(self.new.username.as_str())
            .bind(self.new.correlation_id.as_deref())
            .bind(self.new.owner.as_str())
            .bind(StatusDetail::Connecting.as_str())
            .bind(&self.sealed_password)
            .bind(self.now)
            .bind(contact.map(|contact| contact.email.as_str()))
            .bind(contact.map(|contact| contact.source.as_str()))
            .bind(
                contact
                    .and_then(|contact| contact.language)
                    .map(|language| language.code()),
            );
        let event = NewEvent {
            credential_id: &self.id,
            organisation_id: self.organisation_id,
            kind: EventKind::Created,
            change: None,
            actor: self.actor,
            message: &self.message,
        };
        audit::bind(bind_event(query, &event, self.now), audit_entry, self.now)
    }

    /// The audit record of the creation.
    fn audit_entry(&self) -> audit::Entry<'_> {
        audit::Entry {
            organisation_id: Some(self.organisation_id),
            actor: self.audited,
            action: AuditAction::CredentialCreated,
            target: Some(Target::credential(&self.id)),
            details: serde_json::json!({
                "utilityId": self.new.utility_id,
                "username": self.new.username.as_str(),
            }),
        }
    }
}

/// Sets (or clears) the integrator's correlation id.
pub async fn change_correlation_id(
    connection: &mut sqlx::AnyConnection,
    credential_id: &str,
    correlation_id: Option<&str>,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credentials SET correlation_id = $1, updated_at = $2 WHERE id = $3")
        .bind(correlation_id)
        .bind(now_ms)
        .bind(credential_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// Seals and stores a new password (PASSWORD_CHANGED on the timeline). The
/// caller reconnects: see [`request_login`].
pub async fn change_password(
    connection: &mut sqlx::AnyConnection,
    ctx: &Ctx,
    row: &CredentialRow,
    password: &Password,
    actor: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    store_password(connection, ctx, &row.id, password, now_ms).await?;
    let event = NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind: EventKind::PasswordChanged,
        change: None,
        actor,
        message: "Password changed; reconnecting.",
    };
    record_event(connection, &event, now_ms).await
}

/// Seals and stores the password (the end-user's correction in Connect).
pub async fn store_password(
    connection: &mut sqlx::AnyConnection,
    ctx: &Ctx,
    credential_id: &str,
    password: &Password,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credentials SET sealed_password = $1, updated_at = $2 WHERE id = $3")
        .bind(secrets::seal_password(
            &ctx.keyring,
            credential_id,
            password,
        ))
        .bind(now_ms)
        .bind(credential_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// The end-user corrected the whole login after INVALID_CREDENTIALS.
pub async fn replace_login(
    connection: &mut sqlx::AnyConnection,
    ctx: &Ctx,
    credential_id: &str,
    utility_id: &str,
    username: &str,
    password: &Password,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET utility_id = $1, username = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(utility_id)
    .bind(username)
    .bind(now_ms)
    .bind(credential_id)
    .execute(&mut *connection)
    .await?;
    store_password(connection, ctx, credential_id, password, now_ms).await
}

/// Deactivates: no more syncing, both sealed secrets destroyed, open Connect
/// sessions and links revoked, DEACTIVATED on the timeline. Nothing in flight
/// can bring it back: every other write here skips deactivated credentials.
pub async fn deactivate(
    connection: &mut sqlx::AnyConnection,
    row: &CredentialRow,
    actor: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET deactivated_at = $1, updated_at = $1, sealed_session_token = NULL, \
           sealed_password = '', token_expires_at = NULL, login_requested_at = NULL, login_lease_until = NULL, \
           next_sync_at = NULL, sync_lease_until = NULL, mfa_challenge_id = NULL, mfa_in_flight_until = NULL \
         WHERE id = $2 AND deactivated_at IS NULL",
    )
    .bind(now_ms)
    .bind(&row.id)
    .execute(&mut *connection)
    .await?;
    super::sessions::revoke_open(
        connection,
        &row.id,
        super::sessions::Revocation::Deactivated,
        now_ms,
    )
    .await?;
    crate::domain::lifecycle::notice_stops::stop(
        connection,
        &row.id,
        crate::domain::lifecycle::notice_stops::StopReason::Deactivated,
        now_ms,
    )
    .await?;
    let event = NewEvent {
        credential_id: &row.id,
        organisation_id: &row.organisation_id,
        kind: EventKind::Deactivated,
        change: None,
        actor,
        message: "Deactivated; the stored password and session token were destroyed.",
    };
    record_event(connection, &event, now_ms).await
}

/// Changes only the language of the end-user's notices.
pub async fn set_contact_language(
    connection: &mut sqlx::AnyConnection,
    credential_id: &str,
    language: shared::i18n::Language,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE credentials SET contact_language = $1, updated_at = $2 WHERE id = $3")
        .bind(language.code())
        .bind(now_ms)
        .bind(credential_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// Sets or (with `None`) removes the end-user's contact, with CONTACT_CHANGED
/// on the timeline (the address masked). A running notice sequence ends: its
/// mail went to the old address.
pub async fn set_contact(
    connection: &mut sqlx::AnyConnection,
    credential: &CredentialRef<'_>,
    contact: Option<&Contact>,
    actor: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET contact_email = $1, contact_email_source = $2, contact_language = $3, \
           updated_at = $4 WHERE id = $5 AND deactivated_at IS NULL",
    )
    .bind(contact.map(|contact| contact.email.as_str()))
    .bind(contact.map(|contact| contact.source.as_str()))
    .bind(contact.and_then(|contact| contact.language).map(|language| language.code()))
    .bind(now_ms)
    .bind(credential.id)
    .execute(&mut *connection)
    .await?;
    crate::domain::lifecycle::notice_stops::stop(
        connection,
        credential.id,
        crate::domain::lifecycle::notice_stops::StopReason::HandledManually,
        now_ms,
    )
    .await?;
    let message = match contact {
        Some(contact) => format!(
            "Contact email set to {} (by the {}).",
            contact.email.masked(),
            match contact.source {
                ContactSource::Integrator => "integrator",
                ContactSource::Operator => "operator",
                ContactSource::EndUser => "end-user",
            }
        ),
        None => "Contact email removed.".to_owned(),
    };
    let event = NewEvent::notice(credential, EventKind::ContactChanged, actor, &message);
    record_event(connection, &event, now_ms).await
}
