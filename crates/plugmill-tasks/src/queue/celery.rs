//! Celery's message protocol v2 with a JSON body, for the one task the seed system queues:
//! `execute_plugin_task(task, data, task_execution, document_id)`.
//!
//! A message is AMQP properties (`correlation_id`, `content_type = application/json`,
//! `content_encoding = utf-8`), headers (`task`, `id`, `lang`, `root_id`, `retries`,
//! `timelimit`...) and the body `[args, kwargs, embed]`. Python Celery sends keyword
//! arguments by name; the seed's Rust `celery` crate does too, and reads positional ones in
//! the parameters' order, as [`decode`] does. This module knows only the wire format: the
//! transport gives it the headers as JSON ([`amqp`](super::amqp) converts them).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The task name the seed publishes and plugmill consumes.
pub(crate) const TASK_NAME: &str = "execute_plugin_task";

/// The task's parameters, in the order positional arguments take them.
const PARAMETERS: [&str; 4] = ["task", "data", "task_execution", "document_id"];

/// The content type of every message this module reads or writes.
pub(crate) const CONTENT_TYPE: &str = "application/json";

/// The content encoding of every message this module reads or writes.
pub(crate) const CONTENT_ENCODING: &str = "utf-8";

/// Why a message is not an `execute_plugin_task` this worker can run.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CeleryError {
    /// No `task` header: not a Celery protocol v2 message.
    #[error("the message has no `task` header: not a Celery message (protocol v2)")]
    NotCelery,
    /// Another task than `execute_plugin_task`.
    #[error("the Celery task `{0}` is unknown here: plugmill runs `{TASK_NAME}`")]
    UnknownTask(String),
    /// A body that is not JSON in UTF-8.
    #[error("the message's content is `{0}`: plugmill reads application/json in utf-8")]
    ContentType(String),
    /// A body that is not `[args, kwargs, embed]`, or parameters of the wrong shape.
    #[error("the Celery message's body: {0}")]
    Body(String),
}

/// The seed's task record as the message carries it (`TasksExecution`): the fields plugmill
/// reads, and every other one kept as it came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TasksExecution {
    /// The record's id.
    pub(crate) id: String,
    /// Its tenant.
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    /// The task type (`CREATE_TRANSMISSION_PACKAGE`).
    #[serde(default)]
    pub(crate) task_type: Option<String>,
    /// Who asked for it.
    #[serde(default)]
    pub(crate) executed_by_user: Option<String>,
    /// `election_event_id`, `name`, `execution_status`, `created_at`, `start_at`, `end_at`,
    /// `annotations`, `labels`, `logs`.
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// `execute_plugin_task`'s parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginTask {
    /// The plugmill task to run (the name plugins registered it under).
    pub(crate) task: String,
    /// Its data.
    pub(crate) data: Value,
    /// The seed's record of it.
    pub(crate) task_execution: TasksExecution,
    /// The document made for it, if any.
    #[serde(default)]
    pub(crate) document_id: Option<String>,
}

/// A message read: its Celery task id and the parameters.
#[derive(Debug, PartialEq)]
pub(crate) struct Received {
    /// The `id` header (Celery's task id, not the record's).
    pub(crate) message_id: Option<String>,
    /// The parameters.
    pub(crate) task: PluginTask,
}

/// A message to publish: the body, the headers and the properties to send with it.
#[derive(Debug, PartialEq)]
pub(crate) struct Outgoing {
    /// `[[], kwargs, embed]`, JSON.
    pub(crate) body: Vec<u8>,
    /// The Celery headers.
    pub(crate) headers: Map<String, Value>,
    /// The message's `correlation_id` (its Celery id).
    pub(crate) correlation_id: String,
}

/// Reads a message from its headers (as JSON), content type and encoding, and body.
pub(crate) fn decode(
    headers: &Map<String, Value>,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
) -> Result<Received, CeleryError> {
    let name = headers
        .get("task")
        .and_then(Value::as_str)
        .ok_or(CeleryError::NotCelery)?;
    if name != TASK_NAME {
        return Err(CeleryError::UnknownTask(shorten(name)));
    }
    let encoding_ok = content_encoding.is_none_or(|e| e.eq_ignore_ascii_case(CONTENT_ENCODING));
    if content_type != Some(CONTENT_TYPE) || !encoding_ok {
        return Err(CeleryError::ContentType(format!(
            "{} in {}",
            content_type.unwrap_or("no type"),
            content_encoding.unwrap_or("no encoding")
        )));
    }
    let (args, mut kwargs, _embed): (Vec<Value>, Map<String, Value>, Value) =
        serde_json::from_slice(body).map_err(|e| {
            CeleryError::Body(format!("not the JSON array [args, kwargs, embed]: {e}"))
        })?;
    if args.len() > PARAMETERS.len() {
        return Err(CeleryError::Body(format!(
            "{} positional arguments; `{TASK_NAME}` takes {}",
            args.len(),
            PARAMETERS.len()
        )));
    }
    for (name, arg) in PARAMETERS.iter().zip(args) {
        kwargs.insert((*name).to_string(), arg);
    }
    let task: PluginTask = serde_json::from_value(Value::Object(kwargs))
        .map_err(|e| CeleryError::Body(format!("the parameters of `{TASK_NAME}`: {e}")))?;
    let id = &task.task_execution.id;
    if id.is_empty() || id.len() > 128 {
        return Err(CeleryError::Body(
            "`task_execution.id` must be 1 to 128 characters".into(),
        ));
    }
    if task.task.is_empty() {
        return Err(CeleryError::Body("`task` is empty".into()));
    }
    Ok(Received {
        message_id: headers
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string),
        task,
    })
}

