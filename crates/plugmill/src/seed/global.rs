//! The seed's process-wide manager: [`get_plugin_manager`] initialises it on first use,
//! through the initialiser registered with [`set_initializer`], unless the application
//! installed one with [`crate::set_plugin_manager`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::OnceCell;

use super::error::SeedError;
use super::manager::PluginManager;
use crate::dispatch::PluginManager as Manager;
use crate::global::{self, GlobalError};

/// What initialising the process-wide manager returns: the manager it installed (with
/// [`crate::set_plugin_manager`]), or why it could not.
pub type Initialized = Pin<Box<dyn Future<Output = Result<Arc<Manager>, String>> + Send>>;

/// Builds and installs the process-wide manager (`plugmill_host::seed` registers one that
/// assembles it from `plugmill.toml` and the environment).
pub type Initializer = fn() -> Initialized;

static INITIALIZER: OnceLock<Initializer> = OnceLock::new();

/// The seed's view of the process-wide manager, once it is reached.
static SEED: OnceCell<PluginManager> = OnceCell::const_new();

/// Registers how [`get_plugin_manager`] initialises the process-wide manager when nothing
/// installed one. The first registration stays; returns whether this one was registered.
pub fn set_initializer(initializer: Initializer) -> bool {
    INITIALIZER.set(initializer).is_ok()
}

/// The process-wide manager, initialised on first use: the one the application installed
/// ([`crate::set_plugin_manager`]), else the one the registered initialiser builds. A
/// failed initialisation is tried again on the next call, as in the seed.
pub async fn get_plugin_manager() -> anyhow::Result<&'static PluginManager> {
    Ok(SEED
        .get_or_try_init(|| async { process_manager().await.map(PluginManager::new) })
        .await?)
}

/// Initialises the process-wide manager (nothing when it is already): the seed's call at
/// start, so that a failure shows then rather than at the first request.
pub async fn init_plugin_manager() -> anyhow::Result<()> {
    get_plugin_manager().await.map(|_| ())
}

async fn process_manager() -> Result<Arc<Manager>, SeedError> {
    match global::get_plugin_manager() {
        Ok(manager) => Ok(manager),
        Err(GlobalError::NotInitialized) => {
            let initializer = INITIALIZER.get().ok_or(SeedError::NoInitializer)?;
            let built = initializer().await.map_err(SeedError::Init)?;
            // The manager installed first is the process's, if the initialiser's was not.
            Ok(global::get_plugin_manager().unwrap_or(built))
        }
        Err(error) => Err(SeedError::Init(error.to_string())),
    }
}
