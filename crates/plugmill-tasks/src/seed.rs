//! The seed's task record (`TasksExecution`) and plugmill's, each way, for the Celery queue
//! (`[tasks] protocol = "celery"`):
//!
//! - a message the seed's API published names its record by id and tenant: the worker runs
//!   it on plugmill's record with that id, written from the message when it does not exist
//!   yet ([`record_for`]), so the record reaches a final state under plugmill's guarantees;
//! - a task plugmill queues is published with its record in the seed's layout
//!   ([`plugin_task`]), so the seed's own workers can run it.
//!
//! The seed keeps its records in `sequent_backend.tasks_execution`; when plugmill's records
//! are kept in that layout, [`record_for`] finds the row the seed's API wrote.

use serde_json::{json, Map, Value};

use crate::queue::celery::{object, PluginTask, TasksExecution};
use crate::record::TaskRecord;
use crate::runner::Verdict;
use crate::scope::Scope;
use crate::store::{Created, RecordStore};
use crate::NewTask;

/// The id of plugmill's record of the seed's task `task`, written from the message if there
/// is none yet. A record of another tenant with that id is refused.
pub(crate) async fn record_for(store: &RecordStore, task: &PluginTask) -> Result<String, Verdict> {
    let seed = &task.task_execution;
    let id = seed.id.as_str();
    for first in [true, false] {
        let existing = store
            .get(id, &Scope::All)
            .await
            .map_err(|e| Verdict::Unavailable(e.to_string()))?;
        if let Some(record) = existing {
            if record.tenant_id != seed.tenant_id {
                return Err(Verdict::Malformed(format!(
                    "the task record `{id}` belongs to another tenant than the message's"
                )));
            }
            return Ok(record.id);
        }
        if !first {
            break;
        }
        let data = seed_data(task)?;
        let new = NewTask {
            task: task.task.clone(),
            task_type: seed.task_type.clone(),
            data,
            executed_by: seed.executed_by_user.clone(),
            tenant_id: seed.tenant_id.clone(),
            document_id: task.document_id.clone(),
            ..NewTask::default()
        };
        // Written, or written by another worker meanwhile (the id conflicts): read it again.
        match store.create_as(id, &new).await {
            Ok(Created::Yes(record)) => return Ok(record.id),
            Ok(_) => {}
            Err(error) => return Err(Verdict::Unavailable(error.to_string())),
        }
    }
    Err(Verdict::Unavailable(format!(
        "the task record `{id}` was neither found nor written"
    )))
}

/// The data the seed's worker gives the plugins: the message's data with the seed's record
/// (a JSON string) in `task_execution` and the document in `document_id`.
fn seed_data(task: &PluginTask) -> Result<Value, Verdict> {
    let Value::Object(mut map) = task.data.clone() else {
        return Err(Verdict::Malformed(
            "the message's `data` is not a JSON object".into(),
        ));
    };
    let record = serde_json::to_string(&task.task_execution).unwrap_or_default();
    map.insert("task_execution".into(), Value::String(record));
    if let Some(document) = &task.document_id {
        map.insert("document_id".into(), Value::String(document.clone()));
    }
    Ok(Value::Object(map))
}

/// The message's parameters for a task plugmill queued: its record in the seed's layout, its
/// data without what plugmill added for the plugins (`task_execution`, `document_id`), which
/// the seed's worker adds again.
pub(crate) fn plugin_task(record: &TaskRecord, data: &Value) -> PluginTask {
    let mut data = match data {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    data.remove("task_execution");
    data.remove("document_id");
    let election_event_id = data
        .get("election_event_id")
        .cloned()
        .unwrap_or(Value::Null);
    let logs: Vec<Value> = record
        .logs
        .iter()
        .map(|l| json!({"created_date": l.created_date, "log_text": l.log_text}))
        .collect();
    let task_type = record
        .task_type
        .clone()
        .unwrap_or_else(|| record.task.clone());
    let rest = json!({
        "election_event_id": election_event_id,
        "name": record.name.clone().unwrap_or_else(|| task_type.clone()),
        "execution_status": record.status.as_str(),
        "created_at": record.created_at,
        "start_at": record.started_at.as_ref().unwrap_or(&record.created_at),
        "end_at": record.ended_at,
        "annotations": record.document_id.as_ref().map(|d| json!({"document_id": d})),
        "labels": null,
        "logs": logs,
    });
    PluginTask {
        task: record.task.clone(),
        data: Value::Object(data),
        task_execution: TasksExecution {
            id: record.id.clone(),
            tenant_id: record.tenant_id.clone(),
            task_type: Some(task_type),
            executed_by_user: Some(record.executed_by.clone().unwrap_or_default()),
            rest: object(rest),
        },
        document_id: record.document_id.clone(),
    }
}
