//! [`Server`]: the host assembly, the server's settings and its router, and serving them on a
//! listener until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use plugmill::{CallObserver, FinishedCall, LoadReport};
use plugmill_host::metrics::{CallMetrics, Metrics};
use plugmill_host::{Host, HostOptions};
use plugmill_tasks::Tasks;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::config::ServerSettings;
use crate::console::{ConsoleSettings, LiveStats};
use crate::state::AppState;

/// How long a failed first load waits before trying again.
const LOAD_RETRY: Duration = Duration::from_secs(5);

/// A server, assembled and ready to serve.
pub struct Server {
    host: Arc<Host>,
    state: AppState,
}

impl Server {
    /// The host assembly with the server's metrics as its call observer and the server's and
    /// the task service's sections registered ([`crate::config::CONFIG_SECTIONS`],
    /// [`plugmill_tasks::CONFIG_SECTIONS`]), `[server]` and `[auth]` read (`listen`, from the
    /// command line, over the configuration), the token keys fetched. Loads nothing yet.
    pub async fn assemble(mut options: HostOptions, listen: Option<&str>) -> anyhow::Result<Self> {
        options
            .register_sections(crate::config::CONFIG_SECTIONS)
            .register_sections(plugmill_tasks::CONFIG_SECTIONS);
        let metrics = Metrics::install()?;
        crate::metrics::describe();
        let live = Arc::new(LiveStats::new());
        options.observer = Some(Arc::new(Observers(CallMetrics, live.clone())));
        let host = Arc::new(Host::assemble(&options)?);
        let settings = ServerSettings::from_config(host.config(), listen)?;
        let console = ConsoleSettings::from_config(host.config())?;
        let verifier = Verifier::from_config(settings.auth.as_ref()).await?;
        let state = AppState::new(host.clone(), verifier, settings, metrics, (console, live));
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
        let report = self.host.load().await.inspect_err(|e| {
            self.state
                .console
                .loads
                .record("start", Err(format!("{e:#}")))
        })?;
        self.state.console.loads.record("start", Ok(&report));
        for rejected in &report.rejected {
            tracing::warn!(%rejected, "plugin rejected");
        }
        if self.state.tasks.get().is_none() {
            let tasks = Tasks::open(&self.host).await?;
            let _ = self.state.tasks.set(Arc::new(tasks));
        }
        self.state.set_ready();
        Ok(report)
    }

    /// Serves on `listener` until `shutdown` resolves: then stops accepting, lets requests
    /// in flight finish for up to the grace period, releases what the capabilities hold and
    /// returns. Refuses to start without `[auth]` on an address other than loopback
    /// ([`Self::check_exposure`]). Plugins are loaded in the background if they are not yet (until then
    /// `/readyz` and plugin calls answer 503), and reloaded on SIGHUP and by polling
    /// (`[loading] reload_interval`).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        self.check_exposure(address)?;
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
        let state = self.state.clone();
        tokio::spawn(async move {
            // Reloads are logged and counted by the reloader; the console shows the last.
            while let Some(event) = reloader.next().await {
                let trigger = format!("{:?}", event.trigger).to_lowercase();
                let outcome = event.outcome.as_ref().map_err(|e| format!("{e:#}"));
                state.console.loads.record(&trigger, outcome);
            }
        });
        let limits = crate::connections::ConnectionLimits {
            header_timeout: self.state.settings.header_timeout,
            max_connections: self.state.settings.max_connections,
            grace_period: self.state.settings.grace_period,
        };
        crate::connections::serve(listener, self.router(), limits, shutdown).await;
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

    /// Refuses to serve without `[auth]` on an address other than loopback, unless `[server]
    /// allow_unauthenticated = true` says so: anyone who can reach it would be the operator.
    pub fn check_exposure(&self, address: SocketAddr) -> anyhow::Result<()> {
        if self.state.callers.asks_for_tokens()
            || address.ip().is_loopback()
            || self.state.settings.allow_unauthenticated
        {
            return Ok(());
        }
        anyhow::bail!(
            "refusing to serve on {address} without an [auth] section: anyone who can reach it could call every plugin and read and cancel every task. Configure [auth], listen on loopback, or set [server] allow_unauthenticated = true"
        )
    }

    fn announce(&self, address: SocketAddr) {
        if self.state.callers.asks_for_tokens() {
            tracing::info!(%address, "listening; bearer tokens are verified");
        } else if address.ip().is_loopback() {
            tracing::warn!(%address, "listening on loopback with no [auth] section: no token is asked for, no claims are injected, and every caller is the operator (local use)");
        } else {
            tracing::warn!(%address, "listening with no [auth] section and [server] allow_unauthenticated = true: anyone who can reach this address is the operator: calls every plugin without claims, queues tasks, and reads and cancels every tenant's task records");
        }
    }
}

/// The call observers of a server: the Prometheus metrics and the console's live window.
struct Observers(CallMetrics, Arc<LiveStats>);

impl CallObserver for Observers {
    fn call_finished(&self, call: &FinishedCall<'_>) {
        self.0.call_finished(call);
        self.1.call_finished(call);
    }
}
