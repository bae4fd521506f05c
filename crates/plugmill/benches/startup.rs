//! Start-up of 50 plugins: cold (compiling every plugin, filling the precompiled cache)
//! against warm (loading every plugin from that cache), in one run.
//!
//! The 50 plugins are copies of the `bench-startup` test plugin (a typical plugin: serde JSON
//! in and out) with a distinct name stamped into each file's bytes, so each is a distinct
//! component with its own sha256 and its own cache entry. One start is one
//! `PluginManager::load` of the directory by a new manager: read, hash, compile or load from
//! the cache, link, read every manifest, build the registry.
//!
//! Besides the wall time, the cold start reports how busy the cores were: process CPU time
//! (user + system, from `/proc/self/stat`) divided by wall time; 2.0 is both cores all along.
//!
//! Run: `cargo bench -p plugmill --bench startup`. Under `cargo test` (no `--bench`
//! argument) it runs once on 4 plugins, as a check that it works.

use std::path::Path;
use std::time::{Duration, Instant};

use plugmill::source::LocalDirectory;
use plugmill::PluginManager;

/// Plugins and rounds of a measuring run, and of a check under `cargo test`.
const MEASURE: (usize, usize) = (50, 5);
const CHECK: (usize, usize) = (4, 1);
const MARKER: &[u8; 32] = b"bench-startup-__________________";

/// Writes `plugins` distinct plugin files into `dir`.
fn write_fleet(dir: &Path, plugins: usize) {
    let template = std::fs::read(test_plugins::BENCH_STARTUP).expect("bench-startup plugin");
    let at = template
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .expect("the name marker is in the plugin's data");
    for i in 0..plugins {
        let mut bytes = template.clone();
        let name = format!("bench-startup-{i:02}");
        let mut stamped = [b'_'; 32];
        stamped[..name.len()].copy_from_slice(name.as_bytes());
        bytes[at..at + 32].copy_from_slice(&stamped);
        std::fs::write(dir.join(format!("{name}.wasm")), bytes).unwrap();
    }
}

/// CPU time of this process so far (all threads, user + system).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Start {
    wall: Duration,
    cpu: Duration,
}

fn start(
    tokio: &tokio::runtime::Runtime,
    plugins: (&Path, usize),
    cache: &Path,
    expect_hits: bool,
) -> Start {
    let (plugins, count) = plugins;
    let manager = PluginManager::builder()
        .cache_dir(cache)
        .build()
        .expect("manager");
    let cpu_before = cpu_time();
    let began = Instant::now();
    let report = tokio
        .block_on(manager.load(&LocalDirectory::new(plugins)))
        .expect("load");
    let wall = began.elapsed();
    let cpu = cpu_time() - cpu_before;
    assert_eq!(report.loaded.len(), count, "{:#?}", report.rejected);
    let expected = if expect_hits { (0, count) } else { (count, 0) };
    assert_eq!((report.cache.compiled, report.cache.hits), expected);
    Start { wall, cpu }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (count, rounds) = if measuring { MEASURE } else { CHECK };
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), count);
    let plugins = (dir.path(), count);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (mut cold, mut cold_busy, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let cache = tempfile::tempdir().unwrap();
        let first = start(&tokio, plugins, cache.path(), false);
        cold_busy.push(first.cpu.as_secs_f64() / first.wall.as_secs_f64());
        cold.push(first.wall);
        for _ in 0..3 {
            warm.push(start(&tokio, plugins, cache.path(), true).wall);
        }
    }
    cold_busy.sort_by(f64::total_cmp);
    let (cold, warm) = (median(cold), median(warm));
    println!("start-up of {count} plugins, {rounds} rounds, {cores} cores");
    println!("  cold (compile + fill the cache): median {cold:.2?}");
    println!("  warm (from the cache):           median {warm:.2?}");
    println!(
        "  warm / cold: {:.1}%",
        100.0 * warm.as_secs_f64() / cold.as_secs_f64()
    );
    println!(
        "  cold: cores busy {:.2} of {cores} (median CPU time / wall time)",
        cold_busy[cold_busy.len() / 2]
    );
}
