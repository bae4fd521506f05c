//! The task pages: the records the signed-in operator may see (the task routes' tenant
//! rules: [`Caller::scope`](crate::caller::Caller::scope), the super-admin and the admin token
//! see all), filtered by status, task, tenant and time, newest first, a page at a time; a
//! record's page; and its cancel and retry buttons, which call the task service's own cancel
//! and retry and say what happened.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use plugmill_tasks::{Cancelled, Cursor, ListFilter, Retried, Scope, Status};
use serde::Deserialize;

use super::pages::{frame, render};
use super::session::Session;
use crate::audit::{self, Action};
use crate::state::AppState;

/// Records on one page.
const PAGE_SIZE: u32 = 50;

#[derive(Default, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    task: Option<String>,
    tenant: Option<String>,
    /// Records created before this time (`YYYY-MM-DDTHH:MM[:SS]`, UTC).
    until: Option<String>,
    /// Records created at or after this time (`YYYY-MM-DDTHH:MM[:SS]`, UTC).
    since: Option<String>,
    /// The next page's cursor.
    before: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A bound of the list's time filter (`field` names it in the error), as the records write
/// times: `YYYY-MM-DDTHH:MM:SS`.
fn parse_time(field: &str, text: &str) -> Result<String, String> {
    let text = text.trim_end_matches('Z');
    let shape_ok = |t: &str| {
        t.len() == 19
            && t.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                _ => b.is_ascii_digit(),
            })
    };
    let full = if text.len() == 16 {
        format!("{text}:00")
    } else {
        text.to_string()
    };
    if shape_ok(&full) {
        Ok(full)
    } else {
        Err(format!(
            "{field}: `{}` is not a time like 2026-12-07T10:30 (UTC)",
            plugmill::config::values::shorten(text)
        ))
    }
}

/// `GET /console/tasks?status=&task=&tenant=&since=&until=&before=`.
pub(super) async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (status, task, tenant, since, until, before) = (
        non_empty(query.status),
        non_empty(query.task),
        non_empty(query.tenant),
        non_empty(query.since),
        non_empty(query.until),
        non_empty(query.before),
    );
    let mut problems = Vec::new();
    let status_filter = match status.as_deref().map(Status::from_name).transpose() {
        Ok(status) => status,
        Err(error) => {
            problems.push(format!("status: {error}"));
            None
        }
    };
    let mut cursor = match before.as_deref().map(str::parse::<Cursor>).transpose() {
        Ok(cursor) => cursor,
        Err(error) => {
            problems.push(format!("page: {error}"));
            None
        }
    };
    if cursor.is_none() {
        match until
            .as_deref()
            .map(|text| parse_time("created before", text))
            .transpose()
        {
            // Older than every record created at that time: the empty id sorts first.
            Ok(Some(time)) => {
                cursor = Some(Cursor {
                    created_at: time,
                    id: String::new(),
                })
            }
            Ok(None) => {}
            Err(error) => problems.push(error),
        }
    }
    let since_filter = match since
        .as_deref()
        .map(|text| parse_time("created at or after", text))
        .transpose()
    {
        Ok(since) => since,
        Err(error) => {
            problems.push(error);
            None
        }
    };
    // The tenant filter narrows the caller's scope; it never widens it.
    let scope = match (session.caller.scope(), &tenant) {
        (None, _) => None,
        (Some(Scope::All), Some(tenant)) => Some(Scope::Tenant(tenant.clone())),
        (Some(Scope::Tenant(own)), Some(tenant)) if own != *tenant => None,
        (Some(scope), _) => Some(scope),
    };
    let filter = ListFilter {
        status: status_filter,
        task: task.clone(),
        limit: PAGE_SIZE,
        before: cursor,
        since: since_filter,
    };
    let page = match (scope, problems.is_empty()) {
        (Some(scope), true) => match state.tasks() {
            Ok(tasks) => match tasks.list(&scope, &filter).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "the console could not list task records");
                    problems.push(
                        "the task records could not be read (the server's log has the details)"
                            .into(),
                    );
                    plugmill_tasks::Page::default()
                }
            },
            Err(_) => {
                problems.push("the server is not ready yet".into());
                plugmill_tasks::Page::default()
            }
        },
        _ => plugmill_tasks::Page::default(),
    };
    let statuses = [
        Status::InProgress,
        Status::Success,
        Status::Failed,
        Status::Cancelled,
    ]
    .map(Status::as_str);
    let bad_request = !problems.is_empty();
    let context = context! {
        records => page.records,
        next => page.next.map(|c| c.to_string()),
        status => status,
        task => task,
        tenant => tenant,
        since => since,
        until => until,
        statuses => statuses,
        problems => problems,
        sees_all => matches!(session.caller.scope(), Some(Scope::All)),
        ..frame(&session, "tasks")
    };
    let mut response = render(&state, "tasks.html", context);
    if bad_request {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

#[derive(Default, Deserialize)]
pub(super) struct ShowQuery {
    done: Option<String>,
}

/// What a button did, as the record's page says it.
fn said(done: &str) -> Option<(&'static str, &'static str)> {
    Some(match done {
        "cancelled" => ("ok", "Cancelled: the task will not run."),
        "too-late" => (
            "warn",
            "Not cancelled: the task had already started or ended.",
        ),
        "retried" => ("ok", "Queued again: the plugins that failed run once more."),
        "not-failed" => ("warn", "Not retried: only a FAILED task can be retried."),
        _ => return None,
    })
}

/// `GET /console/tasks/{id}`: a record the operator may see, with its logs, attempts and
/// per-plugin outcomes.
pub(super) async fn show(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    query: Result<Query<ShowQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let record = match (session.caller.scope(), state.tasks()) {
        (Some(scope), Ok(tasks)) => tasks.get(&id, &scope).await,
        (None, _) => Ok(None),
        (_, Err(error)) => return error.into_response(),
    };
    let record = match record {
        Ok(Some(record)) => record,
        Ok(None) => return no_such_task(&state, &session, &id),
        Err(error) => {
            tracing::error!(%error, "the console could not read a task record");
            return crate::error::ApiError::from(error).into_response();
        }
    };
    let message = query.done.as_deref().and_then(said);
    let result = record
        .result
        .as_ref()
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default());
    let (can_cancel, can_retry) = (
        record.status == Status::InProgress,
        record.status == Status::Failed,
    );
    let context = context! {
        record => record,
        result => result,
        can_cancel => can_cancel,
        can_retry => can_retry,
        message => message.map(|(kind, text)| context! { kind => kind, text => text }),
        ..frame(&session, "tasks")
    };
    render(&state, "task.html", context)
}

