//! Cost of a one-row SELECT in a transaction on PostgreSQL, through a plugin and natively from
//! Rust on the same pool, in one run:
//!
//! - native: `BEGIN` (with the same `SET LOCAL statement_timeout` plugmill sends), the
//!   SELECT, `COMMIT`, on the pool the plugins use (the baseline);
//! - `typed`: the `bench-db` plugin's `select-one` hook, `plugmill:database` interface, a
//!   fresh instance per call (the default);
//! - `typed-warm`: the same on a warm instance;
//! - `seed`: `select-one-seed`, the seed-compatible interface (rows as JSON).
//!
//! Each `V/native` and `V/plugin` pair alternates a native and a plugin call in one loop and
//! reports one side: the ratio of the pair is the plugin's overhead.
//!
//! Needs PostgreSQL (`PLUGMILL_TEST_POSTGRES`, default the local server).
//! Run: `cargo bench -p plugmill --bench db_query`

#![allow(missing_docs)] // criterion's macros generate undocumented public functions

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use plugmill::capabilities::database::{Backend, DatabaseSpec, Databases, Pool};
use plugmill::source::LocalDirectory;
use plugmill::PluginManager;
use serde_json::json;
use sqlx::{Executor as _, Row as _};
use tokio::runtime::Runtime as Tokio;

const SCHEMA: &str = "plugmill_bench";

fn postgres_url() -> String {
    std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn spec() -> DatabaseSpec {
    let mut spec = DatabaseSpec::from_url(&postgres_url()).unwrap();
    if let Backend::Postgres(options) = spec.backend {
        spec.backend = Backend::Postgres(options.options([("search_path", SCHEMA)]));
    }
    spec.max_connections = 4;
    spec
}

fn manager(tokio: &Tokio, dir: &std::path::Path, warm: bool) -> Arc<PluginManager> {
    let mut builder = PluginManager::builder()
        .call_timeout(Duration::from_secs(60))
        .with_capability(|databases: &mut Databases| {
            databases.insert("hasura", spec());
            databases.grant("bench-db", "hasura");
        });
    if warm {
        builder = builder.warm_instances("bench-db", 4);
    }
    let manager = builder.build().unwrap();
    let report = tokio
        .block_on(manager.load(&LocalDirectory::new(dir)))
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
    Arc::new(manager)
}

fn setup(tokio: &Tokio) {
    tokio.block_on(async {
        let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
        let sql = format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
             CREATE TABLE {SCHEMA}.bench (id int8 PRIMARY KEY, body text NOT NULL);
             INSERT INTO {SCHEMA}.bench SELECT g, 'row ' || g FROM generate_series(1, 1000) g;"
        );
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    });
}

fn db_query(c: &mut Criterion) {
    let tokio = Tokio::new().unwrap();
    setup(&tokio);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugins::BENCH_DB, dir.path().join("bench_db.wasm")).unwrap();
    let fresh = manager(&tokio, dir.path(), false);
    let warm = manager(&tokio, dir.path(), true);
    let databases = fresh
        .capability::<Databases>()
        .expect("the database capability");
    let Some(Pool::Postgres(pool)) = tokio.block_on(databases.pool("hasura")) else {
        panic!("hasura is a PostgreSQL pool")
    };

    let native = || {
        let pool = pool.clone();
        async move {
            let mut tx = pool
                .begin_with("BEGIN; SET LOCAL statement_timeout = 30000")
                .await
                .unwrap();
            let row = sqlx::query("SELECT id, body FROM bench WHERE id = $1")
                .bind(42_i64)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            row.get::<String, _>(1)
        }
    };
    let plugin = |manager: &Arc<PluginManager>, hook: &'static str, arg: serde_json::Value| {
        let manager = manager.clone();
        async move {
            let mut outcomes = manager.call_hook_json(hook, &[arg]).await;
            let value = outcomes.remove(0).result.unwrap();
            assert!(value[0].get("ok").is_some(), "{value:?}");
        }
    };

    // The server's latency drifts by tens of percent over a run; each pair of benchmarks
    // alternates native and plugin calls in one loop, so both see the same drift, and each
    // reports the time of one side.
    let totals =
        std::sync::Mutex::new(std::collections::BTreeMap::<&str, (Duration, Duration)>::new());
    let mut group = c.benchmark_group("db-select-one");
    for (name, manager, hook, arg) in [
        ("typed", &fresh, "select-one", json!(42)),
        ("typed-warm", &warm, "select-one", json!(42)),
        ("seed", &fresh, "select-one-seed", json!("42")),
    ] {
        for side in ["native", "plugin"] {
            group.bench_function(format!("{name}/{side}"), |b| {
                b.iter_custom(|iters| {
                    tokio.block_on(async {
                        let (mut native_time, mut plugin_time) = (Duration::ZERO, Duration::ZERO);
                        for _ in 0..iters {
                            let start = Instant::now();
                            native().await;
                            native_time += start.elapsed();
                            let start = Instant::now();
                            plugin(manager, hook, arg.clone()).await;
                            plugin_time += start.elapsed();
                        }
                        let mut totals = totals.lock().unwrap();
                        let total = totals.entry(name).or_default();
                        total.0 += native_time;
                        total.1 += plugin_time;
                        if side == "native" {
                            native_time
                        } else {
                            plugin_time
                        }
                    })
                })
            });
        }
    }
    group.finish();
    // The paired figure: every alternating call above, native and plugin side by side.
    for (name, (native_time, plugin_time)) in totals.into_inner().unwrap() {
        println!(
            "paired {name}: plugin/native = {:.3} (native {:?} total, plugin {:?} total)",
            plugin_time.as_secs_f64() / native_time.as_secs_f64(),
            native_time,
            plugin_time
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(60)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    targets = db_query
}
criterion_main!(benches);
