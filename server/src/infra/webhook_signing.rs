//! Signing as Standard Webhooks do (<https://www.standardwebhooks.com>): the
//! secret is `whsec_` + base64 of random bytes; the signature is
//! `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")). During a
//! secret rotation both secrets sign, space-separated in one header.

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::infra::crypto::Keyring;

const PREFIX: &str = "whsec_";

/// A webhook signing secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// 32 random bytes.
    pub fn generate() -> SigningSecret {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SigningSecret(bytes)
    }

    /// The form integrators configure: `whsec_…`.
    pub fn to_whsec(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// A `whsec_…` secret as an operator configures it (an adapter's shared secret).
    pub fn parse(text: &str) -> anyhow::Result<SigningSecret> {
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .context("a secret starts with whsec_")?;
        let bytes = STANDARD
            .decode(encoded)
            .context("after whsec_ a secret is base64")?;
        anyhow::ensure!(bytes.len() >= 24, "a secret has at least 24 bytes");
        Ok(SigningSecret(bytes))
    }

    /// Whether `signature` (`v1,BASE64`) signs this message, compared in constant time.
    pub fn verifies(&self, signature: &str, message_id: &str, timestamp: i64, body: &str) -> bool {
        let Some(encoded) = signature.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = STANDARD.decode(encoded) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
        mac.verify_slice(&expected).is_ok()
    }

    /// `v1,BASE64` for one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    pub fn seal(&self, keyring: &Keyring, organisation_id: &str) -> String {
        keyring.seal(self.to_whsec().as_bytes(), &aad(organisation_id))
    }

    pub fn open(
        keyring: &Keyring,
        organisation_id: &str,
        sealed: &str,
    ) -> anyhow::Result<SigningSecret> {
        let bytes = keyring
            .open(sealed, &aad(organisation_id))
            .with_context(|| {
                format!("Failed to open the webhook secret of organisation {organisation_id}")
            })?;
        let text = String::from_utf8(bytes).context("A webhook secret is not UTF-8")?;
        let encoded = text
            .strip_prefix(PREFIX)
            .context("A webhook secret lacks its whsec_ prefix")?;
        Ok(SigningSecret(
            STANDARD
                .decode(encoded)
                .context("A webhook secret is not base64")?,
        ))
    }
}

/// The associated data binding a sealed secret to its organisation's row.
pub fn aad(organisation_id: &str) -> String {
    format!("webhook_endpoint:{organisation_id}:secret")
}

/// The `webhook-signature` header: one signature per secret that signs.
pub fn signature_header(
    secrets: &[SigningSecret],
    message_id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference tests.
    #[test]
    fn signs_like_the_reference_implementation() {
        let secret = SigningSecret(STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_round_trips_through_its_seal_and_only_for_its_organisation() {
        let keyring = Keyring::single(crate::infra::crypto::MasterKey::generate("k1"));
        let secret = SigningSecret::generate();
        let sealed = secret.seal(&keyring, "org_a");
        let opened = SigningSecret::open(&keyring, "org_a", &sealed).unwrap();
        assert_eq!(opened.to_whsec(), secret.to_whsec());
        assert!(SigningSecret::open(&keyring, "org_b", &sealed).is_err());
        assert!(secret.to_whsec().starts_with("whsec_"));
        assert!(!format!("{secret:?}").contains(&secret.to_whsec()[6..]));
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let (new, old) = (SigningSecret::generate(), SigningSecret::generate());
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 10, "{}");
        assert_eq!(
            header,
            format!(
                "{} {}",
                new.sign("msg_1", 10, "{}"),
                old.sign("msg_1", 10, "{}")
            )
        );
    }
}
