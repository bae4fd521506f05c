//! [`Server`]: the host assembly, the server's settings and its router, and serving them on a
//! listener until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use plugmill::LoadReport;
use plugmill_host::{Host, HostOptions};
use plugmill_tasks::Tasks;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::config::ServerSettings;
use crate::metrics::{CallMetrics, Metrics};
use crate::state::AppState;

/// How long a failed first load waits before trying again.
const LOAD_RETRY: Duration = Duration::from_secs(5);

/// A server, assembled and ready to serve.
pub struct Server {
    host: Arc<Host>,
    state: AppState,
}

impl Server {
    /// The host assembly with the server's metrics as its call observer, `[server]` and
    /// `[auth]` read (`listen`, from the command line, over the configuration), the token
    /// keys fetched. Loads nothing yet.
    pub async fn assemble(mut options: HostOptions, listen: Option<&str>) -> anyhow::Result<Self> {
        let metrics = Metrics::get()?;
        options.observer = Some(Arc::new(CallMetrics));
        let host = Arc::new(Host::assemble(&options)?);
        let settings = ServerSettings::from_config(host.config(), listen)?;
        let verifier = Verifier::from_config(settings.auth.as_ref()).await?;
        let state = AppState::new(host.clone(), verifier, settings, metrics);
        Ok(Self { host, state })
    }

    /// The resolved settings.
    pub fn settings(&self) -> &ServerSettings {
        &self.state.settings
    }

    /// The host: the manager and its plugin source.
    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }

    /// The router, for serving or for calling in-process.
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone())
    }

    /// Loads the plugins and opens the task service (`[tasks]`: the records, the queue); the
    /// server is ready (`/readyz`, plugin calls) once both succeeded.
    pub async fn load(&self) -> anyhow::Result<LoadReport> {
        let report = self.host.load().await?;
        for rejected in &report.rejected {
            tracing::warn!(%rejected, "plugin rejected");
        }
        crate::metrics::record_load(&report);
        if self.state.tasks.get().is_none() {
            let tasks = Tasks::open(&self.host).await?;
            let _ = self.state.tasks.set(Arc::new(tasks));
        }
        self.state.set_ready();
        Ok(report)
    }

    /// Serves on `listener` until `shutdown` resolves: then stops accepting, lets requests
    /// in flight finish for up to the grace period, releases what the capabilities hold and
    /// returns. Plugins are loaded in the background if they are not yet (until then
    /// `/readyz` and plugin calls answer 503), and reloaded on SIGHUP and by polling
    /// (`[loading] reload_interval`).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        self.announce(address);
        if !self.state.is_ready() {
            let server = Arc::new(self.clone_parts());
            tokio::spawn(async move {
                loop {
                    match server.load().await {
                        Ok(report) => {
                            tracing::info!(
                                plugins = report.loaded.len(),
                                rejected = report.rejected.len(),
                                "plugins loaded: ready"
                            );
                            break;
                        }
                        Err(error) => {
                            tracing::error!(
                                error = format!("{error:#}"),
                                "loading the plugins or opening the tasks failed; trying again"
                            );
                            tokio::time::sleep(LOAD_RETRY).await;
                        }
                    }
                }
            });
        }
        let mut reloader = self.host.spawn_reloader();
        tokio::spawn(async move {
            while let Some(event) = reloader.next().await {
                crate::metrics::record_reload(event.outcome.is_ok());
                if let Ok(report) = &event.outcome {
                    crate::metrics::record_load(report);
                }
            }
        });
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections; finishing the requests in flight");
            let _ = stopping.send(());
        };
        let grace = self.state.settings.grace_period;
        let serving = axum::serve(listener, self.router()).with_graceful_shutdown(signal);
        let deadline = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            outcome = serving => outcome?,
            () = deadline => tracing::warn!(?grace, "requests still in flight after the grace period; stopping anyway"),
        }
        if let Some(tasks) = self.state.tasks.get() {
            tasks.shutdown().await;
        }
        self.host.shutdown().await;
        Ok(())
    }

    fn clone_parts(&self) -> Server {
        Server {
            host: self.host.clone(),
            state: self.state.clone(),
        }
    }

    fn announce(&self, address: std::net::SocketAddr) {
        if self.state.verifier.asks_for_tokens() {
            tracing::info!(%address, "listening; bearer tokens are verified");
        } else if address.ip().is_loopback() {
            tracing::warn!(%address, "listening on loopback with no [auth] section: no token is asked for and no claims are injected (local use)");
        } else {
            tracing::warn!(%address, "listening on a non-loopback address with no [auth] section: anyone who can reach it can call plugins");
        }
    }
}
