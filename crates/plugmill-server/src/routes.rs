//! The router: the seed's `POST /plugin`, every plugin route at its own path, and the
//! operational endpoints.

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use plugmill::capabilities::authorization::Authorization;
use plugmill_tasks::{Cancelled, NewTask, TaskRecord};

use crate::body::json_body;
use crate::error::ApiError;
use crate::middleware::{limit, observe, RouteLabel, ServedBy};
use crate::state::AppState;

/// Every endpoint of the server.
pub(crate) fn router(state: AppState) -> Router {
    let plugin_calls = Router::new()
        .route("/plugin", post(seed_endpoint))
        .route("/tasks/{task}", post(queue_task))
        .route("/{*path}", post(plugin_route))
        .route_layer(from_fn_with_state(state.clone(), limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/reload", post(admin_reload))
        .route("/tasks/{task}", get(show_task))
        .route("/tasks/{task}/cancel", post(cancel_task))
        .merge(plugin_calls)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(observe))
        .with_state(state)
}

/// `POST /plugin`: `{"path", "data", "task_execution"?, "generate_document"?}`, answered
/// `{"data": <the handler's JSON>}`, exactly as the seed system does.
async fn seed_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claims = caller(&state, &headers).await?;
    let request = json_body(body, state.settings.max_body).await?;
    let Value::Object(mut request) = request else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object: {\"path\", \"data\"}".into(),
        ));
    };
    let path = match request.remove("path") {
        Some(Value::String(path)) => path,
        _ => {
            return Err(ApiError::BadRequest(
                "`path` is missing: the route to call, a string".into(),
            ))
        }
    };
    let data = seed_data(request.remove("data"), claims.clone())?;
    let task_execution = match request.remove("task_execution") {
        None | Some(Value::Null) => None,
        Some(Value::String(task_type)) => Some(task_type),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "`task_execution` must be a task type name, a string".into(),
            ))
        }
    };
    let generate_document = request
        .remove("generate_document")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let registry = state.host.manager().registry();
    let target = registry.route(&path).ok_or_else(|| {
        ApiError::NotFound(format!("no plugin serves route `{}`", shorten(&path)))
    })?;
    let plugin = target.plugin.name().to_string();
    if let (Some(task_type), true) = (task_execution, target.task) {
        let task = NewTask {
            task: target.handler.clone(),
            task_type: Some(task_type),
            data,
            executed_by: claims.as_ref().and_then(caller_name),
            tenant_id: claims
                .as_ref()
                .and_then(|claims| caller_tenant(&state, claims)),
            document_id: generate_document.then(|| uuid::Uuid::new_v4().to_string()),
        };
        drop(registry);
        let record = state.tasks()?.submit_with(task, seed_task_data).await?;
        let answer = json!({ "document_id": record.document_id, "task_execution": record });
        let mut response = Json(json!({ "data": answer.to_string() })).into_response();
        served(&mut response, plugin, "/plugin".into());
        return Ok(response);
    }
    drop(registry);
    let answer = state.host.manager().call_route(&path, &data).await;
    let mut response = match answer {
        Ok(answer) => Json(json!({ "data": answer })).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    served(&mut response, plugin, "/plugin".into());
    Ok(response)
}

/// `POST /{plugin}/{rest}`: a plugin route at its own path, the body as its data, its JSON
/// as the answer.
async fn plugin_route(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claims = caller(&state, &headers).await?;
    let path = uri.path();
    let data = json_body(body, state.settings.max_body).await?;
    let data = match claims {
        Some(claims) => with_claims(data, claims)?,
        None => data,
    };
    let plugin = state
        .host
        .manager()
        .registry()
        .route(path)
        .map(|target| target.plugin.name().to_string())
        .ok_or_else(|| ApiError::NotFound(format!("no plugin serves route `{}`", shorten(path))))?;
    let mut response = match state.host.manager().call_route(path, &data).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    served(&mut response, plugin, path.to_string());
    Ok(response)
}

/// `POST /tasks/{name}`: queues task `name` with the JSON body as its data (claims injected
/// as for routes); answers 202 with the record.
async fn queue_task(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claims = caller(&state, &headers).await?;
    let data = json_body(body, state.settings.max_body).await?;
    let data = match &claims {
        Some(claims) => with_claims(data, claims.clone())?,
        None => data,
    };
    if state.host.manager().registry().task(&name).is_empty() {
        return Err(ApiError::NotFound(format!(
            "no plugin registered task `{}`",
            shorten(&name)
        )));
    }
    let task = NewTask {
        task: name.clone(),
        data,
        executed_by: claims.as_ref().and_then(caller_name),
        tenant_id: claims
            .as_ref()
            .and_then(|claims| caller_tenant(&state, claims)),
        ..NewTask::default()
    };
    let record = state.tasks()?.submit(task).await?;
    let mut response = (StatusCode::ACCEPTED, Json(json!(record))).into_response();
    response
        .extensions_mut()
        .insert(RouteLabel("/tasks/{name}".into()));
    Ok(response)
}

/// `GET /tasks/{id}`: a task-execution record.
async fn show_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller(&state, &headers).await?;
    let record = state
        .tasks()?
        .get(&id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("no task has id `{}`", shorten(&id))))?;
    Ok(fixed(Json(json!(record)).into_response(), "/tasks/{id}"))
}

