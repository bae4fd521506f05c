//! Cost of one call to a trivial string hook (`greet` of the `bench-greet` test plugin), all
//! variants in one run:
//!
//! - `raw-wasmtime-typed`: a typed call on one instance, straight wasmtime (the floor);
//! - `plugmill/{typed,dynamic,json}/{fresh,stocked,warm}`: plugmill's calls, with a
//!   never-used instance made and torn down on the caller's path (`instance_stock = 0`),
//!   with a never-used instance from the plugin's stock of 16 (the default), and with a warm
//!   instance;
//! - `seed-design`: one instance behind a mutex, dynamic values with placeholder results;
//! - `concurrent-16/{plugmill,seed-design}`: 16 callers at once on one plugin (saturated
//!   throughput);
//! - `waiting-16/{plugmill,seed-design}`: 16 callers at once on one plugin whose hook waits
//!   1 ms (`wait` of `bench-wait`, a stand-in for a database query): the case plugmill's
//!   instance per call exists for.
//!
//! Besides criterion's groups, three reports of their own (see [`stock_memory`],
//! [`saturated`] and [`open_loop`]): the resident memory of a plugin with its stock; 16
//! callers saturating both cores, in interleaved rounds; and latency percentiles under calls
//! that arrive at a fixed mean rate (25%, 50% and 90% of what one core does with fresh calls
//! and no stock). The last two add `stocked-4`, a stock of 4.
//!
//! The bench runs on mimalloc, the binary's allocator; `--features bench-system-allocator`
//! runs it on the C library's.
//!
//! Run: `cargo bench -p plugmill --bench hook_call`. Under `cargo test` the reports run
//! briefly, as a check that they work.

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use plugmill::source::LocalDirectory;
use plugmill::wasmtime::component::{Component, Instance, TypedFunc, Val};
use plugmill::wasmtime::Store;
use plugmill::HostState;
use plugmill::PluginManager;
use tokio::runtime::Runtime as Tokio;

/// The allocator of the `plugmill` binary, so the figures are those of the product
/// (`--features bench-system-allocator` measures the C library's instead).
#[cfg(not(feature = "bench-system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// How a manager gives instances to calls.
#[derive(Clone, Copy)]
enum Mode {
    /// A never-used instance per call, made and torn down on the caller's path (no stock).
    Fresh,
    /// A never-used instance per call, from the plugin's stock of this many.
    Stocked(usize),
    /// Warm instances, reused across calls.
    Warm,
}

const MODES: [(&str, Mode); 3] = [
    ("fresh", Mode::Fresh),
    ("stocked", Mode::Stocked(16)),
    ("warm", Mode::Warm),
];

fn manager(tokio: &Tokio, mode: Mode, dir: &std::path::Path) -> Arc<PluginManager> {
    let builder = PluginManager::builder().call_timeout(Duration::from_secs(60));
    let builder = match mode {
        Mode::Fresh => builder.instance_stock_for_all(0),
        Mode::Stocked(instances) => builder.instance_stock_for_all(instances),
        Mode::Warm => builder.warm_instances_for_all(CONCURRENT_CALLERS),
    };
    let manager = builder.build().unwrap();
    let report = tokio
        .block_on(manager.load(&LocalDirectory::new(dir)))
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
    Arc::new(manager)
}

