//! `[tasks]` of `plugmill.toml`:
//!
//! ```toml
//! [tasks]
//! queue = "memory"           # or "amqp://guest:guest@127.0.0.1:5672/%2f" (PLUGMILL_QUEUE);
//!                            # several nodes: "amqp://a:5672,amqp://b:5672"; unset, the
//!                            # seed's AMQP_ADDR when set
//! records = "tasks"          # a database under [databases] holding the records;
//!                            # default: the SQLite file plugmill-tasks.db beside plugmill.toml
//! retry_on = []              # plugin failures retried: "deadline", "trap", "plugin-error"
//!                            # (default none, as the seed system); host failures always are
//! max_attempts = 5           # runs of a plugin, with retry_on; then FAILED and dead-lettered
//! idempotency_window = "24h" # how long an Idempotency-Key is remembered
//! retry_backoff = "1s"       # before attempt 2; doubled before each next one
//! concurrency = 4            # tasks one worker (or the server's in-process queue) runs at once
//! queue_name = "plugmill.tasks"   # RabbitMQ queue; also NAME.retry.N and NAME.dead
//! protocol = "plugmill"      # or "celery": the seed's execute_plugin_task messages (Celery
//!                            # protocol v2), queue_name then defaulting to {ENV_SLUG}_short
//! metrics_listen = "127.0.0.1:9464"   # a worker's /metrics and /healthz (optional)
//! tenant_max_queued = 1000   # a tenant's tasks not yet final; more are refused (429)
//! queue_capacity = 10000     # tasks waiting in the in-process queue; more are refused (503)
//! layout = "plugmill"        # or "seed": the platform's sequent_backend.tasks_execution
//!
//! [tasks.send-package]       # one task's own policy, over the defaults above
//! retry_on = ["deadline"]
//! max_attempts = 3
//! ```
//!
//! Bad values are refused naming their line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::collections::BTreeMap;

use plugmill::config::precedence::Setting;
use plugmill::config::{ConfigError, ConfigSections, HostConfig, HumanDuration};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `[tasks]`.
#[derive(Clone, Debug, Default)]
pub struct TasksConfig {
    /// `memory` or an `amqp://` URL.
    pub queue: Option<String>,
    /// A database of `[databases]`.
    pub records: Option<String>,
    /// Runs of a plugin before its task fails, when its failure is retried.
    pub max_attempts: Option<Attempts>,
    /// The plugin failures retried.
    pub retry_on: Option<Vec<RetryOn>>,
    /// The wait before the second attempt.
    pub retry_backoff: Option<HumanDuration>,
    /// Tasks run at once per worker.
    pub concurrency: Option<usize>,
    /// The RabbitMQ queue.
    pub queue_name: Option<String>,
    /// The messages' format on RabbitMQ.
    pub protocol: Option<Protocol>,
    /// Where a worker serves its metrics.
    pub metrics_listen: Option<String>,
    /// A tenant's tasks not yet final.
    pub tenant_max_queued: Option<u32>,
    /// Tasks waiting in the in-process queue.
    pub queue_capacity: Option<usize>,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_window: Option<HumanDuration>,
    /// Whose tables hold the records.
    pub layout: Option<Layout>,
    /// `[tasks.NAME]`: one task's own policy.
    pub per_task: BTreeMap<String, TaskPolicyConfig>,
}

/// The keys of `[tasks]` (any other names a task's table).
const KEYS: &[&str] = &[
    "queue",
    "records",
    "max_attempts",
    "retry_on",
    "retry_backoff",
    "concurrency",
    "queue_name",
    "protocol",
    "metrics_listen",
    "tenant_max_queued",
    "queue_capacity",
    "idempotency_window",
    "layout",
];

impl<'de> Deserialize<'de> for TasksConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TasksVisitor)
    }
}

/// Reads `[tasks]` key by key, straight from the text (so errors keep their line): its own
/// keys, and a table per task.
struct TasksVisitor;

impl<'de> Visitor<'de> for TasksVisitor {
    type Value = TasksConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the [tasks] table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TasksConfig, A::Error> {
        let mut c = TasksConfig::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "queue" => c.queue = Some(map.next_value()?),
                "records" => c.records = Some(map.next_value()?),
                "max_attempts" => c.max_attempts = Some(map.next_value()?),
                "retry_on" => c.retry_on = Some(map.next_value()?),
                "retry_backoff" => c.retry_backoff = Some(map.next_value()?),
                "concurrency" => c.concurrency = Some(map.next_value()?),
                "queue_name" => c.queue_name = Some(map.next_value()?),
                "protocol" => c.protocol = Some(map.next_value()?),
                "metrics_listen" => c.metrics_listen = Some(map.next_value()?),
                "tenant_max_queued" => c.tenant_max_queued = Some(map.next_value()?),
                "queue_capacity" => c.queue_capacity = Some(map.next_value()?),
                "idempotency_window" => c.idempotency_window = Some(map.next_value()?),
                "layout" => c.layout = Some(map.next_value()?),
                _ => {
                    let policy = map.next_value_seed(PolicySeed(&key))?;
                    c.per_task.insert(key, policy);
                }
            }
        }
        Ok(c)
    }
}

