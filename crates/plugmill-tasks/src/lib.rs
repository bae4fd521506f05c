//! plugmill's background tasks: execution records, queues and workers.
//!
//! A process-as-task route called with `task_execution` (or `POST /tasks/{name}`) gets a
//! [`TaskRecord`] (`IN_PROGRESS`, "Task started") and is queued; it runs once on every plugin
//! that registered the task, and its record keeps each plugin's outcome and ends `SUCCESS`
//! (every plugin succeeded), `FAILED` (with the error and its kind; retried first only as
//! `retry_on` says) or `CANCELLED`, whatever happens to the process running it. A failed
//! task can be queued again ([`Tasks::retry`]): only its plugins that did not succeed run.
//! An `Idempotency-Key` ([`NewTask::idempotency_key`]) makes a repeated submission return the
//! first record.
//!
//! - [`config`]: `[tasks]` of `plugmill.toml`;
//! - [`task_types`]: the task types `task_execution` may name (the seed's, and `[task_types]`);
//! - [`store`]: the records, in SQLite (the embedded default) or PostgreSQL, with migrations
//!   plugmill runs itself, in plugmill's own tables or (`layout = "seed"`) the seed
//!   platform's `sequent_backend.tasks_execution`;
//! - [`scope`]: whose records a caller sees (a tenant's, or all), put in every statement's
//!   `WHERE`, and the pages of a listing;
//! - the in-process queue (`queue = "memory"`): the server runs tasks itself;
//! - RabbitMQ (`queue = "amqp://..."`, or the seed's `AMQP_ADDR`; several nodes separated by
//!   commas are tried in order): publisher confirms on the way in, and `plugmill worker`
//!   processes that acknowledge a message only once its record is final, retry with
//!   backoff, dead-letter what failed for good, and reconnect ([`Tasks::work`]); with
//!   `[tasks] protocol = "celery"`, the seed's Celery messages both ways (`seed`);
//! - metrics: queued, running, succeeded, failed, retried, dead-lettered, duration.

pub mod config;
pub mod metrics;
mod queue;
pub mod record;
mod runner;
pub mod scope;
mod seed;
pub mod store;
pub mod task_types;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use plugmill::capabilities::database::{DatabaseSpec, Databases, Pool};
use plugmill::config::ConfigError;
use plugmill_host::Host;

pub use config::{
    Layout, Protocol, QueueKind, RecordsAt, RetryOn, RetryPolicy, TaskSettings, CONFIG_SECTIONS,
};
pub use queue::choice::{nodes as broker_nodes, QUEUE_VARIABLE, SEED_BROKER_VARIABLE};
pub use record::{LogLine, NewTask, Outcome, Status, TaskRecord};
pub use scope::{Cursor, ListFilter, Scope};
pub use store::{Created, Ending, Page, RecordStore, StoreError};
pub use task_types::{TaskTypes, UnknownTaskType};

use queue::amqp::Publisher;
use queue::memory::MemoryQueue;
use runner::Runner;

/// Why a task could not be queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The records cannot be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue did not take the task (the broker is down, say); its record says why.
    #[error("the task could not be queued: {0}")]
    Queue(String),
    /// The caller's tenant has `[tasks] tenant_max_queued` tasks not yet final: nothing was
    /// recorded or queued.
    #[error("the tenant has {0} tasks queued or running, its limit: retry once some have ended")]
    TenantAtLimit(u32),
    /// The in-process queue holds `[tasks] queue_capacity` tasks waiting: nothing was recorded
    /// or queued.
    #[error("the in-process task queue is full ({0} tasks waiting): retry shortly")]
    QueueFull(usize),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The task's type is not one of the known task types: nothing was recorded or queued.
    #[error("task_execution: {0}")]
    UnknownTaskType(#[from] UnknownTaskType),
    /// The records' layout cannot keep this task (the seed's needs a tenant that is a UUID,
    /// say): why; nothing was recorded or queued.
    #[error("{0}")]
    Refused(String),
}

