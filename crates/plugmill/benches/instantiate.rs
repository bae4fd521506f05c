//! What making and tearing down an instance costs, by engine setting and by import count, in
//! one run: the figures the defaults of [`PoolingTuning`] and the instance stock come from.
//!
//! - settings: a fresh call of `greet` (`bench-greet`) with no stock, so each call
//!   instantiates, calls and tears down on the caller's path; `default` is plugmill's
//!   configuration and every other variant changes one setting of it. The machine's noise
//!   drifts over seconds, more than some settings change, so the variants are measured in
//!   interleaved rounds (each round times a batch of calls of every variant in turn) and the
//!   report gives each variant's median batch, and its ratio to `default`;
//! - `imports/N` (criterion): instantiating and dropping a component that imports N host
//!   functions (and does nothing else), on plugmill's engine and store;
//! - teardown: what dropping a used instance of `bench-greet` costs on the thread that made
//!   and called it, and on another thread while this one makes and calls more (as an instance
//!   stock's keeper does), in interleaved rounds.
//!
//! The bench runs on mimalloc, the `plugmill` binary's allocator;
//! `--features bench-system-allocator` runs it on the C library's.
//!
//! Run: `cargo bench -p plugmill --bench instantiate`. Under `cargo test` it runs one short
//! round, as a check that it works.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use plugmill::source::LocalDirectory;
use plugmill::wasmtime::component::{Component, InstancePre, Linker};
use plugmill::wasmtime::Store;
use plugmill::{HostState, PluginManager, PoolingTuning, RuntimeOptions};
use tokio::runtime::Runtime as Tokio;

/// The allocator of the `plugmill` binary.
#[cfg(not(feature = "bench-system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn tokio() -> Tokio {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A manager with `options` and no instance stock, with `bench-greet` loaded.
fn manager(tokio: &Tokio, options: RuntimeOptions, dir: &std::path::Path) -> PluginManager {
    let manager = PluginManager::builder()
        .runtime_options(options)
        .instance_stock_for_all(0)
        .without_cache()
        .build()
        .unwrap();
    let report = tokio
        .block_on(manager.load(&LocalDirectory::new(dir)))
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
    manager
}

/// plugmill's defaults with one setting changed.
fn variants() -> Vec<(&'static str, RuntimeOptions)> {
    let base = RuntimeOptions::default;
    let tuned = |change: fn(&mut PoolingTuning)| {
        let mut options = base();
        change(&mut options.tuning);
        options
    };
    vec![
        ("default", base()),
        (
            "async-stack-zeroing",
            tuned(|t| t.async_stack_zeroing = true),
        ),
        (
            "async-stack-zeroing-keep-16kib",
            tuned(|t| {
                t.async_stack_zeroing = true;
                t.async_stack_keep_resident = 16 << 10;
            }),
        ),
        (
            "async-stack-zeroing-keep-0",
            tuned(|t| {
                t.async_stack_zeroing = true;
                t.async_stack_keep_resident = 0;
            }),
        ),
        ("keep-resident-0", tuned(|t| t.keep_resident_bytes = 0)),
        (
            "keep-resident-1mib",
            tuned(|t| t.keep_resident_bytes = 1 << 20),
        ),
        ("no-pagemap-scan", tuned(|t| t.pagemap_scan = false)),
        ("no-memory-init-cow", tuned(|t| t.memory_init_cow = false)),
        ("no-table-lazy-init", tuned(|t| t.table_lazy_init = false)),
        (
            "max-memory-16mib",
            RuntimeOptions {
                max_memory_bytes: 16 << 20,
                ..base()
            },
        ),
        (
            "max-memory-4gib",
            RuntimeOptions {
                max_memory_bytes: 4 << 30,
                ..base()
            },
        ),
        (
            "reservation-256mib",
            tuned(|t| t.memory_reservation = Some(256 << 20)),
        ),
        (
            "on-demand",
            RuntimeOptions {
                allocation: plugmill::Allocation::OnDemand,
                ..base()
            },
        ),
    ]
}

/// Times every variant in interleaved rounds; prints each one's median time per call.
fn settings(measuring: bool) {
    let tokio = tokio();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        test_plugins::BENCH_GREET,
        dir.path().join("bench-greet.wasm"),
    )
    .unwrap();
    let variants: Vec<_> = variants()
        .into_iter()
        .map(|(name, options)| (name, manager(&tokio, options, dir.path())))
        .collect();
    let (rounds, batch) = if measuring { (41, 2_000) } else { (1, 10) };
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for ((_, manager), times) in variants.iter().zip(&mut times) {
            let start = Instant::now();
            tokio.block_on(async {
                for _ in 0..batch {
                    let out = manager
                        .call_hook_typed::<(String,), (String,)>("greet", ("bench".to_string(),))
                        .await;
                    out[0].result.as_ref().unwrap();
                }
            });
            times.push(start.elapsed().as_secs_f64() * 1e6 / batch as f64);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect();
    println!("settings: fresh call with no stock (instantiate + call + teardown), median of {rounds} rounds of {batch} calls");
    println!("{:<32} {:>10} {:>10}", "variant", "µs/call", "vs default");
    for ((name, _), median) in variants.iter().zip(&medians) {
        println!("{name:<32} {median:>10.2} {:>9.2}x", median / medians[0]);
    }
}

