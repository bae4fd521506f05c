//! Typed hooks declared once with `typed_hooks!` and called as methods.

use plugmill::CallError;

use super::load;

plugmill::typed_hooks! {
    /// The hooks these tests call.
    pub trait TestHooks {
        /// `greet`.
        fn greet(name: String) -> String;
        /// `add`.
        fn add(a: i32, b: i32) -> i32;
        /// `counter`, declared with a wrong parameter on purpose.
        fn counter(unexpected: String) -> u32;
    }
}

#[tokio::test]
async fn declared_hooks_are_methods_on_the_manager() {
    let (manager, _, _dir) = load(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ])
    .await;
    let greetings: Vec<_> = manager
        .greet("dee".into())
        .await
        .into_iter()
        .map(|o| (o.plugin, o.result.unwrap()))
        .collect();
    assert_eq!(
        greetings,
        [
            ("valid".to_string(), "hello, dee".to_string()),
            (
                "second-greeter".to_string(),
                "hi from second, dee".to_string()
            )
        ]
    );
    assert_eq!(manager.add(40, 2).await[0].result.as_ref().unwrap(), &42);
}

#[tokio::test]
async fn a_declaration_that_does_not_match_the_export_is_a_clear_error() {
    let (manager, _, _dir) = load(&[("a.wasm", test_plugins::VALID)]).await;
    match &manager.counter("x".into()).await[0].result {
        Err(CallError::BadArguments {
            signature, reason, ..
        }) => {
            assert_eq!(signature, "func() -> u32");
            assert!(reason.contains("type mismatch"), "{reason}");
        }
        other => panic!("expected bad arguments, got {other:?}"),
    }
}
