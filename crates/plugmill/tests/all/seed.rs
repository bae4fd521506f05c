//! The seed's host API (`plugmill::seed`): each call's behaviour and error text on real test
//! plugins, and the process-wide manager reached by code written as the seed's is.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use plugmill::seed::{self, HookValue, PluginManager, SeedError};
use plugmill::source::LocalDirectory;
use plugmill::CallError;
use serde_json::json;

use super::{builder, load, load_with, plugin_dir};

async fn seed_manager(files: &[(&str, &str)]) -> (PluginManager, tempfile::TempDir) {
    let (manager, report, dir) = load(files).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (PluginManager::new(Arc::new(manager)), dir)
}

fn seed_error(error: &anyhow::Error) -> &SeedError {
    error
        .downcast_ref::<SeedError>()
        .unwrap_or_else(|| panic!("not a SeedError: {error:?}"))
}

#[tokio::test]
async fn call_hook_answers_one_list_of_values_per_registered_plugin() {
    let (manager, _dir) = seed_manager(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ])
    .await;
    let answers = manager
        .call_hook(
            "greet",
            vec![HookValue::from("bo")],
            vec![HookValue::String(String::new())],
        )
        .await
        .unwrap();
    assert_eq!(
        answers,
        vec![
            vec![HookValue::String("hello, bo".into())],
            vec![HookValue::String("hi from second, bo".into())],
        ]
    );
    // The placeholder results are the seed's habit; their types and count do not matter.
    let added = manager
        .call_hook("add", vec![2.into(), 40.into()], vec![])
        .await
        .unwrap();
    assert_eq!(added, vec![vec![HookValue::S32(42)]]);
}

#[tokio::test]
async fn call_hook_of_a_hook_nobody_registered_is_the_seed_s_error() {
    let (manager, _dir) = seed_manager(&[("a.wasm", test_plugins::VALID)]).await;
    let error = manager
        .call_hook("nobody-answers", vec![], vec![])
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Hook nobody-answers not registered by any plugin"
    );
    assert!(
        matches!(seed_error(&error), SeedError::HookNotRegistered(hook) if hook == "nobody-answers")
    );
}

