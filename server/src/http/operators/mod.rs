//! Operators: signing in and out of the dashboard (`/api/session`) and, for
//! admins, managing the organisation's operators (`/api/v1/operators`).

pub mod account;
pub mod links;
pub mod passkeys;
pub mod second_factor_step;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde_json::json;
use shared::audit::AuditAction;
use shared::operators::{
    NewOperator, Operator, OperatorChange, Organisation, PasswordChange, Role, Session, SignIn,
};
use shared::routes;
use shared::validation::EmailAddress;

use crate::domain::audit::Target;
use crate::domain::operator_sessions as sessions;
use crate::domain::second_factor;
use crate::http::auth::{
    cleared_session_cookie, session_cookie, session_cookie_value, user_agent, Actor, AdminOperator,
    Principal,
};
use crate::http::client_ip::ClientIp;
use crate::http::error::{is_unique_violation, ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::clock::from_ms;
use crate::infra::passwords::{hash_password, validate_new_password, verify_password, HashingBusy};
use crate::infra::store::LockedTable;
use crate::infra::tokens;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::session::SESSION,
            get(current_session).post(sign_in).delete(sign_out),
        )
        .route(routes::session::PASSWORD, post(change_own_password))
        .merge(account::router())
        .merge(second_factor_step::router())
        .merge(passkeys::router())
        .merge(links::router())
        .route(
            routes::v1::OPERATORS,
            get(list_operators).post(add_operator),
        )
        .route(
            routes::v1::OPERATOR,
            patch(change_operator).delete(remove_operator),
        )
}

type OperatorRow = (String, String, String, String, i64, Option<i64>);

/// Failed sign-ins allowed within [`SIGN_IN_WINDOW`] for one email from one
/// client, and for one client over every email. Counting per client means a
/// stranger guessing passwords cannot lock the owner out from elsewhere.
const MAX_FAILURES_PER_CLIENT_AND_EMAIL: i64 = 10;
const MAX_FAILURES_PER_CLIENT: i64 = 50;
const SIGN_IN_WINDOW: time::Duration = time::Duration::minutes(15);
const OPERATOR_COLUMNS: &str = "id, organisation_id, email, role, created_at, invited_at";

fn operator_from_row((id, _, email, role, created_at, invited_at): OperatorRow) -> Operator {
    Operator {
        id,
        email,
        role: Role::parse(&role).unwrap_or(Role::Member),
        created_at: from_ms(created_at),
        invitation_pending: invited_at.is_some(),
    }
}

async fn session_body(
    state: &AppState,
    operator_id: &str,
    csrf_token: String,
    must_set_up_second_factor: bool,
) -> Result<Session, ApiError> {
    let row: OperatorRow = sqlx::query_as(&format!(
        "SELECT {OPERATOR_COLUMNS} FROM operators WHERE id = $1"
    ))
    .bind(operator_id)
    .fetch_one(state.db.pool())
    .await?;
    let organisation: (String, String) =
        sqlx::query_as("SELECT id, name FROM organisations WHERE id = $1")
            .bind(&row.1)
            .fetch_one(state.db.pool())
            .await?;
    Ok(Session {
        operator: operator_from_row(row),
        organisation: Organisation {
            id: organisation.0,
            name: organisation.1,
        },
        csrf_token,
        must_set_up_second_factor,
    })
}

