//! Serving connections: HTTP/1.1 and HTTP/2 over cleartext (h2c with prior knowledge) on the
//! same listener, through hyper-util's automatic connection builder (it reads the first bytes:
//! the HTTP/2 connection preface, or HTTP/1.1), with what `axum::serve` does not offer:
//!
//! - a header timeout (`[server] header_timeout`): a connection must say which protocol it
//!   speaks, and an HTTP/1.1 connection deliver a request's headers, within it, counted from
//!   when it opened or its previous answer was sent, so half headers, silence and idle
//!   keep-alive connections are all closed in time; an HTTP/2 connection with no request in
//!   flight for that long is closed too ([`idle`]), which covers a stream whose headers never
//!   complete;
//! - at most [`H2_STREAMS`] requests at once on one HTTP/2 connection;
//! - a cap on open connections (`[server] max_connections`), whatever their protocol: past
//!   it, new connections wait in the listen backlog until one closes;
//! - a graceful stop: no new connections, every open one closed after its requests in
//!   flight (GOAWAY on HTTP/2), for up to the grace period.
//!
//! The body timeout is the router's ([`crate::limits::read_body`]): it bounds the whole body
//! of the requests that have one, on either protocol.

mod idle;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use idle::{Activity, Tracked};

/// The most requests in flight at once on one HTTP/2 connection.
pub const H2_STREAMS: u32 = 128;

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
    let connections = Arc::new(Connections::new(&limits));
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
        let (router, connections, closed) = (router.clone(), connections.clone(), closed.clone());
        tokio::spawn(async move {
            crate::metrics::record_connection(true);
            connections.serve(stream, router, closed).await;
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

/// The connection builder of both protocols, configured once.
struct Connections {
    builder: auto::Builder<TokioExecutor>,
    header_timeout: Duration,
}

impl Connections {
    fn new(limits: &ConnectionLimits) -> Self {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(H2_STREAMS);
        Self {
            builder,
            header_timeout: limits.header_timeout,
        }
    }

    /// Serves a connection until it closes: after its requests in flight once the server
    /// stops, or once idle for the header timeout ([`idle`]; then within another one, whatever
    /// the client does).
    async fn serve(&self, stream: TcpStream, router: Router, mut closed: watch::Receiver<bool>) {
        let activity = Activity::new();
        let service = Tracked {
            inner: TowerToHyperService::new(router),
            activity: activity.clone(),
        };
        let connection = self.builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let (mut stopping, mut idle) = (false, false);
        let give_up = tokio::time::sleep(Duration::MAX);
        tokio::pin!(give_up);
        loop {
            tokio::select! {
                _ = connection.as_mut() => break,
                changed = closed.changed(), if !stopping && !idle => {
                    stopping = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
                () = activity.idle_for(self.header_timeout), if !stopping && !idle => {
                    idle = true;
                    connection.as_mut().graceful_shutdown();
                    give_up.as_mut().reset(tokio::time::Instant::now() + self.header_timeout);
                }
                () = &mut give_up, if idle => break,
            }
        }
    }
}
