//! [`ApiError`]: every failure a request can meet, with the status that says whose fault it
//! is, answered as `{"error": "...", "request_id": "..."}`. What went wrong inside the host (a
//! trap, a host failure, a queue or database that cannot be reached) is logged in full and
//! answered with its kind and the request id only: no host, user, vhost or path.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugmill::CallError;
use serde_json::json;

/// A part of the host a request needed and could not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostPart {
    /// The task queue (the broker).
    TaskQueue,
    /// The task records (their database).
    TaskRecords,
    /// The task service's configuration.
    TaskService,
}

impl std::fmt::Display for HostPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostPart::TaskQueue => "the task queue cannot be reached",
            HostPart::TaskRecords => "the task records cannot be reached",
            HostPart::TaskService => "the task service is not usable",
        })
    }
}

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
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing serves this path, or the caller sees no such record (404).
    #[error("{0}")]
    NotFound(String),
    /// The body did not arrive within `[server] body_timeout` (408).
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(Duration),
    /// The body is larger than `[server] max_body` (413).
    #[error("the request body is larger than the {0} bytes allowed")]
    PayloadTooLarge(usize),
    /// The plugin returned `Err` (422).
    #[error("{0}")]
    Plugin(String),
    /// The caller's tenant has as many plugin calls in flight as it may (429, with
    /// `Retry-After`).
    #[error("the tenant has {0} plugin calls in flight, its limit: retry shortly")]
    TenantOverloaded(usize),
    /// The caller's tenant is at one of its limits (429, with `Retry-After`).
    #[error("{0}")]
    TenantLimit(String),
    /// The plugin trapped, or the host failed (500).
    #[error("{0}")]
    Internal(String),
    /// Not implemented yet (501).
    #[error("{0}")]
    NotImplemented(String),
    /// Too many calls at once (503, with `Retry-After`).
    #[error("the server is at its limit of concurrent plugin calls; retry shortly")]
    Overloaded,
    /// The in-process task queue is full (503, with `Retry-After`).
    #[error("{0}")]
    QueueFull(String),
    /// The plugins are not loaded yet (503).
    #[error("the plugins are not loaded yet")]
    NotReady,
    /// A part of the host cannot be used (503); the details are in the log only.
    #[error("{0}; the server's log has the details")]
    Unavailable(HostPart),
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
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Plugin(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TenantOverloaded(_) | ApiError::TenantLimit(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Overloaded
            | ApiError::QueueFull(_)
            | ApiError::NotReady
            | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Deadline(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Whether the caller should come back later (`Retry-After`).
    fn retry_later(&self) -> bool {
        matches!(
            self,
            ApiError::Overloaded
                | ApiError::QueueFull(_)
                | ApiError::NotReady
                | ApiError::Unavailable(_)
                | ApiError::TenantOverloaded(_)
                | ApiError::TenantLimit(_)
        )
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
        let request_id = crate::middleware::request_id();
        let body = match &request_id {
            Some(id) => json!({ "error": self.to_string(), "request_id": &**id }),
            None => json!({ "error": self.to_string() }),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if self.retry_later() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<plugmill_tasks::TaskError> for ApiError {
    fn from(error: plugmill_tasks::TaskError) -> Self {
        use plugmill_tasks::TaskError;
        match error {
            TaskError::TenantAtLimit(_) => ApiError::TenantLimit(error.to_string()),
            TaskError::QueueFull(_) => ApiError::QueueFull(error.to_string()),
            TaskError::Store(error) => error.into(),
            TaskError::UnknownTaskType(_) | TaskError::Refused(_) => {
                ApiError::BadRequest(error.to_string())
            }
            TaskError::Queue(_) => {
                tracing::error!(%error, "a task could not be queued");
                ApiError::Unavailable(HostPart::TaskQueue)
            }
            _ => {
                tracing::error!(%error, "the task service failed");
                ApiError::Unavailable(HostPart::TaskService)
            }
        }
    }
}

impl From<plugmill_tasks::StoreError> for ApiError {
    fn from(error: plugmill_tasks::StoreError) -> Self {
        tracing::error!(%error, "the task records failed");
        ApiError::Unavailable(HostPart::TaskRecords)
    }
}
