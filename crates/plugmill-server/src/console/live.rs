//! The live traffic window: every plugin call, as the call observer hears of it, counted in
//! per-second buckets over the last ten minutes, per plugin and function (calls, outcomes by
//! kind, a latency histogram for p50 and p99), and the instances calls ran on (a stock's hit
//! rate). The console's live page polls [`LiveStats::snapshot`]; nothing is scraped from the
//! Prometheus text.
//!
//! Latencies are counted in power-of-two buckets of microseconds: a percentile is reported as
//! the upper bound of the bucket it falls in (at most twice the true value).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use plugmill::{CallObserver, FinishedCall};
use serde::Serialize;

/// The seconds the window keeps.
pub const WINDOW_SECS: u64 = 600;

/// The outcomes counted, as the metrics label them; anything else counts as `host`.
pub const OUTCOMES: [&str; 7] = [
    "ok",
    "plugin_error",
    "trap",
    "deadline",
    "fuel",
    "resource_limit",
    "host",
];

/// Latency buckets: bucket 0 holds calls under 1 µs, bucket `k` those under 2^k µs; the last
/// holds everything longer.
const LATENCY_BUCKETS: usize = 32;

/// The series drawn point by point in a snapshot (the busiest); the others are totals only.
const DRAWN_SERIES: usize = 8;

/// One second of one plugin function.
#[derive(Clone)]
struct Second {
    at: u64,
    calls: u32,
    outcomes: [u32; OUTCOMES.len()],
    latency: [u32; LATENCY_BUCKETS],
}

impl Second {
    fn new(at: u64) -> Self {
        Self {
            at,
            calls: 0,
            outcomes: [0; OUTCOMES.len()],
            latency: [0; LATENCY_BUCKETS],
        }
    }
}

/// The seconds with calls of one plugin function, oldest first.
#[derive(Default)]
struct Series {
    seconds: VecDeque<Second>,
}

impl Series {
    fn prune(&mut self, oldest: u64) {
        while self.seconds.front().is_some_and(|s| s.at < oldest) {
            self.seconds.pop_front();
        }
    }
}

/// One series' calls and p99 latency in each second of a snapshot.
type Points = (Vec<u64>, Vec<Option<f64>>);

/// Instances calls ran on in one second: stock, instantiated, warm.
type InstanceSecond = (u64, [u64; 3]);

/// The rolling window, fed as a [`CallObserver`].
#[derive(Default)]
pub struct LiveStats {
    /// By plugin, then function.
    series: Mutex<HashMap<String, HashMap<String, Series>>>,
    instances: Mutex<VecDeque<InstanceSecond>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn latency_bucket(micros: u128) -> usize {
    ((128 - micros.leading_zeros()) as usize).min(LATENCY_BUCKETS - 1)
}

/// The upper bound of latency bucket `k`, in milliseconds.
fn bucket_ms(k: usize) -> f64 {
    if k == 0 {
        0.001
    } else {
        (1u64 << k) as f64 / 1000.0
    }
}

/// The latency under which `q` of the calls counted in `histogram` finished, in ms.
fn quantile(histogram: &[u64; LATENCY_BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (k, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return Some(bucket_ms(k));
        }
    }
    Some(bucket_ms(LATENCY_BUCKETS - 1))
}

impl CallObserver for LiveStats {
    fn call_finished(&self, call: &FinishedCall<'_>) {
        self.record(
            now_secs(),
            call.plugin,
            call.function,
            call.outcome.as_str(),
            call.duration.as_micros(),
            call.instance.as_str(),
        );
    }
}

/// One plugin function in a snapshot.
#[derive(Debug, Serialize)]
pub struct SeriesSnapshot {
    /// The plugin.
    pub plugin: String,
    /// The export called.
    pub function: String,
    /// Calls in the window.
    pub calls: u64,
    /// Calls that did not end `ok`, by outcome.
    pub errors: HashMap<&'static str, u64>,
    /// Errors per call in the window.
    pub error_rate: f64,
    /// The median latency in the window, ms (bucket upper bound).
    pub p50_ms: Option<f64>,
    /// The 99th percentile latency in the window, ms (bucket upper bound).
    pub p99_ms: Option<f64>,
    /// Calls in each second of the window, oldest first (drawn series only).
    pub per_second: Option<Vec<u64>>,
    /// The p99 latency of each second, ms (drawn series only; null for a second without calls).
    pub p99_per_second: Option<Vec<Option<f64>>>,
}

/// What the instance stocks did in the window.
#[derive(Debug, Default, Serialize)]
pub struct InstanceSnapshot {
    /// Calls that took an instance from a stock.
    pub stock: u64,
    /// Calls that had to make their instance.
    pub instantiated: u64,
    /// Calls that reused a warm instance.
    pub warm: u64,
    /// `stock / (stock + instantiated)`, when either happened.
    pub hit_rate: Option<f64>,
}

/// The window as the live page draws it.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// The newest second, seconds since the epoch.
    pub now: u64,
    /// The seconds covered.
    pub seconds: u64,
    /// Calls of every plugin in each second, oldest first.
    pub total_per_second: Vec<u64>,
    /// Calls in the window.
    pub total_calls: u64,
    /// Errors in the window.
    pub total_errors: u64,
    /// Every plugin function with calls in the window, busiest first.
    pub series: Vec<SeriesSnapshot>,
    /// The instance stocks.
    pub instances: InstanceSnapshot,
}