#[tokio::test]
async fn call_hook_fails_whole_when_one_plugin_s_call_fails() {
    // host-extension's `greet` calls an import that is linked as a trap here.
    let (manager, _, _dir) = load_with(
        builder().unknown_imports_trap(true),
        &[
            ("a.wasm", test_plugins::VALID),
            ("b.wasm", test_plugins::HOST_EXTENSION),
        ],
    )
    .await;
    let manager = PluginManager::new(Arc::new(manager));
    let error = manager
        .call_hook("greet", vec!["cy".into()], vec![])
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("Failed to call hook greet in plugin host-extension: "),
        "{text}"
    );
    assert!(
        matches!(seed_error(&error), SeedError::Hook { plugin, error, .. } if plugin == "host-extension" && error.is_host_failure())
    );
    // Arguments of the wrong type fail the call too, saying which.
    let error = manager
        .call_hook("add", vec!["two".into(), 40.into()], vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(
            seed_error(&error),
            SeedError::Hook { error, .. } if matches!(**error, CallError::BadArguments { .. })
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_plugin_s_err_value_is_a_hook_answer_not_a_failure() {
    let (manager, _dir) = seed_manager(&[("miru.wasm", test_plugins::MIRU)]).await;
    let answers = manager
        .call_hook(
            "create-transmission-package",
            vec![HookValue::String("{}".into())],
            vec![HookValue::Result(Ok(None))],
        )
        .await
        .unwrap();
    let refused = HookValue::Result(Err(Some(Box::new(HookValue::String(
        "the input has no claims".into(),
    )))));
    assert_eq!(answers, vec![vec![refused.clone()]]);
    assert_eq!(
        refused.as_results_json().unwrap_err().to_string(),
        "Plugin hook error: the input has no claims"
    );
}

#[tokio::test]
async fn call_route_passes_the_input_unchanged_and_parses_the_answer() {
    let (manager, _dir) = seed_manager(&[("a.wasm", test_plugins::VALID)]).await;
    // `process` answers the length of the text it was given: 8 for `{"a": 1}` as written,
    // 7 had it been parsed and written again.
    let answer = manager
        .call_route("/valid/process", r#"{"a": 1}"#.to_string())
        .await
        .unwrap();
    assert_eq!(answer, json!({"processed": true, "len": 8}));
    let echoed = manager
        .call_route("/valid/echo", r#"{"b": [1, "x"]}"#.to_string())
        .await
        .unwrap();
    assert_eq!(echoed, json!({"b": [1, "x"]}));
}

#[tokio::test]
async fn call_route_errors_are_the_seed_s() {
    let (manager, _dir) = seed_manager(&[("a.wasm", test_plugins::VALID)]).await;
    let missing = manager
        .call_route("/valid/nope", "{}".into())
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "Route /valid/nope not found");
    assert!(
        matches!(seed_error(&missing), SeedError::RouteNotFound(path) if path == "/valid/nope")
    );

    let refused = manager
        .call_route("/valid/fail", "{}".into())
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Failed to convert hook return value to JSON: Plugin hook error: fail handler refused: {}"
    );

    let not_json = manager
        .call_route("/valid/plain", "{}".into())
        .await
        .unwrap_err();
    assert!(
        not_json.to_string().starts_with(
            "Failed to convert hook return value to JSON: Failed to parse string as JSON: "
        ),
        "{not_json}"
    );
    assert!(matches!(seed_error(&not_json), SeedError::RouteAnswer(_)));
}

#[tokio::test]
async fn execute_task_runs_every_registering_plugin_and_fails_on_the_first_failure() {
    let (manager, _dir) = seed_manager(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ])
    .await;
    manager
        .execute_task("cleanup", r#"{"n": 1}"#.into())
        .await
        .unwrap();
    let missing = manager.execute_task("nope", "{}".into()).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "Task nope not registered by any plugin"
    );
    assert!(matches!(seed_error(&missing), SeedError::TaskNotRegistered(task) if task == "nope"));

    // `process` is a process-as-task route, so a task too; it refuses `"fail":true`.
    manager.execute_task("process", "{}".into()).await.unwrap();
    let refused = manager
        .execute_task("process", r#"{"fail":true}"#.into())
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Failed to call task process in plugin valid: plugin `valid` returned an error from `process`: processing refused"
    );
    assert!(matches!(
        seed_error(&refused),
        SeedError::Task { error, .. } if matches!(**error, CallError::Plugin { .. })
    ));
}

#[tokio::test]
async fn get_route_task_handler_names_the_handler_of_a_task_route_only() {
    let (manager, _dir) = seed_manager(&[("a.wasm", test_plugins::VALID)]).await;
    assert_eq!(
        manager.get_route_task_handler("/valid/process").as_deref(),
        Some("process")
    );
    assert_eq!(manager.get_route_task_handler("/valid/echo"), None);
    assert_eq!(manager.get_route_task_handler("/valid/nope"), None);
}

#[test]
fn values_beyond_the_seed_s_variants_are_an_error_never_a_panic() {
    use plugmill::wasmtime::component::Val;
    let error = HookValue::from_val(Val::Float64(1.5)).unwrap_err();
    assert_eq!(error.to_string(), "Unsupported Val type: Float64(1.5)");
    let nested = Val::Option(Some(Box::new(Val::Result(Ok(Some(Box::new(Val::U32(7))))))));
    let value = HookValue::from_val(nested.clone()).unwrap();
    assert_eq!(value.to_val(), nested);
    assert_eq!(HookValue::U32(7).as_i32(), Some(7));
    assert_eq!(HookValue::Bool(true).as_str(), None);
}

/// Where the test initialiser finds its plugins.
static PLUGINS: OnceLock<PathBuf> = OnceLock::new();

/// Builds a manager over [`PLUGINS`] and installs it, as `plugmill_host::seed`'s does from
/// the environment.
fn initialise() -> seed::Initialized {
    Box::pin(async {
        let manager = Arc::new(builder().build().map_err(|e| e.to_string())?);
        let dir = PLUGINS.get().ok_or("no plugin directory")?;
        manager
            .load(&LocalDirectory::new(dir))
            .await
            .map_err(|e| e.to_string())?;
        plugmill::set_plugin_manager(manager.clone()).map_err(|e| e.to_string())?;
        Ok(manager)
    })
}

/// The only test of this binary that touches the process-wide manager.
#[tokio::test]
async fn the_process_wide_manager_initialises_on_first_use_and_serves_seed_shaped_code() {
    let error = seed::get_plugin_manager().await.err().unwrap();
    assert!(
        matches!(seed_error(&error), SeedError::NoInitializer),
        "{error}"
    );
    assert!(error
        .to_string()
        .starts_with("Failed to initialize PluginManager: "));

    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("miru.wasm", test_plugins::MIRU),
    ]);
    PLUGINS.set(dir.path().to_path_buf()).unwrap();
    assert!(seed::set_initializer(initialise));
    seed::init_plugin_manager().await.unwrap();
    let first = seed::get_plugin_manager().await.unwrap();
    let again = seed::get_plugin_manager().await.unwrap();
    assert!(std::ptr::eq(first, again));
    assert!(Arc::ptr_eq(
        first.manager(),
        &plugmill::get_plugin_manager().unwrap()
    ));

    super::seed_shaped::exercise().await;
}
