//! Loading: validation of components and manifests, rejections with reasons, strict mode.

use plugmill::source::LocalDirectory;
use plugmill::CallError;
use serde_json::json;

use super::{builder, load, load_with, plugin_dir, rejection};

#[tokio::test]
async fn valid_plugin_registers_hooks_routes_and_tasks() {
    let (manager, report, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    assert_eq!(report.loaded.len(), 1);
    let registry = manager.registry();
    assert_eq!(registry.hook("greet").len(), 1);
    assert_eq!(registry.hook("counter")[0].name(), "valid");
    let echo = registry.route("/valid/echo").expect("echo route");
    assert_eq!((echo.handler.as_str(), echo.task), ("echo", false));
    let process = registry.route("/valid/process").expect("process route");
    assert!(process.task);
    assert_eq!(registry.task("cleanup").len(), 1);
    assert_eq!(
        registry.task("process").len(),
        1,
        "a process-as-task route registers its handler as a task"
    );
    assert!(registry.task("echo").is_empty());
    let listing = serde_json::to_value(registry.listing()).unwrap();
    assert_eq!(
        listing["routes"]["/valid/process"],
        json!({"plugin": "valid", "handler": "process", "task": true})
    );
}

#[tokio::test]
async fn each_bad_plugin_is_rejected_with_its_fault_and_the_good_ones_load() {
    let files = [
        ("a-valid.wasm", test_plugins::VALID),
        ("b-second-greeter.wasm", test_plugins::SECOND_GREETER),
        ("garbage.wasm", test_plugins::GARBAGE),
        ("core-module.wasm", test_plugins::CORE_MODULE),
        ("no-plugin-common.wasm", test_plugins::NO_PLUGIN_COMMON),
        ("trap-manifest.wasm", test_plugins::TRAP_MANIFEST),
        ("loop-manifest.wasm", test_plugins::LOOP_MANIFEST),
        ("z-duplicate-name.wasm", test_plugins::DUPLICATE_NAME),
        (
            "route-outside-prefix.wasm",
            test_plugins::ROUTE_OUTSIDE_PREFIX,
        ),
        ("route-claimed.wasm", test_plugins::ROUTE_CLAIMED),
        ("route-thief.wasm", test_plugins::ROUTE_THIEF),
        ("hook-not-exported.wasm", test_plugins::HOOK_NOT_EXPORTED),
        ("bad-signature.wasm", test_plugins::BAD_SIGNATURE),
        ("unknown-import.wasm", test_plugins::UNKNOWN_IMPORT),
        ("invalid-name.wasm", test_plugins::INVALID_NAME),
    ];
    let (manager, report, _dir) = load(&files).await;

    let loaded: Vec<&str> = report.loaded.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(loaded, ["valid", "second-greeter"]);
    assert_eq!(
        report.rejected.len(),
        files.len() - 2,
        "{:#?}",
        report.rejected
    );

    let reason = |file| rejection(&report, file).reason.clone();
    assert!(reason("garbage.wasm").contains("magic number"));
    assert!(reason("core-module.wasm").contains("core WebAssembly module, not a component"));
    assert!(reason("no-plugin-common.wasm")
        .contains("does not export `plugins-manager:common/plugin-common`"));
    assert!(
        reason("trap-manifest.wasm").contains("`get-manifest` failed"),
        "{}",
        reason("trap-manifest.wasm")
    );
    assert!(
        reason("loop-manifest.wasm").contains("deadline exceeded"),
        "{}",
        reason("loop-manifest.wasm")
    );
    assert!(reason("z-duplicate-name.wasm").contains("the plugin name `valid` is already taken"));
    assert_eq!(
        rejection(&report, "z-duplicate-name.wasm")
            .plugin
            .as_deref(),
        Some("valid")
    );
    assert!(reason("route-outside-prefix.wasm")
        .contains("route `/someone-else/x` is outside the plugin's prefix"));
    assert!(reason("route-claimed.wasm").contains("route `/route-claimed/dup` is declared twice"));
    assert!(
        reason("route-thief.wasm").contains("route `/valid/echo` is outside the plugin's prefix")
    );
    assert!(reason("hook-not-exported.wasm")
        .contains("hook `missing-hook` is named in the manifest but not exported"));
    let bad_signature = reason("bad-signature.wasm");
    assert!(
        bad_signature.contains(
            "route handler `r` cannot be called: its signature is `func(a: u32, b: u32) -> u32`"
        ),
        "{bad_signature}"
    );
    assert!(
        bad_signature.contains("task `t` cannot be called"),
        "{bad_signature}"
    );
    assert!(
        reason("unknown-import.wasm").contains("`test:unknown/secret-service`"),
        "{}",
        reason("unknown-import.wasm")
    );
    assert!(reason("invalid-name.wasm").contains("the plugin name `Bad_Name` contains 'B'"));

    // The plugin that kept the name is the first one, and still answers.
    let outcomes = manager.call_hook_json("greet", &[json!("ann")]).await;
    let answers: Vec<_> = outcomes
        .iter()
        .map(|o| (o.plugin.as_str(), o.result.clone().unwrap()))
        .collect();
    assert_eq!(
        answers,
        [
            ("valid", vec![json!("hello, ann")]),
            ("second-greeter", vec![json!("hi from second, ann")])
        ]
    );
}

#[tokio::test]
async fn strict_mode_fails_the_load_and_keeps_the_current_registry() {
    let manager = builder().strict(true).build().unwrap();
    let good = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    manager
        .load(&LocalDirectory::new(good.path()))
        .await
        .expect("good load");

    let mixed = plugin_dir(&[
        ("valid.wasm", test_plugins::SECOND_GREETER),
        ("garbage.wasm", test_plugins::GARBAGE),
    ]);
    let error = manager
        .load(&LocalDirectory::new(mixed.path()))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("strict mode: 1 plugin file(s) rejected"),
        "{error}"
    );
    assert!(error.to_string().contains("magic number"));
    assert!(
        manager.registry().plugin("valid").is_some(),
        "the previous registry stays"
    );
    assert!(manager.registry().plugin("second-greeter").is_none());
}

