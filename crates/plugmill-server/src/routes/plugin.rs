//! Plugin calls: the seed's `POST /plugin` (a route call, or a task with `task_execution`)
//! and every plugin route at its own path.

use axum::body::Body;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use plugmill_tasks::{Layout, NewTask, TaskRecord};

use super::{served, shorten};
use crate::audit::{self, Action};
use crate::body::{body_bytes, json_text, parsed};
use crate::caller::Caller;
use crate::data::scan::{self, Top};
use crate::data::{callers_data, seed_data};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST /plugin`: `{"path", "data", "task_execution"?, "generate_document"?}`, answered
/// `{"data": <the handler's JSON>}`, exactly as the seed system does. A member sent twice
/// counts once, the last, as in a JSON object. A task's `task_execution` must name a known
/// task type (400 otherwise, listing them). A task with an `Idempotency-Key` its tenant used
/// before is not queued again: the answer names the first.
pub(super) async fn seed_endpoint(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(body, state.settings.max_body).await?;
    let text = json_text(&bytes)?;
    let Some(Top::Object(members)) = scan::top(text) else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object: {\"path\", \"data\"}".into(),
        ));
    };
    let member = |name: &str| {
        members
            .iter()
            .rev()
            .find(|member| member.name(text).as_deref() == Some(name))
            .map(|member| &text[member.value.clone()])
    };
    let path = match member("path").map(serde_json::from_str::<String>) {
        Some(Ok(path)) => path,
        _ => {
            return Err(ApiError::BadRequest(
                "`path` is missing: the route to call, a string".into(),
            ))
        }
    };
    let data = seed_data(member("data"), caller.claims_member())?;
    let task_execution = match member("task_execution").map(serde_json::from_str::<Value>) {
        None | Some(Ok(Value::Null)) => None,
        Some(Ok(Value::String(task_type))) => Some(task_type),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "`task_execution` must be a task type name, a string".into(),
            ))
        }
    };
    let generate_document = member("generate_document")
        .and_then(|text| serde_json::from_str::<bool>(text).ok())
        .unwrap_or(false);
    // Resolved once: the task, the call, the log line and the metrics name this match.
    let route = state.host.manager().match_route(&path).ok_or_else(|| {
        ApiError::NotFound(format!("no plugin serves route `{}`", shorten(&path)))
    })?;
    if let (Some(task_type), true) = (task_execution, route.task) {
        let handler = route.handler.clone();
        let tenant_id = caller.owner(allow_tenantless(&state))?;
        let tasks = state.tasks()?;
        let layout = tasks.settings().layout;
        let task = NewTask {
            task: handler.clone(),
            task_type: Some(task_type),
            data: parsed(&data)?,
            executed_by: executed_by(&caller, layout),
            tenant_id,
            document_id: generate_document.then(|| uuid::Uuid::new_v4().to_string()),
            idempotency_key: super::tasks::idempotency_key(&headers)?,
            ..NewTask::default()
        };
        let submitted = tasks
            .submit_with(task, |record, data| seed_task_data(record, data, layout))
            .await;
        let record = submitted
            .inspect_err(|_| audit::record(Action::Submit, &caller, &handler, "failed"))?;
        audit::record(Action::Submit, &caller, &record.id, "ok");
        let record_json = tasks.task_execution_json(&record);
        let answer = json!({ "document_id": record.document_id, "task_execution": record_json });
        let mut response = Json(json!({ "data": answer.to_string() })).into_response();
        served(&mut response, &route, "/plugin".into());
        return Ok(response);
    }
    let call = state
        .host
        .manager()
        .call_matched_text(&route, data.into_owned());
    let answer = plugmill::with_tenant(caller.tenant(), call).await;
    let mut response = match answer {
        Ok(answer) => Json(json!({ "data": answer })).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    served(&mut response, &route, "/plugin".into());
    Ok(response)
}

/// `POST /{plugin}/{rest}`: a plugin route at its own path, the body as its data, its JSON
/// as the answer.
pub(super) async fn plugin_route(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    body: Body,
) -> Result<Response, ApiError> {
    let path = uri.path();
    let bytes = body_bytes(body, state.settings.max_body).await?;
    let data = callers_data(json_text(&bytes)?, caller.claims_member())?;
    let route =
        state.host.manager().match_route(path).ok_or_else(|| {
            ApiError::NotFound(format!("no plugin serves route `{}`", shorten(path)))
        })?;
    let call = state
        .host
        .manager()
        .call_matched_text(&route, data.into_owned());
    let mut response = match plugmill::with_tenant(caller.tenant(), call).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    served(&mut response, &route, path.to_string());
    Ok(response)
}

/// Who a record says queued the task: the seed's `executed_by_user` in its layout.
pub(super) fn executed_by(caller: &Caller, layout: Layout) -> Option<String> {
    match layout {
        Layout::Seed => caller.seed_name(),
        Layout::Plugmill => caller.name(),
    }
}

/// Whether tokens without a tenant may queue tasks (`[auth] allow_tenantless`).
pub(super) fn allow_tenantless(state: &AppState) -> bool {
    state
        .settings
        .auth
        .as_ref()
        .is_some_and(|auth| auth.allow_tenantless)
}

/// The seed's task data: the record, as a JSON string in the shape of the records' layout,
/// in `task_execution`, and the document made for it in `document_id`.
fn seed_task_data(record: &TaskRecord, data: Value, layout: Layout) -> Value {
    let mut map = match data {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.insert(
        "task_execution".into(),
        Value::String(record.json_for(layout).to_string()),
    );
    if let Some(document) = &record.document_id {
        map.insert("document_id".into(), Value::String(document.clone()));
    }
    Value::Object(map)
}
