//! [`ApiError`]: every failure a request can meet, with the status that says whose fault it
//! is, answered as `{"error": "..."}`. What went wrong inside the host (a trap, a host
//! failure) is logged in full and answered shortly, without host internals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugmill::CallError;
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The token is missing, malformed, expired or wrongly signed (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The admin token is wrong (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing serves this path (404).
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than `[server] max_body` (413).
    #[error("the request body is larger than the {0} bytes allowed")]
    PayloadTooLarge(usize),
    /// The plugin returned `Err` (422).
    #[error("{0}")]
    Plugin(String),
    /// The plugin trapped, or the host failed (500).
    #[error("{0}")]
    Internal(String),
    /// Not implemented yet (501).
    #[error("{0}")]
    NotImplemented(String),
    /// Too many calls at once (503, with `Retry-After`).
    #[error("the server is at its limit of concurrent plugin calls; retry shortly")]
    Overloaded,
    /// The plugins are not loaded yet (503).
    #[error("the plugins are not loaded yet")]
    NotReady,
    /// Something the server needs (the task records, the queue) cannot be reached (503).
    #[error("{0}")]
    Unavailable(String),
    /// The plugin ran past its deadline (504).
    #[error("{0}")]
    Deadline(String),
}

impl ApiError {
    /// The status of this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Plugin(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Overloaded | ApiError::NotReady | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Deadline(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

impl From<CallError> for ApiError {
    fn from(error: CallError) -> Self {
        match &error {
            CallError::RouteNotFound(_) | CallError::TaskNotFound(_) => {
                ApiError::NotFound(error.to_string())
            }
            CallError::BadArguments { .. } | CallError::BadInput(_) => {
                ApiError::BadRequest(error.to_string())
            }
            CallError::Plugin { message, .. } => ApiError::Plugin(message.clone()),
            CallError::DeadlineExceeded { plugin, limit, .. } => ApiError::Deadline(format!(
                "plugin `{plugin}` did not answer within its deadline of {limit:?}"
            )),
            CallError::Trap { plugin, .. }
            | CallError::FuelExhausted { plugin, .. }
            | CallError::ResourceLimit { plugin, .. }
            | CallError::Host { plugin, .. }
            | CallError::NoSuchFunction { plugin, .. } => {
                // The details (the trap, a backtrace, what the plugin printed) stay in the log.
                tracing::error!(%error, "plugin call failed");
                ApiError::Internal(format!("plugin `{plugin}` failed ({})", error.kind()))
            }
            _ => {
                tracing::error!(%error, "plugin call failed");
                ApiError::Internal("the call failed in the host".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response =
            (status, axum::Json(json!({ "error": self.to_string() }))).into_response();
        if matches!(
            self,
            ApiError::Overloaded | ApiError::NotReady | ApiError::Unavailable(_)
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<plugmill_tasks::TaskError> for ApiError {
    fn from(error: plugmill_tasks::TaskError) -> Self {
        tracing::error!(%error, "a task could not be queued");
        ApiError::Unavailable(error.to_string())
    }
}