/// `POST /tasks/{id}/cancel`: cancels a task that has not started (409 once it has).
async fn cancel_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller(&state, &headers).await?;
    let outcome = state
        .tasks()?
        .cancel(&id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let response = match outcome {
        Cancelled::Yes(record) => Json(json!(record)).into_response(),
        Cancelled::TooLate(record) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": format!("the task is {} already: only a task that has not started can be cancelled", record.status.as_str()) })),
        )
            .into_response(),
        Cancelled::Missing => return Err(ApiError::NotFound(format!("no task has id `{}`", shorten(&id)))),
    };
    Ok(fixed(response, "/tasks/{id}/cancel"))
}

/// The seed's task data: the record, as a JSON string, in `task_execution`.
fn seed_task_data(record: &TaskRecord, data: Value) -> Value {
    let mut map = match data {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.insert(
        "task_execution".into(),
        Value::String(json!(record).to_string()),
    );
    if let Some(document) = &record.document_id {
        map.insert("document_id".into(), Value::String(document.clone()));
    }
    Value::Object(map)
}

/// The caller's name from their claims: `name`, else `preferred_username`, else `sub`.
fn caller_name(claims: &Value) -> Option<String> {
    ["name", "preferred_username", "sub"]
        .iter()
        .find_map(|key| claims.get(*key).and_then(Value::as_str))
        .map(str::to_string)
}

/// The caller's tenant, where the authorization capability finds it in claims.
fn caller_tenant(state: &AppState, claims: &Value) -> Option<String> {
    let pointer = state
        .host
        .manager()
        .capability::<Authorization>()
        .map(|authorization| authorization.policy().tenant_claim.clone())?;
    claims
        .pointer(&pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The caller's verified claims (`None` when the server asks for no token).
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Value>, ApiError> {
    state
        .verifier
        .verify(headers.get(header::AUTHORIZATION))
        .await
        .map_err(|e| ApiError::Unauthorized(e.0))
}

/// The seed's `data`: an object (or null, for an empty one), with the caller's claims, when
/// there are some, as a JSON string in `claims`.
fn seed_data(data: Option<Value>, claims: Option<Value>) -> Result<Value, ApiError> {
    let data = match data {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(not_an_object()),
    };
    match claims {
        Some(claims) => with_claims(data, claims),
        None => Ok(data),
    }
}

/// `data` with `claims` set to the verified claims as a JSON string: whatever the body said
/// there is replaced.
fn with_claims(data: Value, claims: Value) -> Result<Value, ApiError> {
    let mut map = match data {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => return Err(not_an_object()),
    };
    map.insert("claims".into(), Value::String(claims.to_string()));
    Ok(Value::Object(map))
}

fn not_an_object() -> ApiError {
    ApiError::BadRequest("`data` must be a JSON object or null".into())
}

/// Marks a response with the plugin that served it and its route's metrics label.
fn served(response: &mut Response, plugin: String, route: String) {
    response.extensions_mut().insert(ServedBy(plugin));
    response.extensions_mut().insert(RouteLabel(route));
}

fn fixed(mut response: Response, route: &'static str) -> Response {
    response.extensions_mut().insert(RouteLabel(route.into()));
    response
}

async fn healthz() -> Response {
    fixed(Json(json!({ "status": "ok" })).into_response(), "/healthz")
}

async fn readyz(State(state): State<AppState>) -> Response {
    let response = if state.is_ready() {
        let plugins = state.host.manager().registry().plugins().len();
        Json(json!({ "status": "ready", "plugins": plugins })).into_response()
    } else {
        ApiError::NotReady.into_response()
    };
    fixed(response, "/readyz")
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render();
    let response = (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response();
    fixed(response, "/metrics")
}

/// `POST /admin/reload` with the admin token: reloads the plugins and answers the report.
async fn admin_reload(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(expected) = &state.settings.admin_token else {
        return Err(ApiError::NotFound(
            "admin endpoints are not enabled: set [server] admin_token_env".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the admin token is required: Authorization: Bearer <token>".into(),
            )
        })?;
    if !same_secret(given.trim().as_bytes(), expected.as_bytes()) {
        return Err(ApiError::Forbidden("the admin token is not valid".into()));
    }
    let outcome = state.host.reload().await;
    crate::metrics::record_reload(outcome.is_ok());
    let response = match outcome {
        Ok(report) => {
            crate::metrics::record_load(&report);
            Json(json!({
                "plugins": report.loaded,
                "rejected": report.rejected,
                "warnings": report.warnings,
                "changes": report.changes,
                "cache": report.cache,
            }))
            .into_response()
        }
        Err(error) => ApiError::Internal(format!(
            "the reload failed; the current plugins keep serving: {error}"
        ))
        .into_response(),
    };
    Ok(fixed(response, "/admin/reload"))
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NotFound(format!("nothing is served at `{}`", shorten(uri.path())))
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "error": "this method is not allowed here: plugin routes take POST" })),
    )
        .into_response()
}

fn shorten(text: &str) -> String {
    plugmill::config::values::shorten(text)
}
