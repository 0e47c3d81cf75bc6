//! Single sign-on with OpenID Connect (`openidconnect`): one identity
//! provider per organisation, and the authorization code flow with PKCE,
//! `state` and `nonce`. The issuer's discovery document and keys are read over
//! Gridlink's own verified TLS (its trust roots, no redirects followed); the
//! ID token's signature, issuer, audience, expiry and nonce are checked
//! before its email is believed. The client secret is sealed with the master
//! key. Who the email belongs to (an operator, a new member, no one) is the
//! HTTP layer's business.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use reqwest::Url;
use shared::single_sign_on::{SsoFirstSignIn, SsoSettingsChange};

use crate::domain::ctx::Ctx;
use crate::infra::tokens;

/// How long a sign-in may spend at the identity provider.
const SIGN_IN_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// How long Gridlink waits for the identity provider.
const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The associated data of a provider's sealed client secret.
pub fn secret_associated_data(provider_id: &str) -> String {
    format!("sso_provider:{provider_id}:client_secret")
}

/// An organisation's identity provider, its secret opened.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub organisation_id: String,
    pub display_name: String,
    pub issuer_url: String,
    pub client_id: String,
    client_secret: String,
    pub allowed_domains: Vec<String>,
    pub first_sign_in: SsoFirstSignIn,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

const COLUMNS: &str = "id, organisation_id, display_name, issuer_url, client_id, \
     sealed_client_secret, allowed_domains, first_sign_in";

fn provider(ctx: &Ctx, row: Row) -> Option<Provider> {
    let (id, organisation_id, display_name, issuer_url, client_id, sealed, domains, first) = row;
    let client_secret = match ctx.keyring.open(&sealed, &secret_associated_data(&id)) {
        Ok(secret) => String::from_utf8(secret).ok()?,
        Err(_) => {
            tracing::error!(provider_id = id, "an SSO client secret did not open");
            return None;
        }
    };
    Some(Provider {
        allowed_domains: domains.split(',').map(str::to_owned).collect(),
        first_sign_in: SsoFirstSignIn::parse(&first).unwrap_or(SsoFirstSignIn::InvitedOnly),
        id,
        organisation_id,
        display_name,
        issuer_url,
        client_id,
        client_secret,
    })
}

/// `organisation_id`'s identity provider, if it has one.
pub async fn for_organisation(
    ctx: &Ctx,
    organisation_id: &str,
) -> Result<Option<Provider>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sso_providers WHERE organisation_id = $1"
    ))
    .bind(organisation_id)
    .fetch_optional(ctx.db.pool())
    .await?;
    Ok(row.and_then(|row| provider(ctx, row)))
}

async fn by_id(ctx: &Ctx, id: &str) -> Result<Option<Provider>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sso_providers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ctx.db.pool())
    .await?;
    Ok(row.and_then(|row| provider(ctx, row)))
}

/// Every provider's id and display name, for the sign-in page's buttons.
pub async fn buttons(ctx: &Ctx) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, display_name FROM sso_providers ORDER BY display_name, id")
        .fetch_all(ctx.db.pool())
        .await
}

/// A checked [`SsoSettingsChange`]: the issuer as a URL, domains in lower case.
pub struct Checked {
    pub display_name: String,
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub allowed_domains: Vec<String>,
    pub first_sign_in: SsoFirstSignIn,
}