fn no_such_task(state: &AppState, session: &Session, id: &str) -> Response {
    let context = context! {
        missing => id,
        ..frame(session, "tasks")
    };
    let mut response = render(state, "task.html", context);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// `POST /console/tasks/{id}/cancel`: [`plugmill_tasks::Tasks::cancel`], as
/// `POST /tasks/{id}/cancel` calls it.
pub(super) async fn cancel(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let caller = &session.caller;
    let outcome = match (caller.scope(), state.tasks()) {
        (Some(scope), Ok(tasks)) => tasks.cancel(&id, &scope).await,
        (None, _) => Ok(Cancelled::Missing),
        (_, Err(error)) => return error.into_response(),
    };
    let done = match outcome {
        Ok(Cancelled::Yes(_)) => "cancelled",
        Ok(Cancelled::TooLate(_)) => "too-late",
        Ok(Cancelled::Missing) => {
            audit::record(Action::Cancel, caller, &id, "not_found");
            return no_such_task(&state, &session, &id);
        }
        Err(error) => {
            audit::record(Action::Cancel, caller, &id, "failed");
            return crate::error::ApiError::from(error).into_response();
        }
    };
    let outcome = if done == "cancelled" {
        "ok"
    } else {
        "conflict"
    };
    audit::record(Action::Cancel, caller, &id, outcome);
    Redirect::to(&format!("/console/tasks/{}?done={done}", encode(&id))).into_response()
}

/// `POST /console/tasks/{id}/retry`: [`plugmill_tasks::Tasks::retry`], as
/// `POST /tasks/{id}/retry` calls it.
pub(super) async fn retry(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let caller = &session.caller;
    let by = caller
        .name()
        .unwrap_or_else(|| caller.subject().to_string());
    let outcome = match (caller.scope(), state.tasks()) {
        (Some(scope), Ok(tasks)) => tasks.retry(&id, &scope, &by).await,
        (None, _) => Ok(Retried::Missing),
        (_, Err(error)) => return error.into_response(),
    };
    let done = match outcome {
        Ok(Retried::Yes(_)) => "retried",
        Ok(Retried::NotFailed(_)) => "not-failed",
        Ok(Retried::Missing) => {
            audit::record(Action::Retry, caller, &id, "not_found");
            return no_such_task(&state, &session, &id);
        }
        Err(error) => {
            audit::record(Action::Retry, caller, &id, "failed");
            return crate::error::ApiError::from(error).into_response();
        }
    };
    let outcome = if done == "retried" { "ok" } else { "conflict" };
    audit::record(Action::Retry, caller, &id, outcome);
    Redirect::to(&format!("/console/tasks/{}?done={done}", encode(&id))).into_response()
}

/// An id as a path segment (ids are UUIDs; anything else is escaped).
fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