/// Signs an operator in: sets the session cookie and returns the CSRF token.
/// The error never says whether the email or the password was wrong.
async fn sign_in(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Json(body): Json<SignIn>,
) -> Result<Response, ApiError> {
    let user_agent = user_agent(&headers);
    let mut errors = FieldErrors::default();
    let email = errors.check("email", EmailAddress::parse(&body.email));
    if body.password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    errors.finish()?;
    let email = email.expect("validated above");
    // Failures count per client as limits do (an IPv6 client by its /64);
    // the sign-in history keeps the address itself.
    let limit_key = client.limit_key().to_string();
    let client = client.0.to_string();
    let attempt = begin_attempt(&state, email.as_str(), &limit_key).await?;
    let found: Option<(String, String, String)> = sqlx::query_as(
        "SELECT id, organisation_id, password_hash FROM operators WHERE email = $1 AND removed_at IS NULL",
    )
    .bind(email.as_str())
    .fetch_optional(state.db.pool())
    .await?;
    let (target, stored_hash) = match found {
        Some((operator_id, organisation_id, hash)) => (
            Some(sessions::SignInTarget {
                operator_id,
                organisation_id,
                email: email.as_str().to_owned(),
            }),
            Some(hash),
        ),
        None => (None, None),
    };
    let password_matches = match verify_password(body.password, stored_hash).await {
        Ok(matches) => matches,
        Err(error) if error.is::<HashingBusy>() => {
            attempt.forget(&state).await?;
            return Err(ApiError::RateLimited {
                message: "Many sign-ins are being checked right now. Try again in a moment.".into(),
                retry_after_seconds: 2,
            });
        }
        Err(error) => return Err(error.into()),
    };
    let Some(target) = target.clone().filter(|_| password_matches) else {
        tracing::info!(%client, "operator sign-in refused");
        metrics::counter!(crate::infra::metrics::SIGN_IN_FAILURES, "reason" => "wrong_password")
            .increment(1);
        if let Some(target) = &target {
            sessions::record_sign_in(&state, target, &client, &user_agent, "PASSWORD", false)
                .await?;
        }
        attempt.prune_older(&state).await?;
        return Err(ApiError::SignInFailed);
    };
    attempt.forget(&state).await?;
    if second_factor::factors(&state, &target.operator_id)
        .await?
        .any()
    {
        return second_factor_step::ask_for_it(&state, &target.operator_id, &client).await;
    }
    complete_sign_in(&state, &target, &client, &user_agent, "PASSWORD").await
}

/// A sign-in attempt, recorded as a failure before its secret is checked so
/// parallel guesses see each other; a right answer forgets it again.
pub(crate) struct Attempt {
    id: String,
    window_start: i64,
}

impl Attempt {
    pub(crate) async fn forget(&self, state: &AppState) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE attempt = $1")
            .bind(&self.id)
            .execute(&mut *state.db.writer().await?)
            .await?;
        Ok(())
    }

    /// Forgets the failures that no longer count.
    pub(crate) async fn prune_older(&self, state: &AppState) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE failed_at <= $1")
            .bind(self.window_start)
            .execute(&mut *state.db.writer().await?)
            .await?;
        Ok(())
    }
}

/// Refuses (429) a client over its failure limits for `email`, else records
/// this attempt as a failure (password and second-factor guesses count alike).
pub(crate) async fn begin_attempt(
    state: &AppState,
    email: &str,
    limit_key: &str,
) -> Result<Attempt, ApiError> {
    let now = state.clock.now_ms();
    let window_start = now - SIGN_IN_WINDOW.whole_milliseconds() as i64;
    refuse_if_too_many_failures(state, email, limit_key, window_start, false).await?;
    let attempt = Attempt {
        id: crate::infra::tokens::new_id("attempt"),
        window_start,
    };
    sqlx::query(
        "INSERT INTO sign_in_failures (email, client, attempt, failed_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(email)
    .bind(limit_key)
    .bind(&attempt.id)
    .bind(now)
    .execute(&mut *state.db.writer().await?)
    .await?;
    if let Err(refused) =
        refuse_if_too_many_failures(state, email, limit_key, window_start, true).await
    {
        attempt.forget(state).await?;
        return Err(refused);
    }
    Ok(attempt)
}

/// Ends a sign-in whose every factor was right: the history and audit
/// record, a new session, its cookie and the session's body.
async fn complete_sign_in(
    state: &AppState,
    target: &sessions::SignInTarget,
    client: &str,
    user_agent: &str,
    factor: &str,
) -> Result<Response, ApiError> {
    sessions::record_sign_in(state, target, client, user_agent, factor, true).await?;
    let operator_id = &target.operator_id;
    let (secret, csrf_token) = sessions::create(state, operator_id, client).await?;
    let session = session_body(state, operator_id, csrf_token, false).await?;
    tracing::info!(operator_id, factor, "operator signed in");
    let mut response = Json(session).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_value(state, &secret));
    Ok(response)
}