/// Checks a change's fields; each problem named by its field.
pub fn check(change: &SsoSettingsChange) -> Result<Checked, Vec<(&'static str, String)>> {
    let mut problems = Vec::new();
    let display_name = change.display_name.trim().to_owned();
    if display_name.is_empty()
        || display_name.chars().count() > 60
        || display_name.chars().any(char::is_control)
    {
        problems.push((
            "displayName",
            "Name the provider as your operators know it (1 to 60 characters), e.g. “Acme Okta”."
                .to_owned(),
        ));
    }
    let issuer_url = change.issuer_url.trim().to_owned();
    match Url::parse(&issuer_url) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() && url.query().is_none() => {}
        _ => problems.push((
            "issuerUrl",
            "Enter the issuer's https:// address, as its discovery document names it.".to_owned(),
        )),
    }
    let client_id = change.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control) {
        problems.push((
            "clientId",
            "Enter the client id the identity provider gave Gridlink.".to_owned(),
        ));
    }
    let client_secret = change
        .client_secret
        .as_deref()
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .map(str::to_owned);
    if client_secret
        .as_deref()
        .is_some_and(|secret| secret.len() > 512 || secret.chars().any(char::is_control))
    {
        problems.push((
            "clientSecret",
            "This client secret is not valid.".to_owned(),
        ));
    }
    let mut allowed_domains = Vec::new();
    for domain in &change.allowed_domains {
        let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            });
        if !valid {
            problems.push((
                "allowedDomains",
                format!("“{domain}” is not a domain name (e.g. example.com)."),
            ));
        } else if !allowed_domains.contains(&domain) {
            allowed_domains.push(domain);
        }
    }
    if change.allowed_domains.is_empty() || change.allowed_domains.len() > 20 {
        problems.push((
            "allowedDomains",
            "List 1 to 20 email domains whose people may sign in.".to_owned(),
        ));
    }
    if problems.is_empty() {
        Ok(Checked {
            display_name,
            issuer_url,
            client_id,
            client_secret,
            allowed_domains,
            first_sign_in: change.first_sign_in,
        })
    } else {
        Err(problems)
    }
}

/// The HTTP client for identity providers: Gridlink's trust roots, HTTPS
/// only, no redirects (a discovery document that redirects is refused).
fn http_client(ctx: &Ctx) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(ctx.settings.trust.client_config())
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PROVIDER_TIMEOUT)
        .build()
        .expect("a reqwest client builds")
}

/// Reads the issuer's discovery document and keys; a sentence for the
/// admin when it cannot.
pub async fn discover(ctx: &Ctx, issuer_url: &str) -> Result<CoreProviderMetadata, String> {
    let issuer = IssuerUrl::new(issuer_url.to_owned()).map_err(|error| error.to_string())?;
    CoreProviderMetadata::discover_async(issuer, &http_client(ctx))
        .await
        .map_err(|error| {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            message
        })
}

/// Saves `organisation_id`'s provider inside `tx`; the fields that changed.
/// A first save needs a client secret (`Err` names the field).
pub async fn save(
    tx: &mut sqlx::AnyConnection,
    ctx: &Ctx,
    organisation_id: &str,
    before: Option<&Provider>,
    change: Checked,
    now_ms: i64,
) -> Result<Result<Vec<&'static str>, &'static str>, sqlx::Error> {
    let id = before.map_or_else(|| tokens::new_id("sso"), |before| before.id.clone());
    let Some(secret) = change
        .client_secret
        .clone()
        .or_else(|| before.map(|before| before.client_secret.clone()))
    else {
        return Ok(Err("clientSecret"));
    };
    let mut fields = Vec::new();
    let differs = |name: &'static str, changed: bool, fields: &mut Vec<&'static str>| {
        if changed {
            fields.push(name);
        }
    };
    differs(
        "displayName",
        before.is_none_or(|b| b.display_name != change.display_name),
        &mut fields,
    );
    differs(
        "issuerUrl",
        before.is_none_or(|b| b.issuer_url != change.issuer_url),
        &mut fields,
    );
    differs(
        "clientId",
        before.is_none_or(|b| b.client_id != change.client_id),
        &mut fields,
    );
    differs(
        "clientSecret",
        before.is_none_or(|b| b.client_secret != secret),
        &mut fields,
    );
    differs(
        "allowedDomains",
        before.is_none_or(|b| b.allowed_domains != change.allowed_domains),
        &mut fields,
    );
    differs(
        "firstSignIn",
        before.is_none_or(|b| b.first_sign_in != change.first_sign_in),
        &mut fields,
    );
    let sealed = ctx
        .keyring
        .seal(secret.as_bytes(), &secret_associated_data(&id));
    sqlx::query(
        "INSERT INTO sso_providers (id, organisation_id, display_name, issuer_url, client_id, \
           sealed_client_secret, allowed_domains, first_sign_in, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (organisation_id) DO UPDATE SET display_name = $3, issuer_url = $4, \
           client_id = $5, sealed_client_secret = $6, allowed_domains = $7, first_sign_in = $8, \
           updated_at = $9",
    )
    .bind(&id)
    .bind(organisation_id)
    .bind(&change.display_name)
    .bind(&change.issuer_url)
    .bind(&change.client_id)
    .bind(sealed)
    .bind(change.allowed_domains.join(","))
    .bind(change.first_sign_in.as_str())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(Ok(fields))
}

