//! Encryption at rest: the master keys and the AEAD that seals utility
//! passwords and session tokens.
//!
//! A sealed value reads `v1.KEY_ID.BASE64(nonce ‖ ciphertext)`: XChaCha20-Poly1305
//! with a random 192-bit nonce, and associated data that names the record and
//! field, so a ciphertext copied to another row or column fails to open.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// A 256-bit master key with the id stored beside every ciphertext it makes,
/// so keys can be rotated. Written `KEY_ID:BASE64`.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: [u8; 32],
}

impl MasterKey {
    pub fn parse(value: &str) -> Result<MasterKey, String> {
        let (id, encoded) = value
            .trim()
            .split_once(':')
            .ok_or("expected KEY_ID:BASE64, e.g. k1:<44 base64 characters>")?;
        let id_is_valid = !id.is_empty()
            && id.len() <= 32
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_is_valid {
            return Err("the key id must be 1 to 32 letters, digits, '-' or '_'".into());
        }
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|_| "the key is not valid base64".to_owned())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|bytes: Vec<u8>| format!("the key must be 32 bytes, not {}", bytes.len()))?;
        Ok(MasterKey {
            id: id.to_owned(),
            bytes,
        })
    }

    /// A fresh random key, for demo mode and `gridlink` key commands.
    pub fn generate(id: &str) -> MasterKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        MasterKey {
            id: id.to_owned(),
            bytes,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The `KEY_ID:BASE64` form, for writing the key to its file.
    pub fn to_config_value(&self) -> String {
        format!("{}:{}", self.id, BASE64.encode(self.bytes))
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.id)
    }
}

/// The key that seals new values and the older keys that can still open old ones.
/// Written as a comma-separated list of `KEY_ID:BASE64`, the current key first.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

/// Why a sealed value could not be opened. Deliberately vague: the reason
/// (wrong key, tampering, wrong record) is never useful to an attacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the key {0:?} that sealed this value is not configured")]
    UnknownKey(String),
    #[error("the sealed value does not authenticate (wrong key, record or tampering)")]
    Unauthentic,
}

