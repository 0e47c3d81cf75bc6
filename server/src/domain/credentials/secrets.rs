//! Sealing and opening a credential's secrets. The associated data names the
//! credential and the field, so a ciphertext moved to another row or column
//! does not open.

use anyhow::Context;
use shared::validation::Password;

use crate::infra::crypto::Keyring;
use crate::infra::utility::SecretToken;

fn password_aad(credential_id: &str) -> String {
    format!("credential:{credential_id}:password")
}

fn token_aad(credential_id: &str) -> String {
    format!("credential:{credential_id}:session_token")
}

pub fn seal_password(keyring: &Keyring, credential_id: &str, password: &Password) -> String {
    keyring.seal(password.expose().as_bytes(), &password_aad(credential_id))
}

pub fn open_password(
    keyring: &Keyring,
    credential_id: &str,
    sealed: &str,
) -> anyhow::Result<Password> {
    let bytes = keyring
        .open(sealed, &password_aad(credential_id))
        .with_context(|| format!("Failed to open the password of credential {credential_id}"))?;
    let text = String::from_utf8(bytes).context("A sealed password is not UTF-8")?;
    Password::parse(&text)
        .map_err(|error| anyhow::anyhow!("A sealed password is not valid: {error}"))
}

pub fn seal_token(keyring: &Keyring, credential_id: &str, token: &SecretToken) -> String {
    keyring.seal(token.expose().as_bytes(), &token_aad(credential_id))
}

pub fn open_token(
    keyring: &Keyring,
    credential_id: &str,
    sealed: &str,
) -> anyhow::Result<SecretToken> {
    let bytes = keyring
        .open(sealed, &token_aad(credential_id))
        .with_context(|| {
            format!("Failed to open the session token of credential {credential_id}")
        })?;
    Ok(SecretToken::new(
        String::from_utf8(bytes).context("A sealed token is not UTF-8")?,
    ))
}
