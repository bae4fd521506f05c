//! The seed's newer host interfaces (its plugins after the first release import them),
//! exact and unversioned, on top of plugmill's own capabilities:
//!
//! - `plugins-manager:transactions-manager/vault` on [secrets](crate::capabilities::secrets)
//!   ([`vault`]);
//! - `plugins-manager:extra-services-manager/request-service` on
//!   [outbound HTTP](crate::capabilities::http) ([`request`]);
//! - the generic functions of `plugins-manager:documents-manager/documents`
//!   ([`documents`]): `render-template-text` (minijinja), `hash-sha256`,
//!   `upload-and-return-document` and `download-s3-file-to-string` through the
//!   [documents](crate::capabilities::documents) capability, `create-document-as-temp-file`
//!   and `get-s3-public-asset-file-path`.
//!
//! The seed platform's own functions (`postgres-queries` on its election schema,
//! `cli-service` and the documents functions that shell out to its Java tools,
//! `get-tally-results`) are not plugmill's: an embedder adds them with
//! `ManagerBuilder::host_interfaces` (the documents instance is opened again and completed;
//! `crates/plugmill/examples/seed_platform` implements `postgres-queries` with SQL on its own
//! schema), or `[loading] unknown_imports = "trap"` loads such a plugin with those calls
//! trapping.
//!
//! Every function acts for the call's tenant: a `tenant-id` argument naming another tenant
//! is refused. Files are read from and written to the plugin's granted directories
//! (`dirs` under `[plugins.NAME]`), by the paths the plugin sees.

pub mod documents;
pub mod request;
mod tenant;
pub mod vault;

use wasmtime::component::Linker;

use crate::capabilities::Capability;
use crate::host::HostState;

/// The interfaces plugmill provides of the seed's newer line.
pub const INTERFACES: &[&str] = &[
    "plugins-manager:transactions-manager/vault",
    "plugins-manager:extra-services-manager/request-service",
    documents::INTERFACE,
];

/// The capability providing the seed's newer interfaces (configured through the
/// capabilities they stand on).
#[derive(Clone, Debug, Default)]
pub struct SeedServices;

impl Capability for SeedServices {
    fn name(&self) -> &'static str {
        "seed services"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        INTERFACES
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        vault::add_to_linker(linker)?;
        request::add_to_linker(linker)?;
        documents::add_to_linker(linker)?;
        Ok(())
    }
}
