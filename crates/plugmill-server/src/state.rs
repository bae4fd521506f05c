//! What every request handler shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use plugmill::capabilities::authorization::Authorization;
use plugmill_host::metrics::Metrics;
use plugmill_host::Host;
use plugmill_tasks::Tasks;
use tokio::sync::Semaphore;

use crate::auth::Verifier;
use crate::caller::Callers;
use crate::config::ServerSettings;
use crate::console::Console;
use crate::limits::TenantGate;

/// The state of a server, shared by its handlers.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) host: Arc<Host>,
    /// Who is calling: tokens verified (and remembered), tenants derived.
    pub(crate) callers: Callers,
    pub(crate) settings: ServerSettings,
    pub(crate) metrics: Arc<Metrics>,
    /// Plugin calls served at once.
    pub(crate) calls: Semaphore,
    /// Plugin calls served at once, per tenant.
    pub(crate) tenants: Arc<TenantGate>,
    /// The task service, opened once the plugins are loaded.
    pub(crate) tasks: OnceLock<Arc<Tasks>>,
    /// The operator console's sessions, live window and load log.
    pub(crate) console: Console,
    /// Set once the plugins are loaded.
    ready: AtomicBool,
}

impl AppState {
    pub(crate) fn new(
        host: Arc<Host>,
        verifier: Verifier,
        settings: ServerSettings,
        metrics: Arc<Metrics>,
        console: crate::console::ConsoleParts,
    ) -> Self {
        let authorization = host.manager().capability::<Authorization>();
        let callers = Callers::new(verifier, authorization.as_deref(), &settings);
        let calls = Semaphore::new(settings.max_concurrency);
        let tenants = TenantGate::new(settings.tenant_max_concurrency);
        let console = Console::new(console.0, console.1, authorization.as_deref());
        Self(Arc::new(Inner {
            host,
            callers,
            settings,
            metrics,
            calls,
            tenants,
            tasks: OnceLock::new(),
            console,
            ready: AtomicBool::new(false),
        }))
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// The task service; not ready before the plugins are loaded.
    pub(crate) fn tasks(&self) -> Result<&Arc<Tasks>, crate::error::ApiError> {
        self.0.tasks.get().ok_or(crate::error::ApiError::NotReady)
    }

    pub(crate) fn set_ready(&self) {
        self.0.ready.store(true, Ordering::Release);
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
