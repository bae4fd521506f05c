//! Instances: a never-used instance per call by default (nothing leaks, calls run in
//! parallel), from the plugin's stock once it has been called or made on the call's path; and
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

/// The stock the tests ask for.
const STOCK: usize = 8;

/// Waits until `settled` holds, for at most 10 s: the keeper works in the background.
async fn settle(settled: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !settled() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until `plugin`'s stock holds `ready` instances; panics after 10 s.
async fn stock_reaches(plugin: &plugmill::Plugin, ready: usize) {
    settle(|| plugin.stocked_instances() == Some(ready)).await;
    assert_eq!(
        plugin.stocked_instances(),
        Some(ready),
        "the stock holds {:?} instances, not {ready}",
        plugin.stocked_instances()
    );
}

/// Asserts the `valid` plugin has no stock before its first call, makes that call and waits
/// until its stock holds `ready` instances; returns the plugin.
async fn first_call_fills_the_stock(
    manager: &plugmill::PluginManager,
    ready: usize,
) -> std::sync::Arc<plugmill::Plugin> {
    let valid = manager.registry().plugin("valid").unwrap().clone();
    assert_eq!(
        valid.stocked_instances(),
        Some(0),
        "no stock before the first call"
    );
    assert_eq!(counter(manager).await, json!(1));
    stock_reaches(&valid, ready).await;
    valid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_called_plugin_keeps_a_stock_of_never_used_instances() {
    let (manager, _, _dir) = load_with(
        builder().instance_stock("valid", STOCK),
        &[("valid.wasm", test_plugins::VALID)],
    )
    .await;
    let manager = std::sync::Arc::new(manager);
    let valid = first_call_fills_the_stock(&manager, STOCK).await;
    // Calls one after another and side by side, every one served from the stock or made on
    // the spot: none sees another's state.
    for _ in 0..50 {
        assert_eq!(counter(&manager).await, json!(1), "state leaked");
    }
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let manager = manager.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..20 {
                    seen.push(counter(&manager).await);
                }
                seen
            })
        })
        .collect();
    for caller in callers {
        for value in caller.await.unwrap() {
            assert_eq!(value, json!(1), "state leaked between concurrent calls");
        }
    }
    assert!(valid.stocked_instances().unwrap() <= STOCK);
    stock_reaches(&valid, STOCK).await;
}

