//! When an HTTP/2 connection is idle: no request in flight for the header timeout, counted
//! from when it opened or its last answer was sent. hyper's HTTP/1.1 connections have this
//! timeout themselves (`header_read_timeout`); its HTTP/2 connections do not, so the service
//! counts the requests in flight and the connection is closed (GOAWAY) once idle that long.
//! A stream whose headers never complete is never handed to the service: such a connection
//! is idle.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The requests in flight on one connection and when the last one ended.
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
    ended: Notify,
}

impl Activity {
    /// A connection that has just opened.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            ended: Notify::new(),
        })
    }

    /// Resolves once no request has been in flight for `limit`.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        loop {
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.ended.notified().await;
                continue;
            }
            let due = *self.last.lock().unwrap_or_else(|p| p.into_inner()) + limit;
            if Instant::now() >= due {
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                continue;
            }
            tokio::time::sleep_until(due).await;
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// One request in flight; ends when dropped (answered or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.ended.notify_one();
    }
}

/// A hyper service that counts its requests in flight in an [`Activity`].
pub(crate) struct Tracked<S> {
    pub(crate) inner: S,
    pub(crate) activity: Arc<Activity>,
}

impl<S, R> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: R) -> Self::Future {
        let in_flight = self.activity.begin();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(in_flight);
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_idle_only_with_nothing_in_flight_for_the_limit() {
        let activity = Activity::new();
        let limit = Duration::from_millis(100);
        let request = activity.begin();
        let idle = tokio::time::timeout(limit * 4, activity.idle_for(limit));
        assert!(idle.await.is_err(), "a request in flight: not idle");
        drop(request);
        let ended = Instant::now();
        activity.idle_for(limit).await;
        assert!(
            Instant::now() >= ended + limit,
            "idle a whole limit after the answer"
        );
    }
}