/// Writes the message of `task` with the Celery task id `message_id`, as Python Celery
/// writes it (keyword arguments, the protocol v2 headers), from `origin`.
pub(crate) fn encode(task: &PluginTask, message_id: &str, origin: &str) -> Outgoing {
    let kwargs = serde_json::to_value(task).unwrap_or(Value::Null);
    let embed = json!({"callbacks": null, "errbacks": null, "chain": null, "chord": null});
    let body = json!([[], kwargs, embed]).to_string().into_bytes();
    let kwargsrepr = format!(
        "{{'task': '{}', 'task_execution': {{'id': '{}', ...}}, ...}}",
        shorten(&task.task),
        shorten(&task.task_execution.id)
    );
    let headers = json!({
        "lang": "rust",
        "task": TASK_NAME,
        "id": message_id,
        "shadow": null,
        "eta": null,
        "expires": null,
        "group": null,
        "group_index": null,
        "retries": 0,
        "timelimit": [null, null],
        "root_id": message_id,
        "parent_id": null,
        "argsrepr": "()",
        "kwargsrepr": kwargsrepr,
        "origin": origin,
        "ignore_result": false,
        "replaced_task_nesting": 0,
        "stamped_headers": null,
        "stamps": {},
    });
    Outgoing {
        body,
        headers: object(headers),
        correlation_id: message_id.to_string(),
    }
}

