//! Signature files and keys: any signature file, public key or secret key text is refused
//! with a message or accepted, without a panic; a signature only verifies for the bytes it
//! signed.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use plugmill::signing::{generate_key_pair, public_key_of, sign, TrustPolicy};
use std::sync::OnceLock;

#[derive(Arbitrary, Debug)]
struct Input {
    plugin: Vec<u8>,
    signature: Vec<u8>,
    key_text: String,
    sign_it: bool,
}

fn keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_key_pair().unwrap())
}

fuzz_target!(|input: Input| {
    let (secret, public) = keys();
    let _ = public_key_of(&input.key_text);
    let _ = sign(&input.key_text, &input.plugin);
    let mut fuzzed = TrustPolicy::default();
    let _ = fuzzed.trust_key(&input.key_text);

    let mut policy = TrustPolicy {
        require_signatures: true,
        ..TrustPolicy::default()
    };
    policy.trust_key(public).unwrap();
    let signature = if input.sign_it {
        sign(secret, &input.plugin).unwrap().into_bytes()
    } else {
        input.signature
    };
    let verdict = plugmill::fuzzing::verify(&policy, &input.plugin, Some(signature.clone()));
    if input.sign_it {
        assert!(verdict.is_ok(), "a fresh signature verifies");
    } else if verdict.is_ok() {
        // Fuzzed bytes verified: they must be the signature of these very bytes.
        assert_eq!(signature.trim_ascii(), sign(secret, &input.plugin).unwrap().as_bytes());
    }
});