impl LiveStats {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(
        &self,
        at: u64,
        plugin: &str,
        function: &str,
        outcome: &str,
        micros: u128,
        instance: &str,
    ) {
        let kind = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        {
            let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
            let functions = match all.get_mut(plugin) {
                Some(functions) => functions,
                None => all.entry(plugin.to_string()).or_default(),
            };
            let series = match functions.get_mut(function) {
                Some(series) => series,
                None => functions.entry(function.to_string()).or_default(),
            };
            series.prune(at.saturating_sub(WINDOW_SECS - 1));
            if series.seconds.back().is_none_or(|s| s.at < at) {
                series.seconds.push_back(Second::new(at));
            }
            // A clock that stepped back counts into the newest second.
            let second = series.seconds.back_mut().expect("pushed above");
            second.calls += 1;
            second.outcomes[kind] += 1;
            second.latency[latency_bucket(micros)] += 1;
        }
        let source = match instance {
            "stock" => 0,
            "instantiated" => 1,
            _ => 2,
        };
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        while instances
            .front()
            .is_some_and(|(s, _)| *s + WINDOW_SECS <= at)
        {
            instances.pop_front();
        }
        if instances.back().is_none_or(|(s, _)| *s < at) {
            instances.push_back((at, [0; 3]));
        }
        if let Some((_, counts)) = instances.back_mut() {
            counts[source] += 1;
        }
    }

    /// The last `seconds` (1 to [`WINDOW_SECS`]).
    pub fn snapshot(&self, seconds: u64) -> Snapshot {
        self.snapshot_at(now_secs(), seconds)
    }

