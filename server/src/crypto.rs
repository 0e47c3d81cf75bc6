//! Key material: the master key that protects utility passwords and session tokens.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
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

#[cfg(test)]
mod tests {
    use super::*;

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
