//! Host capabilities: interfaces plugins may import.
//!
//! WASI is linked by the runtime, denied by default (see [`crate::runtime::state`]). An
//! embedding application adds its own interfaces with
//! [`ManagerBuilder::host_interfaces`](crate::ManagerBuilder::host_interfaces); host functions
//! receive the store, whose [`HostState`](crate::runtime::HostState) names the calling plugin.
//! Database and authorization capabilities live beside this module, one unit each.
