//! What keeps one caller from starving the others: the body read whole (within
//! `[server] max_body` and `body_timeout`) before anything else is held, then the server's
//! limit of plugin calls at once (503 beyond) and each tenant's (429 beyond), both with
//! `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Plugin calls in flight per tenant, each bounded by `[server] tenant_max_concurrency`.
pub(crate) struct TenantGate {
    max: usize,
    running: Mutex<HashMap<Arc<str>, usize>>,
}

/// One call of a tenant in flight; ends when dropped.
pub(crate) struct TenantPass {
    gate: Arc<TenantGate>,
    tenant: Arc<str>,
}

impl TenantGate {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            running: Mutex::new(HashMap::new()),
        })
    }

    /// A pass for one more call of `tenant`, unless it has `max` in flight.
    pub(crate) fn enter(self: &Arc<Self>, tenant: Arc<str>) -> Option<TenantPass> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let count = running.entry(tenant.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(TenantPass {
            gate: self.clone(),
            tenant,
        })
    }
}

impl Drop for TenantPass {
    fn drop(&mut self) {
        let mut running = self.gate.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = running.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.tenant);
            }
        }
    }
}

/// Reads the whole body, at most `[server] max_body` bytes (413) within `[server]
/// body_timeout` (408, and the connection closed), before the request holds anything: a
/// client trickling its body holds a connection, never a plugin call.
pub(crate) async fn read_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let max = state.settings.max_body;
    let read = tokio::time::timeout(state.settings.body_timeout, axum::body::to_bytes(body, max));
    let bytes = match read.await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => return crate::body::read_error(error, max).into_response(),
        Err(_) => {
            let mut response = ApiError::BodyTimeout(state.settings.body_timeout).into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Refuses a plugin call before the plugins are loaded (503), beyond `[server]
/// max_concurrency` (503) and beyond the caller's tenant's `tenant_max_concurrency` (429),
/// each with `Retry-After`.
pub(crate) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.is_ready() {
        return ApiError::NotReady.into_response();
    }
    let Ok(_permit) = state.calls.try_acquire() else {
        return ApiError::Overloaded.into_response();
    };
    let tenant = request
        .extensions()
        .get::<Caller>()
        .and_then(Caller::limit_key);
    let _pass = match tenant {
        Some(tenant) => match state.tenants.enter(tenant) {
            Some(pass) => Some(pass),
            None => {
                return ApiError::TenantOverloaded(state.settings.tenant_max_concurrency)
                    .into_response()
            }
        },
        None => None,
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_at_most_its_share_and_others_are_unaffected() {
        let gate = TenantGate::new(2);
        let a: Arc<str> = Arc::from("a");
        let first = gate.enter(a.clone()).unwrap();
        let _second = gate.enter(a.clone()).unwrap();
        assert!(gate.enter(a.clone()).is_none(), "a third call of `a` waits");
        assert!(gate.enter(Arc::from("b")).is_some(), "`b` is not affected");
        drop(first);
        assert!(gate.enter(a).is_some(), "a call ended: room again");
    }
}
