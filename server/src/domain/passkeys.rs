//! Operators' passkeys (WebAuthn, by `webauthn-rs`): registered from the
//! account page (named, one or more, removable) and used as the second step
//! of a sign-in. A ceremony has two halves: the server's challenge, kept in
//! `webauthn_ceremonies` for five minutes and used once, and the browser's
//! signed answer. The relying party is Gridlink's public URL: WebAuthn needs a
//! domain name, so a Gridlink reached at a loopback address (the demo,
//! `http://127.0.0.1:3000`) offers passkeys at `localhost` on the same port,
//! and one reached at another address offers none.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Url;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::domain::ctx::Ctx;
use crate::infra::tokens;

/// How long the browser has to answer a challenge.
const CEREMONY_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// What relying parties call Gridlink in the browser's passkey dialog.
const RELYING_PARTY_NAME: &str = "Gridlink";

/// Where passkeys work for a Gridlink at `public_url`.
pub enum RelyingParty {
    /// Here: passkeys are registered and used for this origin.
    Here(Box<Webauthn>),
    /// Not at the page's origin, but at this one (a loopback address's
    /// `localhost`).
    Elsewhere(Url),
    /// Nowhere, and why.
    Unavailable(&'static str),
}

impl RelyingParty {
    /// The relying party for `public_url`, as seen from a page at `origin`
    /// (the request's `Origin`; `None` when the client sent none).
    pub fn for_public_url(public_url: &Url, origin: Option<&str>) -> RelyingParty {
        let Some(passkey_origin) = passkey_origin(public_url) else {
            return RelyingParty::Unavailable(
                "Passkeys need Gridlink at a domain name over HTTPS: set GRIDLINK_PUBLIC_URL to one.",
            );
        };
        let here = origin.is_none_or(|origin| {
            Url::parse(origin).is_ok_and(|origin| origin.origin() == passkey_origin.origin())
        });
        if !here {
            return RelyingParty::Elsewhere(passkey_origin);
        }
        let rp_id = passkey_origin.host_str().unwrap_or_default().to_owned();
        match WebauthnBuilder::new(&rp_id, &passkey_origin)
            .map(|builder| builder.rp_name(RELYING_PARTY_NAME))
            .and_then(WebauthnBuilder::build)
        {
            Ok(webauthn) => RelyingParty::Here(Box::new(webauthn)),
            Err(error) => {
                tracing::warn!(%error, %passkey_origin, "no WebAuthn relying party for the public URL");
                RelyingParty::Unavailable(
                    "Passkeys need Gridlink at a domain name over HTTPS: set GRIDLINK_PUBLIC_URL to one.",
                )
            }
        }
    }
}

/// The origin passkeys belong to: the public URL's own when it has a domain
/// name (HTTPS, or `localhost`), `localhost` on the same port for a loopback
/// address, none otherwise.
pub fn passkey_origin(public_url: &Url) -> Option<Url> {
    let mut origin = Url::parse(&public_url.origin().ascii_serialization()).ok()?;
    match public_url.host()? {
        url::Host::Domain(domain) => {
            (public_url.scheme() == "https" || domain == "localhost").then_some(origin)
        }
        url::Host::Ipv4(ip) if ip.is_loopback() => {
            origin.set_host(Some("localhost")).ok()?;
            Some(origin)
        }
        url::Host::Ipv6(ip) if ip.is_loopback() => {
            origin.set_host(Some("localhost")).ok()?;
            Some(origin)
        }
        _ => None,
    }
}

/// The user handle an operator's passkeys carry: derived from their id, so
/// nothing more is stored and nothing personal reaches the authenticator.
fn user_handle(operator_id: &str) -> Uuid {
    let digest = Sha256::digest(format!("gridlink-operator:{operator_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// What a ceremony is for; an answer only finishes a ceremony of its kind.
#[derive(Clone, Copy)]
enum Purpose {
    Registration,
    SecondStep,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Registration => "REGISTRATION",
            Purpose::SecondStep => "SECOND_STEP",
        }
    }
}

/// Keeps a ceremony's server half; returns the id the browser sends back.
async fn keep_ceremony(
    ctx: &Ctx,
    operator_id: &str,
    purpose: Purpose,
    state: &impl serde::Serialize,
) -> Result<String, sqlx::Error> {
    let ceremony_id = tokens::generate("wac_");
    let now = ctx.clock.now_ms();
    let state = serde_json::to_string(state).expect("a WebAuthn state serialises");
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id_hash, operator_id, purpose, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tokens::hash(&ceremony_id))
    .bind(operator_id)
    .bind(purpose.as_str())
    .bind(state)
    .bind(now + CEREMONY_LIFETIME_MS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ceremony_id)
}

/// Takes (uses up) `operator_id`'s live ceremony `ceremony_id` for `purpose`.
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    ceremony_id: &str,
    purpose: Purpose,
    now_ms: i64,
) -> Result<Option<T>, sqlx::Error> {
    let state: Option<(String,)> = sqlx::query_as(
        "DELETE FROM webauthn_ceremonies \
         WHERE id_hash = $1 AND operator_id = $2 AND purpose = $3 AND expires_at > $4 \
         RETURNING state",
    )
    .bind(tokens::hash(ceremony_id))
    .bind(operator_id)
    .bind(purpose.as_str())
    .bind(now_ms)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(state.and_then(|(state,)| serde_json::from_str(&state).ok()))
}

