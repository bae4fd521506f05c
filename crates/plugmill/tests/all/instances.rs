//! Instances: a fresh instance per call by default (nothing leaks, calls run in parallel), and
//! the opt-in warm mode that keeps state and drops trapped instances.

use std::time::Duration;

use plugmill::CallError;
use serde_json::json;

use super::{builder, load, load_with};

async fn counter(manager: &plugmill::PluginManager) -> serde_json::Value {
    let outcome = manager.call_hook_json("counter", &[]).await.remove(0);
    outcome.result.unwrap().remove(0)
}

#[tokio::test]
async fn each_call_gets_a_fresh_instance_by_default() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    for _ in 0..5 {
        assert_eq!(
            counter(&manager).await,
            json!(1),
            "state from an earlier call leaked"
        );
    }
}

#[tokio::test]
async fn warm_instances_keep_state_between_calls() {
    let (manager, _, _dir) = load_with(
        builder().warm_instances("valid", 1),
        &[("valid.wasm", test_plugins::VALID)],
    )
    .await;
    assert_eq!(counter(&manager).await, json!(1));
    assert_eq!(counter(&manager).await, json!(2));
    assert_eq!(counter(&manager).await, json!(3));
    assert_eq!(
        manager
            .registry()
            .plugin("valid")
            .unwrap()
            .idle_warm_instances(),
        Some(1)
    );
}

#[tokio::test]
async fn a_warm_instance_that_failed_is_never_used_again() {
    let (manager, _, _dir) = load_with(
        builder()
            .warm_instances("spin", 1)
            .plugin_timeout("spin", Duration::from_millis(200)),
        &[("spin.wasm", test_plugins::SPIN)],
    )
    .await;
    let spin = manager.registry().plugin("spin").unwrap().clone();
    manager.call_hook_json("quick", &[]).await[0]
        .result
        .as_ref()
        .unwrap();
    assert_eq!(spin.idle_warm_instances(), Some(1));
    let stuck = manager.call_hook_json("spin", &[]).await.remove(0);
    assert!(
        matches!(stuck.result, Err(CallError::DeadlineExceeded { .. })),
        "{:?}",
        stuck.result
    );
    assert_eq!(
        spin.idle_warm_instances(),
        Some(0),
        "the instance that hit its deadline was dropped"
    );
    manager.call_hook_json("quick", &[]).await[0]
        .result
        .as_ref()
        .unwrap();
    assert_eq!(spin.idle_warm_instances(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_one_plugin_run_side_by_side() {
    let (manager, _, _dir) = load_with(
        builder().plugin_timeout("spin", Duration::from_secs(3)),
        &[("spin.wasm", test_plugins::SPIN)],
    )
    .await;
    let manager = std::sync::Arc::new(manager);
    let busy = {
        let manager = manager.clone();
        tokio::spawn(async move { manager.call_hook_json("spin", &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // With one instance behind a mutex (the seed design) this call would wait for `spin`.
    let quick = manager.call_hook_json("quick", &[]).await.remove(0);
    assert_eq!(quick.result.unwrap(), vec![json!("quick")]);
    assert!(
        !busy.is_finished(),
        "the spinning call is still running while the quick one answered"
    );
    let spun = busy.await.unwrap().remove(0);
    assert!(matches!(
        spun.result,
        Err(CallError::DeadlineExceeded { .. })
    ));
}

#[tokio::test]
async fn the_route_of_a_plugin_with_a_runaway_hook_still_answers() {
    let (manager, _, _dir) = load(&[("spin.wasm", test_plugins::SPIN)]).await;
    assert_eq!(
        manager.call_route("/spin/ok", &json!({})).await.unwrap(),
        json!("fine")
    );
}
