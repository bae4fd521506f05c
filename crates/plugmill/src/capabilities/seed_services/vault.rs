//! `plugins-manager:transactions-manager/vault`: `read-secret` and `save-secret` on the
//! secrets capability. The seed's `(tenant-id, election-event-id?, key)` names the secret
//! `vault/KEY` or `vault/EVENT/KEY` of the calling plugin; `tenant-id` must be the call's.

use wasmtime::component::{HasSelf, Linker};

use super::tenant::same_tenant;
use crate::capabilities::secrets::SecretsOf;
use crate::host::HostState;

/// Bindings generated from the seed's WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        inline: "
            package plugmill:vault-host;
            world vault-host {
                import plugins-manager:transactions-manager/vault;
            }
        ",
        path: "../../wit/transactions-manager",
        imports: { default: async },
    });
}
use generated::plugins_manager::transactions_manager::vault;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    vault::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    Ok(())
}

/// The secret name of a seed vault key.
fn secret_name(election_event_id: Option<&str>, key: &str) -> String {
    match election_event_id {
        Some(event) => format!("vault/{event}/{key}"),
        None => format!("vault/{key}"),
    }
}

impl vault::Host for HostState {
    async fn read_secret(
        &mut self,
        tenant_id: String,
        election_event_id: Option<String>,
        key: String,
    ) -> Result<Option<String>, String> {
        same_tenant(self.plugin_name(), &tenant_id)?;
        let secrets = SecretsOf::caller(self).await.map_err(|e| e.to_string())?;
        secrets
            .get(&secret_name(election_event_id.as_deref(), &key))
            .await
            .map_err(|e| e.to_string())
    }

    async fn save_secret(
        &mut self,
        tenant_id: String,
        election_event_id: Option<String>,
        key: String,
        value: String,
    ) -> Result<(), String> {
        same_tenant(self.plugin_name(), &tenant_id)?;
        let secrets = SecretsOf::caller(self).await.map_err(|e| e.to_string())?;
        secrets
            .set(&secret_name(election_event_id.as_deref(), &key), &value)
            .await
            .map_err(|e| e.to_string())
    }
}
