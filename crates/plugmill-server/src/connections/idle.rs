//! When a connection is idle: no request in flight for the header timeout, counted from when
//! it opened or its last answer was sent. The service counts the requests in flight; the
//! connection is closed (GOAWAY on HTTP/2) once idle that long. This bounds what hyper does
//! not: the wait for the first bytes, which tell the protocol (hyper-util's automatic builder
//! reads them without a timeout), and HTTP/2 connections, which have no such timeout (a
//! stream whose headers never complete is never handed to the service: such a connection is
//! idle). Once an HTTP/1.1 request arrived, hyper's own `header_read_timeout` bounds the
//! connection's idle time (counted from the end of each answer's body, which the service does
//! not see), so the connection is never idle here.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::http::{Request, Version};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The requests in flight on one connection and when the last one ended.
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
    ended: Notify,
    /// An HTTP/1.1 request arrived: hyper's `header_read_timeout` bounds the rest.
    http1: AtomicBool,
}

impl Activity {
    /// A connection that has just opened.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            ended: Notify::new(),
            http1: AtomicBool::new(false),
        })
    }

    /// Resolves once no request has been in flight for `limit`; never once an HTTP/1.1
    /// request arrived.
    pub(crate) async fn idle_for(&self, limit: Duration) {
        loop {
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.ended.notified().await;
                continue;
            }
            if self.http1.load(Ordering::Acquire) {
                return std::future::pending().await;
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

    fn begin(self: &Arc<Self>, version: Version) -> InFlight {
        if version < Version::HTTP_2 {
            self.http1.store(true, Ordering::Release);
        }
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

impl<S, B> hyper::service::Service<Request<B>> for Tracked<S>
where
    S: hyper::service::Service<Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        let in_flight = self.activity.begin(request.version());
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
        let request = activity.begin(Version::HTTP_2);
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

    #[tokio::test]
    async fn after_an_http1_request_the_idle_time_is_left_to_hyper() {
        let activity = Activity::new();
        let limit = Duration::from_millis(50);
        drop(activity.begin(Version::HTTP_11));
        let idle = tokio::time::timeout(limit * 4, activity.idle_for(limit));
        assert!(idle.await.is_err(), "never idle here");
    }
}