/// Reads `[tasks.NAME]`, or says that `NAME` is not a key of `[tasks]`.
struct PolicySeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for PolicySeed<'_> {
    type Value = TaskPolicyConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PolicySeed<'_> {
    type Value = TaskPolicyConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a key of [tasks] ({}); a task's own policy is a table, [tasks.{}] with retry_on and max_attempts",
            plugmill::config::values::shorten(self.0),
            KEYS.join(", "),
            plugmill::config::values::shorten(self.0),
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TaskPolicyConfig, A::Error> {
        TaskPolicyConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }
}

/// `[tasks.NAME]`: one task's policy, over `[tasks]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPolicyConfig {
    /// The plugin failures retried.
    pub retry_on: Option<Vec<RetryOn>>,
    /// Runs of a plugin before the task fails.
    pub max_attempts: Option<Attempts>,
}

/// A kind of plugin failure that may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOn {
    /// The call ran past its deadline.
    Deadline,
    /// The plugin trapped.
    Trap,
    /// The plugin returned `Err`.
    PluginError,
}

impl RetryOn {
    /// Whether a failure of `kind` (as [`plugmill::CallError::kind`] names it) is this one.
    pub fn covers(self, kind: &str) -> bool {
        matches!(
            (self, kind),
            (RetryOn::Deadline, "deadline")
                | (RetryOn::Trap, "trap")
                | (RetryOn::PluginError, "plugin-error")
        )
    }
}

/// A number of attempts, 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Attempts(pub u32);

impl TryFrom<i64> for Attempts {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u32::try_from(value) {
            Ok(n) if (1..=100).contains(&n) => Ok(Attempts(n)),
            _ => Err(format!("max_attempts: {value} is outside 1 to 100")),
        }
    }
}

/// Which failures of a task's plugins are retried, and how many runs a plugin gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The plugin failures retried (host failures always are).
    pub retry_on: Vec<RetryOn>,
    /// Runs of a plugin before the task fails.
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// Whether a plugin whose failure is of `kind`, and that ran `runs` times, runs again.
    /// Host failures do (up to `max_attempts`), plugin failures as `retry_on` says; a task
    /// that is not found, or bad input, never.
    pub fn retries(&self, kind: &str, runs: u32) -> bool {
        let retried = kind == "host" || self.retry_on.iter().any(|r| r.covers(kind));
        retried && runs < self.max_attempts
    }
}

/// The messages' format on RabbitMQ (`[tasks] protocol`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// plugmill's own: `{"id", "task"}`, the record holding the rest.
    #[default]
    Plugmill,
    /// The seed system's: Celery's message protocol v2, the task `execute_plugin_task` with
    /// the seed's record in it, on the queue `{ENV_SLUG}_short` unless `queue_name` says.
    Celery,
}

/// The seed's environment name (`ENV_SLUG`), which names its queue, if set.
pub fn env_slug() -> Option<String> {
    std::env::var("ENV_SLUG")
        .ok()
        .filter(|slug| !slug.is_empty())
}

/// The seed's queue for the environment `slug`: `{slug}_short`.
pub fn seed_queue_name(slug: &str) -> String {
    format!("{slug}_short")
}

/// Whose tables hold the records (`[tasks] layout`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// plugmill's own tables (`plugmill_task_records`, `plugmill_task_logs`), in SQLite or
    /// PostgreSQL: the default.
    #[default]
    Plugmill,
    /// The seed platform's `sequent_backend.tasks_execution`, in the PostgreSQL database
    /// `records` names (the platform's `hasura`), with what only plugmill keeps in
    /// `plugmill_seed_tasks` beside it.
    Seed,
}

/// Where tasks are queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// In the server's process, run by the server itself.
    Memory,
    /// RabbitMQ at this URL, run by `plugmill worker` processes; several nodes of one
    /// cluster are separated by commas, tried in order ([`crate::broker_nodes`]).
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
    /// Whose tables hold them (default plugmill's own).
    pub layout: Layout,
    /// Runs of a plugin before its task fails, when its failure is retried (1 to 100,
    /// default 5).
    pub max_attempts: u32,
    /// The plugin failures retried (default none, as the seed system).
    pub retry_on: Vec<RetryOn>,
    /// `[tasks.NAME]`: tasks with a policy of their own.
    pub per_task: BTreeMap<String, RetryPolicy>,
    /// How long an `Idempotency-Key` is remembered (default 24 h).
    pub idempotency_window: Duration,
    /// The wait before the second attempt, doubled before each next one (default 1 s).
    pub retry_backoff: Duration,
    /// Tasks run at once per worker (1 to 1024, default 4).
    pub concurrency: usize,
    /// The RabbitMQ queue (default `plugmill.tasks`; with the Celery protocol,
    /// `{ENV_SLUG}_short`).
    pub queue_name: String,
    /// The messages' format on RabbitMQ (default plugmill's own).
    pub protocol: Protocol,
    /// Where a worker serves `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// A tenant's tasks not yet final (`IN_PROGRESS`), counted from the records, so the
    /// limit holds across servers (1 to 1 000 000, default 1 000).
    pub tenant_max_queued: Option<u32>,
    /// Tasks waiting in the in-process queue (1 to 1 000 000, default 10 000).
    pub queue_capacity: usize,
}

