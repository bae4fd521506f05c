//! `[tasks]` of `plugmill.toml`:
//!
//! ```toml
//! [tasks]
//! queue = "memory"           # or "amqp://guest:guest@127.0.0.1:5672/%2f" (PLUGMILL_QUEUE)
//! records = "tasks"          # a database under [databases] holding the records;
//!                            # default: the SQLite file plugmill-tasks.db beside plugmill.toml
//! max_attempts = 5           # then FAILED and dead-lettered
//! retry_backoff = "1s"       # before attempt 2; doubled before each next one
//! concurrency = 4            # tasks one worker (or the server's in-process queue) runs at once
//! queue_name = "plugmill.tasks"   # RabbitMQ queue; also NAME.retry.N and NAME.dead
//! metrics_listen = "127.0.0.1:9464"   # a worker's /metrics and /healthz (optional)
//! tenant_max_queued = 1000   # a tenant's tasks not yet final; more are refused (429)
//! queue_capacity = 10000     # tasks waiting in the in-process queue; more are refused (503)
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use plugmill::config::{ConfigError, HostConfig, HumanDuration};
use serde::Deserialize;

/// `[tasks]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TasksConfig {
    /// `memory` or an `amqp://` URL.
    pub queue: Option<String>,
    /// A database of `[databases]`.
    pub records: Option<String>,
    /// Attempts before a task fails.
    pub max_attempts: Option<u32>,
    /// The wait before the second attempt.
    pub retry_backoff: Option<HumanDuration>,
    /// Tasks run at once per worker.
    pub concurrency: Option<usize>,
    /// The RabbitMQ queue.
    pub queue_name: Option<String>,
    /// Where a worker serves its metrics.
    pub metrics_listen: Option<String>,
    /// A tenant's tasks not yet final.
    pub tenant_max_queued: Option<u32>,
    /// Tasks waiting in the in-process queue.
    pub queue_capacity: Option<usize>,
}

/// Where tasks are queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// In the server's process, run by the server itself.
    Memory,
    /// RabbitMQ at this URL, run by `plugmill worker` processes.
    Amqp(String),
}

/// Where the records live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordsAt {
    /// A database of `[databases]`.
    Database(String),
    /// The embedded SQLite file.
    File(PathBuf),
}

/// `[tasks]`, resolved.
#[derive(Clone, Debug)]
pub struct TaskSettings {
    /// Where tasks are queued.
    pub queue: QueueKind,
    /// Where the records live.
    pub records: RecordsAt,
    /// Attempts before a task fails (1 to 100, default 5).
    pub max_attempts: u32,
    /// The wait before the second attempt, doubled before each next one (default 1 s).
    pub retry_backoff: Duration,
    /// Tasks run at once per worker (1 to 1024, default 4).
    pub concurrency: usize,
    /// The RabbitMQ queue (default `plugmill.tasks`).
    pub queue_name: String,
    /// Where a worker serves `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// A tenant's tasks not yet final (`IN_PROGRESS`), counted from the records, so the
    /// limit holds across servers (1 to 1 000 000, default 1 000).
    pub tenant_max_queued: Option<u32>,
    /// Tasks waiting in the in-process queue (1 to 1 000 000, default 10 000).
    pub queue_capacity: usize,
}

/// The records file when `[tasks] records` names no database.
pub const DEFAULT_RECORDS_FILE: &str = "plugmill-tasks.db";

impl TaskSettings {
    /// Reads `[tasks]`; `PLUGMILL_QUEUE` wins over `queue`.
    pub fn from_config(config: &HostConfig) -> Result<Self, ConfigError> {
        let section: TasksConfig = config.section(&["tasks"])?.unwrap_or_default();
        let queue = std::env::var("PLUGMILL_QUEUE")
            .ok()
            .filter(|q| !q.is_empty())
            .or(section.queue)
            .unwrap_or_else(|| "memory".into());
        let queue = if queue == "memory" {
            QueueKind::Memory
        } else if queue.starts_with("amqp://") || queue.starts_with("amqps://") {
            QueueKind::Amqp(queue)
        } else {
            return Err(config.error(format!(
                "[tasks] queue: `{}` is neither `memory` nor an amqp:// URL",
                plugmill::redact_secrets(&queue)
            )));
        };
        let records = match section.records {
            Some(name) => RecordsAt::Database(name),
            None => {
                RecordsAt::File(config.relative_path(std::path::Path::new(DEFAULT_RECORDS_FILE)))
            }
        };
        let max_attempts = section.max_attempts.unwrap_or(5);
        if !(1..=100).contains(&max_attempts) {
            return Err(config.error(format!(
                "[tasks] max_attempts: {max_attempts} is outside 1 to 100"
            )));
        }
        let concurrency = section.concurrency.unwrap_or(4);
        if !(1..=1024).contains(&concurrency) {
            return Err(config.error(format!(
                "[tasks] concurrency: {concurrency} is outside 1 to 1024"
            )));
        }
        let queue_name = section
            .queue_name
            .unwrap_or_else(|| "plugmill.tasks".into());
        if queue_name.is_empty()
            || queue_name.len() > 200
            || !queue_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(config.error(format!(
                "[tasks] queue_name: `{}` must be letters, digits, '.', '_' and '-'",
                plugmill::config::values::shorten(&queue_name)
            )));
        }
        let metrics_listen = match section.metrics_listen {
            Some(address) => Some(address.parse().map_err(|_| {
                config.error(format!(
                    "[tasks] metrics_listen: `{address}` is not an ip:port"
                ))
            })?),
            None => None,
        };
        let tenant_max_queued = section.tenant_max_queued.unwrap_or(1000);
        if !(1..=1_000_000).contains(&tenant_max_queued) {
            return Err(config.error(format!(
                "[tasks] tenant_max_queued: {tenant_max_queued} is outside 1 to 1000000"
            )));
        }
        let queue_capacity = section.queue_capacity.unwrap_or(10_000);
        if !(1..=1_000_000).contains(&queue_capacity) {
            return Err(config.error(format!(
                "[tasks] queue_capacity: {queue_capacity} is outside 1 to 1000000"
            )));
        }
        Ok(Self {
            queue,
            records,
            tenant_max_queued: Some(tenant_max_queued),
            queue_capacity,
            max_attempts,
            retry_backoff: section
                .retry_backoff
                .map_or(Duration::from_secs(1), |d| d.0),
            concurrency,
            queue_name,
            metrics_listen,
        })
    }

    /// The wait before attempt `next` (2 or more): the backoff doubled each time, at most an
    /// hour.
    pub fn backoff_before(&self, next: u32) -> Duration {
        let doublings = next.saturating_sub(2).min(20);
        self.retry_backoff
            .saturating_mul(1 << doublings)
            .min(Duration::from_secs(3600))
    }
}
