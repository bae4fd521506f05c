//! Integrity: sha256 pinning and ed25519 signatures over a plugin file's bytes, checked against
//! the host's trust configuration before anything is compiled.
//!
//! A signature is a detached `<file>.sig` beside the `.wasm`: the base64 of the 64-byte ed25519
//! signature of the file's bytes. Keys are base64 text too: a 32-byte public key, and a
//! 32-byte secret seed marked `plugmill-ed25519-secret:` (`plugmill keygen` writes it with
//! mode 0600). The mark is what tells the two apart: a public key given where the secret one
//! is expected, or the other way round, is refused rather than used.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::{Problem, RejectionCode};
use crate::plugin::SignatureState;
use crate::source::PluginArtifact;

/// A key, signature or pin that cannot be used; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl From<String> for KeyError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// What the host trusts.
#[derive(Clone, Debug, Default)]
pub struct TrustPolicy {
    /// Reject plugins without a valid signature.
    pub require_signatures: bool,
    /// Public keys whose signatures are trusted.
    pub keys: Vec<VerifyingKey>,
    /// Expected sha256 digests, by file name (e.g. `audit_log.wasm`).
    pub pins: HashMap<String, [u8; 32]>,
}

impl TrustPolicy {
    /// Adds a trusted public key given as base64.
    pub fn trust_key(&mut self, public_key: &str) -> Result<(), KeyError> {
        self.keys.push(parse_public_key(public_key)?);
        Ok(())
    }

    /// Pins the file called `file_name` to a sha256 digest given as hex.
    pub fn pin(&mut self, file_name: &str, sha256_hex: &str) -> Result<(), KeyError> {
        let digest = hex::decode(sha256_hex.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| format!("the pin for `{file_name}` is not a sha256 digest (64 hex digits): `{sha256_hex}`"))?;
        self.pins.insert(file_name.to_string(), digest);
        Ok(())
    }

    /// Whether the policy checks anything at all.
    pub fn is_active(&self) -> bool {
        self.require_signatures || !self.keys.is_empty() || !self.pins.is_empty()
    }

    /// What [`Self::verify`] found of an artifact's signature, once it passed.
    pub(crate) fn signature_state(&self, artifact: &PluginArtifact) -> SignatureState {
        match &artifact.signature {
            None => SignatureState::Unsigned,
            Some(_) if self.keys.is_empty() && !self.require_signatures => {
                SignatureState::Unchecked
            }
            Some(_) => SignatureState::Verified,
        }
    }

    /// Checks one artifact: its pin if it has one, its signature if signatures are required
    /// or it carries one. The error says which check failed.
    pub(crate) fn verify(&self, artifact: &PluginArtifact) -> Result<(), Problem> {
        let name = file_name(&artifact.file);
        if let Some(pinned) = self.pins.get(name) {
            let actual: [u8; 32] = Sha256::digest(&artifact.bytes).into();
            if &actual != pinned {
                return Err(Problem::new(
                    RejectionCode::PinMismatch,
                    format!(
                        "sha256 mismatch: pinned {}, the file has {}",
                        hex::encode(pinned),
                        hex::encode(actual)
                    ),
                ));
            }
        }
        match &artifact.signature {
            None if self.require_signatures => Err(Problem::new(
                RejectionCode::Unsigned,
                format!("unsigned: signatures are required and there is no `{name}.sig` beside it"),
            )),
            None => Ok(()),
            Some(_) if self.keys.is_empty() && !self.require_signatures => Ok(()),
            Some(text) => {
                let signature = parse_signature(text).map_err(|e| {
                    Problem::new(RejectionCode::BadSignature, format!("`{name}.sig`: {e}"))
                })?;
                if self
                    .keys
                    .iter()
                    .any(|key| key.verify_strict(&artifact.bytes, &signature).is_ok())
                {
                    Ok(())
                } else {
                    Err(Problem::new(
                        RejectionCode::BadSignature,
                        format!("bad signature: `{name}.sig` does not verify against any trusted key (the file was changed after signing, or signed with an untrusted key)"),
                    ))
                }
            }
        }
    }
}

/// The sha256 of `bytes` as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The mark that begins a secret key's text.
pub const SECRET_KEY_MARK: &str = "plugmill-ed25519-secret:";

/// The largest key file read.
pub const MAX_KEY_FILE: u64 = 4 << 10;

/// A new key pair: (secret key text, marked; public key, base64).
pub fn generate_key_pair() -> Result<(String, String), KeyError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| format!("no randomness available: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((
        format!("{SECRET_KEY_MARK}{}", BASE64.encode(seed)),
        BASE64.encode(key.verifying_key().as_bytes()),
    ))
}

/// Signs `bytes` with a secret key (as `plugmill keygen` writes it); returns the signature
/// as base64.
pub fn sign(secret_key: &str, bytes: &[u8]) -> Result<String, KeyError> {
    let seed = parse_secret_key(secret_key)?;
    Ok(BASE64.encode(SigningKey::from_bytes(&seed).sign(bytes).to_bytes()))
}

