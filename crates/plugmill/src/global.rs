//! The process-wide manager, as the seed's `init_plugin_manager()` / `get_plugin_manager()`:
//! set once at start, reachable from anywhere in the process.
//!
//! [`set_plugin_manager`] installs a manager the application built; `plugmill-host`'s
//! `init_plugin_manager()` builds one from the configuration file and the environment and
//! installs it (or records why it could not). [`get_plugin_manager`] is an error, never a
//! panic, before either happened or when initialising failed.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let manager = std::sync::Arc::new(plugmill::PluginManager::builder().build()?);
//! plugmill::set_plugin_manager(manager)?;
//! // ... anywhere else in the process:
//! let manager = plugmill::get_plugin_manager()?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, OnceLock};

use crate::PluginManager;

/// The manager, or why initialising it failed.
static MANAGER: OnceLock<Result<Arc<PluginManager>, String>> = OnceLock::new();

/// Why the process-wide manager is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobalError {
    /// Nothing initialised it yet.
    #[error("the plugin manager is not initialised: call init_plugin_manager() (or set_plugin_manager) at start")]
    NotInitialized,
    /// Initialising it failed, for this reason.
    #[error("initialising the plugin manager failed: {0}")]
    InitFailed(String),
    /// It was initialised before; it is set once per process.
    #[error("the plugin manager is already initialised; it is set once per process")]
    AlreadyInitialized,
}

/// Installs `manager` as the process-wide manager.
pub fn set_plugin_manager(manager: Arc<PluginManager>) -> Result<(), GlobalError> {
    MANAGER
        .set(Ok(manager))
        .map_err(|_| GlobalError::AlreadyInitialized)
}

/// Records that initialising the process-wide manager failed: [`get_plugin_manager`] then
/// answers this reason.
pub fn set_plugin_manager_failure(reason: impl std::fmt::Display) -> Result<(), GlobalError> {
    MANAGER
        .set(Err(reason.to_string()))
        .map_err(|_| GlobalError::AlreadyInitialized)
}

/// The process-wide manager.
pub fn get_plugin_manager() -> Result<Arc<PluginManager>, GlobalError> {
    match MANAGER.get() {
        None => Err(GlobalError::NotInitialized),
        Some(Ok(manager)) => Ok(manager.clone()),
        Some(Err(reason)) => Err(GlobalError::InitFailed(reason.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test of this binary that touches the process-wide manager.
    #[test]
    fn before_initialising_and_after_a_failure_it_is_an_error_never_a_panic() {
        let error = get_plugin_manager().err().unwrap();
        assert_eq!(error, GlobalError::NotInitialized);
        assert!(error.to_string().contains("init_plugin_manager()"));
        set_plugin_manager_failure("the plugin source cannot be read").unwrap();
        let error = get_plugin_manager().err().unwrap();
        assert_eq!(
            error.to_string(),
            "initialising the plugin manager failed: the plugin source cannot be read"
        );
        assert_eq!(
            set_plugin_manager_failure("again"),
            Err(GlobalError::AlreadyInitialized)
        );
    }
}
