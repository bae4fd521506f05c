//! The entry format, and the checks an entry passes before its payload is loaded.
//!
//! ```text
//! magic          16 bytes   "plugmill-cwasm\n\0"
//! format          4 bytes   little-endian u32, currently 1
//! fingerprint    32 bytes   the engine's compatibility fingerprint
//! source sha256  32 bytes   digest of the component's original bytes (the key)
//! payload length  8 bytes   little-endian u64
//! payload sha256 32 bytes   digest of the payload
//! payload                   what `Component::serialize` produced
//! ```

use sha2::{Digest as _, Sha256};

const MAGIC: &[u8; 16] = b"plugmill-cwasm\n\0";
const FORMAT: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 16 + 4 + 32 + 32 + 8 + 32;

/// An entry's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The fingerprint of the engine that compiled the payload.
    pub fingerprint: [u8; 32],
    /// The sha256 of the component's original bytes.
    pub source_sha256: [u8; 32],
    /// The sha256 of the payload.
    pub payload_sha256: [u8; 32],
    /// The payload's length in bytes.
    pub payload_len: u64,
}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&self.source_sha256);
        out.extend_from_slice(&self.payload_len.to_le_bytes());
        out.extend_from_slice(&self.payload_sha256);
        out
    }
}

/// Why an entry is not loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Shorter than a header.
    #[error("is truncated: {0} bytes, shorter than the {HEADER_LEN}-byte header")]
    ShortHeader(usize),
    /// Not written by this cache.
    #[error("is not a plugmill cache entry (bad magic number)")]
    Magic,
    /// Written by another version of the format.
    #[error("has format {0}, expected {FORMAT}")]
    Format(u32),
    /// Compiled by an engine with other settings or another wasmtime.
    #[error("was compiled by an incompatible engine (fingerprint mismatch)")]
    Fingerprint,
    /// Holds another component than its name says.
    #[error("holds another component than its key (source sha256 mismatch)")]
    Source,
    /// The payload is not as long as the header says.
    #[error("is truncated or padded: the payload has {actual} bytes, the header says {expected}")]
    Length {
        /// From the header.
        expected: u64,
        /// On disk.
        actual: u64,
    },
    /// The payload's bytes changed.
    #[error("is corrupt: the payload's sha256 does not match its header")]
    Checksum,
}

/// Checks `entry` was written for this engine and this component and is intact; returns its
/// payload.
pub fn check<'a>(
    entry: &'a [u8],
    fingerprint: &[u8; 32],
    source_sha256: &[u8; 32],
) -> Result<&'a [u8], Problem> {
    if entry.len() < HEADER_LEN {
        return Err(Problem::ShortHeader(entry.len()));
    }
    let (header, payload) = entry.split_at(HEADER_LEN);
    let (magic, rest) = header.split_at(16);
    let (format, rest) = rest.split_at(4);
    let (entry_fingerprint, rest) = rest.split_at(32);
    let (entry_source, rest) = rest.split_at(32);
    let (length, payload_sha256) = rest.split_at(8);
    if magic != MAGIC {
        return Err(Problem::Magic);
    }
    let format = u32::from_le_bytes(format.try_into().unwrap_or_default());
    if format != FORMAT {
        return Err(Problem::Format(format));
    }
    if entry_fingerprint != fingerprint {
        return Err(Problem::Fingerprint);
    }
    if entry_source != source_sha256 {
        return Err(Problem::Source);
    }
    let expected = u64::from_le_bytes(length.try_into().unwrap_or_default());
    if expected != payload.len() as u64 {
        return Err(Problem::Length {
            expected,
            actual: payload.len() as u64,
        });
    }
    if Sha256::digest(payload).as_slice() != payload_sha256 {
        return Err(Problem::Checksum);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(payload: &[u8]) -> Vec<u8> {
        let header = Header {
            fingerprint: [1; 32],
            source_sha256: [2; 32],
            payload_sha256: Sha256::digest(payload).into(),
            payload_len: payload.len() as u64,
        };
        let mut bytes = header.encode();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn an_intact_entry_yields_its_payload() {
        let bytes = entry(b"compiled code");
        assert_eq!(check(&bytes, &[1; 32], &[2; 32]), Ok(&b"compiled code"[..]));
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let good = entry(b"compiled code");
        assert_eq!(
            check(&good[..10], &[1; 32], &[2; 32]),
            Err(Problem::ShortHeader(10))
        );
        let truncated = &good[..good.len() - 3];
        assert_eq!(
            check(truncated, &[1; 32], &[2; 32]),
            Err(Problem::Length {
                expected: 13,
                actual: 10
            })
        );
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        assert_eq!(check(&flipped, &[1; 32], &[2; 32]), Err(Problem::Checksum));
        let mut magic = good.clone();
        magic[0] = b'X';
        assert_eq!(check(&magic, &[1; 32], &[2; 32]), Err(Problem::Magic));
        let mut format = good.clone();
        format[16] = 9;
        assert_eq!(check(&format, &[1; 32], &[2; 32]), Err(Problem::Format(9)));
        assert_eq!(check(&good, &[3; 32], &[2; 32]), Err(Problem::Fingerprint));
        assert_eq!(check(&good, &[1; 32], &[4; 32]), Err(Problem::Source));
    }
}