impl Keyring {
    pub fn parse(value: &str) -> Result<Keyring, String> {
        let mut keys = value
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(MasterKey::parse);
        let current = keys.next().ok_or("no key given")??;
        let previous = keys.collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<&str> = std::iter::once(current.id())
            .chain(previous.iter().map(MasterKey::id))
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("two keys have the same id".into());
        }
        Ok(Keyring { current, previous })
    }

    pub fn single(key: MasterKey) -> Keyring {
        Keyring {
            current: key,
            previous: Vec::new(),
        }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Whether a key with this id is configured.
    pub fn has_key(&self, key_id: &str) -> bool {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|key| key.id() == key_id)
    }

    /// Seals `plaintext` under the current key, bound to `associated_data`.
    pub fn seal(&self, plaintext: &[u8], associated_data: &str) -> String {
        let cipher = XChaCha20Poly1305::new(self.current.bytes().into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated_data.as_bytes(),
                },
            )
            // Encryption fails only for inputs of many gigabytes.
            .expect("XChaCha20-Poly1305 encryption of a small value");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("v1.{}.{}", self.current.id(), BASE64.encode(sealed))
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same associated data.
    pub fn open(&self, sealed: &str, associated_data: &str) -> Result<Vec<u8>, OpenError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id() == key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        let bytes = BASE64.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if bytes.len() < 24 + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        XChaCha20Poly1305::new(key.bytes().into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Unauthentic)
    }

    /// The id of the key that sealed `sealed`, if it is well formed.
    pub fn key_id_of(sealed: &str) -> Option<&str> {
        sealed.strip_prefix("v1.")?.split('.').next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_the_same_associated_data() {
        let keyring = Keyring::single(MasterKey::generate("k1"));
        let sealed = keyring.seal(b"pass_good", "credential:cred_1:password");
        assert!(!sealed.contains("pass_good"));
        assert_eq!(
            keyring.open(&sealed, "credential:cred_1:password").unwrap(),
            b"pass_good"
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_record_does_not_open() {
        let keyring = Keyring::single(MasterKey::generate("k1"));
        let sealed = keyring.seal(b"secret", "credential:cred_1:password");
        assert_eq!(
            keyring.open(&sealed, "credential:cred_2:password"),
            Err(OpenError::Unauthentic)
        );
        assert_eq!(
            keyring.open(&sealed, "credential:cred_1:session_token"),
            Err(OpenError::Unauthentic)
        );
    }

    #[test]
    fn case_16_a_tampered_nonce_or_tag_or_an_unknown_key_is_an_error_never_plaintext() {
        let keyring = Keyring::single(MasterKey::generate("k1"));
        let sealed = keyring.seal(b"secret", "aad");
        let bytes = BASE64.decode(sealed.rsplit('.').next().unwrap()).unwrap();
        // The nonce is the first 24 bytes, the tag the last 16.
        for position in [0, 23, bytes.len() - 16, bytes.len() - 1] {
            let mut tampered = bytes.clone();
            tampered[position] ^= 1;
            let tampered = format!("v1.k1.{}", BASE64.encode(tampered));
            assert_eq!(keyring.open(&tampered, "aad"), Err(OpenError::Unauthentic));
        }
        let unknown = sealed.replacen("v1.k1.", "v1.k9.", 1);
        assert_eq!(
            keyring.open(&unknown, "aad"),
            Err(OpenError::UnknownKey("k9".into()))
        );
        let truncated = format!("v1.k1.{}", BASE64.encode(&bytes[..30]));
        assert_eq!(keyring.open(&truncated, "aad"), Err(OpenError::Malformed));
    }

    #[test]
    fn values_sealed_under_a_previous_key_still_open_after_rotation() {
        let old = MasterKey::generate("k1");
        let sealed = Keyring::single(old.clone()).seal(b"secret", "aad");
        let rotated = Keyring::parse(&format!(
            "{},{}",
            MasterKey::generate("k2").to_config_value(),
            old.to_config_value()
        ))
        .unwrap();
        assert_eq!(rotated.open(&sealed, "aad").unwrap(), b"secret");
        assert_eq!(Keyring::key_id_of(&rotated.seal(b"x", "aad")), Some("k2"));
    }

    #[test]
    fn a_value_sealed_under_an_unknown_key_names_that_key() {
        let sealed = Keyring::single(MasterKey::generate("gone")).seal(b"secret", "aad");
        let keyring = Keyring::single(MasterKey::generate("k1"));
        assert_eq!(
            keyring.open(&sealed, "aad"),
            Err(OpenError::UnknownKey("gone".into()))
        );
    }

    #[test]
    fn a_keyring_with_duplicate_ids_is_refused() {
        let key = MasterKey::generate("k1").to_config_value();
        assert!(Keyring::parse(&format!("{key},{key}")).is_err());
    }

    #[test]
    fn a_generated_key_round_trips_through_its_config_value() {
        let key = MasterKey::generate("demo");
        let parsed = MasterKey::parse(&key.to_config_value()).unwrap();
        assert_eq!(parsed.id(), "demo");
        assert_eq!(parsed.bytes(), key.bytes());
    }

    #[test]
    fn a_short_key_is_rejected_with_its_length() {
        let error = MasterKey::parse(&format!("k1:{}", BASE64.encode([1u8; 16]))).unwrap_err();
        assert!(error.contains("32 bytes, not 16"), "{error}");
    }

    #[test]
    fn a_key_without_an_id_or_with_bad_base64_is_rejected() {
        assert!(MasterKey::parse(&BASE64.encode([1u8; 32])).is_err());
        assert!(MasterKey::parse("k1:not base64!").is_err());
        assert!(MasterKey::parse(&format!("bad id:{}", BASE64.encode([1u8; 32]))).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_key_bytes() {
        let key = MasterKey::generate("k1");
        let shown = format!("{key:?}");
        assert!(!shown.contains(&BASE64.encode(key.bytes())));
    }
}
