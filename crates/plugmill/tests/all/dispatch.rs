//! Dispatch: hooks on every plugin, routes to one handler, tasks on every registering plugin,
//! and the distinct errors of each.

use plugmill::wasmtime::component::Val;
use plugmill::CallError;
use serde_json::json;

use super::{builder, load, load_with};

#[tokio::test]
async fn a_hook_is_called_on_every_registered_plugin() {
    let (manager, _, _dir) = load(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ])
    .await;
    let outcomes = manager
        .call_hook("greet", &[Val::String("bo".into())])
        .await;
    let results: Vec<_> = outcomes
        .into_iter()
        .map(|o| (o.plugin, o.result.unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("valid".to_string(), vec![Val::String("hello, bo".into())]),
            (
                "second-greeter".to_string(),
                vec![Val::String("hi from second, bo".into())]
            ),
        ]
    );
    assert!(manager.call_hook("nobody-answers", &[]).await.is_empty());
}

#[tokio::test]
async fn hook_arguments_are_checked_against_the_signature() {
    let (manager, _, _dir) = load(&[("a.wasm", test_plugins::VALID)]).await;
    let outcome = &manager.call_hook("greet", &[Val::U32(7)]).await[0];
    match &outcome.result {
        Err(CallError::BadArguments {
            reason, signature, ..
        }) => {
            assert_eq!(reason, "argument 1 (`name`): expected string, got u32");
            assert_eq!(signature, "func(name: string) -> string");
        }
        other => panic!("expected bad arguments, got {other:?}"),
    }
    let outcome = &manager.call_hook("add", &[Val::S32(1)]).await[0];
    assert!(
        matches!(&outcome.result, Err(CallError::BadArguments { reason, .. }) if reason == "expected 2 argument(s), got 1")
    );
    let added = &manager.call_hook("add", &[Val::S32(2), Val::S32(40)]).await[0];
    assert_eq!(added.result.as_ref().unwrap(), &vec![Val::S32(42)]);
}

#[tokio::test]
async fn one_plugin_failing_does_not_hide_the_others() {
    // host-extension's `greet` calls an import that is linked as a trap here.
    let (manager, _, _dir) = load_with(
        builder().unknown_imports_trap(true),
        &[
            ("a.wasm", test_plugins::VALID),
            ("b.wasm", test_plugins::HOST_EXTENSION),
        ],
    )
    .await;
    let outcomes = manager.call_hook_json("greet", &[json!("cy")]).await;
    assert_eq!(outcomes.len(), 2);
    assert_eq!(
        outcomes[0].result.as_ref().unwrap(),
        &vec![json!("hello, cy")]
    );
    let error = outcomes[1].result.as_ref().unwrap_err();
    assert!(error.is_host_failure(), "{error:?}");
    assert!(
        error.to_string().contains("plugin `host-extension`"),
        "{error}"
    );
    assert!(error.to_string().contains("`greet`"), "{error}");
}

#[tokio::test]
async fn routes_return_json_and_distinguish_their_errors() {
    let (manager, _, _dir) = load(&[("a.wasm", test_plugins::VALID)]).await;
    let echoed = manager
        .call_route("/valid/echo", &json!({"a": [1, 2], "b": "x"}))
        .await
        .unwrap();
    assert_eq!(echoed, json!({"a": [1, 2], "b": "x"}));
    let processed = manager
        .call_route("/valid/process", &json!("abc"))
        .await
        .unwrap();
    assert_eq!(processed, json!({"processed": true, "len": 5}));
    assert_eq!(
        manager
            .call_route("/valid/plain", &json!({}))
            .await
            .unwrap(),
        json!("not json text")
    );
    assert_eq!(
        manager.call_route("/valid/unit", &json!({})).await.unwrap(),
        json!(null)
    );

    let refused = manager
        .call_route("/valid/fail", &json!({"k": 1}))
        .await
        .unwrap_err();
    assert!(refused.is_plugin_error());
    assert!(
        matches!(&refused, CallError::Plugin { message, .. } if message == r#"fail handler refused: {"k":1}"#)
    );

    let missing = manager
        .call_route("/valid/nope", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(&missing, CallError::RouteNotFound(path) if path == "/valid/nope"));
    assert!(missing.is_caller_error());
}

#[tokio::test]
async fn a_task_runs_on_every_plugin_that_registered_it() {
    let (manager, _, _dir) = load(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ])
    .await;
    let outcomes = manager
        .execute_task("cleanup", &json!({"day": 1}))
        .await
        .unwrap();
    let results: Vec<_> = outcomes
        .into_iter()
        .map(|o| (o.plugin, o.result.unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("valid".to_string(), json!(r#"cleaned {"day":1}"#)),
            ("second-greeter".to_string(), json!("second cleaned")),
        ]
    );
    let processed = manager.execute_task("process", &json!("xy")).await.unwrap();
    assert_eq!(
        processed[0].result.as_ref().unwrap(),
        &json!({"processed": true, "len": 4})
    );
    assert!(matches!(
        manager.execute_task("none", &json!({})).await,
        Err(CallError::TaskNotFound(_))
    ));
}