#[tokio::test]
async fn unknown_imports_can_be_linked_as_traps() {
    let (manager, report, _dir) = load_with(
        builder().unknown_imports_trap(true),
        &[("u.wasm", test_plugins::UNKNOWN_IMPORT)],
    )
    .await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    let harmless = manager.call_hook_json("harmless", &[]).await;
    assert_eq!(
        harmless[0].result.as_ref().unwrap(),
        &vec![json!("harmless ok")]
    );
    let secret = manager.call_hook_json("use-secret", &[]).await;
    match &secret[0].result {
        Err(CallError::Host { message, .. }) | Err(CallError::Trap { message, .. }) => {
            assert!(message.contains("test:unknown/secret-service"), "{message}")
        }
        other => panic!("expected a failure naming the import, got {other:?}"),
    }
}

#[tokio::test]
async fn seed_style_plugin_loads_unchanged() {
    let (manager, report, _dir) = load(&[("seed-style.wasm", test_plugins::SEED_STYLE)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    let out = manager
        .call_hook_json("my-hook", &[json!(42), json!("example input")])
        .await;
    assert_eq!(
        out[0].result.as_ref().unwrap(),
        &vec![json!("example input:42")]
    );
    let routed = manager
        .call_route("/seed-style/create-transmission-package", &json!({"id": 1}))
        .await
        .unwrap();
    assert_eq!(routed, serde_json::Value::Null);
    assert_eq!(
        manager
            .execute_task("create-transmission-package", &json!({}))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let manager = builder().build().unwrap();
    let error = manager
        .load(&LocalDirectory::new("/definitely/not/here"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot read plugin directory `/definitely/not/here`"),
        "{error}"
    );
}

#[tokio::test]
async fn files_that_are_not_wasm_are_skipped_with_a_reason() {
    let dir = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    std::fs::write(dir.path().join("README.txt"), "notes").unwrap();
    let manager = builder().build().unwrap();
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(report.loaded.len(), 1);
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].file.ends_with("README.txt"));
    assert_eq!(report.skipped[0].reason, "not a `.wasm` file");
}

/// A plugin file as `plugmill inspect` reads it.
fn artifact(path: &str) -> plugmill::source::PluginArtifact {
    plugmill::source::read_plugin_file(path.as_ref(), Default::default()).unwrap()
}

#[tokio::test]
async fn inspect_reports_manifest_signatures_and_problems() {
    let manager = builder().build().unwrap();
    let valid = manager.inspect(artifact(test_plugins::VALID)).await;
    assert!(valid.is_valid(), "{:?}", valid.problems);
    assert_eq!(valid.plugin_name.as_deref(), Some("valid"));
    let greet = valid
        .exports
        .iter()
        .find(|e| e.name == "greet")
        .expect("greet export");
    assert_eq!(greet.signature, "func(name: string) -> string");
    assert!(valid
        .imports
        .iter()
        .any(|i| i.name.starts_with("plugins-manager:common/types")));

    let bad = manager
        .inspect(artifact(test_plugins::HOOK_NOT_EXPORTED))
        .await;
    assert!(!bad.is_valid());
    assert!(
        bad.problems.iter().any(|p| p.contains("missing-hook")),
        "{:?}",
        bad.problems
    );

    let unknown = manager
        .inspect(artifact(test_plugins::UNKNOWN_IMPORT))
        .await;
    assert_eq!(
        unknown.plugin_name.as_deref(),
        Some("unknown-import"),
        "the manifest is read even with imports missing"
    );
    assert!(unknown
        .problems
        .iter()
        .any(|p| p.contains("test:unknown/secret-service")));
}
