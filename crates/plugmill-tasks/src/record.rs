//! [`TaskRecord`]: one task execution, as stored and as JSON (`GET /tasks/{id}`,
//! `plugmill task show`, and `data.task_execution` for the seed's plugins: plugmill's shape,
//! or with `[tasks] layout = "seed"` the seed's, [`TaskRecord::seed_json`]).

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::Layout;

/// Where a task execution is. `IN_PROGRESS` until it ends in one of the other three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Queued or running.
    InProgress,
    /// Every plugin that runs the task answered `ok`.
    Success,
    /// It failed on its last attempt.
    Failed,
    /// It was cancelled before it ran.
    Cancelled,
}

impl Status {
    /// As stored and shown: `IN_PROGRESS`, `SUCCESS`, `FAILED`, `CANCELLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "IN_PROGRESS",
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// Whether nothing will change it any more.
    pub fn is_final(self) -> bool {
        self != Status::InProgress
    }

    /// A status as a caller names it (`?status=` of `GET /tasks`): one of the four, exactly.
    pub fn from_name(text: &str) -> Result<Self, String> {
        match text {
            "IN_PROGRESS" => Ok(Status::InProgress),
            "SUCCESS" => Ok(Status::Success),
            "FAILED" => Ok(Status::Failed),
            "CANCELLED" => Ok(Status::Cancelled),
            _ => Err(format!(
                "`{}` is not a status: IN_PROGRESS, SUCCESS, FAILED or CANCELLED",
                plugmill::config::values::shorten(text)
            )),
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "SUCCESS" => Status::Success,
            "FAILED" => Status::Failed,
            "CANCELLED" => Status::Cancelled,
            _ => Status::InProgress,
        }
    }
}

/// One line of a record's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// When, RFC 3339 in UTC.
    pub created_date: String,
    /// What happened.
    pub log_text: String,
}

/// One task execution.
#[derive(Clone, Debug, Serialize)]
pub struct TaskRecord {
    /// Its id (a UUID).
    pub id: String,
    /// The task run (the name plugins registered it under).
    pub task: String,
    /// The task type the caller gave (`task_execution` of `POST /plugin`), if any.
    pub task_type: Option<String>,
    /// Where it is.
    pub status: Status,
    /// Attempts made so far.
    pub attempts: u32,
    /// Who asked for it (from the caller's token).
    pub executed_by: Option<String>,
    /// The caller's tenant (from the caller's token).
    pub tenant_id: Option<String>,
    /// The document made for it (`generate_document`), if any.
    pub document_id: Option<String>,
    /// When it was created, RFC 3339 in UTC.
    pub created_at: String,
    /// When its first attempt started.
    pub started_at: Option<String>,
    /// When it reached its final status.
    pub ended_at: Option<String>,
    /// A log line per event: created, each attempt, its end.
    pub logs: Vec<LogLine>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The kind of that failure (`plugin-error`, `trap`, `deadline`, `fuel`,
    /// `resource-limit`, `host`, `not-found`, `bad-input`).
    pub error_kind: Option<String>,
    /// What the plugins answered, when it succeeded.
    pub result: Option<Value>,
    /// Each plugin's outcome so far, by plugin name.
    pub outcomes: Vec<Outcome>,
    /// The task type's human name (`Create Transmission Package`): kept with the seed's
    /// layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The election event the task is about (`data.election_event_id`): kept with the seed's
    /// layout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub election_event_id: Option<String>,
    /// The seed record's annotations (`{"document_id": ...}` once it ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    /// The seed record's labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
}

impl TaskRecord {
    /// The record as the seed system's `TasksExecution` JSON: `{"id", "tenant_id",
    /// "election_event_id", "name", "task_type", "execution_status", "created_at",
    /// "start_at", "end_at", "annotations", "labels", "logs", "executed_by_user"}`. The seed
    /// sets `start_at` when it writes the record, as plugmill does (`created_at`); when the
    /// first attempt started is in `started_at` of plugmill's shape.
    pub fn seed_json(&self) -> Value {
        json!({
            "id": self.id,
            "tenant_id": self.tenant_id,
            "election_event_id": self.election_event_id,
            "name": self.name.as_deref().unwrap_or(&self.task),
            "task_type": self.task_type.as_deref().unwrap_or(&self.task),
            "execution_status": self.status.as_str(),
            "created_at": self.created_at,
            "start_at": self.created_at,
            "end_at": self.ended_at,
            "annotations": self.annotations,
            "labels": self.labels,
            "logs": self.logs,
            "executed_by_user": self.executed_by.as_deref().unwrap_or_default(),
        })
    }

    /// The record as `layout` shows it to the seed's plugins and callers
    /// (`data.task_execution`, the answer of `POST /plugin`): plugmill's shape, or the seed's.
    pub fn json_for(&self, layout: Layout) -> Value {
        match layout {
            Layout::Plugmill => json!(self),
            Layout::Seed => self.seed_json(),
        }
    }
}

/// One plugin's outcome of a task: the last time it ran to an answer or an error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The plugin.
    pub plugin: String,
    /// `ok` or `failed`.
    pub status: String,
    /// Its answer, when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Value>,
    /// Its error, when `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of its error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// How many times it ran to an outcome.
    pub attempts: u32,
}

impl Outcome {
    /// Whether the plugin succeeded (it does not run again).
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

/// A task to record and queue.
#[derive(Clone, Debug, Default)]
pub struct NewTask {
    /// The task to run.
    pub task: String,
    /// The task type the caller gave.
    pub task_type: Option<String>,
    /// The task type's human name (set from [`TaskTypes`](crate::TaskTypes) when the task is
    /// submitted).
    pub type_name: Option<String>,
    /// The election event it is about (`data.election_event_id`, taken from the data when
    /// the task is submitted).
    pub election_event_id: Option<String>,
    /// The data each plugin's handler is called with.
    pub data: Value,
    /// Who asks for it.
    pub executed_by: Option<String>,
    /// Their tenant.
    pub tenant_id: Option<String>,
    /// A document id made for it.
    pub document_id: Option<String>,
    /// The caller's `Idempotency-Key`: a second task with the key (same tenant, within
    /// `[tasks] idempotency_window`) is not recorded or queued; the first one's record is
    /// returned instead.
    pub idempotency_key: Option<String>,
}

/// The time now, as records store it.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
