//! The tenant check of the seed's functions that take a `tenant-id`.

use crate::host::current_tenant;

/// Checks that `tenant` (an argument of a seed function) is the call's tenant.
pub(crate) fn same_tenant(state_plugin: &str, tenant: &str) -> Result<(), String> {
    match current_tenant() {
        Some(current) if *current == *tenant => Ok(()),
        Some(_) => Err(format!(
            "not permitted: plugin `{state_plugin}` acts for another tenant in this call"
        )),
        None => Err(format!(
            "not permitted: plugin `{state_plugin}` was called for no tenant"
        )),
    }
}
