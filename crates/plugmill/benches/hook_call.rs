//! Cost of one call to a trivial string hook (`greet` of the `bench-greet` test plugin), all
//! variants in one run:
//!
//! - `raw-wasmtime-typed`: a typed call on one instance, straight wasmtime (the floor);
//! - `plugmill/{typed,dynamic,json}/{fresh,warm}`: plugmill's calls, with a fresh instance
//!   per call (the default) and with a warm instance;
//! - `seed-design`: one instance behind a mutex, dynamic values with placeholder results;
//! - `concurrent-16/{plugmill,seed-design}`: 16 callers at once on one plugin;
//! - `waiting-16/{plugmill,seed-design}`: 16 callers at once on one plugin whose hook waits
//!   1 ms (`wait` of `bench-wait`, a stand-in for a database query): the case plugmill's
//!   instance per call exists for.
//!
//! Run: `cargo bench -p plugmill --bench hook_call`

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use plugmill::source::LocalDirectory;
use plugmill::wasmtime::component::{Component, Instance, TypedFunc, Val};
use plugmill::wasmtime::Store;
use plugmill::HostState;
use plugmill::PluginManager;
use tokio::runtime::Runtime as Tokio;

const CONCURRENT_CALLERS: usize = 16;

fn tokio() -> Tokio {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// How long the waiting hook waits.
const WAIT_MICROS: u32 = 1_000;

fn manager(tokio: &Tokio, warm: bool, dir: &std::path::Path) -> Arc<PluginManager> {
    let mut builder = PluginManager::builder().call_timeout(Duration::from_secs(60));
    if warm {
        builder = builder.warm_instances_for_all(CONCURRENT_CALLERS);
    }
    let manager = builder.build().unwrap();
    let report = tokio
        .block_on(manager.load(&LocalDirectory::new(dir)))
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
    Arc::new(manager)
}

/// The seed system's design: one instance per plugin behind one mutex, called dynamically by
/// name with placeholder results.
struct SeedDesign {
    instance: tokio::sync::Mutex<(Store<HostState>, Instance)>,
}

impl SeedDesign {
    async fn new(manager: &PluginManager, file: &str) -> Self {
        let runtime = manager.runtime();
        let component = Component::from_file(runtime.engine(), file).unwrap();
        let pre = runtime.linker().instantiate_pre(&component).unwrap();
        let mut store = runtime.new_store(&Arc::from("seed-design"), Duration::from_secs(3600));
        let instance = pre.instantiate_async(&mut store).await.unwrap();
        Self {
            instance: tokio::sync::Mutex::new((store, instance)),
        }
    }

    /// Calls `function` by name with a placeholder result, as the seed did.
    async fn call(&self, function: &str, args: &[Val], placeholder: Val) -> Val {
        let mut guard = self.instance.lock().await;
        let (store, instance) = &mut *guard;
        let func = instance.get_func(&mut *store, function).unwrap();
        let mut results = vec![placeholder];
        func.call_async(&mut *store, args, &mut results)
            .await
            .unwrap();
        results.remove(0)
    }

    async fn greet(&self, name: &str) -> String {
        let args = [Val::String(name.to_string())];
        match self.call("greet", &args, Val::String(String::new())).await {
            Val::String(s) => s,
            other => panic!("unexpected {other:?}"),
        }
    }

    async fn wait(&self, micros: u32) {
        self.call("wait", &[Val::U32(micros)], Val::U32(0)).await;
    }
}

fn single_calls(c: &mut Criterion) {
    let tokio = tokio();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        test_plugins::BENCH_GREET,
        dir.path().join("bench-greet.wasm"),
    )
    .unwrap();
    let fresh = manager(&tokio, false, dir.path());
    let warm = manager(&tokio, true, dir.path());

    let mut group = c.benchmark_group("greet");
    group.throughput(Throughput::Elements(1));

    let (mut store, typed): (Store<HostState>, TypedFunc<(String,), (String,)>) =
        tokio.block_on(async {
            let runtime = fresh.runtime();
            let component =
                Component::from_file(runtime.engine(), test_plugins::BENCH_GREET).unwrap();
            let pre = runtime.linker().instantiate_pre(&component).unwrap();
            let mut store = runtime.new_store(&Arc::from("bench-greet"), Duration::from_secs(3600));
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let typed = instance
                .get_typed_func::<(String,), (String,)>(&mut store, "greet")
                .unwrap();
            (store, typed)
        });
    group.bench_function("raw-wasmtime-typed", |b| {
        b.iter(|| {
            tokio
                .block_on(typed.call_async(&mut store, ("bench".to_string(),)))
                .unwrap()
        })
    });

    for (mode, manager) in [("fresh", &fresh), ("warm", &warm)] {
        group.bench_function(format!("plugmill-typed/{mode}"), |b| {
            b.iter(|| {
                let out = tokio.block_on(
                    manager
                        .call_hook_typed::<(String,), (String,)>("greet", ("bench".to_string(),)),
                );
                out[0].result.as_ref().unwrap();
            })
        });
        group.bench_function(format!("plugmill-dynamic/{mode}"), |b| {
            let args = [Val::String("bench".into())];
            b.iter(|| {
                let out = tokio.block_on(manager.call_hook("greet", &args));
                out[0].result.as_ref().unwrap();
            })
        });
        group.bench_function(format!("plugmill-json/{mode}"), |b| {
            let args = [serde_json::json!("bench")];
            b.iter(|| {
                let out = tokio.block_on(manager.call_hook_json("greet", &args));
                out[0].result.as_ref().unwrap();
            })
        });
    }

    let seed = tokio.block_on(SeedDesign::new(&fresh, test_plugins::BENCH_GREET));
    group.bench_function("seed-design", |b| {
        b.iter(|| tokio.block_on(seed.greet("bench")))
    });
    group.finish();

    let mut group = c.benchmark_group("concurrent-16");
    group.throughput(Throughput::Elements(CONCURRENT_CALLERS as u64));
    for (mode, manager) in [("fresh", &fresh), ("warm", &warm)] {
        group.bench_function(format!("plugmill-typed/{mode}"), |b| {
            b.iter_custom(|iters| {
                tokio.block_on(concurrently(iters, {
                    let manager = manager.clone();
                    move || {
                        let manager = manager.clone();
                        async move {
                            let out = manager
                                .call_hook_typed::<(String,), (String,)>(
                                    "greet",
                                    ("bench".to_string(),),
                                )
                                .await;
                            out[0].result.as_ref().unwrap();
                        }
                    }
                }))
            })
        });
    }
    let seed = Arc::new(seed);
    group.bench_function("seed-design", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(concurrently(iters, {
                let seed = seed.clone();
                move || {
                    let seed = seed.clone();
                    async move {
                        seed.greet("bench").await;
                    }
                }
            }))
        })
    });
    group.finish();
}