/// The public key (base64) of a secret key.
pub fn public_key_of(secret_key: &str) -> Result<String, KeyError> {
    let seed = parse_secret_key(secret_key)?;
    Ok(BASE64.encode(SigningKey::from_bytes(&seed).verifying_key().as_bytes()))
}

/// The text of a key file: a regular file of at most [`MAX_KEY_FILE`] bytes.
pub fn read_key_file(path: &std::path::Path) -> Result<String, KeyError> {
    crate::files::read_regular_text(path, MAX_KEY_FILE)
        .map_err(|e| KeyError(format!("`{}` cannot be read: {e}", path.display())))
}

fn parse_secret_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    match text.strip_prefix(SECRET_KEY_MARK) {
        Some(seed) => decode_exact(seed, "secret key"),
        None if decode_exact::<32>(text, "key").is_ok() => Err(format!(
            "this is not a secret key: a bare base64 key is what a public key (`.pub`) looks like; secret keys written by `plugmill keygen` begin with `{SECRET_KEY_MARK}`"
        )),
        None => Err(format!(
            "this is not a secret key: secret keys written by `plugmill keygen` begin with `{SECRET_KEY_MARK}`"
        )),
    }
}

fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    if text.trim().starts_with(SECRET_KEY_MARK) {
        return Err(
            "this is a secret key, not a public one: trust the public key (the `.pub` file `plugmill keygen` wrote beside it), and keep the secret key private".into(),
        );
    }
    let bytes: [u8; 32] = decode_exact(text, "public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an ed25519 public key: {e}"))
}

fn parse_signature(text: &[u8]) -> Result<Signature, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not base64 text".to_string())?;
    let bytes: [u8; 64] = decode_exact(text, "signature")?;
    Ok(Signature::from_bytes(&bytes))
}

fn decode_exact<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("the {what} is not base64: {e}"))?;
    let len = bytes.len();
    <[u8; N]>::try_from(bytes).map_err(|_| format!("the {what} is {len} bytes, expected {N}"))
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(bytes: &[u8], signature: Option<String>) -> PluginArtifact {
        PluginArtifact {
            file: "plugins/p.wasm".into(),
            bytes: bytes.to_vec().into(),
            signature: signature.map(String::into_bytes),
        }
    }

    #[test]
    fn signed_files_verify_and_tampered_or_foreign_ones_do_not() {
        let (secret, public) = generate_key_pair().unwrap();
        let (other_secret, _) = generate_key_pair().unwrap();
        let mut policy = TrustPolicy {
            require_signatures: true,
            ..TrustPolicy::default()
        };
        policy.trust_key(&public).unwrap();

        let signature = sign(&secret, b"plugin").unwrap();
        assert_eq!(
            policy.verify(&artifact(b"plugin", Some(signature.clone()))),
            Ok(())
        );
        let tampered = policy
            .verify(&artifact(b"plugin!", Some(signature)))
            .unwrap_err();
        assert!(tampered.message.starts_with("bad signature"), "{tampered}");
        let foreign = policy
            .verify(&artifact(
                b"plugin",
                Some(sign(&other_secret, b"plugin").unwrap()),
            ))
            .unwrap_err();
        assert!(foreign.message.starts_with("bad signature"), "{foreign}");
        let unsigned = policy.verify(&artifact(b"plugin", None)).unwrap_err();
        assert!(unsigned.message.contains("no `p.wasm.sig`"), "{unsigned}");
        let garbled = policy
            .verify(&artifact(b"plugin", Some("%%%".into())))
            .unwrap_err();
        assert!(garbled.message.contains("not base64"), "{garbled}");
    }

    #[test]
    fn pins_compare_the_sha256_of_the_bytes() {
        let mut policy = TrustPolicy::default();
        policy.pin("p.wasm", &sha256_hex(b"plugin")).unwrap();
        assert_eq!(policy.verify(&artifact(b"plugin", None)), Ok(()));
        let error = policy.verify(&artifact(b"changed", None)).unwrap_err();
        assert!(
            error.message.starts_with("sha256 mismatch: pinned "),
            "{error}"
        );
        assert!(policy
            .pin("q.wasm", "abc")
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
    }

    #[test]
    fn a_public_key_is_never_taken_for_the_secret_one_nor_the_other_way_round() {
        let (secret, public) = generate_key_pair().unwrap();
        let error = sign(&public, b"plugin").unwrap_err().to_string();
        assert!(
            error.contains("not a secret key") && error.contains(".pub"),
            "{error}"
        );
        let mut policy = TrustPolicy::default();
        let error = policy.trust_key(&secret).unwrap_err().to_string();
        assert!(error.contains("this is a secret key"), "{error}");
        assert!(sign(&secret, b"plugin").is_ok());
    }

    #[test]
    fn keys_are_checked_when_parsed() {
        let mut policy = TrustPolicy::default();
        assert!(policy
            .trust_key("AAAA")
            .unwrap_err()
            .to_string()
            .contains("3 bytes, expected 32"));
        let (secret, public) = generate_key_pair().unwrap();
        assert_eq!(public_key_of(&secret).unwrap(), public);
    }
}
