//! Task throughput: how many tasks per second reach a final record, through the in-process
//! queue and through RabbitMQ with one and two workers, for a trivial task and for a task
//! that writes one row to PostgreSQL. Records are in PostgreSQL throughout.
//!
//! The baseline, measured in the same run, is the same task called directly on a plugin
//! manager with the same concurrency: no record, no queue. Every other row is given as its
//! rate and its ratio to that baseline.
//!
//! Needs the machine's PostgreSQL (`PLUGMILL_TEST_POSTGRES`, by default
//! `postgres://postgres@127.0.0.1:5432/test`) and RabbitMQ (`rabbitmqctl` makes a vhost for
//! the run and deletes it after):
//!
//! ```text
//! cargo run --release -p plugmill-tasks --example throughput -- [TASKS] [IN_FLIGHT]
//! ```
//!
//! `IN_FLIGHT` (64 unless given) is how many tasks are in flight at once: submitters, the
//! in-process queue's runners (`[tasks] concurrency`), each worker's prefetch.
//!
//! Workers run in this process, each on a host of its own (as `plugmill worker` processes
//! would), sharing its two cores with the submitting side, PostgreSQL and RabbitMQ.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use plugmill_host::{CacheChoice, Host, HostOptions};
use plugmill_tasks::{NewTask, Status, Tasks};
use serde_json::json;
use tokio::sync::oneshot;

/// Tasks in flight at once unless given: submitters, a worker's prefetch, the in-process
/// queue's runners.
const IN_FLIGHT: usize = 64;

/// What each row measures: how many tasks, how many in flight at once.
#[derive(Clone, Copy)]
struct Run {
    count: usize,
    in_flight: usize,
}

/// One kind of task measured.
#[derive(Clone, Copy)]
struct Workload {
    label: &'static str,
    task: &'static str,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        label: "trivial",
        task: "process",
    },
    Workload {
        label: "one DB write",
        task: "insert",
    },
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| anyhow::anyhow!("TASKS: `{text}` is not a count"))?,
        None => 2000,
    };
    let in_flight: usize = match std::env::args().nth(2) {
        Some(text) => text
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| anyhow::anyhow!("IN_FLIGHT: `{text}` is not a count from 1 to 1024"))?,
        None => IN_FLIGHT,
    };
    let postgres = std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let run = std::process::id();
    let schema = format!("plugmill_throughput_{run}");
    let vhost = format!("plugmill_throughput_{run}");

    let admin = sqlx::PgPool::connect(&postgres).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {schema}.bench_tasks (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL)"
    )))
    .execute(&admin)
    .await?;
    rabbitmqctl(&["add_vhost", &vhost])?;
    rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"])?;

    let outcome = measure_all(Run { count, in_flight }, &postgres, &schema, &vhost).await;

    let _ = rabbitmqctl(&["delete_vhost", &vhost]);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await?;
    outcome
}

async fn measure_all(run: Run, postgres: &str, schema: &str, vhost: &str) -> anyhow::Result<()> {
    let probe = Probe {
        pool: sqlx::PgPool::connect(postgres).await?,
        schema: schema.to_string(),
    };
    let separator = if postgres.contains('?') { '&' } else { '?' };
    let database = format!("{postgres}{separator}options=-c%20search_path%3D{schema}");
    println!(
        "{} tasks per row, {} in flight, records in PostgreSQL; rate = tasks that reached a final record per second\n",
        run.count, run.in_flight
    );
    println!("| task | path | tasks/s | vs direct call |");
    println!("|---|---|---:|---:|");
    for workload in WORKLOADS {
        let memory = Deployment::new(&database, "memory", run.in_flight)?;
        let baseline = direct(&memory, workload, run).await?;
        row(
            workload,
            "direct call (baseline, no record, no queue)",
            baseline,
            baseline,
        );

        let rate = through_memory(&memory, workload, run, &probe).await?;
        row(workload, "in-process queue", rate, baseline);

        let amqp = format!("amqp://guest:guest@127.0.0.1:5672/{vhost}");
        for workers in [1, 2] {
            let deployment = Deployment::new(&database, &amqp, run.in_flight)?;
            let rate = through_rabbitmq(&deployment, workload, run, workers, &probe).await?;
            row(
                workload,
                &format!(
                    "RabbitMQ, {workers} worker{}",
                    if workers == 1 { "" } else { "s" }
                ),
                rate,
                baseline,
            );
        }
    }
    Ok(())
}

fn row(workload: Workload, path: &str, rate: f64, baseline: f64) {
    println!(
        "| {} | {path} | {rate:.0} | {:.2}x |",
        workload.label,
        rate / baseline
    );
}

/// A deployment directory: the fixture and bench-db plugins and a `plugmill.toml`.
struct Deployment {
    dir: tempfile::TempDir,
}

