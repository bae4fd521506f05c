//! What the HTTP server counts, through the `metrics` facade, rendered by the process's one
//! recorder ([`plugmill_host::metrics::Metrics`], `GET /metrics`). Plugin calls, loads and
//! reloads are the host assembly's metrics, the task queue's the task service's; these are
//! the server's own:
//!
//! - `plugmill_http_requests_total{route, status}`
//! - `plugmill_http_connections_open` (gauge)
//! - `plugmill_auth_refused_total{reason}`: refused tokens, by why (`missing`, `malformed`,
//!   `expired`, `not_yet_valid`, `signature`, `algorithm`, `issuer`, `audience`,
//!   `unknown_key`, `claims`, `admin_token`, `metrics_token`)

/// HTTP requests, by route and status.
pub const HTTP_REQUESTS: &str = "plugmill_http_requests_total";
/// HTTP connections open (gauge).
pub const HTTP_CONNECTIONS_OPEN: &str = "plugmill_http_connections_open";
/// Requests refused for their token, by reason.
pub const AUTH_REFUSED: &str = "plugmill_auth_refused_total";

/// Registers the descriptions of the server's metrics with the process's recorder.
pub fn describe() {
    plugmill_host::metrics::describe("server", || {
        use metrics::{describe_counter, describe_gauge};
        describe_counter!(HTTP_REQUESTS, "HTTP requests, by route and status");
        describe_gauge!(HTTP_CONNECTIONS_OPEN, "HTTP connections open");
        describe_counter!(AUTH_REFUSED, "Requests refused for their token, by reason");
    });
}

/// Counts one HTTP request.
pub fn record_request(route: String, status: u16) {
    metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

/// Counts one refused token (`reason`: a fixed label).
pub fn record_refused(reason: &'static str) {
    metrics::counter!(AUTH_REFUSED, "reason" => reason).increment(1);
}

/// Counts a connection opened (`true`) or closed.
pub fn record_connection(opened: bool) {
    let gauge = metrics::gauge!(HTTP_CONNECTIONS_OPEN);
    if opened {
        gauge.increment(1.0);
    } else {
        gauge.decrement(1.0);
    }
}