/// `operator_id`'s passkeys: (id, webauthn-rs's record).
async fn passkeys_of(
    executor: &mut sqlx::AnyConnection,
    operator_id: &str,
) -> Result<Vec<(String, Passkey)>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, passkey FROM operator_passkeys WHERE operator_id = $1")
            .bind(operator_id)
            .fetch_all(&mut *executor)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, passkey)| match serde_json::from_str(&passkey) {
            Ok(passkey) => Some((id, passkey)),
            Err(error) => {
                tracing::error!(%error, passkey_id = id, "a stored passkey does not parse");
                None
            }
        })
        .collect())
}

/// Starts registering a passkey for `operator_id` (their existing ones are
/// excluded, so one authenticator is not registered twice); the options for
/// `navigator.credentials.create()`. The passkey is asked to be discoverable
/// where the authenticator can, so it can also sign in without a password.
pub async fn start_registration(
    ctx: &Ctx,
    webauthn: &Webauthn,
    operator_id: &str,
    email: &str,
) -> anyhow::Result<(String, serde_json::Value)> {
    let existing = passkeys_of(&mut *ctx.db.pool().acquire().await?, operator_id).await?;
    let exclude = existing
        .iter()
        .map(|(_, passkey)| passkey.cred_id().clone())
        .collect::<Vec<_>>();
    let (challenge, state) = webauthn.start_passkey_registration(
        user_handle(operator_id),
        email,
        email,
        Some(exclude).filter(|exclude| !exclude.is_empty()),
    )?;
    let ceremony_id = keep_ceremony(ctx, operator_id, Purpose::Registration, &state).await?;
    Ok((ceremony_id, discoverable_preferred(challenge)))
}

/// `challenge` as JSON, asking for a discoverable credential where possible
/// (webauthn-rs discourages them for passkeys; signing in without a password
/// needs them). Nothing about it is checked at registration.
fn discoverable_preferred(challenge: CreationChallengeResponse) -> serde_json::Value {
    let mut options = serde_json::to_value(challenge).expect("a challenge serialises");
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "preferred".into());
    }
    options
}

/// How finishing a registration went.
pub enum Registered {
    /// Stored under this id.
    Stored(String),
    /// No such live ceremony of this operator's (unknown, used, or expired).
    NoCeremony,
    /// The browser's answer does not verify.
    Refused(String),
    /// This authenticator's passkey is registered already.
    Duplicate,
}

