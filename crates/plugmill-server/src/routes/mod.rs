//! The router: the seed's `POST /plugin`, every plugin route at its own path, the task
//! routes and the operational endpoints, with what each group of routes goes through:
//!
//! - plugin calls and task submissions: the caller recognized (401), the body read whole
//!   within its size and time limits (413, 408), then the server's and the tenant's limits of
//!   calls at once (503, 429);
//! - task reads, cancellations and retries: the caller recognized (the admin token too);
//! - every request: a request id, a log line and the request counter.

mod ops;
mod plugin;
mod tasks;

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use plugmill::RouteMatch;
use serde_json::json;
use tower::ServiceBuilder;

use crate::caller::{identify, identify_or_admin};
use crate::error::ApiError;
use crate::limits::{limit, read_body};
use crate::middleware::{observe, RouteLabel, ServedBy};
use crate::state::AppState;

/// Every endpoint of the server.
pub(crate) fn router(state: AppState) -> Router {
    let plugin_calls = Router::new()
        .route("/plugin", post(plugin::seed_endpoint))
        .route("/tasks/{task}", post(tasks::queue_task))
        .route("/{*path}", post(plugin::plugin_route))
        .route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), identify))
                .layer(from_fn_with_state(state.clone(), read_body))
                .layer(from_fn_with_state(state.clone(), limit)),
        );
    let task_reads = Router::new()
        .route("/tasks", get(tasks::list_tasks))
        .route("/tasks/{task}", get(tasks::show_task))
        .route("/tasks/{task}/cancel", post(tasks::cancel_task))
        .route("/tasks/{task}/retry", post(tasks::retry_task))
        .route_layer(from_fn_with_state(state.clone(), identify_or_admin));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/admin/reload", post(ops::admin_reload))
        .merge(crate::console::router(&state))
        .merge(task_reads)
        .merge(plugin_calls)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn(observe))
        .with_state(state)
}

/// Marks a response with the plugin that served it and its route's metrics label.
fn served(response: &mut Response, route: &RouteMatch, label: String) {
    response.extensions_mut().insert(ServedBy {
        plugin: route.plugin.name().to_string(),
        generation: route.generation,
    });
    response.extensions_mut().insert(RouteLabel(label));
}

/// Marks a response with a fixed route label.
fn fixed(mut response: Response, route: &'static str) -> Response {
    response.extensions_mut().insert(RouteLabel(route.into()));
    response
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

pub(crate) fn shorten(text: &str) -> String {
    plugmill::config::values::shorten(text)
}