/// The members of a JSON object (none for another value).
pub(crate) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// At most 200 characters of `text`, for messages.
fn shorten(text: &str) -> String {
    plugmill::config::values::shorten(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body Python Celery 5.7 writes for `send_task("execute_plugin_task", kwargs=...)`
    /// (`app.amqp.as_task_v2` and kombu's JSON serializer), byte for byte.
    const PYTHON_KWARGS: &str = r#"[[], {"task": "process", "data": {"election_event_id": "e-1"}, "task_execution": {"id": "5b2c1f0e-0000-4000-8000-000000000001", "tenant_id": "90505c8a-23a9-4cdf-a26b-4e19f6a097d5", "election_event_id": null, "name": "Create Transmission Package", "task_type": "CREATE_TRANSMISSION_PACKAGE", "execution_status": "IN_PROGRESS", "created_at": "2026-12-07T10:00:00Z", "start_at": "2026-12-07T10:00:00Z", "end_at": null, "annotations": null, "labels": null, "logs": [{"created_date": "2026-12-07T10:00:00Z", "log_text": "Task started"}], "executed_by_user": "admin"}, "document_id": "doc-1"}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#;

    /// The same task with positional arguments (`args=(...)`), no document.
    const PYTHON_ARGS: &str = r#"[["process", {"a": 1}, {"id": "5b2c1f0e-0000-4000-8000-000000000001", "tenant_id": "90505c8a-23a9-4cdf-a26b-4e19f6a097d5", "election_event_id": null, "name": "Create Transmission Package", "task_type": "CREATE_TRANSMISSION_PACKAGE", "execution_status": "IN_PROGRESS", "created_at": "2026-12-07T10:00:00Z", "start_at": "2026-12-07T10:00:00Z", "end_at": null, "annotations": null, "labels": null, "logs": [{"created_date": "2026-12-07T10:00:00Z", "log_text": "Task started"}], "executed_by_user": "admin"}, null], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#;

    fn headers(task: &str) -> Map<String, Value> {
        object(
            json!({"lang": "py", "task": task, "id": "0f3e6a54-1111-4222-8333-444455556666", "retries": 0, "timelimit": [null, null]}),
        )
    }

    fn read(task: &str, body: &str) -> Result<Received, CeleryError> {
        decode(
            &headers(task),
            Some("application/json"),
            Some("utf-8"),
            body.as_bytes(),
        )
    }

    #[test]
    fn python_celery_s_keyword_message_is_read() {
        let received = read(TASK_NAME, PYTHON_KWARGS).unwrap();
        assert_eq!(
            received.message_id.as_deref(),
            Some("0f3e6a54-1111-4222-8333-444455556666")
        );
        let task = received.task;
        assert_eq!(task.task, "process");
        assert_eq!(task.data, json!({"election_event_id": "e-1"}));
        assert_eq!(task.document_id.as_deref(), Some("doc-1"));
        let record = &task.task_execution;
        assert_eq!(record.id, "5b2c1f0e-0000-4000-8000-000000000001");
        assert_eq!(
            record.tenant_id.as_deref(),
            Some("90505c8a-23a9-4cdf-a26b-4e19f6a097d5")
        );
        assert_eq!(
            record.task_type.as_deref(),
            Some("CREATE_TRANSMISSION_PACKAGE")
        );
        assert_eq!(record.executed_by_user.as_deref(), Some("admin"));
        assert_eq!(record.rest["name"], "Create Transmission Package");
        assert_eq!(record.rest["logs"][0]["log_text"], "Task started");
    }

    /// The body the seed's Rust `celery` crate writes (`serde_json::to_vec` of
    /// `MessageBody(vec![], params, MessageBodyEmbed::default())`): compact, every parameter
    /// by name, `document_id` null when there is none.
    const RUST_CELERY: &str = r#"[[],{"task":"process","data":{},"task_execution":{"id":"r-1","tenant_id":"t-1","election_event_id":null,"name":"Export Voters","task_type":"EXPORT_VOTERS","execution_status":"IN_PROGRESS","created_at":"2026-12-07T10:00:00.123456+00:00","start_at":"2026-12-07T10:00:00.123456+00:00","end_at":null,"annotations":null,"labels":null,"logs":null,"executed_by_user":"admin"},"document_id":null},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]"#;

    #[test]
    fn the_rust_celery_crate_s_message_is_read() {
        let task = read(TASK_NAME, RUST_CELERY).unwrap().task;
        assert_eq!(task.task, "process");
        assert_eq!(task.document_id, None);
        assert_eq!(task.task_execution.id, "r-1");
        assert_eq!(task.task_execution.tenant_id.as_deref(), Some("t-1"));
        assert_eq!(
            task.task_execution.task_type.as_deref(),
            Some("EXPORT_VOTERS")
        );
    }

    #[test]
    fn positional_arguments_take_the_parameters_in_order() {
        let task = read(TASK_NAME, PYTHON_ARGS).unwrap().task;
        assert_eq!(task.task, "process");
        assert_eq!(task.data, json!({"a": 1}));
        assert_eq!(task.document_id, None);
        assert_eq!(
            task.task_execution.id,
            "5b2c1f0e-0000-4000-8000-000000000001"
        );
    }

    #[test]
    fn what_is_written_reads_back_and_keeps_the_seed_record_whole() {
        let sent = read(TASK_NAME, PYTHON_KWARGS).unwrap().task;
        let out = encode(&sent, "m-1", "plugmill@test");
        assert_eq!(out.correlation_id, "m-1");
        assert_eq!(out.headers["task"], TASK_NAME);
        assert_eq!(out.headers["id"], "m-1");
        assert_eq!(out.headers["root_id"], "m-1");
        assert_eq!(out.headers["retries"], 0);
        assert_eq!(out.headers["timelimit"], json!([null, null]));
        let body: Value = serde_json::from_slice(&out.body).unwrap();
        let python: Value = serde_json::from_str(PYTHON_KWARGS).unwrap();
        assert_eq!(body, python, "the same body as Python Celery's");
        let back = decode(
            &out.headers,
            Some(CONTENT_TYPE),
            Some(CONTENT_ENCODING),
            &out.body,
        )
        .unwrap();
        assert_eq!(back.task, sent);
    }

    #[test]
    fn other_messages_are_refused_saying_why() {
        let not_celery = decode(&Map::new(), Some(CONTENT_TYPE), None, b"[]");
        assert_eq!(not_celery, Err(CeleryError::NotCelery));
        let other = read("tasks.add", PYTHON_KWARGS).unwrap_err();
        assert_eq!(
            other.to_string(),
            "the Celery task `tasks.add` is unknown here: plugmill runs `execute_plugin_task`"
        );
        let pickle = decode(
            &headers(TASK_NAME),
            Some("application/x-python-serialize"),
            Some("binary"),
            b"\x80\x04",
        );
        assert!(
            matches!(pickle, Err(CeleryError::ContentType(_))),
            "{pickle:?}"
        );
        for (body, says) in [
            ("not json", "not the JSON array"),
            ("{\"task\": \"process\"}", "not the JSON array"),
            ("[[], {\"task\": \"process\"}, {}]", "missing field `data`"),
            ("[[], {\"task\": \"process\", \"data\": {}, \"task_execution\": {\"tenant_id\": \"t\"}}, {}]", "missing field `id`"),
            ("[[1, 2, 3, 4, 5], {}, {}]", "5 positional arguments"),
            ("[[], {\"task\": \"\", \"data\": {}, \"task_execution\": {\"id\": \"r\"}}, {}]", "`task` is empty"),
            ("[[], {\"task\": \"p\", \"data\": {}, \"task_execution\": {\"id\": \"\"}}, {}]", "1 to 128"),
            ("[[], {\"task\": \"p\", \"data\": {}, \"task_execution\": {\"id\": \"r\"}, \"extra\": 1}, {}]", "unknown field `extra`"),
        ] {
            let error = read(TASK_NAME, body).unwrap_err().to_string();
            assert!(error.contains(says), "{body}: {error}");
        }
    }
}