    fn snapshot_at(&self, now: u64, seconds: u64) -> Snapshot {
        let seconds = seconds.clamp(1, WINDOW_SECS);
        let oldest = now + 1 - seconds;
        let width = seconds as usize;
        let mut total_per_second = vec![0u64; width];
        let mut series = Vec::new();
        let mut drawn: Vec<Points> = Vec::new();
        {
            let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
            for (plugin, functions) in all.iter_mut() {
                for (function, s) in functions.iter_mut() {
                    s.prune(now.saturating_sub(WINDOW_SECS - 1));
                    let mut calls = 0u64;
                    let mut outcomes = [0u64; OUTCOMES.len()];
                    let mut histogram = [0u64; LATENCY_BUCKETS];
                    let mut per_second = vec![0u64; width];
                    let mut p99s = vec![None; width];
                    for second in s.seconds.iter().filter(|s| s.at >= oldest && s.at <= now) {
                        let slot = (second.at - oldest) as usize;
                        calls += u64::from(second.calls);
                        per_second[slot] += u64::from(second.calls);
                        total_per_second[slot] += u64::from(second.calls);
                        for (sum, n) in outcomes.iter_mut().zip(second.outcomes) {
                            *sum += u64::from(n);
                        }
                        let mut one = [0u64; LATENCY_BUCKETS];
                        for ((sum, own), n) in
                            histogram.iter_mut().zip(one.iter_mut()).zip(second.latency)
                        {
                            *sum += u64::from(n);
                            *own = u64::from(n);
                        }
                        p99s[slot] = quantile(&one, 0.99);
                    }
                    if calls == 0 {
                        continue;
                    }
                    let errors: HashMap<&'static str, u64> = OUTCOMES
                        .iter()
                        .zip(outcomes)
                        .skip(1)
                        .filter(|(_, n)| *n > 0)
                        .map(|(o, n)| (*o, n))
                        .collect();
                    let error_count: u64 = outcomes[1..].iter().sum();
                    series.push(SeriesSnapshot {
                        plugin: plugin.clone(),
                        function: function.clone(),
                        calls,
                        errors,
                        error_rate: error_count as f64 / calls as f64,
                        p50_ms: quantile(&histogram, 0.50),
                        p99_ms: quantile(&histogram, 0.99),
                        per_second: None,
                        p99_per_second: None,
                    });
                    drawn.push((per_second, p99s));
                }
            }
            all.retain(|_, functions| {
                functions.retain(|_, s| !s.seconds.is_empty());
                !functions.is_empty()
            });
        }
        let mut order: Vec<usize> = (0..series.len()).collect();
        order.sort_by(|a, b| {
            series[*b]
                .calls
                .cmp(&series[*a].calls)
                .then_with(|| series[*a].plugin.cmp(&series[*b].plugin))
                .then_with(|| series[*a].function.cmp(&series[*b].function))
        });
        let mut drawn: Vec<Option<Points>> = drawn.into_iter().map(Some).collect();
        let mut series: Vec<Option<SeriesSnapshot>> = series.into_iter().map(Some).collect();
        let series: Vec<SeriesSnapshot> = order
            .iter()
            .enumerate()
            .filter_map(|(rank, &i)| {
                let mut s = series[i].take()?;
                if rank < DRAWN_SERIES {
                    let (per_second, p99s) = drawn[i].take()?;
                    s.per_second = Some(per_second);
                    s.p99_per_second = Some(p99s);
                }
                Some(s)
            })
            .collect();
        let mut instances = InstanceSnapshot::default();
        for (_, counts) in self
            .instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(at, _)| *at >= oldest && *at <= now)
        {
            instances.stock += counts[0];
            instances.instantiated += counts[1];
            instances.warm += counts[2];
        }
        let made = instances.stock + instances.instantiated;
        instances.hit_rate = (made > 0).then(|| instances.stock as f64 / made as f64);
        Snapshot {
            now,
            seconds,
            total_calls: series.iter().map(|s| s.calls).sum(),
            total_errors: series.iter().map(|s| s.errors.values().sum::<u64>()).sum(),
            total_per_second,
            series,
            instances,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_errors_and_percentiles_are_counted_per_second_within_the_window() {
        let live = LiveStats::new();
        let start = 1_000_000;
        live.record(start, "echo", "handle", "ok", 100, "instantiated");
        for i in 0..100u128 {
            let outcome = if i < 3 { "trap" } else { "ok" };
            // 90 calls near 100 µs, 10 near 10 ms; 50 in each of two seconds.
            let micros = if i < 90 { 100 } else { 10_000 };
            let at = start + u64::from(i >= 50);
            live.record(at, "echo", "handle", outcome, micros, "stock");
        }
        // A call reported late (its clock behind) counts in the newest second.
        live.record(start, "echo", "handle", "ok", 100, "warm");
        let snap = live.snapshot_at(start + 1, 60);
        assert_eq!(snap.total_calls, 102);
        assert_eq!(snap.total_per_second[58..], [51, 51]);
        let series = &snap.series[0];
        assert_eq!(series.errors.get("trap"), Some(&3));
        assert!((series.error_rate - 3.0 / 102.0).abs() < 1e-9);
        assert_eq!(
            series.p50_ms,
            Some(0.128),
            "100 µs falls in the bucket under 128 µs"
        );
        assert_eq!(
            series.p99_ms,
            Some(16.384),
            "10 ms falls in the bucket under 16.384 ms"
        );
        assert_eq!(snap.instances.stock, 100);
        assert_eq!(snap.instances.instantiated, 1);
        let hit = snap.instances.hit_rate.unwrap();
        assert!((hit - 100.0 / 101.0).abs() < 1e-9);

        // Ten minutes later the calls have left the window.
        let later = live.snapshot_at(start + WINDOW_SECS + 2, 60);
        assert_eq!(later.total_calls, 0);
        assert!(later.series.is_empty());
    }

    #[test]
    fn only_the_busiest_series_are_drawn_point_by_point() {
        let live = LiveStats::new();
        for plugin in 0..(DRAWN_SERIES as u64 + 4) {
            for _ in 0..=plugin {
                live.record(50, &format!("p{plugin}"), "f", "ok", 10, "warm");
            }
        }
        let snap = live.snapshot_at(50, 10);
        assert_eq!(snap.series.len(), DRAWN_SERIES + 4);
        assert_eq!(snap.series[0].plugin, format!("p{}", DRAWN_SERIES + 3));
        assert!(snap.series[..DRAWN_SERIES]
            .iter()
            .all(|s| s.per_second.is_some()));
        assert!(snap.series[DRAWN_SERIES..]
            .iter()
            .all(|s| s.per_second.is_none()));
        assert_eq!(
            snap.instances.hit_rate, None,
            "warm calls say nothing of a stock"
        );
    }
}
