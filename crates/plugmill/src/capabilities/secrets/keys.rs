//! The keys secrets are sealed with: XChaCha20-Poly1305 (RustCrypto), 32-byte keys named by
//! an id. The first key seals new values; every key opens the values sealed with it, so a
//! rotation adds a key in front and keeps the old ones until their values are rewritten.
//!
//! A sealed value is `nonce || ciphertext+tag` (random 24-byte nonce), bound by its associated
//! data to the tenant, plugin and name it was written for: a value copied to another row does
//! not open.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Length of a key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a nonce in bytes.
const NONCE_LEN: usize = 24;

/// One key and its id.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// The key `id` from its text: 32 bytes in base64 (standard or URL-safe) or hex.
    pub fn from_text(id: &str, text: &str) -> Result<Self, String> {
        check_id(id)?;
        let text = text.trim();
        let bytes = decode_key(text).ok_or_else(|| {
            format!("key `{id}` is not {KEY_LEN} bytes in base64 or hex (make one with `openssl rand -base64 32`)")
        })?;
        Ok(Self::from_bytes(id, &bytes))
    }

    /// The key `id` from its bytes.
    pub fn from_bytes(id: &str, bytes: &[u8; KEY_LEN]) -> Self {
        Self {
            id: id.to_string(),
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn decode_key(text: &str) -> Option<[u8; KEY_LEN]> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    // 64 hex digits are also valid base64 (of 48 bytes): each decoding is tried for 32 bytes.
    let decoded = engines
        .iter()
        .filter_map(|engine| engine.decode(text).ok())
        .chain(hex::decode(text).ok());
    decoded
        .into_iter()
        .find_map(|bytes| <[u8; KEY_LEN]>::try_from(bytes).ok())
}

fn check_id(id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a key id: 1 to 64 letters, digits, '-', '_' and '.'",
            id.escape_debug()
        ))
    }
}

/// The keys: the first seals, all open.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: Vec<SealingKey>,
}

/// A value that does not open: the message names the key id, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SealError(String);

impl Keyring {
    /// The keys, the first sealing new values. Ids must be unique.
    pub fn new(keys: Vec<SealingKey>) -> Result<Self, String> {
        for (at, key) in keys.iter().enumerate() {
            if keys[..at].iter().any(|earlier| earlier.id == key.id) {
                return Err(format!("key id `{}` is given twice", key.id));
            }
        }
        Ok(Self { keys })
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The id of the key sealing new values.
    pub fn current_id(&self) -> Option<&str> {
        self.keys.first().map(|key| key.id.as_str())
    }

    /// Seals `plaintext` for `context` (the row it belongs to) with the current key: the key
    /// id and the sealed bytes.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<(String, Vec<u8>), SealError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| SealError("no key to seal secrets with".into()))?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SealError("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((key.id.clone(), out))
    }

    /// Opens bytes sealed with key `key_id` for `context`.
    pub fn open(&self, key_id: &str, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = self
            .keys
            .iter()
            .find(|key| key.id == key_id)
            .ok_or_else(|| {
                SealError(format!(
                    "the value was sealed with key `{key_id}`, which the host does not hold"
                ))
            })?;
        if sealed.len() < NONCE_LEN {
            return Err(SealError("a stored value is damaged".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| {
                SealError(format!(
                    "a stored value does not open with key `{key_id}`: damaged, or moved from another row"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> SealingKey {
        SealingKey::from_bytes(id, &[byte; KEY_LEN])
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let ring = Keyring::new(vec![key("k1", 1)]).unwrap();
        let (id, sealed) = ring.seal(b"t\0p\0n", b"the value").unwrap();
        assert_eq!(id, "k1");
        assert!(!sealed.windows(9).any(|w| w == b"the value"));
        assert_eq!(ring.open("k1", b"t\0p\0n", &sealed).unwrap(), b"the value");
        assert!(ring.open("k1", b"t\0p\0other", &sealed).is_err());
        let error = ring.open("k0", b"t\0p\0n", &sealed).unwrap_err();
        assert!(error.to_string().contains("`k0`"));
    }

    #[test]
    fn a_rotated_keyring_seals_with_the_new_key_and_opens_old_values() {
        let old = Keyring::new(vec![key("k1", 1)]).unwrap();
        let (old_id, old_sealed) = old.seal(b"c", b"old value").unwrap();
        let rotated = Keyring::new(vec![key("k2", 2), key("k1", 1)]).unwrap();
        assert_eq!(
            rotated.open(&old_id, b"c", &old_sealed).unwrap(),
            b"old value"
        );
        let (new_id, _) = rotated.seal(b"c", b"new value").unwrap();
        assert_eq!(new_id, "k2");
        assert!(Keyring::new(vec![key("k1", 1), key("k1", 2)]).is_err());
    }

    #[test]
    fn keys_are_read_from_base64_or_hex() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; KEY_LEN]);
        assert!(SealingKey::from_text("a", &b64).is_ok());
        assert!(SealingKey::from_text("a", &hex::encode([7u8; KEY_LEN])).is_ok());
        let short = SealingKey::from_text("a", "c2hvcnQ=").unwrap_err();
        assert!(short.contains("is not 32 bytes"), "{short}");
        assert!(SealingKey::from_text("bad id", &b64).is_err());
        assert!(!format!("{:?}", SealingKey::from_text("a", &b64).unwrap()).contains(&b64));
    }
}
