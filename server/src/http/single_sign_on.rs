//! Single sign-on over HTTP: an admin sets up the organisation's identity
//! provider (`/api/v1/sso`); the sign-in page lists "Sign in with …"
//! buttons (`/api/sso/providers`); a button's navigation goes to the provider
//! (`/api/sso/{id}/start`, which keeps the `state` in a cookie) and comes back
//! to `/api/sso/callback`, which signs the operator in (or creates a member,
//! if the organisation allows) and sends the browser to the dashboard — or
//! to the sign-in page with `?sso=<why>`. The flow itself is
//! [`crate::domain::single_sign_on`]'s.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::audit::{AuditAction, AuditActorKind};
use shared::operators::Role;
use shared::routes;
use shared::single_sign_on::{
    SsoFirstSignIn, SsoProvider, SsoProviderSettings, SsoSettings, SsoSettingsChange,
};

use crate::domain::audit::{self, AuditActor, Target};
use crate::domain::operator_sessions as sessions;
use crate::domain::single_sign_on::{self as sso, Failure};
use crate::http::auth::{cookie, session_cookie_value, user_agent, AdminOperator};
use crate::http::client_ip::ClientIp;
use crate::http::error::{ApiError, FieldErrors};
use crate::http::extract::{Json, Path};
use crate::http::state::AppState;
use crate::infra::passwords::hash_password;
use crate::infra::tokens;

/// The cookie that ties a sign-in's way back to the browser that started it.
const STATE_COOKIE: &str = "gridlink_sso";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::v1::SSO,
            get(settings).put(change_settings).delete(remove_settings),
        )
        .route(routes::sso::PROVIDERS, get(providers))
        .route(routes::sso::START, get(start))
        .route(routes::sso::CALLBACK, get(callback))
}

fn redirect_uri(state: &AppState) -> String {
    state
        .settings
        .absolute_url(&routes::api(routes::sso::CALLBACK))
}

fn settings_body(state: &AppState, provider: Option<sso::Provider>) -> SsoSettings {
    SsoSettings {
        provider: provider.map(|provider| SsoProviderSettings {
            display_name: provider.display_name,
            issuer_url: provider.issuer_url,
            client_id: provider.client_id,
            allowed_domains: provider.allowed_domains,
            first_sign_in: provider.first_sign_in,
        }),
        redirect_uri: redirect_uri(state),
    }
}

async fn settings(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
) -> Result<Json<SsoSettings>, ApiError> {
    let provider = sso::for_organisation(&state, &actor.organisation_id).await?;
    Ok(Json(settings_body(&state, provider)))
}

