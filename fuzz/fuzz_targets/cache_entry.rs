//! Precompiled cache entries: any bytes are checked without a panic, and only an entry whose
//! header and checksum match is accepted. Half the inputs get a well-formed header with fuzzed
//! fields, to reach the checks past the magic number.

#![no_main]

use libfuzzer_sys::fuzz_target;
use plugmill_precompiled::entry;
use sha2::{Digest as _, Sha256};

const FINGERPRINT: [u8; 32] = [7; 32];
const SOURCE: [u8; 32] = [9; 32];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let header = entry::Header {
            fingerprint: if mode & 2 == 0 { FINGERPRINT } else { [0; 32] },
            source_sha256: if mode & 4 == 0 { SOURCE } else { [1; 32] },
            payload_sha256: Sha256::digest(rest).into(),
            payload_len: if mode & 8 == 0 { rest.len() as u64 } else { u64::from(mode) },
        };
        let mut bytes = header.encode();
        bytes.extend_from_slice(rest);
        if mode & 16 != 0 {
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
        }
        bytes
    };
    if let Ok(payload) = entry::check(&bytes, &FINGERPRINT, &SOURCE) {
        assert_eq!(&bytes[bytes.len() - payload.len()..], payload);
        let recorded = &bytes[entry::HEADER_LEN - 32..entry::HEADER_LEN];
        assert_eq!(&Sha256::digest(payload)[..], recorded);
    }
});
