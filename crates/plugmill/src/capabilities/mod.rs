//! Host capabilities: what plugins may import beyond WASI, one unit each.
//!
//! A capability is one [`Capability`]: its WIT (in `wit/`), how it links into the linker, its
//! configuration (its own section of `plugmill.toml` and its own key of each
//! `[plugins.NAME]` table), who may import it, and what it holds for one call ([`CallScope`])
//! and releases when the call ends. The lifecycle follows the manager's:
//!
//! 1. **configure**: [`Capability::configure`] reads the capability's configuration, when the
//!    builder is given a host configuration; builder methods of its own configure it in code;
//! 2. **check**: [`Capability::check`] refuses a configuration that cannot work (a grant of a
//!    database that does not exist) when the manager is built;
//! 3. **link**: [`Capability::add_to_linker`] adds its interfaces once, for every plugin;
//! 4. **admit**: at load, a plugin importing one of its [`Capability::interfaces`] is
//!    admitted, admitted with a warning, or refused ([`Capability::admit`]);
//! 5. **call**: host functions find the capability's shared state through
//!    [`HostState::capability`](crate::HostState::capability) and keep per-call state in a
//!    [`CallScope`], which the host ends when the call ends, however it ends.
//!
//! The contract itself ([`Capability`], [`CallScope`], [`ScopeContext`], [`Shared`]) lives
//! below the runtime, beside the store's data it plugs into (`host`); a capability imports
//! that contract, the configuration and the grants, and nothing above them.
//!
//! The standard capabilities are listed in `standard()` in this module; adding one is one
//! line there.
//! Embedders add their own with [`ManagerBuilder::capability`](crate::ManagerBuilder::capability),
//! or plain interfaces with [`ManagerBuilder::host_interfaces`](crate::ManagerBuilder::host_interfaces).
//!
//! - [`database`]: SQL inside host-owned transactions, PostgreSQL or SQLite, through the
//!   seed-compatible `plugins-manager:transactions-manager/transaction` interface and the
//!   typed `plugmill:database` interface.
//! - [`authorization`]: the seed's `plugins-manager:jwt/authorization`: checks a caller's
//!   claims for a tenant and permissions.
//! - [`variables`]: `plugmill:variables`: settings and secrets host configuration gives
//!   each plugin.
//! - [`secrets`]: `plugmill:secrets`: values a plugin keeps per tenant, sealed at rest in
//!   the records database.
//! - [`documents`]: `plugmill:documents`: a tenant's files on object storage.
//! - [`seed_services`]: the seed's newer interfaces (`vault`, `request-service`, the
//!   generic `documents` functions) on the capabilities above.
//! - [`http`]: `wasi:http/outgoing-handler`: requests to the hosts each plugin's allowlist
//!   names, never to private addresses unless granted by address.

pub mod authorization;
#[cfg(feature = "database")]
pub mod database;
#[cfg(feature = "s3")]
pub mod documents;
pub mod http;
#[cfg(feature = "database")]
pub mod secrets;
#[cfg(all(feature = "database", feature = "s3"))]
pub mod seed_services;
pub mod variables;

pub use crate::host::{Admission, CallScope, Capability, ScopeContext, Shared};

/// The capabilities every manager starts with: adding one is one line here.
pub(crate) fn standard() -> Vec<Box<dyn Capability>> {
    vec![
        #[cfg(feature = "database")]
        Box::new(database::Databases::default()),
        Box::new(authorization::Authorization::default()),
        Box::new(variables::Variables::default()),
        Box::new(http::OutboundHttp::default()),
        #[cfg(feature = "database")]
        Box::new(secrets::Secrets::default()),
        #[cfg(feature = "s3")]
        Box::new(documents::Documents::default()),
        #[cfg(all(feature = "database", feature = "s3"))]
        Box::new(seed_services::SeedServices),
    ]
}