/// Verifies the browser's answer to `ceremony_id` and stores the passkey as
/// `name`, inside `tx`.
pub async fn finish_registration(
    tx: &mut sqlx::AnyConnection,
    webauthn: &Webauthn,
    operator_id: &str,
    ceremony_id: &str,
    name: &str,
    answer: &RegisterPublicKeyCredential,
    now_ms: i64,
) -> Result<Registered, sqlx::Error> {
    let Some(state) = take_ceremony::<PasskeyRegistration>(
        tx,
        operator_id,
        ceremony_id,
        Purpose::Registration,
        now_ms,
    )
    .await?
    else {
        return Ok(Registered::NoCeremony);
    };
    // One of the operator's own, which the challenge excluded (webauthn-rs
    // refuses it with a misleading error, so it is named here first).
    let (own,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM operator_passkeys WHERE operator_id = $1 AND credential_id = $2",
    )
    .bind(operator_id)
    .bind(URL_SAFE_NO_PAD.encode(&answer.raw_id))
    .fetch_one(&mut *tx)
    .await?;
    if own > 0 {
        return Ok(Registered::Duplicate);
    }
    let passkey = match webauthn.finish_passkey_registration(answer, &state) {
        Ok(passkey) => passkey,
        Err(error) => return Ok(Registered::Refused(error.to_string())),
    };
    let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id());
    let id = tokens::new_id("pk");
    let inserted = sqlx::query(
        "INSERT INTO operator_passkeys (id, operator_id, name, credential_id, passkey, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&id)
    .bind(operator_id)
    .bind(name)
    .bind(credential_id)
    .bind(serde_json::to_string(&passkey).expect("a passkey serialises"))
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(if inserted.rows_affected() == 1 {
        Registered::Stored(id)
    } else {
        Registered::Duplicate
    })
}

/// Starts a passkey second step for `operator_id`; `None` when they have no
/// passkey.
pub async fn start_second_step(
    ctx: &Ctx,
    webauthn: &Webauthn,
    operator_id: &str,
) -> anyhow::Result<Option<(String, RequestChallengeResponse)>> {
    let passkeys = passkeys_of(&mut *ctx.db.pool().acquire().await?, operator_id).await?;
    if passkeys.is_empty() {
        return Ok(None);
    }
    let passkeys = passkeys
        .into_iter()
        .map(|(_, passkey)| passkey)
        .collect::<Vec<_>>();
    let (challenge, state) = webauthn.start_passkey_authentication(&passkeys)?;
    let ceremony_id = keep_ceremony(ctx, operator_id, Purpose::SecondStep, &state).await?;
    Ok(Some((ceremony_id, challenge)))
}

/// Whether the browser's answer to `ceremony_id` proves one of
/// `operator_id`'s passkeys, inside `tx`: the ceremony is used up, the
/// passkey's signature counter and last use are kept.
pub async fn finish_second_step(
    tx: &mut sqlx::AnyConnection,
    webauthn: &Webauthn,
    operator_id: &str,
    ceremony_id: &str,
    answer: &PublicKeyCredential,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let Some(state) = take_ceremony::<PasskeyAuthentication>(
        tx,
        operator_id,
        ceremony_id,
        Purpose::SecondStep,
        now_ms,
    )
    .await?
    else {
        return Ok(false);
    };
    let result = match webauthn.finish_passkey_authentication(answer, &state) {
        Ok(result) => result,
        Err(error) => {
            tracing::info!(%error, operator_id, "a passkey answer was refused");
            return Ok(false);
        }
    };
    for (id, mut passkey) in passkeys_of(tx, operator_id).await? {
        if passkey.update_credential(&result).is_some() {
            sqlx::query(
                "UPDATE operator_passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3",
            )
            .bind(serde_json::to_string(&passkey).expect("a passkey serialises"))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            return Ok(true);
        }
    }
    // Verified against a passkey removed since the challenge was made.
    Ok(false)
}