/// A temporary plugin directory holding the test plugin `file` as `name`.
fn plugin_dir(file: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(file, dir.path().join(name)).unwrap();
    dir
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
    let dir = plugin_dir(test_plugins::BENCH_GREET, "bench-greet.wasm");
    let managers = MODES.map(|(name, mode)| (name, manager(&tokio, mode, dir.path())));
    let fresh = managers[0].1.clone();

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

    for (mode, manager) in &managers {
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
    for (mode, manager) in &managers {
        let caller = Caller::Manager(manager.clone());
        group.bench_function(format!("plugmill-typed/{mode}"), |b| {
            b.iter_custom(|iters| tokio.block_on(concurrently_through(iters, &caller)))
        });
    }
    let seed = Caller::Seed(Arc::new(seed));
    group.bench_function("seed-design", |b| {
        b.iter_custom(|iters| tokio.block_on(concurrently_through(iters, &seed)))
    });
    group.finish();
}

/// 16 callers on one plugin whose hook waits 1 ms: plugmill (an instance per call, or warm
/// instances) against the seed design (one instance behind a mutex).
fn waiting_callers(c: &mut Criterion) {
    let tokio = tokio();
    let dir = plugin_dir(test_plugins::BENCH_WAIT, "bench-wait.wasm");
    let managers = MODES.map(|(name, mode)| (name, manager(&tokio, mode, dir.path())));
    let seed = Arc::new(tokio.block_on(SeedDesign::new(&managers[0].1, test_plugins::BENCH_WAIT)));

    let mut group = c.benchmark_group("waiting-16");
    group.sample_size(20);
    group.throughput(Throughput::Elements(CONCURRENT_CALLERS as u64));
    for (mode, manager) in &managers {
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

/// 16 callers, each making `iters` calls of `greet` through `caller`; returns the total time.
async fn concurrently_through(iters: u64, caller: &Caller) -> Duration {
    let caller = caller.clone();
    concurrently(iters, move || {
        let caller = caller.clone();
        async move { caller.call().await }
    })
    .await
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = single_calls, waiting_callers
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let wanted = |report: &str| filter.as_deref().is_none_or(|f| report.contains(f));
    if wanted("stock-memory") {
        stock_memory(measuring);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    if wanted("saturated") {
        saturated(measuring);
    }
    if wanted("open-loop") {
        open_loop(measuring);
    }
}

/// The resident set of this process, in bytes (`VmRSS` of `/proc/self/status`).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib << 10
}

/// Resident memory of one plugin with stocks of 0, 4, 16 and 64 never-used instances:
/// loaded; called once, its stock full; then after 16 callers made [`MEMORY_LOAD_CALLS`]
/// calls each, its stock full again. Calls cycle the stock through the pooling allocator's
/// slots, and a slot a call used keeps what it touched resident (up to the keep-resident
/// setting) for the next instance, so the last column is what a busy plugin holds. Each
/// manager stays alive, so no figure reuses memory an earlier one freed. A ready instance's
/// cost is the growth over the row above, divided by the instances added: the first stock's
/// row also holds the keeper thread (its stack and, on mimalloc, its heap), later rows only
/// instances and their slots.
fn stock_memory(measuring: bool) {
    let tokio = tokio();
    let dir = plugin_dir(test_plugins::BENCH_GREET, "bench-greet.wasm");
    let stocks: &[usize] = if measuring { &[0, 4, 16, 64] } else { &[4] };
    println!("stock-memory: resident memory of `bench-greet` (KiB)");
    println!(
        "{:>6} {:>10} {:>16} {:>16} {:>18}",
        "stock", "loaded", "after 1st call", "after calls", "per added instance"
    );
    let mut alive = Vec::new();
    let mut previous = (0, 0);
    for &stock in stocks {
        let before = resident_bytes();
        let manager = Arc::new(
            PluginManager::builder()
                .instance_stock_for_all(stock)
                .without_cache()
                .build()
                .unwrap(),
        );
        tokio
            .block_on(manager.load(&LocalDirectory::new(dir.path())))
            .unwrap();
        let loaded = resident_bytes();
        let plugin = manager.registry().plugin("bench-greet").unwrap().clone();
        let caller = Caller::Manager(manager.clone());
        // Waits for the stock to fill, then for the keeper to finish tearing down.
        let settle = || {
            tokio.block_on(async {
                let deadline = Instant::now() + Duration::from_secs(10);
                while plugin.stocked_instances().unwrap_or(0) < stock && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            assert_eq!(
                plugin.stocked_instances().unwrap_or(0),
                stock,
                "the stock filled"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        tokio.block_on(caller.call());
        settle();
        let first_call = resident_bytes().saturating_sub(loaded);
        let calls = if measuring { MEMORY_LOAD_CALLS } else { 10 };
        tokio.block_on(concurrently_through(calls, &caller));
        settle();
        let growth = resident_bytes().saturating_sub(loaded);
        let (previous_stock, previous_growth) = previous;
        let per_instance = match stock.checked_sub(previous_stock) {
            Some(added) if added > 0 => {
                ((growth.saturating_sub(previous_growth) / added as u64) >> 10).to_string()
            }
            _ => "-".to_string(),
        };
        println!(
            "{stock:>6} {:>10} {:>16} {:>16} {per_instance:>18}",
            loaded.saturating_sub(before) >> 10,
            first_call >> 10,
            growth >> 10,
        );
        previous = (stock, growth);
        alive.push(manager);
    }
}

/// Calls per caller in the memory report's busy phase.
const MEMORY_LOAD_CALLS: u64 = 200;

/// One way of calling `greet`, for the concurrent groups and the reports.
#[derive(Clone)]
enum Caller {
    Manager(Arc<PluginManager>),
    Seed(Arc<SeedDesign>),
}

impl Caller {
    /// Calls so far that took an instance from a stock, and calls in all (a manager's
    /// `greet` plugin; none for the seed design).
    fn instance_counts(&self) -> Option<(u64, u64)> {
        let Self::Manager(manager) = self else {
            return None;
        };
        let plugin = manager.registry().plugin("bench-greet")?.clone();
        let stats = plugin.stats();
        Some((stats.instances_from_stock(), stats.calls()))
    }

    async fn call(&self) {
        match self {
            Self::Manager(manager) => {
                let out = manager
                    .call_hook_typed::<(String,), (String,)>("greet", ("bench".to_string(),))
                    .await;
                out[0].result.as_ref().unwrap();
            }
            Self::Seed(seed) => {
                seed.greet("bench").await;
            }
        }
    }
}

/// Calls arriving at a fixed mean rate, whatever the caller's latency (an open loop: a slow
/// call delays the next ones, which then wait and count that wait).
///
/// One caller takes the calls in arrival order, as one core serving requests would, and
/// yields its core between them; arrivals are a Poisson process (exponential gaps) at 25%, 50% and 90%
/// of one core's capacity, defined as the throughput of fresh calls with no stock made back
/// to back in the same run. A call's latency runs from its arrival to its answer. Background
/// work (the stock keeper's instantiation and teardown) runs on the other core. The machine's
/// noise drifts, so each load runs in rounds that interleave the callers, and the
/// percentiles are over the calls of every round.
fn open_loop(measuring: bool) {
    let tokio = tokio();
    let dir = plugin_dir(test_plugins::BENCH_GREET, "bench-greet.wasm");
    let callers = report_callers(&tokio, dir.path());
    let (rounds, arrivals, warm_up) = if measuring {
        (8, 40_000, 4_000)
    } else {
        (1, 2_000, 200)
    };

    let unstocked = &callers[0].1;
    // The median of several batches, as the machine's speed drifts.
    let mut batches: Vec<f64> = (0..5)
        .map(|_| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..arrivals / 2 {
                    unstocked.call().await;
                }
                (arrivals / 2) as f64 / start.elapsed().as_secs_f64()
            })
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    let capacity = batches[batches.len() / 2];
    println!(
        "open-loop: one core's capacity (unstocked fresh calls back to back): {:.0} calls/s ({:.2} µs per call)",
        capacity,
        1e6 / capacity
    );
    println!(
        "{:>5} {:>12} {:>12} {:>10} {:>10} {:>10} {:>11}",
        "load", "caller", "calls/s", "p50 µs", "p99 µs", "p99.9 µs", "from stock"
    );
    for load in [0.25, 0.5, 0.9] {
        let rate = capacity * load;
        let mut latencies = vec![Vec::with_capacity(rounds * arrivals); callers.len()];
        let counts_before: Vec<_> = callers.iter().map(|(_, c)| c.instance_counts()).collect();
        for round in 0..rounds {
            for ((_, caller), latencies) in callers.iter().zip(&mut latencies) {
                let seed = round as u64;
                latencies.extend(tokio.block_on(drive(caller, rate, arrivals, warm_up, seed)));
            }
        }
        for (((name, caller), latencies), before) in
            callers.iter().zip(&mut latencies).zip(&counts_before)
        {
            // The share of this load's calls, warm-up included, that found a ready instance.
            let from_stock = match (before, caller.instance_counts()) {
                (Some((stock_before, calls_before)), Some((stock, calls)))
                    if calls > *calls_before =>
                {
                    format!(
                        "{:.1}%",
                        100.0 * (stock - stock_before) as f64 / (calls - calls_before) as f64
                    )
                }
                _ => "-".to_string(),
            };
            latencies.sort_unstable();
            let at = |q: f64| {
                let index = ((latencies.len() as f64 * q) as usize).min(latencies.len() - 1);
                latencies[index].as_secs_f64() * 1e6
            };
            println!(
                "{:>4.0}% {name:>12} {rate:>12.0} {:>10.2} {:>10.2} {:>10.2} {from_stock:>11}",
                load * 100.0,
                at(0.5),
                at(0.99),
                at(0.999)
            );
        }
    }
}

/// The callers the open-loop and saturation reports compare: each mode of [`MODES`], a
/// smaller stock than the default 16, and the seed design.
fn report_callers(tokio: &Tokio, dir: &std::path::Path) -> Vec<(&'static str, Caller)> {
    let mut callers: Vec<(&str, Caller)> = MODES
        .iter()
        .map(|(name, mode)| (*name, Caller::Manager(manager(tokio, *mode, dir))))
        .collect();
    let Caller::Manager(fresh) = &callers[0].1 else {
        unreachable!("the first mode is a manager")
    };
    let seed = tokio.block_on(SeedDesign::new(fresh, test_plugins::BENCH_GREET));
    callers.push(("seed-design", Caller::Seed(Arc::new(seed))));
    let small = manager(tokio, Mode::Stocked(4), dir);
    callers.insert(2, ("stocked-4", Caller::Manager(small)));
    callers
}

/// 16 callers making calls back to back, saturating both cores: the `concurrent-16` group
/// measures each caller in one stretch of seconds, and on a noisy machine a stretch can be
/// twice as slow as the next, so this report alternates the callers in short rounds and
/// gives the median round of each, and its ratio to fresh calls with no stock.
fn saturated(measuring: bool) {
    let tokio = tokio();
    let dir = plugin_dir(test_plugins::BENCH_GREET, "bench-greet.wasm");
    let callers = report_callers(&tokio, dir.path());
    let (rounds, calls_per_caller): (usize, u64) = if measuring { (41, 500) } else { (1, 10) };
    let round = |caller: &Caller| {
        let elapsed = tokio.block_on(concurrently_through(calls_per_caller, caller));
        elapsed.as_secs_f64() * 1e6 / calls_per_caller as f64
    };
    // A first round fills the stocks and warms every caller up.
    for (_, caller) in &callers {
        round(caller);
    }
    let mut per_16_calls = vec![Vec::with_capacity(rounds); callers.len()];
    for _ in 0..rounds {
        for ((_, caller), times) in callers.iter().zip(&mut per_16_calls) {
            times.push(round(caller));
        }
    }
    let medians: Vec<f64> = per_16_calls
        .iter_mut()
        .map(|times| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        })
        .collect();
    println!(
        "saturated: {CONCURRENT_CALLERS} callers, calls back to back, median of {rounds} interleaved rounds"
    );
    println!(
        "{:>12} {:>16} {:>20}",
        "caller", "µs per 16 calls", "throughput vs fresh"
    );
    for ((name, _), median) in callers.iter().zip(&medians) {
        println!("{name:>12} {median:>16.2} {:>19.2}x", medians[0] / median);
    }
}

/// Makes `warm_up + arrivals` calls arriving at `rate` per second (gaps drawn from `seed`);
/// returns the latencies of the last `arrivals`, each from the call's arrival to its answer.
async fn drive(
    caller: &Caller,
    rate: f64,
    arrivals: usize,
    warm_up: usize,
    seed: u64,
) -> Vec<Duration> {
    let mut random = fastrand::Rng::with_seed(seed);
    let mut latencies = Vec::with_capacity(arrivals);
    let mut arrival = Instant::now();
    for i in 0..warm_up + arrivals {
        let gap = -(1.0 - random.f64()).ln() / rate;
        arrival += Duration::from_secs_f64(gap);
        // Waiting for the next call, the caller lets other threads run on its core, as an
        // idle server thread does.
        while Instant::now() < arrival {
            std::thread::yield_now();
        }
        caller.call().await;
        if i >= warm_up {
            latencies.push(arrival.elapsed());
        }
    }
    latencies
}