/// The top-level sections of `plugmill.toml` the task service reads: `[tasks]` and
/// `[task_types]`. A front end running the service (the server, `plugmill worker`) registers
/// them with the host assembly (`plugmill_host::HostOptions::register_sections`).
pub const CONFIG_SECTIONS: ConfigSections =
    ConfigSections::new("the task service", &["tasks", "task_types"]);

/// The records file when `[tasks] records` names no database.
pub const DEFAULT_RECORDS_FILE: &str = "plugmill-tasks.db";

impl TaskSettings {
    /// Reads `[tasks]`; the queue is `PLUGMILL_QUEUE`, else `queue`, else the seed's
    /// `AMQP_ADDR`, else `memory`.
    pub fn from_config(config: &HostConfig) -> Result<Self, ConfigError> {
        Self::from_config_as(config, None)
    }

    /// Reads `[tasks]`, with `protocol` over its `protocol` (`plugmill worker --celery`).
    pub fn from_config_as(
        config: &HostConfig,
        protocol: Option<Protocol>,
    ) -> Result<Self, ConfigError> {
        let section: TasksConfig = config.section(&["tasks"])?.unwrap_or_default();
        let protocol = Setting::new()
            .command_line(protocol)
            .file(section.protocol)
            .value_or_default();
        let queue =
            crate::queue::choice::choose(config, section.queue, &|name| std::env::var(name).ok())?;
        if protocol == Protocol::Celery && queue == QueueKind::Memory {
            return Err(config.error(
                "[tasks] protocol = \"celery\" is the seed's RabbitMQ queue: set [tasks] queue = \"amqp://...\" (or PLUGMILL_QUEUE, or the seed's AMQP_ADDR)",
            ));
        }
        let records = match section.records {
            Some(name) => RecordsAt::Database(name),
            None => {
                RecordsAt::File(config.relative_path(std::path::Path::new(DEFAULT_RECORDS_FILE)))
            }
        };
        let layout = section.layout.unwrap_or_default();
        if layout == Layout::Seed && matches!(records, RecordsAt::File(_)) {
            return Err(config.error(
                "[tasks] layout = \"seed\" keeps the records in the platform's database: set [tasks] records to it (records = \"hasura\", a PostgreSQL database under [databases])",
            ));
        }
        let max_attempts = section.max_attempts.map_or(5, |a| a.0);
        let retry_on = section.retry_on.unwrap_or_default();
        let per_task = section
            .per_task
            .into_iter()
            .map(|(name, policy)| {
                let policy = RetryPolicy {
                    retry_on: policy.retry_on.unwrap_or_else(|| retry_on.clone()),
                    max_attempts: policy.max_attempts.map_or(max_attempts, |a| a.0),
                };
                (name, policy)
            })
            .collect();
        let concurrency = section.concurrency.unwrap_or(4);
        if !(1..=1024).contains(&concurrency) {
            return Err(config.error(format!(
                "[tasks] concurrency: {concurrency} is outside 1 to 1024"
            )));
        }
        let queue_name = match protocol {
            Protocol::Plugmill => Setting::new()
                .file(section.queue_name)
                .value_or("plugmill.tasks".into()),
            Protocol::Celery => Setting::new()
                .file(section.queue_name)
                .seed_environment("ENV_SLUG", env_slug().map(|slug| seed_queue_name(&slug)))
                .value()
                .ok_or_else(|| config.error(
                    "[tasks] protocol = \"celery\": the queue is the seed's `{ENV_SLUG}_short`, and ENV_SLUG is not set; set it, or [tasks] queue_name",
                ))?,
        };
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
            layout,
            tenant_max_queued: Some(tenant_max_queued),
            queue_capacity,
            max_attempts,
            retry_on,
            per_task,
            idempotency_window: section
                .idempotency_window
                .map_or(Duration::from_secs(24 * 3600), |d| d.0),
            retry_backoff: section
                .retry_backoff
                .map_or(Duration::from_secs(1), |d| d.0),
            concurrency,
            queue_name,
            protocol,
            metrics_listen,
        })
    }

    /// The retry policy of task `name`: its `[tasks.NAME]`, else `[tasks]`'s.
    pub fn policy(&self, name: &str) -> RetryPolicy {
        self.per_task
            .get(name)
            .cloned()
            .unwrap_or_else(|| RetryPolicy {
                retry_on: self.retry_on.clone(),
                max_attempts: self.max_attempts,
            })
    }

    /// The most runs any task's plugin gets (the retry queues cover them all).
    pub fn most_attempts(&self) -> u32 {
        self.per_task
            .values()
            .map(|p| p.max_attempts)
            .fold(self.max_attempts, u32::max)
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
