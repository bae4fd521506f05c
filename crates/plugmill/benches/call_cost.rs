//! Instructions per call, counted by callgrind (they do not drift with the machine's noise as
//! times do): `call_cost VARIANT` makes `CALLS` calls of `greet` of the `bench-greet` test
//! plugin to warm up, then `CALLS` more inside `measured`, which `scripts/call-cost.sh`
//! counts (`--toggle-collect`) and divides by `CALLS`.
//!
//! Without valgrind it only runs the calls (a smoke test of every variant):
//! `cargo bench -p plugmill --bench call_cost`.

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use plugmill::source::LocalDirectory;
use plugmill::wasmtime::component::{Component, Instance, Val};
use plugmill::wasmtime::Store;
use plugmill::{HostState, PluginManager};

/// Calls per variant, after a warm-up of as many.
const CALLS: usize = 2_000;

fn main() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        test_plugins::BENCH_GREET,
        dir.path().join("bench-greet.wasm"),
    )
    .unwrap();
    let load = |warm: bool| {
        // `fresh` makes its instance on the call's path: no stock, whose keeper thread would
        // do part of the work out of the count.
        let mut builder = PluginManager::builder()
            .call_timeout(Duration::from_secs(60))
            .instance_stock_for_all(0);
        if warm {
            builder = builder.warm_instances_for_all(1);
        }
        let manager = builder.build().unwrap();
        tokio
            .block_on(manager.load(&LocalDirectory::new(dir.path())))
            .unwrap();
        manager
    };
    let fresh = load(false);
    let warm = load(true);
    let (mut store, instance) = tokio.block_on(async {
        let runtime = fresh.runtime();
        let component = Component::from_file(runtime.engine(), test_plugins::BENCH_GREET).unwrap();
        let pre = runtime.linker().instantiate_pre(&component).unwrap();
        let mut store = runtime.new_store(&Arc::from("raw"), Duration::from_secs(3600));
        let instance = pre.instantiate_async(&mut store).await.unwrap();
        (store, instance)
    });
    let seed = tokio::sync::Mutex::new(tokio.block_on(async {
        let runtime = fresh.runtime();
        let component = Component::from_file(runtime.engine(), test_plugins::BENCH_GREET).unwrap();
        let pre = runtime.linker().instantiate_pre(&component).unwrap();
        let mut store = runtime.new_store(&Arc::from("seed"), Duration::from_secs(3600));
        let instance = pre.instantiate_async(&mut store).await.unwrap();
        (store, instance)
    }));

    let variants = [
        "raw-typed",
        "seed-design",
        "typed-warm",
        "typed-fresh",
        "json-warm",
    ];
    let chosen: Vec<String> = match std::env::args().nth(1).filter(|a| !a.starts_with('-')) {
        Some(variant) => vec![variant],
        None => variants.iter().map(|v| v.to_string()).collect(),
    };
    for variant in chosen {
        let mut run = || {
            tokio.block_on(async {
                match variant.as_str() {
                    "raw-typed" => variant_raw_typed(&mut store, &instance).await,
                    "seed-design" => variant_seed_design(&seed).await,
                    "typed-warm" => variant_plugmill_typed(&warm).await,
                    "typed-fresh" => variant_plugmill_typed(&fresh).await,
                    "json-warm" => variant_plugmill_json(&warm).await,
                    other => panic!("unknown variant `{other}`; one of {variants:?}"),
                }
            })
        };
        run();
        measured(&mut run);
        println!("{variant}: {CALLS} calls to warm up, {CALLS} measured");
    }
}

/// The calls callgrind counts.
#[inline(never)]
fn measured(run: &mut dyn FnMut()) {
    run();
}

async fn variant_raw_typed(store: &mut Store<HostState>, instance: &Instance) {
    let func = instance
        .get_typed_func::<(String,), (String,)>(&mut *store, "greet")
        .unwrap();
    for _ in 0..CALLS {
        black_box(
            func.call_async(&mut *store, ("bench".to_string(),))
                .await
                .unwrap(),
        );
    }
}

async fn variant_seed_design(seed: &tokio::sync::Mutex<(Store<HostState>, Instance)>) {
    for _ in 0..CALLS {
        let mut guard = seed.lock().await;
        let (store, instance) = &mut *guard;
        let func = instance.get_func(&mut *store, "greet").unwrap();
        let mut results = vec![Val::String(String::new())];
        func.call_async(&mut *store, &[Val::String("bench".into())], &mut results)
            .await
            .unwrap();
        black_box(results);
    }
}

async fn variant_plugmill_typed(manager: &PluginManager) {
    for _ in 0..CALLS {
        let out = manager
            .call_hook_typed::<(String,), (String,)>("greet", ("bench".to_string(),))
            .await;
        black_box(out[0].result.as_ref().unwrap());
    }
}

async fn variant_plugmill_json(manager: &PluginManager) {
    let args = [serde_json::json!("bench")];
    for _ in 0..CALLS {
        let out = manager.call_hook_json("greet", &args).await;
        black_box(out[0].result.as_ref().unwrap());
    }
}
