//! The router: the seed's `POST /plugin`, every plugin route at its own path, and the
//! operational endpoints.

use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::body::json_body;
use crate::error::ApiError;
use crate::middleware::{limit, observe, RouteLabel, ServedBy};
use crate::state::AppState;

/// Every endpoint of the server.
pub(crate) fn router(state: AppState) -> Router {
    let plugin_calls = Router::new()
        .route("/plugin", post(seed_endpoint))
        .route("/{*path}", post(plugin_route))
        .route_layer(from_fn_with_state(state.clone(), limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/admin/reload", post(admin_reload))
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
    let data = seed_data(request.remove("data"), claims)?;
    let task_execution = request.remove("task_execution").filter(|v| !v.is_null());
    let registry = state.host.manager().registry();
    let target = registry.route(&path).ok_or_else(|| {
        ApiError::NotFound(format!("no plugin serves route `{}`", shorten(&path)))
    })?;
    let plugin = target.plugin.name().to_string();
    if task_execution.is_some() && target.task {
        return Err(ApiError::NotImplemented(
            "running a route as a task (`task_execution`) needs the task queue, which this server does not have yet".into(),
        ));
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