/// Removes `organisation_id`'s provider (and its sign-ins under way) inside
/// `tx`; whether it had one.
pub async fn remove(
    tx: &mut sqlx::AnyConnection,
    organisation_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "DELETE FROM sso_sign_ins WHERE provider_id IN \
           (SELECT id FROM sso_providers WHERE organisation_id = $1)",
    )
    .bind(organisation_id)
    .execute(&mut *tx)
    .await?;
    let removed = sqlx::query("DELETE FROM sso_providers WHERE organisation_id = $1")
        .bind(organisation_id)
        .execute(&mut *tx)
        .await?;
    Ok(removed.rows_affected() > 0)
}

/// Why a single sign-on did not sign anyone in; its code goes to the
/// sign-in page (`shared::single_sign_on::sso_failure_message`).
#[derive(Debug)]
pub enum Failure {
    /// The `state` is not this browser's, was used, or expired.
    StateMismatch,
    /// The identity provider answered with an error.
    ProviderRefused,
    /// The code was refused at the token endpoint (used, or not ours).
    CodeRejected,
    /// No ID token, or one that does not verify.
    TokenInvalid,
    /// No verified email, or one outside the allowed domains.
    EmailNotAllowed,
    /// No operator with this email, and the provider creates none.
    NotInvited,
    /// The provider could not be reached.
    ProviderUnreachable,
    Database(sqlx::Error),
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::StateMismatch => "STATE_MISMATCH",
            Failure::ProviderRefused => "PROVIDER_REFUSED",
            Failure::CodeRejected => "CODE_REJECTED",
            Failure::TokenInvalid => "TOKEN_INVALID",
            Failure::EmailNotAllowed => "EMAIL_NOT_ALLOWED",
            Failure::NotInvited => "NOT_INVITED",
            Failure::ProviderUnreachable => "PROVIDER_UNREACHABLE",
            Failure::Database(_) => "UNAVAILABLE",
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Failure {
        Failure::Database(error)
    }
}