/// What cancelling a task did.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// It had not started: it is `CANCELLED` now.
    Yes(Box<TaskRecord>),
    /// It started (or ended) already: nothing changed.
    TooLate(Box<TaskRecord>),
    /// No record has this id.
    Missing,
}

/// What asking for a task's retry did.
#[derive(Debug, PartialEq, Eq)]
pub enum Retried {
    /// It was `FAILED`: it is queued again, `IN_PROGRESS`.
    Yes(Box<TaskRecord>),
    /// It is not `FAILED` (running, succeeded, cancelled): nothing changed.
    NotFailed(Box<TaskRecord>),
    /// No record has this id (or the caller does not see it).
    Missing,
}

impl PartialEq for TaskRecord {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for TaskRecord {}

/// Where a host's tasks go. One per host, so the publisher is boxed only to keep the
/// variants alike in size.
enum Queue {
    Memory(MemoryQueue),
    Amqp(Box<Publisher>),
}

/// The task service of a host: records, and the queue tasks go to.
pub struct Tasks {
    runner: Runner,
    queue: Queue,
    task_types: TaskTypes,
}

/// The time the in-process queue gives running tasks to finish at shutdown.
const MEMORY_GRACE: Duration = Duration::from_secs(30);

impl Tasks {
    /// Opens the records (migrating them) and the queue `[tasks]` names. With the in-process
    /// queue, tasks run here, and records left `IN_PROGRESS` by an earlier run are queued
    /// again.
    pub async fn open(host: &Host) -> Result<Self, TaskError> {
        metrics::describe();
        let task_types = TaskTypes::from_config(host.config())?;
        let runner = runner(host, "server", None).await?;
        let queue = match &runner.settings.queue {
            QueueKind::Memory => Queue::Memory(MemoryQueue::start(runner.clone()).await?),
            QueueKind::Amqp(url) => {
                Queue::Amqp(Box::new(Publisher::new(worker::broker_of(url, &runner))))
            }
        };
        Ok(Self {
            runner,
            queue,
            task_types,
        })
    }

