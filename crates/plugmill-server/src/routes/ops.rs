//! The operational endpoints: liveness, readiness, metrics (behind a token when `[server]
//! metrics_token_env` is set) and the admin reload.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::fixed;
use crate::audit::{self, Action};
use crate::caller::{same_secret, Caller, CallerKind};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn healthz() -> Response {
    fixed(Json(json!({ "status": "ok" })).into_response(), "/healthz")
}

pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let response = if state.is_ready() {
        let plugins = state.host.manager().registry().plugins().len();
        Json(json!({ "status": "ready", "plugins": plugins })).into_response()
    } else {
        ApiError::NotReady.into_response()
    };
    fixed(response, "/readyz")
}

/// `GET /metrics`: the Prometheus text; with `[server] metrics_token_env`, only for that
/// bearer token.
pub(super) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token {
        if let Err(error) = check_token(&headers, expected, "metrics") {
            return fixed(error.into_response(), "/metrics");
        }
    }
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
pub(super) async fn admin_reload(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(expected) = &state.settings.admin_token else {
        return Err(ApiError::NotFound(
            "admin endpoints are not enabled: set [server] admin_token_env".into(),
        ));
    };
    let admin = Caller {
        kind: CallerKind::Admin,
        identity: None,
    };
    check_token(&headers, expected, "admin")
        .inspect_err(|_| audit::record(Action::Reload, &admin, "plugins", "refused"))?;
    let outcome = state.host.reload().await;
    let response = match outcome {
        Ok(report) => {
            audit::record(Action::Reload, &admin, "plugins", "ok");
            state.console.loads.record("admin", Ok(&report));
            Json(json!({
                "plugins": report.loaded,
                "rejected": report.rejected,
                "warnings": report.warnings,
                "changes": report.changes,
                "cache": report.cache,
            }))
            .into_response()
        }
        Err(error) => {
            audit::record(Action::Reload, &admin, "plugins", "failed");
            state
                .console
                .loads
                .record("admin", Err(format!("{error:#}")));
            tracing::error!(error = format!("{error:#}"), "the reload failed");
            ApiError::Internal(
                "the reload failed; the current plugins keep serving (the server's log has the details)".into(),
            )
            .into_response()
        }
    };
    Ok(fixed(response, "/admin/reload"))
}

/// Checks a fixed bearer token (`what`: `admin` or `metrics`): missing 401, wrong 403, each
/// refusal counted as `<what>_token`.
fn check_token(headers: &HeaderMap, expected: &str, what: &'static str) -> Result<(), ApiError> {
    let reason = if what == "admin" {
        "admin_token"
    } else {
        "metrics_token"
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        crate::metrics::record_refused(reason);
        return Err(ApiError::Unauthorized(format!(
            "the {what} token is required: Authorization: Bearer <token>"
        )));
    };
    if !same_secret(given.trim().as_bytes(), expected.as_bytes()) {
        crate::metrics::record_refused(reason);
        return Err(ApiError::Forbidden(format!(
            "the {what} token is not valid"
        )));
    }
    Ok(())
}
