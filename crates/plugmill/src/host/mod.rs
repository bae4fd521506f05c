//! The host side of every store, below everything that runs plugins: what a store holds
//! ([`HostState`]) and the contract capabilities plug into it with ([`Capability`],
//! [`CallScope`]). Capabilities, the runtime and the rest of the pipeline build on it; it
//! imports none of them.
//!
//! - [`state`]: [`HostState`], the data of every store, with [`Capability`], [`Shared`] (a
//!   runtime's capabilities) and [`ScopeContext`].
//! - [`scope`]: [`CallScope`], what a capability holds for one call.
//! - [`sandbox`]: what a plugin may reach through WASI (nothing unless granted).
//! - [`output`]: size-capped capture of plugin stdout and stderr.
//! - [`limits`]: memory, table and instance caps of one store.
//! - [`deadline`]: when a call must be over.
//! - [`tenant`]: the tenant a call acts for.

pub mod deadline;
pub mod limits;
pub mod output;
pub mod sandbox;
pub mod scope;
pub mod state;
pub mod tenant;

pub use deadline::DeadlineExceeded;
pub use limits::MemoryLimitExceeded;
pub use sandbox::{DirGrant, WasiGrants};
pub use scope::CallScope;
pub use state::{Admission, Capability, HostState, ScopeContext, Shared};
pub use tenant::{current_tenant, with_tenant};
