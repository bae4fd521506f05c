//! What every request goes through: a request id (`x-request-id`, taken from the request or
//! made, and readable with [`request_id`] while the request is handled), a span, one log
//! line (method, path, status, plugin and registry generation, duration, request id) and the
//! request counter.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The plugin a response came from and the generation of the registry its route was matched
/// in, for the log line (set by the handlers from the one match they called).
#[derive(Clone, Debug)]
pub(crate) struct ServedBy {
    pub(crate) plugin: String,
    pub(crate) generation: u64,
}

/// The metrics label of a request's route (set by the handlers; bounded: registered routes
/// and fixed endpoints only).
#[derive(Clone, Debug)]
pub(crate) struct RouteLabel(pub(crate) String);

const REQUEST_ID: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The id of the request being handled (for error answers and the audit log).
pub(crate) fn request_id() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Logs and counts every request.
pub(crate) async fn observe(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(Arc::<str>::from)
        .unwrap_or_else(|| Arc::from(uuid::Uuid::new_v4().to_string()));
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id, %method, path = %path);
    let mut response = CURRENT
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let status = response.status();
    let (plugin, generation) = response
        .extensions()
        .get::<ServedBy>()
        .map(|served| (served.plugin.clone(), Some(served.generation)))
        .unwrap_or_default();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| "unmatched".to_string(), |r| r.0.clone());
    // One line: the span adds the request id, the method and the path.
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            plugin = %plugin,
            generation,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        )
    });
    crate::metrics::record_request(route, status.as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