    /// Opens the records and RabbitMQ for queuing only (nothing runs here): for commands
    /// that queue tasks beside a running deployment. With the in-process queue only the
    /// server can queue, so this is refused.
    pub async fn open_publisher(host: &Host) -> Result<Self, TaskError> {
        let task_types = TaskTypes::from_config(host.config())?;
        let runner = runner(host, "command line", None).await?;
        let QueueKind::Amqp(url) = &runner.settings.queue else {
            return Err(TaskError::Config(host.config().error(
                "[tasks] queue is `memory`: only the running server queues tasks; ask it (POST /tasks/ID/retry)",
            )));
        };
        let queue = Queue::Amqp(Box::new(Publisher::new(worker::broker_of(url, &runner))));
        Ok(Self {
            runner,
            queue,
            task_types,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &TaskSettings {
        &self.runner.settings
    }

    /// The records.
    pub fn records(&self) -> &RecordStore {
        &self.runner.store
    }

    /// The task types `task_execution` may name.
    pub fn task_types(&self) -> &TaskTypes {
        &self.task_types
    }

    /// The record as the seed's plugins and callers see it (`data.task_execution`, the
    /// answer of `POST /plugin`): in the shape of the records' layout.
    pub fn task_execution_json(&self, record: &TaskRecord) -> serde_json::Value {
        record.json_for(self.runner.settings.layout)
    }

    /// Records and queues a task; returns once the queue has it (with RabbitMQ, once the
    /// broker confirmed it). A task the queue refused is `FAILED` with the reason.
    pub async fn submit(&self, task: NewTask) -> Result<TaskRecord, TaskError> {
        self.submit_with(task, |_, data| data).await
    }

    /// Like [`Self::submit`], the task's data made from its new record first (the seed's
    /// plugins find their record in `data.task_execution`). A task type that is not known is
    /// refused ([`TaskError::UnknownTaskType`]); its human name is recorded with it, and so is
    /// the data's `election_event_id`. A task of a tenant with `[tasks] tenant_max_queued`
    /// tasks not yet final is refused ([`TaskError::TenantAtLimit`]), and so is any task while
    /// the in-process queue is full ([`TaskError::QueueFull`]) or one the records' layout
    /// cannot keep ([`TaskError::Refused`]); in each case nothing is recorded.
    pub async fn submit_with(
        &self,
        task: NewTask,
        data: impl FnOnce(&TaskRecord, serde_json::Value) -> serde_json::Value,
    ) -> Result<TaskRecord, TaskError> {
        let mut task = task;
        if let Some(kind) = &task.task_type {
            task.type_name = Some(self.task_types.name_of(kind)?.to_string());
        }
        if task.election_event_id.is_none() {
            task.election_event_id = task
                .data
                .get("election_event_id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
        }
        let place = match &self.queue {
            Queue::Memory(queue) => Some(queue.reserve()?),
            Queue::Amqp(_) => None,
        };
        let initial = std::mem::take(&mut task.data);
        let limit = self.runner.settings.tenant_max_queued;
        let mut made = serde_json::Value::Null;
        let created = self
            .runner
            .store
            .create_with(&task, limit, |record| {
                made = data(record, initial);
                made.clone()
            })
            .await?;
        let record = match created {
            Created::Yes(record) => *record,
            Created::Existing(record) => return Ok(*record),
            Created::TenantAtLimit => return Err(TaskError::TenantAtLimit(limit.unwrap_or(0))),
            Created::Refused(why) => return Err(TaskError::Refused(why)),
        };
        self.enqueue(&record, &made, place).await?;
        Ok(record)
    }

    /// Hands `record` (its task's data `data`) to the queue; a record the queue refused is
    /// `FAILED` with the reason.
    async fn enqueue(
        &self,
        record: &TaskRecord,
        data: &serde_json::Value,
        place: Option<queue::memory::Place>,
    ) -> Result<(), TaskError> {
        let queued = match &self.queue {
            Queue::Memory(queue) => queue.publish(record.id.clone(), place),
            Queue::Amqp(publisher) => publisher.publish(record, data).await,
        };
        if let Err(error) = queued {
            let _ = self
                .runner
                .store
                .fail(&record.id, &format!("could not be queued: {error}"), "host")
                .await;
            return Err(TaskError::Queue(error));
        }
        metrics::queued();
        Ok(())
    }

    /// Queues the `FAILED` task `id` again if `scope` sees it (a dead-lettered one too): its
    /// new attempts are appended to its record, and the plugins that succeeded do not run
    /// again. `by` names who asked, in the record's log.
    pub async fn retry(&self, id: &str, scope: &Scope, by: &str) -> Result<Retried, TaskError> {
        let place = match &self.queue {
            Queue::Memory(queue) => Some(queue.reserve()?),
            Queue::Amqp(_) => None,
        };
        let reopened = self.runner.store.reopen(id, scope, by).await?;
        let Some(record) = self.runner.store.get(id, scope).await? else {
            return Ok(Retried::Missing);
        };
        if !reopened {
            return Ok(Retried::NotFailed(Box::new(record)));
        }
        // A Celery message carries the data; plugmill's own names the record only.
        let data = match self.runner.settings.protocol {
            Protocol::Celery => self
                .runner
                .store
                .get_with_data(id, scope, false)
                .await?
                .map(|(_, data)| data)
                .unwrap_or_default(),
            Protocol::Plugmill => serde_json::Value::Null,
        };
        self.enqueue(&record, &data, place).await?;
        Ok(Retried::Yes(Box::new(record)))
    }

    /// The record `id`, if `scope` sees it.
    pub async fn get(&self, id: &str, scope: &Scope) -> Result<Option<TaskRecord>, StoreError> {
        self.runner.store.get(id, scope).await
    }

    /// The records `scope` sees, newest first, one page of them.
    pub async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Page, StoreError> {
        self.runner.store.list(scope, filter).await
    }

    /// Cancels `id` if `scope` sees it and it has not started; a record outside `scope` is
    /// [`Cancelled::Missing`], like one that does not exist.
    pub async fn cancel(&self, id: &str, scope: &Scope) -> Result<Cancelled, StoreError> {
        let cancelled = self.runner.store.cancel(id, scope).await?;
        Ok(match self.runner.store.get(id, scope).await? {
            None => Cancelled::Missing,
            Some(record) if cancelled => Cancelled::Yes(Box::new(record)),
            Some(record) => Cancelled::TooLate(Box::new(record)),
        })
    }

    /// Stops the queue: the in-process queue lets running tasks finish and records queued
    /// ones as not run; a publisher closes its connection.
    pub async fn shutdown(&self) {
        match &self.queue {
            Queue::Memory(queue) => queue.shutdown(MEMORY_GRACE).await,
            Queue::Amqp(publisher) => publisher.close().await,
        }
    }

    /// Runs a worker: consumes the RabbitMQ queue of `[tasks]` until `shutdown` resolves.
    pub async fn work(
        host: &Host,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        Self::work_as(host, None, shutdown).await
    }

    /// Like [`Self::work`], reading messages in `protocol` rather than `[tasks] protocol`'s
    /// (`plugmill worker --celery`).
    pub async fn work_as(
        host: &Host,
        protocol: Option<Protocol>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let name = format!(
            "worker {} (pid {})",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
            std::process::id()
        );
        metrics::describe();
        let runner = runner(host, &name, protocol).await?;
        let QueueKind::Amqp(url) = runner.settings.queue.clone() else {
            anyhow::bail!(
                "[tasks] queue is `memory`: the server runs tasks itself; a worker needs queue = \"amqp://...\" (or PLUGMILL_QUEUE, or the seed's AMQP_ADDR)"
            );
        };
        let broker = worker::broker_of(&url, &runner);
        worker::run(runner, broker, shutdown).await
    }
}

/// Opens the record store `[tasks]` names.
pub async fn open_records(host: &Host, settings: &TaskSettings) -> Result<RecordStore, TaskError> {
    let pool = match &settings.records {
        RecordsAt::Database(name) => {
            let databases = host.manager().capability::<Databases>();
            let databases = databases.unwrap_or_default();
            databases.pool(name).await.ok_or_else(|| {
                host.config().error(format!(
                    "[tasks] records: `{name}` is not a database under [databases]"
                ))
            })?
        }
        RecordsAt::File(path) => file_pool(path)?,
    };
    let store = RecordStore::open_with(pool, settings.layout)
        .await
        .map_err(|error| match error {
            StoreError::Layout(why) => TaskError::Config(host.config().error(why)),
            other => TaskError::Store(other),
        })?;
    Ok(store.with_idempotency_window(settings.idempotency_window))
}

fn file_pool(path: &std::path::Path) -> Result<Pool, ConfigError> {
    let url = format!("sqlite://{}", path.display());
    let spec = DatabaseSpec::from_url(&url)
        .map_err(|e| ConfigError::new("[tasks] records", e.to_string()))?;
    Ok(spec.connect_lazy())
}

async fn runner(
    host: &Host,
    worker: &str,
    protocol: Option<Protocol>,
) -> Result<Runner, TaskError> {
    let settings = Arc::new(TaskSettings::from_config_as(host.config(), protocol)?);
    let store = open_records(host, &settings).await?;
    Ok(Runner {
        manager: host.manager().clone(),
        store,
        settings,
        worker: Arc::from(worker),
    })
}
