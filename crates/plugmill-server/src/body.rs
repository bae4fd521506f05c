//! Reading a request's JSON body: at most `[server] max_body` bytes (413 beyond), JSON or a 400
//! that says why. Plugin calls have their body read before anything else
//! ([`crate::limits::read_body`]); this parses it.

use axum::body::Body;
use serde_json::Value;

use crate::error::ApiError;

/// The body as JSON; an empty body is `null`.
pub async fn json_body(body: Body, max: usize) -> Result<Value, ApiError> {
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|error| read_error(error, max))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes)
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
