//! [`PluginInstance`]: one instance of a plugin's component with the store it lives in.

use wasmtime::component::Instance;
use wasmtime::Store;

use crate::host::HostState;

/// One instance of a plugin's component and its store: what a call runs on.
pub struct PluginInstance {
    /// The store the instance lives in.
    pub store: Store<HostState>,
    /// The instance.
    pub instance: Instance,
}