/// 429 when this client failed too often for this email, or for any email
/// (`counting_this_attempt`: the attempt's own row is among those counted).
async fn refuse_if_too_many_failures(
    state: &AppState,
    email: &str,
    client: &str,
    window_start: i64,
    counting_this_attempt: bool,
) -> Result<(), ApiError> {
    let own = i64::from(counting_this_attempt);
    let (for_email, oldest_for_email, for_client, oldest_for_client): (
        i64,
        Option<i64>,
        i64,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE email = $1), MIN(failed_at) FILTER (WHERE email = $1), \
                    COUNT(*), MIN(failed_at) \
             FROM sign_in_failures WHERE client = $2 AND failed_at > $3",
    )
    .bind(email)
    .bind(client)
    .bind(window_start)
    .fetch_one(state.db.pool())
    .await?;
    let window_ms = SIGN_IN_WINDOW.whole_milliseconds() as i64;
    let wait =
        |oldest: Option<i64>| oldest.unwrap_or(window_start) + window_ms - state.clock.now_ms();
    if for_email - own >= MAX_FAILURES_PER_CLIENT_AND_EMAIL {
        tracing::warn!(%client, "operator sign-in refused: too many recent failures for this email");
        metrics::counter!(crate::infra::metrics::SIGN_IN_FAILURES, "reason" => "too_many_failures")
            .increment(1);
        return Err(ApiError::rate_limited(
            "Too many failed sign-ins for this email. Wait 15 minutes, then try again.",
            wait(oldest_for_email),
        ));
    }
    if for_client - own >= MAX_FAILURES_PER_CLIENT {
        tracing::warn!(%client, "operator sign-in refused: too many recent failures from this client");
        return Err(ApiError::rate_limited(
            "Too many failed sign-ins from your network. Wait 15 minutes, then try again.",
            wait(oldest_for_client),
        ));
    }
    Ok(())
}

async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Session>, ApiError> {
    let secret = session_cookie(&headers).ok_or(ApiError::Unauthenticated)?;
    let live = sessions::find_live(&state, secret)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Json(
        session_body(
            &state,
            &live.operator_id,
            live.csrf_token,
            live.must_set_up_second_factor,
        )
        .await?,
    ))
}