/// Starts a sign-in with a passkey alone: a challenge any of this relying
/// party's discoverable passkeys may answer (the browser asks which).
pub async fn start_sign_in(
    ctx: &Ctx,
    webauthn: &Webauthn,
) -> anyhow::Result<(String, serde_json::Value)> {
    let (mut challenge, state) = webauthn.start_discoverable_authentication()?;
    // A button's dialog, not the autofill (conditional) kind.
    challenge.mediation = None;
    let ceremony_id = tokens::generate("wac_");
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    sqlx::query("DELETE FROM passkey_sign_ins WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO passkey_sign_ins (id_hash, state, expires_at) VALUES ($1, $2, $3)")
        .bind(tokens::hash(&ceremony_id))
        .bind(serde_json::to_string(&state)?)
        .bind(now + CEREMONY_LIFETIME_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((ceremony_id, serde_json::to_value(challenge)?))
}

/// The operator whose passkey answered the sign-in `ceremony_id`, inside
/// `tx` (the ceremony used up, the passkey's counter and last use kept);
/// `None` when the answer does not verify, is not for a passkey stored
/// here, or its user handle is not its operator's.
pub async fn finish_sign_in(
    tx: &mut sqlx::AnyConnection,
    webauthn: &Webauthn,
    ceremony_id: &str,
    answer: &PublicKeyCredential,
    now_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let state: Option<(String,)> = sqlx::query_as(
        "DELETE FROM passkey_sign_ins WHERE id_hash = $1 AND expires_at > $2 RETURNING state",
    )
    .bind(tokens::hash(ceremony_id))
    .bind(now_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(state) = state.and_then(|(state,)| serde_json::from_str(&state).ok()) else {
        return Ok(None);
    };
    let Ok((handle, credential_id)) = webauthn.identify_discoverable_authentication(answer) else {
        return Ok(None);
    };
    let stored: Option<(String, String, String)> = sqlx::query_as(
        "SELECT id, operator_id, passkey FROM operator_passkeys WHERE credential_id = $1",
    )
    .bind(URL_SAFE_NO_PAD.encode(credential_id))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, operator_id, passkey)) = stored else {
        return Ok(None);
    };
    let Ok(mut passkey) = serde_json::from_str::<Passkey>(&passkey) else {
        return Ok(None);
    };
    if handle != user_handle(&operator_id) {
        tracing::warn!(
            operator_id,
            "a passkey answered with another operator's user handle"
        );
        return Ok(None);
    }
    let result = match webauthn.finish_discoverable_authentication_v2(answer, state, &passkey) {
        Ok(result) => result,
        Err(error) => {
            tracing::info!(%error, operator_id, "a passkey sign-in was refused");
            return Ok(None);
        }
    };
    passkey.update_credential(&result);
    sqlx::query("UPDATE operator_passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
        .bind(serde_json::to_string(&passkey).expect("a passkey serialises"))
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(Some(operator_id))
}

/// One stored passkey as its owner sees it.
pub struct Summary {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// `operator_id`'s passkeys, oldest first.
pub async fn list(ctx: &Ctx, operator_id: &str) -> Result<Vec<Summary>, sqlx::Error> {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM operator_passkeys \
         WHERE operator_id = $1 ORDER BY created_at, id",
    )
    .bind(operator_id)
    .fetch_all(ctx.db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, last_used_at)| Summary {
            id,
            name,
            created_at,
            last_used_at,
        })
        .collect())
}

/// Removes `operator_id`'s passkey `id` inside `tx`; its name, or `None`
/// when they have no such passkey.
pub async fn remove(
    tx: &mut sqlx::AnyConnection,
    operator_id: &str,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let removed: Option<(String,)> = sqlx::query_as(
        "DELETE FROM operator_passkeys WHERE id = $1 AND operator_id = $2 RETURNING name",
    )
    .bind(id)
    .bind(operator_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(removed.map(|(name,)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(public_url: &str, page: Option<&str>) -> String {
        match RelyingParty::for_public_url(&Url::parse(public_url).unwrap(), page) {
            RelyingParty::Here(webauthn) => format!("here {:?}", webauthn.get_allowed_origins()),
            RelyingParty::Elsewhere(url) => format!("at {url}"),
            RelyingParty::Unavailable(_) => "unavailable".into(),
        }
    }

    #[test]
    fn passkeys_belong_to_a_domain_name() {
        assert!(origin("https://gridlink.example.com", None).starts_with("here"));
        assert!(origin("http://localhost:3000", Some("http://localhost:3000")).starts_with("here"));
        // A loopback address offers them at localhost, same port.
        assert_eq!(
            origin("http://127.0.0.1:3000", Some("http://127.0.0.1:3000")),
            "at http://localhost:3000/"
        );
        assert!(origin("http://127.0.0.1:3000", Some("http://localhost:3000")).starts_with("here"));
        // Plain HTTP at a real domain, or another address: no passkeys.
        assert_eq!(origin("http://gridlink.example.com", None), "unavailable");
        assert_eq!(origin("https://192.0.2.10", None), "unavailable");
    }

    #[test]
    fn a_user_handle_is_stable_and_names_no_one() {
        assert_eq!(user_handle("op_1"), user_handle("op_1"));
        assert_ne!(user_handle("op_1"), user_handle("op_2"));
    }
}
