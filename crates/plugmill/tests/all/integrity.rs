//! Integrity: sha256 pins and ed25519 signatures, checked before anything is compiled.

use plugmill::signing::{generate_key_pair, sha256_hex, sign};
use plugmill::source::{signature_path, LocalDirectory};

use super::{builder, plugin_dir, rejection};

#[tokio::test]
async fn with_signatures_required_only_correctly_signed_plugins_load() {
    let (secret, public) = generate_key_pair().unwrap();
    let (stranger, _) = generate_key_pair().unwrap();
    let dir = plugin_dir(&[
        ("signed.wasm", test_plugins::VALID),
        ("unsigned.wasm", test_plugins::SECOND_GREETER),
        ("tampered.wasm", test_plugins::SEED_STYLE),
        ("foreign.wasm", test_plugins::SPIN),
    ]);
    let sign_file = |name: &str, key: &str| {
        let path = dir.path().join(name);
        let signature = sign(key, &std::fs::read(&path).unwrap()).unwrap();
        std::fs::write(signature_path(&path), signature).unwrap();
    };
    sign_file("signed.wasm", &secret);
    sign_file("tampered.wasm", &secret);
    sign_file("foreign.wasm", &stranger);
    let tampered = dir.path().join("tampered.wasm");
    let mut bytes = std::fs::read(&tampered).unwrap();
    bytes.push(0);
    std::fs::write(&tampered, bytes).unwrap();

    let manager = builder()
        .require_signatures(true)
        .trust_public_key(&public)
        .unwrap()
        .build()
        .unwrap();
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    let loaded: Vec<&str> = report.loaded.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(loaded, ["valid"]);
    assert!(
        report.skipped.is_empty(),
        "signature files are not reported as skipped: {:?}",
        report.skipped
    );
    assert!(rejection(&report, "unsigned.wasm")
        .reason
        .starts_with("unsigned: signatures are required and there is no `unsigned.wasm.sig`"));
    assert!(rejection(&report, "tampered.wasm")
        .reason
        .starts_with("bad signature"));
    assert!(rejection(&report, "foreign.wasm")
        .reason
        .starts_with("bad signature"));
}

#[tokio::test]
async fn a_pinned_file_with_other_content_is_rejected() {
    let dir = plugin_dir(&[
        ("valid.wasm", test_plugins::VALID),
        ("spin.wasm", test_plugins::SPIN),
    ]);
    let valid_digest = sha256_hex(&std::fs::read(test_plugins::VALID).unwrap());
    let manager = builder()
        .pin_sha256("valid.wasm", &valid_digest)
        .unwrap()
        .pin_sha256("spin.wasm", &valid_digest)
        .unwrap()
        .build()
        .unwrap();
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(report.loaded.len(), 1);
    let reason = &rejection(&report, "spin.wasm").reason;
    assert!(
        reason.starts_with(&format!("sha256 mismatch: pinned {valid_digest}")),
        "{reason}"
    );
}