/// A signed-in operator changes their own password, proving the current one;
/// every other session of theirs ends (this one stays).
async fn change_own_password(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let (Principal::Operator { id, .. }, Some(secret)) =
        (&actor.principal, session_cookie(&headers))
    else {
        return Err(ApiError::Forbidden(
            "Only a signed-in operator can change their password.",
        ));
    };
    let mut errors = FieldErrors::default();
    if body.current_password.is_empty() {
        errors.add("currentPassword", "Enter your current password.");
    }
    errors.check("newPassword", validate_new_password(&body.new_password));
    errors.finish()?;
    let (stored,): (String,) = sqlx::query_as("SELECT password_hash FROM operators WHERE id = $1")
        .bind(id)
        .fetch_one(state.db.pool())
        .await?;
    let matches = match verify_password(body.current_password, Some(stored)).await {
        Ok(matches) => matches,
        Err(error) if error.is::<HashingBusy>() => {
            return Err(ApiError::RateLimited {
                message: "Many passwords are being checked right now. Try again in a moment."
                    .into(),
                retry_after_seconds: 2,
            })
        }
        Err(error) => return Err(error.into()),
    };
    if !matches {
        return Err(ApiError::invalid_field(
            "currentPassword",
            "This is not your current password.",
        ));
    }
    let password_hash = hash_password(body.new_password).await?;
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::PasswordChanged,
            Some(Target::operator(id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    sessions::delete_others_of(&state, id, secret).await?;
    tracing::info!(
        operator_id = id,
        "operator changed their password; other sessions ended"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out: the session ends on the server and the cookie is cleared.
async fn sign_out(
    State(state): State<AppState>,
    actor: Actor,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !matches!(actor.principal, Principal::Operator { .. }) {
        return Err(ApiError::Forbidden(
            "Only a signed-in operator can sign out.",
        ));
    }
    if let Some(secret) = session_cookie(&headers) {
        let mut tx = state.db.begin_write().await?;
        sessions::delete(&mut tx, secret).await?;
        actor
            .audit(
                &mut tx,
                state.clock.now_ms(),
                AuditAction::SignedOut,
                None,
                json!({}),
            )
            .await?;
        tx.commit().await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_session_cookie(&state));
    Ok(response)
}

async fn list_operators(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
) -> Result<Json<Vec<Operator>>, ApiError> {
    let rows: Vec<OperatorRow> = sqlx::query_as(&format!(
        "SELECT {OPERATOR_COLUMNS} FROM operators WHERE organisation_id = $1 AND removed_at IS NULL \
         UNION ALL SELECT {OPERATOR_COLUMNS} FROM unclaimable_invitations WHERE organisation_id = $1 AND removed_at IS NULL \
         ORDER BY email"
    ))
    .bind(&actor.organisation_id)
    .fetch_all(state.db.pool())
    .await?;
    Ok(Json(rows.into_iter().map(operator_from_row).collect()))
}

async fn add_operator(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Json(body): Json<NewOperator>,
) -> Result<(StatusCode, Json<Operator>), ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors.check("email", EmailAddress::parse(&body.email));
    if let Some(password) = &body.password {
        errors.check("password", validate_new_password(password));
    }
    errors.finish()?;
    let email = email.expect("validated above");
    let id = tokens::new_id("op");
    let now = state.clock.now_ms();
    // An invited operator gets a password nobody knows until they choose theirs.
    let invited = body.password.is_none();
    let password = body
        .password
        .unwrap_or_else(|| tokens::generate("unusable_"));
    let password_hash = hash_password(password).await?;
    let mut tx = state.db.begin_write().await?;
    let owner: Option<(String,)> =
        sqlx::query_as("SELECT organisation_id FROM operators WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let listed_already: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM unclaimable_invitations WHERE organisation_id = $1 AND email = $2 AND removed_at IS NULL",
    )
    .bind(&actor.organisation_id)
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    if listed_already.is_some() {
        return Err(ApiError::Conflict(
            "An operator with this email already exists.".into(),
        ));
    }
    if owner.is_some_and(|(organisation_id,)| organisation_id != actor.organisation_id) {
        let listed = Operator {
            id,
            email: email.as_str().to_owned(),
            role: body.role,
            created_at: from_ms(now),
            invitation_pending: invited,
        };
        add_unclaimable(&state, &mut tx, &actor.organisation_id, &listed, now).await?;
        audit_added(&actor, &mut tx, now, &listed).await?;
        tx.commit().await?;
        state.wakeups.mail.notify_one();
        return Ok((StatusCode::CREATED, Json(listed)));
    }
    let inserted = sqlx::query(
        "INSERT INTO operators (id, organisation_id, email, password_hash, role, created_at, invited_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&actor.organisation_id)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(body.role.as_str())
    .bind(now)
    .bind(invited.then_some(now))
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => {
            return Err(ApiError::Conflict(
                "An operator with this email already exists.".into(),
            ));
        }
        other => other?,
    };
    if invited {
        links::mail_link(
            &mut tx,
            &state,
            &id,
            email.as_str(),
            shared::operators::OperatorLinkPurpose::Invitation,
        )
        .await?;
    }
    let added = Operator {
        id,
        email: email.as_str().to_owned(),
        role: body.role,
        created_at: from_ms(now),
        invitation_pending: invited,
    };
    audit_added(&actor, &mut tx, now, &added).await?;
    tx.commit().await?;
    if invited {
        state.wakeups.mail.notify_one();
    }
    Ok((StatusCode::CREATED, Json(added)))
}

async fn audit_added(
    actor: &Actor,
    tx: &mut sqlx::AnyConnection,
    now: i64,
    added: &Operator,
) -> Result<(), sqlx::Error> {
    actor
        .audit(
            tx,
            now,
            AuditAction::OperatorInvited,
            Some(Target::operator(&added.id)),
            json!({"email": added.email, "role": added.role, "invited": added.invitation_pending}),
        )
        .await
}

/// Case 45: an address another organisation uses gets the answer and the
/// list entry a new operator would, and no account; its owner is mailed what
/// happened. See migration 0022.
async fn add_unclaimable(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    organisation_id: &str,
    listed: &Operator,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO unclaimable_invitations (id, organisation_id, email, role, created_at, invited_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&listed.id)
    .bind(organisation_id)
    .bind(&listed.email)
    .bind(listed.role.as_str())
    .bind(now)
    .bind(listed.invitation_pending.then_some(now))
    .execute(&mut *tx)
    .await?;
    let (organisation,): (String,) = sqlx::query_as("SELECT name FROM organisations WHERE id = $1")
        .bind(organisation_id)
        .fetch_one(&mut *tx)
        .await?;
    crate::domain::mail::outbox::enqueue(
        tx,
        &state.keyring,
        &crate::domain::mail::outbox::OutgoingMail {
            organisation_id: None,
            credential_id: None,
            kind: crate::domain::mail::outbox::MailKind::OperatorInvitation,
            to: &listed.email,
            content: crate::domain::mail::messages::operator_address_taken(
                &organisation,
                &state.settings.absolute_url("/dashboard"),
            ),
        },
        now,
    )
    .await?;
    tracing::info!(organisation_id, "an operator address of another organisation was added; its owner is told, nothing is created");
    Ok(())
}

/// Refuses, inside `tx`, to let `operator_id` stop being an admin when no
/// other admin is left. The organisation's row is locked first, so two admins
/// demoting or removing each other at once take turns and one is refused.
async fn keep_an_admin(
    state: &AppState,
    tx: &mut sqlx::AnyConnection,
    organisation_id: &str,
    operator_id: &str,
) -> Result<(), ApiError> {
    state
        .db
        .lock_row(tx, LockedTable::Organisations, organisation_id)
        .await?;
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM operators WHERE organisation_id = $1 AND role = 'ADMIN' AND removed_at IS NULL AND id <> $2",
    )
    .bind(organisation_id)
    .bind(operator_id)
    .fetch_one(&mut *tx)
    .await?;
    if count == 0 {
        return Err(ApiError::Conflict(
            "An organisation needs at least one admin.".into(),
        ));
    }
    Ok(())
}

async fn change_operator(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Path(id): Path<String>,
    Json(body): Json<OperatorChange>,
) -> Result<Json<Operator>, ApiError> {
    let mut tx = state.db.begin_write().await?;
    if body.role == Role::Member {
        keep_an_admin(&state, &mut tx, &actor.organisation_id, &id).await?;
    }
    let row: Option<OperatorRow> = sqlx::query_as(&format!(
        "UPDATE operators SET role = $1 WHERE id = $2 AND organisation_id = $3 AND removed_at IS NULL RETURNING {OPERATOR_COLUMNS}"
    ))
    .bind(body.role.as_str())
    .bind(&id)
    .bind(&actor.organisation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match row {
        Some(row) => Some(row),
        None => {
            sqlx::query_as(&format!(
            "UPDATE unclaimable_invitations SET role = $1 WHERE id = $2 AND organisation_id = $3 \
                   AND removed_at IS NULL RETURNING {OPERATOR_COLUMNS}"
        ))
            .bind(body.role.as_str())
            .bind(&id)
            .bind(&actor.organisation_id)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    let row = row.ok_or(ApiError::NotFound("The operator"))?;
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::OperatorRoleChanged,
            Some(Target::operator(&id)),
            json!({"role": body.role}),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(operator_from_row(row)))
}

async fn remove_operator(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.db.begin_write().await?;
    keep_an_admin(&state, &mut tx, &actor.organisation_id, &id).await?;
    let removed = sqlx::query(
        "UPDATE operators SET removed_at = $1 WHERE id = $2 AND organisation_id = $3 AND removed_at IS NULL",
    )
    .bind(state.clock.now_ms())
    .bind(&id)
    .bind(&actor.organisation_id)
    .execute(&mut *tx)
    .await?;
    if removed.rows_affected() == 0 {
        let forgotten = sqlx::query(
            "UPDATE unclaimable_invitations SET removed_at = $1 \
             WHERE id = $2 AND organisation_id = $3 AND removed_at IS NULL",
        )
        .bind(state.clock.now_ms())
        .bind(&id)
        .bind(&actor.organisation_id)
        .execute(&mut *tx)
        .await?;
        if forgotten.rows_affected() == 0 {
            return Err(ApiError::NotFound("The operator"));
        }
    }
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::OperatorRemoved,
            Some(Target::operator(&id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    sessions::delete_all_of(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