/// A component importing `imports` functions of `bench:imports/funcs`, each lowered into its
/// one core module.
fn component_with_imports(imports: usize) -> String {
    let mut wat = String::from("(component\n  (import \"bench:imports/funcs\" (instance $host\n");
    for i in 0..imports {
        writeln!(wat, "    (export \"f{i}\" (func))").unwrap();
    }
    wat.push_str("  ))\n");
    for i in 0..imports {
        writeln!(
            wat,
            "  (core func $f{i} (canon lower (func $host \"f{i}\")))"
        )
        .unwrap();
    }
    wat.push_str("  (core module $m\n");
    for i in 0..imports {
        writeln!(wat, "    (import \"host\" \"f{i}\" (func))").unwrap();
    }
    wat.push_str("    (func (export \"run\")))\n");
    wat.push_str("  (core instance $i (instantiate $m (with \"host\" (instance\n");
    for i in 0..imports {
        writeln!(wat, "    (export \"f{i}\" (func $f{i}))").unwrap();
    }
    wat.push_str("  ))))\n  (func (export \"run\") (canon lift (core func $i \"run\")))\n)\n");
    wat
}

fn imports(c: &mut Criterion) {
    let tokio = tokio();
    let manager = PluginManager::builder().without_cache().build().unwrap();
    let runtime = manager.runtime();
    let mut group = c.benchmark_group("imports");
    for count in [0, 16, 64, 256] {
        let mut linker: Linker<HostState> = Linker::new(runtime.engine());
        let mut funcs = linker.instance("bench:imports/funcs").unwrap();
        for i in 0..count {
            funcs
                .func_wrap(&format!("f{i}"), |_, (): ()| Ok(()))
                .unwrap();
        }
        let component = Component::new(
            runtime.engine(),
            wat::parse_str(component_with_imports(count)).unwrap(),
        )
        .unwrap();
        let pre = linker.instantiate_pre(&component).unwrap();
        let plugin: Arc<str> = Arc::from("imports");
        group.bench_function(count.to_string(), |b| {
            b.iter(|| {
                let mut store = runtime.new_store(&plugin, Duration::from_secs(60));
                tokio.block_on(pre.instantiate_async(&mut store)).unwrap();
                drop(store);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, imports);

/// Instances of `bench-greet`, each made and called once on this thread.
fn used_instances(
    tokio: &Tokio,
    manager: &PluginManager,
    pre: &InstancePre<HostState>,
    count: usize,
) -> Vec<Store<HostState>> {
    let plugin: Arc<str> = Arc::from("bench-greet");
    tokio.block_on(async {
        let mut stores = Vec::with_capacity(count);
        for _ in 0..count {
            let mut store = manager
                .runtime()
                .new_store(&plugin, Duration::from_secs(60));
            let instance = pre.instantiate_async(&mut store).await.unwrap();
            let greet = instance
                .get_typed_func::<(String,), (String,)>(&mut store, "greet")
                .unwrap();
            greet
                .call_async(&mut store, ("bench".to_string(),))
                .await
                .unwrap();
            stores.push(store);
        }
        stores
    })
}

/// Per-instance time to drop `stores`, on this thread.
fn drop_timed(stores: Vec<Store<HostState>>) -> f64 {
    let count = stores.len();
    let start = Instant::now();
    drop(stores);
    start.elapsed().as_secs_f64() * 1e6 / count as f64
}

/// Dropping used instances here, and on another thread while this one makes and calls more,
/// in interleaved rounds.
fn teardown(measuring: bool) {
    let tokio = tokio();
    let manager = PluginManager::builder().without_cache().build().unwrap();
    let component =
        Component::from_file(manager.runtime().engine(), test_plugins::BENCH_GREET).unwrap();
    let pre = manager
        .runtime()
        .linker()
        .instantiate_pre(&component)
        .unwrap();
    let (rounds, batch) = if measuring { (201, 64) } else { (1, 4) };
    // One long-lived thread does the other thread's drops, as the keeper is.
    let (to_other, batches) = std::sync::mpsc::channel::<Vec<Store<HostState>>>();
    let (report, timings) = std::sync::mpsc::channel::<f64>();
    let other = std::thread::spawn(move || {
        for stores in batches {
            report.send(drop_timed(stores)).unwrap();
        }
    });
    let (mut here, mut there) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        here.push(drop_timed(used_instances(&tokio, &manager, &pre, batch)));
        // The other thread drops a batch while this one makes and calls the next, as the
        // keeper tears down while calls go on.
        to_other
            .send(used_instances(&tokio, &manager, &pre, batch))
            .unwrap();
        let meanwhile = used_instances(&tokio, &manager, &pre, batch);
        there.push(timings.recv().unwrap());
        drop(meanwhile);
    }
    drop(to_other);
    other.join().unwrap();
    let median = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let (here, there) = (median(&mut here), median(&mut there));
    println!(
        "teardown: dropping a used `bench-greet` instance, median of {rounds} rounds of {batch}"
    );
    println!(
        "{:<40} {here:>8.2} µs",
        "on the thread that made and called it"
    );
    println!(
        "{:<40} {there:>8.2} µs ({:.2}x)",
        "on another thread, while calls go on",
        there / here
    );
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if filter.as_deref().is_none_or(|f| "settings".contains(f)) {
        settings(measuring);
    }
    if filter.as_deref().is_none_or(|f| "teardown".contains(f)) {
        teardown(measuring);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
