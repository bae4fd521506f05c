//! Soak test: the library under 16 concurrent callers for a while, against a mix of good and
//! adversarial plugins (endless loops, memory hogs, traps, stack overflows, output floods),
//! with a reload every few seconds that swaps a plugin between two versions.
//!
//! ```sh
//! scripts/soak.sh 600        # 10 minutes; or:
//! cargo run --profile bench -p plugmill --example soak -- --seconds 600
//! ```
//!
//! Every call has an expected outcome (an answer, or a given kind of failure); anything else
//! is an unexpected error. It prints the calls made by outcome, the reloads, the unexpected
//! errors (must be 0) and the resident memory after warm-up and at the end (must not grow
//! beyond a small bound), and exits 1 if either check fails.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugmill::source::LocalDirectory;
use plugmill::{CallError, PluginManager};
use serde_json::{json, Value};

/// Concurrent callers.
const CALLERS: usize = 16;
/// Resident memory may grow this much between warm-up and the end.
const RSS_GROWTH_BOUND_MIB: u64 = 64;

/// What a call must come back with.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Ok,
    Kind(&'static str),
    /// Stopped by the host: a trap, the memory cap or the deadline (how a runaway allocation
    /// ends depends on how far it gets before its deadline on a loaded machine).
    Contained,
    /// An answer, or the deadline: 50 MiB of output may not be written within it under load.
    OkOrDeadline,
}

/// One kind of call: a hook with JSON arguments, and what it must return.
struct Call {
    label: &'static str,
    hook: &'static str,
    args: Value,
    expect: Expect,
}

fn calls() -> Vec<Call> {
    let call = |label, hook, args, expect| Call {
        label,
        hook,
        args,
        expect,
    };
    vec![
        call("greet", "greet", json!(["soak"]), Expect::Ok),
        call("add", "add", json!([2, 3]), Expect::Ok),
        call("counter", "counter", json!([]), Expect::Ok),
        call("quick", "quick", json!([]), Expect::Ok),
        call("version", "version", json!([0]), Expect::Ok),
        call("hello-out", "hello-out", json!([]), Expect::Ok),
        call("spin", "spin", json!([]), Expect::Kind("deadline")),
        call("boom", "boom", json!([]), Expect::Kind("trap")),
        call("oob", "oob", json!([]), Expect::Kind("trap")),
        call("recurse", "recurse", json!([0]), Expect::Kind("trap")),
        call("grow", "grow", json!([]), Expect::Contained),
        call("flood", "flood", json!([]), Expect::OkOrDeadline),
    ]
}

fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10);
    let reload_every = Duration::from_secs(3);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(soak(Duration::from_secs(seconds), reload_every))
}

async fn soak(length: Duration, reload_every: Duration) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    for (name, path) in [
        ("valid.wasm", test_plugins::VALID),
        ("spin.wasm", test_plugins::SPIN),
        ("panicker.wasm", test_plugins::PANICKER),
        ("stack.wasm", test_plugins::STACK_OVERFLOW),
        ("hog.wasm", test_plugins::MEMORY_HOG),
        ("flood.wasm", test_plugins::STDOUT_FLOOD),
        ("reloadable.wasm", test_plugins::RELOADABLE_V1),
    ] {
        std::fs::copy(path, dir.path().join(name))?;
    }
    let manager = Arc::new(
        PluginManager::builder()
            .call_timeout(Duration::from_millis(200))
            .max_memory_bytes(64 << 20)
            .warm_instances("valid", 4)
            .build()?,
    );
    let source = LocalDirectory::new(dir.path());
    let report = manager.load(&source).await?;
    anyhow::ensure!(
        report.rejected.is_empty(),
        "rejected: {:?}",
        report.rejected
    );

    let calls = Arc::new(calls());
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let outcomes: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (manager, calls, stop) = (manager.clone(), calls.clone(), stop.clone());
            let (made, outcomes, unexpected) = (made.clone(), outcomes.clone(), unexpected.clone());
            tokio::spawn(async move {
                let mut next = caller;
                while !stop.load(Ordering::Relaxed) {
                    let call = &calls[next % calls.len()];
                    next = next.wrapping_mul(31).wrapping_add(7);
                    let args = call.args.as_array().cloned().unwrap_or_default();
                    let results = manager.call_hook_json(call.hook, &args).await;
                    made.fetch_add(1, Ordering::Relaxed);
                    for outcome in results {
                        let seen = match &outcome.result {
                            Ok(_) => "ok",
                            Err(error) => error.kind(),
                        };
                        *outcomes
                            .lock()
                            .unwrap()
                            .entry(format!("{} -> {seen}", call.label))
                            .or_default() += 1;
                        if !expected(call.expect, &outcome.result) {
                            unexpected.lock().unwrap().push(format!(
                                "{} on {}: {:?}",
                                call.label, outcome.plugin, outcome.result
                            ));
                        }
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let warm_up = Duration::from_secs(2).min(length / 4);
    tokio::time::sleep(warm_up).await;
    let rss_start = resident_mib();
    let mut reloads = 0u64;
    let mut version = 1;
    while started.elapsed() < length {
        tokio::time::sleep(reload_every.min(length.saturating_sub(started.elapsed()))).await;
        version = 3 - version;
        let next = if version == 1 {
            test_plugins::RELOADABLE_V1
        } else {
            test_plugins::RELOADABLE_V2
        };
        let staged = dir.path().join("reloadable.wasm.new");
        std::fs::copy(next, &staged)?;
        std::fs::rename(&staged, dir.path().join("reloadable.wasm"))?;
        let report = manager.reload(&source).await?;
        if !report.rejected.is_empty() {
            unexpected
                .lock()
                .unwrap()
                .push(format!("reload rejected: {:?}", report.rejected));
        }
        reloads += 1;
    }
    // Measured under load, as after warm-up: like against like.
    let rss_end = resident_mib();
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await?;
    }

    let unexpected = unexpected.lock().unwrap();
    let growth = rss_end.saturating_sub(rss_start);
    println!(
        "soak: {:?}, {CALLERS} callers, a reload every {reload_every:?}",
        started.elapsed()
    );
    println!("calls made       {}", made.load(Ordering::Relaxed));
    println!("reloads          {reloads}");
    for (outcome, count) in outcomes.lock().unwrap().iter() {
        println!("  {outcome:<28} {count}");
    }
    println!("unexpected errors {}", unexpected.len());
    for error in unexpected.iter().take(10) {
        println!("  {error}");
    }
    println!("resident memory  {rss_start} MiB after warm-up, {rss_end} MiB at the end (+{growth} MiB, bound {RSS_GROWTH_BOUND_MIB} MiB)");
    anyhow::ensure!(unexpected.is_empty(), "unexpected errors");
    anyhow::ensure!(
        growth <= RSS_GROWTH_BOUND_MIB,
        "resident memory grew by {growth} MiB"
    );
    Ok(())
}

fn expected(expect: Expect, result: &Result<Vec<Value>, CallError>) -> bool {
    match (expect, result) {
        (Expect::Ok, Ok(_)) => true,
        (Expect::Kind(kind), Err(error)) => error.kind() == kind,
        (Expect::Contained, Err(error)) => {
            matches!(error.kind(), "trap" | "resource-limit" | "deadline")
        }
        (Expect::OkOrDeadline, Ok(_)) => true,
        (Expect::OkOrDeadline, Err(error)) => error.kind() == "deadline",
        _ => false,
    }
}

/// The process's resident memory, from `/proc/self/status`.
fn resident_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib / 1024)
}
