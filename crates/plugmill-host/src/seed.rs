//! The seed system's host API (`plugmill::seed`) with the host assembly as its initialiser:
//! the seed's code, changed only in its `use` lines to `plugmill_host::seed::{...}`, reaches
//! a manager assembled from `plugmill.toml` and the environment on its first
//! `get_plugin_manager().await`, as the seed's loaded its bucket on first use.
//!
//! `plugmill::seed` cannot start the host assembly itself (this crate depends on it, not
//! the other way), so these two functions register [`crate::init_plugin_manager`] as its
//! initialiser and then call it; [`install`] does only the registering, for code that
//! imports `plugmill::seed` directly.

pub use plugmill::seed::{HookValue, PluginManager, SeedError};

/// Registers the host assembly as `plugmill::seed`'s initialiser (once; later calls do
/// nothing).
pub fn install() {
    plugmill::seed::set_initializer(|| {
        Box::pin(async {
            crate::init_plugin_manager()
                .await
                .map_err(|error| error.to_string())
        })
    });
}

/// The process-wide manager, assembled from the environment on first use.
pub async fn get_plugin_manager() -> anyhow::Result<&'static PluginManager> {
    install();
    plugmill::seed::get_plugin_manager().await
}

/// Assembles the process-wide manager now (nothing when it is already).
pub async fn init_plugin_manager() -> anyhow::Result<()> {
    install();
    plugmill::seed::init_plugin_manager().await
}
