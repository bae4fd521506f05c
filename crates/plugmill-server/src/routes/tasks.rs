//! The task routes: queue a task by name (once per `Idempotency-Key`), list, read, cancel
//! and retry records. Each sees only the
//! records of the caller's scope ([`Caller::scope`]), filtered in the statement: another
//! tenant's record answers 404 exactly like a missing one.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use plugmill_tasks::{Cancelled, Cursor, ListFilter, NewTask, Retried, Status};

use super::plugin::allow_tenantless;
use super::{fixed, shorten};
use crate::audit::{self, Action};
use crate::body::{body_bytes, json_text, parsed};
use crate::caller::Caller;
use crate::data::callers_data;
use crate::error::ApiError;
use crate::middleware::RouteLabel;
use crate::state::AppState;

/// `POST /tasks/{name}`: queues task `name` with the JSON body as its data (the server's
/// fields set as for routes); answers 202 with the record. With an `Idempotency-Key` the
/// tenant used before (within `[tasks] idempotency_window`), nothing is queued: the answer
/// is that first task's record.
pub(super) async fn queue_task(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let bytes = body_bytes(body, state.settings.max_body).await?;
    let data = parsed(&callers_data(json_text(&bytes)?, caller.claims_member())?)?;
    if state.host.manager().registry().task(&name).is_empty() {
        return Err(ApiError::NotFound(format!(
            "no plugin registered task `{}`",
            shorten(&name)
        )));
    }
    let tenant_id = caller
        .owner(allow_tenantless(&state))
        .inspect_err(|_| audit::record(Action::Submit, &caller, &name, "refused"))?;
    let tasks = state.tasks()?;
    let task = NewTask {
        task: name.clone(),
        data,
        executed_by: super::plugin::executed_by(&caller, tasks.settings().layout),
        tenant_id,
        idempotency_key,
        ..NewTask::default()
    };
    let submitted = tasks.submit(task).await;
    let record =
        submitted.inspect_err(|_| audit::record(Action::Submit, &caller, &name, "failed"))?;
    audit::record(Action::Submit, &caller, &record.id, "ok");
    let mut response = (StatusCode::ACCEPTED, Json(json!(record))).into_response();
    response
        .extensions_mut()
        .insert(RouteLabel("/tasks/{name}".into()));
    Ok(response)
}

/// The query of `GET /tasks`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    status: Option<String>,
    task: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

/// `GET /tasks?status=&task=&limit=&before=`: the caller's records, newest first, a page at a
/// time: `{"tasks": [...], "next": "<cursor>" | null}`; `before=<next>` gives the next page.
pub(super) async fn list_tasks(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "{}: GET /tasks takes status, task, limit and before",
            rejection.body_text()
        ))
    })?;
    let filter = ListFilter {
        status: query
            .status
            .as_deref()
            .map(Status::from_name)
            .transpose()
            .map_err(|e| ApiError::BadRequest(format!("status: {e}")))?,
        task: query.task,
        limit: match query.limit.as_deref() {
            None => 0,
            Some(text) => text.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit: `{}` is not a number from 1 to {}",
                    shorten(text),
                    plugmill_tasks::scope::MAX_PAGE
                ))
            })?,
        },
        before: query
            .before
            .as_deref()
            .map(str::parse::<Cursor>)
            .transpose()
            .map_err(|e| ApiError::BadRequest(format!("before: {e}")))?,
        since: None,
    };
    let page = match caller.scope() {
        Some(scope) => state.tasks()?.list(&scope, &filter).await?,
        None => plugmill_tasks::Page::default(),
    };
    let body = json!({
        "tasks": page.records,
        "next": page.next.map(|cursor| cursor.to_string()),
    });
    Ok(fixed(Json(body).into_response(), "/tasks"))
}

/// `GET /tasks/{id}`: a task-execution record the caller sees.
pub(super) async fn show_task(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = match caller.scope() {
        Some(scope) => state.tasks()?.get(&id, &scope).await?,
        None => None,
    };
    let record = record.ok_or_else(|| no_such_task(&id))?;
    Ok(fixed(Json(json!(record)).into_response(), "/tasks/{id}"))
}

/// `POST /tasks/{id}/cancel`: cancels a task the caller sees that has not started (409 once
/// it has).
pub(super) async fn cancel_task(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let outcome = match caller.scope() {
        Some(scope) => state.tasks()?.cancel(&id, &scope).await,
        None => Ok(Cancelled::Missing),
    };
    let outcome = outcome.inspect_err(|_| audit::record(Action::Cancel, &caller, &id, "failed"))?;
    let response = match outcome {
        Cancelled::Yes(record) => {
            audit::record(Action::Cancel, &caller, &id, "ok");
            Json(json!(record)).into_response()
        }
        Cancelled::TooLate(record) => {
            audit::record(Action::Cancel, &caller, &id, "conflict");
            (
                StatusCode::CONFLICT,
                Json(json!({ "error": format!("the task is {} already: only a task that has not started can be cancelled", record.status.as_str()) })),
            )
                .into_response()
        }
        Cancelled::Missing => {
            audit::record(Action::Cancel, &caller, &id, "not_found");
            return Err(no_such_task(&id));
        }
    };
    Ok(fixed(response, "/tasks/{id}/cancel"))
}

/// `POST /tasks/{id}/retry`: queues a `FAILED` (or dead-lettered) task the caller sees again;
/// its new attempts are appended to its record and its plugins that succeeded do not run
/// again (409 for a task that is not `FAILED`).
pub(super) async fn retry_task(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let outcome = match caller.scope() {
        Some(scope) => {
            let by = caller
                .name()
                .unwrap_or_else(|| caller.subject().to_string());
            state.tasks()?.retry(&id, &scope, &by).await
        }
        None => Ok(Retried::Missing),
    };
    let outcome = outcome.inspect_err(|_| audit::record(Action::Retry, &caller, &id, "failed"))?;
    let response = match outcome {
        Retried::Yes(record) => {
            audit::record(Action::Retry, &caller, &id, "ok");
            (StatusCode::ACCEPTED, Json(json!(record))).into_response()
        }
        Retried::NotFailed(record) => {
            audit::record(Action::Retry, &caller, &id, "conflict");
            (
                StatusCode::CONFLICT,
                Json(json!({ "error": format!("the task is {}: only a FAILED task can be retried", record.status.as_str()) })),
            )
                .into_response()
        }
        Retried::Missing => {
            audit::record(Action::Retry, &caller, &id, "not_found");
            return Err(no_such_task(&id));
        }
    };
    Ok(fixed(response, "/tasks/{id}/retry"))
}

/// The longest `Idempotency-Key` taken.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The request's `Idempotency-Key`, if it has one: 1 to 255 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (a UUID, say)"
        ))
    };
    let key = value.to_str().map_err(|_| bad())?;
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    Ok(Some(key.to_string()))
}

/// The answer for a record that does not exist or that the caller does not see: the same.
fn no_such_task(id: &str) -> ApiError {
    ApiError::NotFound(format!("no task has id `{}`", shorten(id)))
}