#[tokio::test]
async fn without_a_stock_each_call_instantiates_its_own() {
    let (manager, _, _dir) = load_with(
        builder().instance_stock("valid", 0),
        &[("valid.wasm", test_plugins::VALID)],
    )
    .await;
    for _ in 0..3 {
        assert_eq!(counter(&manager).await, json!(1));
    }
    let valid = manager.registry().plugin("valid").unwrap().clone();
    assert_eq!(valid.stocked_instances(), None);
    assert_eq!(valid.stats().instances_made_on_call(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_called_plugin_gets_the_default_stock() {
    let (manager, _, _dir) = load(&[("valid.wasm", test_plugins::VALID)]).await;
    first_call_fills_the_stock(&manager, plugmill::DEFAULT_INSTANCE_STOCK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stocked_instance_gets_the_deadline_of_its_call() {
    let (manager, _, _dir) = load_with(
        builder()
            .plugin_timeout("spin", Duration::from_millis(200))
            .instance_stock("spin", STOCK),
        &[("spin.wasm", test_plugins::SPIN)],
    )
    .await;
    let spin = manager.registry().plugin("spin").unwrap().clone();
    manager.call_hook_json("quick", &[]).await[0]
        .result
        .as_ref()
        .unwrap();
    stock_reaches(&spin, STOCK).await;
    // The stocked instances were made more than a deadline ago: a call on one gets its own
    // deadline, counted from when the call starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let quick = manager.call_hook_json("quick", &[]).await.remove(0);
    assert_eq!(quick.result.unwrap(), vec![json!("quick")]);
    let started = std::time::Instant::now();
    let stuck = manager.call_hook_json("spin", &[]).await.remove(0);
    assert!(
        matches!(stuck.result, Err(CallError::DeadlineExceeded { .. })),
        "{:?}",
        stuck.result
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "the deadline counts from the call, not from when the instance was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stocks_hold_at_most_a_quarter_of_the_pool() {
    let options = plugmill::RuntimeOptions {
        pool_instances: 12,
        ..Default::default()
    };
    let (manager, _, _dir) = load_with(
        builder().runtime_options(options).instance_stock_for_all(8),
        &[
            ("valid.wasm", test_plugins::VALID),
            ("spin.wasm", test_plugins::SPIN),
        ],
    )
    .await;
    let budget = manager.runtime().stock_budget().clone();
    assert_eq!(budget.limit(), 3);
    for _ in 0..5 {
        assert_eq!(counter(&manager).await, json!(1));
        manager.call_hook_json("quick", &[]).await[0]
            .result
            .as_ref()
            .unwrap();
    }
    settle(|| budget.held() == budget.limit()).await;
    let stocked: usize = ["valid", "spin"]
        .iter()
        .map(|name| {
            let plugin = manager.registry().plugin(name).unwrap().clone();
            plugin.stocked_instances().unwrap()
        })
        .sum();
    assert_eq!(
        stocked, 3,
        "the stocks filled up to the budget and no further"
    );
    assert_eq!(budget.held(), 3);
    // The pool's other slots still serve calls.
    for _ in 0..5 {
        assert_eq!(counter(&manager).await, json!(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_gives_the_stock_of_a_replaced_plugin_back() {
    let (manager, _, dir) = load_with(
        builder().instance_stock("valid", STOCK),
        &[("valid.wasm", test_plugins::VALID)],
    )
    .await;
    let budget = manager.runtime().stock_budget().clone();
    let valid = manager.registry().plugin("valid").unwrap().clone();
    assert_eq!(counter(&manager).await, json!(1));
    stock_reaches(&valid, STOCK).await;
    assert_eq!(budget.held(), STOCK);
    std::fs::remove_file(dir.path().join("valid.wasm")).unwrap();
    manager
        .reload(&plugmill::source::LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    assert!(manager.registry().plugin("valid").is_none());
    drop(valid);
    settle(|| budget.held() == 0).await;
    assert_eq!(budget.held(), 0, "the removed plugin's stock was dropped");
}

/// Records where each call's instance came from.
#[derive(Default)]
struct Sources(std::sync::Mutex<Vec<plugmill::InstanceSource>>);

impl plugmill::CallObserver for Sources {
    fn call_finished(&self, call: &plugmill::FinishedCall<'_>) {
        self.0.lock().unwrap().push(call.instance);
    }
}

impl Sources {
    fn take(&self) -> Vec<plugmill::InstanceSource> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The `valid` plugin loaded with `builder` and an observer of where instances came from.
async fn observed(
    builder: plugmill::ManagerBuilder,
) -> (
    plugmill::PluginManager,
    std::sync::Arc<Sources>,
    tempfile::TempDir,
) {
    let sources = std::sync::Arc::new(Sources::default());
    let (manager, _, dir) = load_with(
        builder.observer(sources.clone()),
        &[("valid.wasm", test_plugins::VALID)],
    )
    .await;
    (manager, sources, dir)
}

/// Asserts the instance counters of the `valid` plugin.
fn assert_instances(manager: &plugmill::PluginManager, made_on_call: u64, from_stock: u64) {
    let valid = manager.registry().plugin("valid").unwrap().clone();
    let stats = valid.stats();
    assert_eq!(
        (stats.instances_made_on_call(), stats.instances_from_stock()),
        (made_on_call, from_stock),
        "instances made on the call's path, and taken from the stock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_tells_where_its_instance_came_from() {
    use plugmill::InstanceSource::{Instantiated, Stock, Warm};

    // A stock: the first call makes its own, a call after the stock filled takes one.
    let (manager, sources, _dir) = observed(builder().instance_stock("valid", STOCK)).await;
    let valid = manager.registry().plugin("valid").unwrap().clone();
    assert_eq!(counter(&manager).await, json!(1));
    stock_reaches(&valid, STOCK).await;
    assert_eq!(counter(&manager).await, json!(1));
    assert_eq!(sources.take(), [Instantiated, Stock]);
    assert_instances(&manager, 1, 1);

    // No stock: every call makes its own.
    let (manager, sources, _dir) = observed(builder().instance_stock("valid", 0)).await;
    for _ in 0..3 {
        counter(&manager).await;
    }
    assert_eq!(sources.take(), [Instantiated; 3]);
    assert_instances(&manager, 3, 0);

    // Warm instances: the first call makes one, the next ones reuse it.
    let (manager, sources, _dir) = observed(builder().warm_instances("valid", 1)).await;
    for _ in 0..3 {
        counter(&manager).await;
    }
    assert_eq!(sources.take(), [Instantiated, Warm, Warm]);
    assert_instances(&manager, 1, 0);
}
