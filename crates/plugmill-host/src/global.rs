//! The seed's `init_plugin_manager()`: the process-wide manager, assembled from the
//! environment and `./plugmill.toml`.

use std::sync::Arc;

use plugmill::PluginManager;
use tokio::sync::OnceCell;

use crate::{Host, HostError, HostOptions};

/// The host behind the process-wide manager, kept for its source, or why it failed.
static HOST: OnceCell<Result<Host, InitError>> = OnceCell::const_new();

/// Why [`init_plugin_manager`] failed: the same failure on every call.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct InitError(Arc<HostError>);

impl InitError {
    /// What failed: reading the configuration, opening the source, building the manager or
    /// the first load.
    pub fn host_error(&self) -> &HostError {
        &self.0
    }
}

/// Assembles the process-wide manager from the environment ([`HostOptions::from_env`] and
/// `./plugmill.toml` or `PLUGMILL_CONFIG`), loads its plugins and installs it, so that
/// [`plugmill::get_plugin_manager`] answers it anywhere in the process. Calling it again
/// returns the same manager (or the same failure). Rejected plugins are logged.
pub async fn init_plugin_manager() -> Result<Arc<PluginManager>, InitError> {
    let host = HOST
        .get_or_init(|| async {
            match Host::start(&HostOptions::from_env()).await {
                Ok((host, report)) => {
                    for rejected in &report.rejected {
                        tracing::warn!(%rejected, "plugin rejected");
                    }
                    // The manager may have been set by the application already; it stays.
                    let _ = plugmill::set_plugin_manager(host.manager().clone());
                    Ok(host)
                }
                Err(error) => {
                    let _ = plugmill::set_plugin_manager_failure(&error);
                    Err(InitError(Arc::new(error)))
                }
            }
        })
        .await;
    match host {
        Ok(host) => Ok(host.manager().clone()),
        Err(error) => Err(error.clone()),
    }
}