impl Deployment {
    fn new(database: &str, queue: &str, in_flight: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("plugins"))?;
        std::fs::copy(
            test_plugins::HTTP_FIXTURE,
            dir.path().join("plugins/fixture.wasm"),
        )?;
        std::fs::copy(
            test_plugins::BENCH_DB,
            dir.path().join("plugins/bench_db.wasm"),
        )?;
        let config = format!(
            "[databases.records]\nurl = \"{database}\"\n\n\
             [databases.hasura]\nurl = \"{database}\"\n\n\
             [plugins.bench-db]\ndatabases = [\"hasura\"]\n\n\
             [tasks]\nqueue = \"{queue}\"\nrecords = \"records\"\nconcurrency = {in_flight}\n\
             queue_name = \"plugmill.throughput.{}\"\n",
            dir.path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("run")
        );
        std::fs::write(dir.path().join("plugmill.toml"), config)?;
        Ok(Self { dir })
    }

    async fn host(&self) -> anyhow::Result<Host> {
        host_of(self.dir.path()).await
    }
}

async fn host_of(dir: &Path) -> anyhow::Result<Host> {
    let options = HostOptions {
        config_file: Some(dir.join("plugmill.toml")),
        plugins: Some(dir.join("plugins").display().to_string()),
        cache: CacheChoice::Disabled,
        ..HostOptions::default()
    };
    let host = Host::assemble(&options)?;
    let report = host.load().await?;
    anyhow::ensure!(
        report.rejected.is_empty(),
        "plugins rejected: {:#?}",
        report.rejected
    );
    Ok(host)
}

fn task(workload: Workload, index: usize) -> NewTask {
    NewTask {
        task: workload.task.into(),
        data: json!({ "key": format!("k{index}") }),
        ..NewTask::default()
    }
}

/// The task called straight on the manager, `run.in_flight` at once.
async fn direct(deployment: &Deployment, workload: Workload, run: Run) -> anyhow::Result<f64> {
    let count = run.count;
    let host = deployment.host().await?;
    let manager = host.manager().clone();
    let started = Instant::now();
    let failures = stream::iter(0..count)
        .map(|index| {
            let manager = manager.clone();
            async move {
                let data = json!({ "key": format!("k{index}") });
                match manager.execute_task(workload.task, &data).await {
                    Ok(results) => results.into_iter().filter(|r| r.result.is_err()).count(),
                    Err(_) => 1,
                }
            }
        })
        .buffer_unordered(run.in_flight)
        .fold(0, |sum, failed| async move { sum + failed })
        .await;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(failures == 0, "{failures} direct calls failed");
    Ok(rate)
}

/// Submits `run.count` tasks, `run.in_flight` at once, and waits until every record is final.
async fn submit_and_wait(
    tasks: &Tasks,
    workload: Workload,
    run: Run,
    probe: &Probe,
) -> anyhow::Result<f64> {
    let count = run.count;
    let before = finished(tasks).await?;
    let started = Instant::now();
    let refused = stream::iter(0..count)
        .map(|index| async move { tasks.submit(task(workload, index)).await.is_err() as usize })
        .buffer_unordered(run.in_flight)
        .fold(0, |sum, refused| async move { sum + refused })
        .await;
    anyhow::ensure!(refused == 0, "{refused} tasks were not queued");
    let deadline = started + Duration::from_secs(600);
    // Every 10 ms, whether any record is still open: one look into the status index, which
    // costs the same however many records the table holds. Then the count, once.
    let open = format!(
        "SELECT EXISTS (SELECT 1 FROM {}.plugmill_task_records WHERE status = 'IN_PROGRESS')",
        probe.schema
    );
    loop {
        let (any_open,): (bool,) = sqlx::query_as(sqlx::AssertSqlSafe(open.clone()))
            .fetch_one(&probe.pool)
            .await?;
        if !any_open {
            let elapsed = started.elapsed();
            let (succeeded, failed) = finished(tasks).await?;
            anyhow::ensure!(failed == before.1, "{} tasks failed", failed - before.1);
            anyhow::ensure!(
                succeeded - before.0 == count as u64,
                "{} tasks succeeded, not {count}",
                succeeded - before.0
            );
            return Ok(count as f64 / elapsed.as_secs_f64());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the tasks did not finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Where the run looks whether any record is still open.
struct Probe {
    pool: sqlx::PgPool,
    schema: String,
}

/// Records `SUCCESS` and `FAILED` so far.
async fn finished(tasks: &Tasks) -> anyhow::Result<(u64, u64)> {
    let counts = tasks.records().counts().await?;
    let of = |status| {
        counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    Ok((of(Status::Success), of(Status::Failed)))
}

async fn through_memory(
    deployment: &Deployment,
    workload: Workload,
    run: Run,
    probe: &Probe,
) -> anyhow::Result<f64> {
    let host = deployment.host().await?;
    let tasks = Tasks::open(&host).await?;
    let rate = submit_and_wait(&tasks, workload, run, probe).await;
    tasks.shutdown().await;
    rate
}

async fn through_rabbitmq(
    deployment: &Deployment,
    workload: Workload,
    run: Run,
    workers: usize,
    probe: &Probe,
) -> anyhow::Result<f64> {
    let host = deployment.host().await?;
    let tasks = Tasks::open(&host).await?;
    let mut running = Vec::new();
    for _ in 0..workers {
        let worker = Arc::new(deployment.host().await?);
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            Tasks::work(&worker, async move {
                let _ = stopped.await;
            })
            .await
        });
        running.push((stop, handle));
    }
    let rate = submit_and_wait(&tasks, workload, run, probe).await;
    for (stop, handle) in running {
        let _ = stop.send(());
        handle.await??;
    }
    tasks.shutdown().await;
    rate
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("rabbitmqctl").args(args).output()?;
    anyhow::ensure!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