/// `provider`'s OpenID client: its discovery document (and keys) read now.
async fn client(
    ctx: &Ctx,
    provider: &Provider,
    redirect_uri: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Failure,
> {
    let metadata = discover(ctx, &provider.issuer_url).await.map_err(|error| {
        tracing::warn!(
            provider_id = provider.id,
            error,
            "an identity provider's discovery failed"
        );
        Failure::ProviderUnreachable
    })?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| Failure::TokenInvalid)?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// Starts a sign-in with provider `provider_id`: the `state` to keep in the
/// browser and the identity provider's address to send it to.
pub async fn start(
    ctx: &Ctx,
    provider_id: &str,
    redirect_uri: &str,
) -> Result<Option<(String, Url)>, Failure> {
    let Some(provider) = by_id(ctx, provider_id).await? else {
        return Ok(None);
    };
    let client = client(ctx, &provider, redirect_uri).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query("DELETE FROM sso_sign_ins WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sso_sign_ins (state_hash, provider_id, pkce_verifier, nonce, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tokens::hash(state.secret()))
    .bind(&provider.id)
    .bind(verifier.secret())
    .bind(nonce.secret())
    .bind(now + SIGN_IN_LIFETIME_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((state.secret().clone(), url)))
}

/// A sign-in the identity provider vouched for.
pub struct Verified {
    pub provider: Provider,
    /// As operators' emails are stored (trimmed, lower case).
    pub email: String,
}

/// Finishes a sign-in: the browser's `state` (its cookie) must be the one
/// the provider sent back, and unused; the code is exchanged (with the PKCE
/// verifier) for an ID token whose signature and claims verify; its email
/// must be verified and in an allowed domain.
pub async fn finish(
    ctx: &Ctx,
    browser_state: Option<&str>,
    returned_state: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<Verified, Failure> {
    let same = browser_state.is_some_and(|kept| {
        kept.len() == returned_state.len()
            && kept
                .bytes()
                .zip(returned_state.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    });
    if !same {
        return Err(Failure::StateMismatch);
    }
    let mut tx = ctx.db.begin_write().await?;
    let pending: Option<(String, String, String)> = sqlx::query_as(
        "DELETE FROM sso_sign_ins WHERE state_hash = $1 AND expires_at > $2 \
         RETURNING provider_id, pkce_verifier, nonce",
    )
    .bind(tokens::hash(returned_state))
    .bind(ctx.clock.now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (provider_id, verifier, nonce) = pending.ok_or(Failure::StateMismatch)?;
    let provider = by_id(ctx, &provider_id)
        .await?
        .ok_or(Failure::StateMismatch)?;
    let client = client(ctx, &provider, redirect_uri).await?;
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|_| Failure::TokenInvalid)?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier));
    let tokens = request
        .request_async(&http_client(ctx))
        .await
        .map_err(|error| {
            tracing::info!(provider_id, %error, "an identity provider refused a code");
            Failure::CodeRejected
        })?;
    let id_token = openidconnect::TokenResponse::id_token(&tokens).ok_or(Failure::TokenInvalid)?;
    let claims: &CoreIdTokenClaims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(nonce))
        .map_err(|error| {
            tracing::warn!(provider_id, %error, "an ID token did not verify");
            Failure::TokenInvalid
        })?;
    // The email is in the ID token, or (as many providers do for the code
    // flow) only at the userinfo endpoint, for the same subject.
    let (email, verified) = match claims.email() {
        Some(email) => (email.as_str().to_owned(), claims.email_verified()),
        None => {
            let userinfo: CoreUserInfoClaims = client
                .user_info(
                    tokens.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(|_| Failure::EmailNotAllowed)?
                .request_async(&http_client(ctx))
                .await
                .map_err(|error| {
                    tracing::warn!(provider_id, %error, "the userinfo endpoint did not answer");
                    Failure::TokenInvalid
                })?;
            let email = userinfo.email().ok_or(Failure::EmailNotAllowed)?;
            (email.as_str().to_owned(), userinfo.email_verified())
        }
    };
    if verified == Some(false) {
        return Err(Failure::EmailNotAllowed);
    }
    // Normalised as operators' emails are stored; an address Gridlink would
    // refuse for an operator is refused here too.
    let email = shared::validation::EmailAddress::parse(&email)
        .map_err(|_| Failure::EmailNotAllowed)?
        .as_str()
        .to_owned();
    let domain = email.rsplit_once('@').map(|(_, domain)| domain);
    if !domain.is_some_and(|domain| {
        provider
            .allowed_domains
            .iter()
            .any(|allowed| allowed == domain)
    }) {
        return Err(Failure::EmailNotAllowed);
    }
    Ok(Verified { provider, email })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(issuer: &str, domains: &[&str]) -> SsoSettingsChange {
        SsoSettingsChange {
            display_name: "Acme Okta".into(),
            issuer_url: issuer.into(),
            client_id: "gridlink".into(),
            client_secret: Some("s3cret".into()),
            allowed_domains: domains.iter().map(|domain| (*domain).to_owned()).collect(),
            first_sign_in: SsoFirstSignIn::InvitedOnly,
        }
    }

    #[test]
    fn an_issuer_is_https_and_domains_are_names() {
        let checked = check(&change(
            "https://id.example.com/",
            &["@Example.COM", "example.com"],
        ))
        .ok()
        .unwrap();
        assert_eq!(checked.allowed_domains, ["example.com"]);
        let fields = |change| check(&change).err().unwrap_or_default();
        assert_eq!(
            fields(change("http://id.example.com", &["example.com"]))[0].0,
            "issuerUrl"
        );
        assert_eq!(
            fields(change("https://id.example.com", &[]))[0].0,
            "allowedDomains"
        );
        assert_eq!(
            fields(change("https://id.example.com", &["not a domain"]))[0].0,
            "allowedDomains"
        );
        assert_eq!(
            fields(change("https://id.example.com", &["localhost"]))[0].0,
            "allowedDomains"
        );
    }
}