/// Sets up or changes the provider; its discovery document must be readable.
async fn change_settings(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
    Json(body): Json<SsoSettingsChange>,
) -> Result<Json<SsoSettings>, ApiError> {
    let checked = sso::check(&body).map_err(|problems| {
        let mut errors = FieldErrors::default();
        for (field, message) in problems {
            errors.add(field, message);
        }
        errors.finish().expect_err("problems were found")
    })?;
    let before = sso::for_organisation(&state, &actor.organisation_id).await?;
    if before.is_none() && checked.client_secret.is_none() {
        return Err(ApiError::invalid_field(
            "clientSecret",
            "Enter the client secret the identity provider gave Gridlink.",
        ));
    }
    if let Err(why) = sso::discover(&state, &checked.issuer_url).await {
        return Err(ApiError::invalid_field(
            "issuerUrl",
            format!("Gridlink could not read this issuer's discovery document over verified HTTPS ({why})."),
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let fields = sso::save(
        &mut tx,
        &state,
        &actor.organisation_id,
        before.as_ref(),
        checked,
        now,
    )
    .await?
    .map_err(|field| ApiError::invalid_field(field, "Enter the client secret."))?;
    if !fields.is_empty() {
        actor
            .audit(
                &mut tx,
                now,
                AuditAction::SsoSettingsChanged,
                Some(Target::organisation(&actor.organisation_id)),
                json!({ "fields": fields }),
            )
            .await?;
    }
    tx.commit().await?;
    let provider = sso::for_organisation(&state, &actor.organisation_id).await?;
    Ok(Json(settings_body(&state, provider)))
}

async fn remove_settings(
    State(state): State<AppState>,
    AdminOperator(actor): AdminOperator,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.db.begin_write().await?;
    if !sso::remove(&mut tx, &actor.organisation_id).await? {
        return Err(ApiError::NotFound("Single sign-on is not set up."));
    }
    actor
        .audit(
            &mut tx,
            state.clock.now_ms(),
            AuditAction::SsoSettingsRemoved,
            Some(Target::organisation(&actor.organisation_id)),
            json!({}),
        )
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The sign-in page's buttons.
async fn providers(State(state): State<AppState>) -> Result<Json<Vec<SsoProvider>>, ApiError> {
    Ok(Json(
        sso::buttons(&state)
            .await?
            .into_iter()
            .map(|(id, name)| SsoProvider {
                start_url: routes::api_with(routes::sso::START, &[&id]),
                id,
                name,
            })
            .collect(),
    ))
}

/// A redirect (303) to `location`, with `cookie` set.
fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The `state` cookie: `SameSite=Lax`, because the way back from the
/// identity provider is a navigation from another site.
fn state_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if state.settings.cookies_are_secure() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={value}; Path={}; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}",
        routes::api(routes::sso::CALLBACK)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The sign-in page, saying why single sign-on ended there.
fn back_to_sign_in(failure: &Failure) -> Response {
    see_other(&format!("/dashboard/sign-in?sso={}", failure.code()), None)
}

/// Sends the browser to the identity provider.
async fn start(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match sso::start(&state, &id, &redirect_uri(&state)).await {
        Ok(Some((secret, url))) => {
            see_other(url.as_str(), Some(state_cookie(&state, &secret, 10 * 60)))
        }
        Ok(None) => ApiError::NotFound("No such single sign-on provider.").into_response(),
        Err(failure) => {
            if let Failure::Database(error) = failure {
                return ApiError::from(error).into_response();
            }
            back_to_sign_in(&failure)
        }
    }
}

/// What the identity provider sends the browser back with.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The way back: sign in, or say why not.
async fn callback(
    State(state): State<AppState>,
    client: ClientIp,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Response {
    let client = client.0.to_string();
    let user_agent = user_agent(&headers);
    // The state cookie is used once, whatever happens.
    let forget = state_cookie(&state, "", 0);
    let outcome = sign_in(&state, &headers, &answer, &client, &user_agent).await;
    let mut response = match outcome {
        Ok(secret) => see_other("/dashboard", Some(session_cookie_value(&state, &secret))),
        Err(Failure::Database(error)) => ApiError::from(error).into_response(),
        Err(failure) => back_to_sign_in(&failure),
    };
    response.headers_mut().append(header::SET_COOKIE, forget);
    response
}

/// Runs the way back; the new session's secret.
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    answer: &Answer,
    client: &str,
    user_agent: &str,
) -> Result<String, Failure> {
    let browser_state = cookie(headers, STATE_COOKIE);
    if answer.error.is_some() {
        tracing::info!(
            error = answer.error,
            "an identity provider refused a sign-in"
        );
        return Err(Failure::ProviderRefused);
    }
    let (Some(code), Some(returned_state)) = (&answer.code, &answer.state) else {
        return Err(Failure::StateMismatch);
    };
    let verified = sso::finish(
        state,
        browser_state,
        returned_state,
        code,
        &redirect_uri(state),
    )
    .await;
    let verified = match verified {
        Ok(verified) => verified,
        Err(failure) => {
            tracing::info!(reason = failure.code(), "a single sign-on was refused");
            return Err(failure);
        }
    };
    let organisation_id = verified.provider.organisation_id.clone();
    match operator_for(state, &verified).await? {
        Some(target) => {
            sessions::record_sign_in(state, &target, client, user_agent, "SSO", true).await?;
            let (secret, _) = sessions::create(state, &target.operator_id, client).await?;
            tracing::info!(
                operator_id = target.operator_id,
                "operator signed in with SSO"
            );
            Ok(secret)
        }
        None => {
            // Recorded in the organisation's trail: who tried, and why not.
            let actor = AuditActor::new(
                AuditActorKind::Anonymous,
                None,
                verified.email.clone(),
                client,
                user_agent,
            );
            let mut tx = state.db.begin_write().await?;
            audit::record(
                &mut tx,
                state.clock.now_ms(),
                audit::Entry {
                    organisation_id: Some(&organisation_id),
                    actor: &actor,
                    action: AuditAction::SignInFailed,
                    target: None,
                    details: json!({ "factor": "SSO", "reason": Failure::NotInvited.code() }),
                },
            )
            .await?;
            tx.commit().await?;
            Err(Failure::NotInvited)
        }
    }
}

/// The operator `verified` signs in as: theirs if they have one in the
/// provider's organisation, a new MEMBER if it creates them, else none.
async fn operator_for(
    state: &AppState,
    verified: &sso::Verified,
) -> Result<Option<sessions::SignInTarget>, Failure> {
    let provider = &verified.provider;
    let existing: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, organisation_id, removed_at FROM operators WHERE email = $1")
            .bind(&verified.email)
            .fetch_optional(state.db.pool())
            .await?;
    match existing {
        Some((id, organisation_id, None)) if organisation_id == provider.organisation_id => {
            Ok(Some(sessions::SignInTarget {
                operator_id: id,
                organisation_id,
                email: verified.email.clone(),
            }))
        }
        // Removed, or someone else's operator: not this organisation's to sign in.
        Some(_) => Ok(None),
        None if provider.first_sign_in == SsoFirstSignIn::CreateMember => {
            let id = tokens::new_id("op");
            let now = state.clock.now_ms();
            // A password nobody knows: they sign in through the provider.
            let password_hash =
                hash_password(tokens::generate("unusable_"))
                    .await
                    .map_err(|error| {
                        tracing::error!(%error, "hashing a new SSO operator's password failed");
                        Failure::ProviderUnreachable
                    })?;
            let mut tx = state.db.begin_write().await?;
            sqlx::query(
                "INSERT INTO operators (id, organisation_id, email, password_hash, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(&provider.organisation_id)
            .bind(&verified.email)
            .bind(password_hash)
            .bind(Role::Member.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let actor = AuditActor::new(
                AuditActorKind::System,
                None,
                format!("Single sign-on ({})", provider.display_name),
                "",
                "",
            );
            audit::record(
                &mut tx,
                now,
                audit::Entry {
                    organisation_id: Some(&provider.organisation_id),
                    actor: &actor,
                    action: AuditAction::OperatorInvited,
                    target: Some(Target::operator(&id)),
                    details: json!({ "email": verified.email, "role": "MEMBER", "by": "SSO" }),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(Some(sessions::SignInTarget {
                operator_id: id,
                organisation_id: provider.organisation_id.clone(),
                email: verified.email.clone(),
            }))
        }
        None => Ok(None),
    }
}
