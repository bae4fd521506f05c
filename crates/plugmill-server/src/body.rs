//! Reading a request's JSON body: at most `[server] max_body` bytes (413 beyond), JSON or a 400
//! that says why. Plugin calls have their body read before anything else
//! ([`crate::limits::read_body`]); this takes it and checks it is JSON, without building it.

use axum::body::{Body, Bytes};
use serde_json::Value;

use crate::data::scan;
use crate::error::ApiError;

/// The body's bytes.
pub async fn body_bytes(body: Body, max: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, max)
        .await
        .map_err(|error| read_error(error, max))
}

/// The body as JSON text (UTF-8, well formed; only whitespace stands for `null`).
pub fn json_text(bytes: &Bytes) -> Result<&str, ApiError> {
    scan::check(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not JSON: {e}")))
}

/// JSON text that was checked, as a value (for what is stored: a task's data).
pub(crate) fn parsed(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not JSON: {e}")))
}

/// Why a body could not be read: too large (413), or the connection failed (400).
pub(crate) fn read_error(error: axum::Error, max: usize) -> ApiError {
    let too_large = std::error::Error::source(&error)
        .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
        || error.to_string().contains("length limit");
    if too_large {
        ApiError::PayloadTooLarge(max)
    } else {
        ApiError::BadRequest(format!("the request body cannot be read: {error}"))
    }
}
