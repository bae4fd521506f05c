//! Serving connections: HTTP/1.1 through hyper's connection builder, with what
//! `axum::serve` does not offer:
//!
//! - a header timeout (`[server] header_timeout`): a connection must deliver a request's
//!   headers within it, counted from when it opened or its previous answer was sent, so half
//!   headers, silence and idle keep-alive connections are all closed in time;
//! - a cap on open connections (`[server] max_connections`): past it, new connections wait in
//!   the listen backlog until one closes;
//! - a graceful stop: no new connections, every open one closed after its request in flight,
//!   for up to the grace period.
//!
//! The body timeout is the router's ([`crate::limits::read_body`]): it bounds the whole body
//! of the requests that have one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    /// `[server] header_timeout`.
    pub(crate) header_timeout: Duration,
    /// `[server] max_connections`.
    pub(crate) max_connections: usize,
    /// `[server] grace_period`.
    pub(crate) grace_period: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the connections finish
/// their requests in flight for up to the grace period.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let (builder, mut closed) = (builder.clone(), closed.clone());
        tokio::spawn(async move {
            crate::metrics::record_connection(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    changed = closed.changed(), if !stopping => {
                        stopping = true;
                        if changed.is_ok() {
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            crate::metrics::record_connection(false);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
    let _ = closing.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.grace_period, open.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.grace_period,
            "requests still in flight after the grace period; stopping anyway"
        );
    }
}