/// 16 callers on one plugin whose hook waits 1 ms: plugmill (an instance per call, or warm
/// instances) against the seed design (one instance behind a mutex).
fn waiting_callers(c: &mut Criterion) {
    let tokio = tokio();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugins::BENCH_WAIT, dir.path().join("bench-wait.wasm")).unwrap();
    let fresh = manager(&tokio, false, dir.path());
    let warm = manager(&tokio, true, dir.path());
    let seed = Arc::new(tokio.block_on(SeedDesign::new(&fresh, test_plugins::BENCH_WAIT)));

    let mut group = c.benchmark_group("waiting-16");
    group.sample_size(20);
    group.throughput(Throughput::Elements(CONCURRENT_CALLERS as u64));
    for (mode, manager) in [("fresh", &fresh), ("warm", &warm)] {
        group.bench_function(format!("plugmill-typed/{mode}"), |b| {
            b.iter_custom(|iters| {
                tokio.block_on(concurrently(iters, {
                    let manager = manager.clone();
                    move || {
                        let manager = manager.clone();
                        async move {
                            let out = manager
                                .call_hook_typed::<(u32,), (u32,)>("wait", (WAIT_MICROS,))
                                .await;
                            out[0].result.as_ref().unwrap();
                        }
                    }
                }))
            })
        });
    }
    group.bench_function("seed-design", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(concurrently(iters, {
                let seed = seed.clone();
                move || {
                    let seed = seed.clone();
                    async move { seed.wait(WAIT_MICROS).await }
                }
            }))
        })
    });
    group.finish();
}

/// 16 callers, each making `iters` calls one after another; returns the total time.
async fn concurrently<F, Fut>(iters: u64, call: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let callers: Vec<_> = (0..CONCURRENT_CALLERS)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..iters {
                    call().await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    start.elapsed()
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = single_calls, waiting_callers
}
criterion_main!(benches);
