//! The authorization capability: `plugins-manager:jwt/authorization` (WIT in
//! `wit/jwt/authorization.wit`), exactly as the seed system's plugins import it.
//!
//! `authorize(claims, allow-super-admin-auth, tenant-id-opt, permissions)` decides with the
//! seed's rules ([`rules`]): the tenant rule with its super-admin escape, and every permission
//! among the caller's roles. It exposes nothing but a decision, so every plugin may import it
//! without a grant, and a plugin built like the seed's released plugin loads with no
//! configuration.
//!
//! ```toml
//! [authorization]
//! super_admin_tenant = "..."      # default: the environment variable SUPER_ADMIN_TENANT_ID
//! tenant_claim = "/https:~1~1hasura.io~1jwt~1claims/x-hasura-tenant-id"     # JSON pointers,
//! roles_claim = "/https:~1~1hasura.io~1jwt~1claims/x-hasura-allowed-roles"  # the defaults
//! ```

pub mod rules;

use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker};

pub use rules::{Denial, Policy};

use crate::capabilities::Capability;
use crate::config::{ConfigError, HostConfig};
use crate::host::HostState;

/// The environment variable naming the super-admin tenant when configuration does not.
pub const SUPER_ADMIN_TENANT_VARIABLE: &str = "SUPER_ADMIN_TENANT_ID";

/// Bindings generated from the WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        inline: "
            package plugmill:authorization-host;
            world authorization-host {
                import plugins-manager:jwt/authorization;
            }
        ",
        path: "../../wit/jwt",
    });
}
use generated::plugins_manager::jwt::authorization;

/// The authorization capability and its [`Policy`].
#[derive(Clone, Debug)]
pub struct Authorization {
    policy: Policy,
}

impl Default for Authorization {
    /// The seed's Hasura claim layout, and the super-admin tenant from
    /// `SUPER_ADMIN_TENANT_ID` when it is set.
    fn default() -> Self {
        let super_admin_tenant = std::env::var(SUPER_ADMIN_TENANT_VARIABLE)
            .ok()
            .filter(|tenant| !tenant.trim().is_empty());
        Self::new(Policy {
            super_admin_tenant,
            ..Policy::default()
        })
    }
}

/// `[authorization]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizationConfig {
    super_admin_tenant: Option<String>,
    tenant_claim: Option<String>,
    roles_claim: Option<String>,
}

impl Authorization {
    /// The capability deciding with `policy`.
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }

    /// The policy it decides with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The decision `authorize` gives a plugin.
    pub fn authorize(
        &self,
        claims: &str,
        allow_super_admin: bool,
        tenant: Option<&str>,
        permissions: &[String],
    ) -> Result<(), Denial> {
        self.policy
            .authorize(claims, allow_super_admin, tenant, permissions)
    }
}

impl Capability for Authorization {
    fn name(&self) -> &'static str {
        "authorization"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        &["plugins-manager:jwt/authorization"]
    }

    fn config_sections(&self) -> &'static [&'static str] {
        &["authorization"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let Some(section) = config.section::<AuthorizationConfig>(&["authorization"])? else {
            return Ok(());
        };
        for (key, pointer) in [
            ("tenant_claim", &section.tenant_claim),
            ("roles_claim", &section.roles_claim),
        ] {
            if let Some(pointer) = pointer {
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    return Err(config.error(format!(
                        "[authorization] {key}: `{pointer}` is not a JSON pointer: it must start with `/`, e.g. `/realm_access/roles`"
                    )));
                }
            }
        }
        if let Some(tenant) = section.super_admin_tenant {
            self.policy.super_admin_tenant = Some(tenant).filter(|t| !t.trim().is_empty());
        }
        if let Some(pointer) = section.tenant_claim {
            self.policy.tenant_claim = pointer;
        }
        if let Some(pointer) = section.roles_claim {
            self.policy.roles_claim = pointer;
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        authorization::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
        Ok(())
    }
}

impl authorization::Host for HostState {
    fn authorize(
        &mut self,
        claims: String,
        allow_super_admin_auth: bool,
        tenant_id_opt: Option<String>,
        permissions: Vec<String>,
    ) -> Result<(), String> {
        let Some(capability) = self.capability::<Authorization>() else {
            return Err("not authorized: the host has no authorization capability".into());
        };
        let decision = capability.authorize(
            &claims,
            allow_super_admin_auth,
            tenant_id_opt.as_deref(),
            &permissions,
        );
        match &decision {
            Ok(()) => tracing::debug!(plugin = %self.plugin_name(), "authorized"),
            Err(denial) => tracing::info!(plugin = %self.plugin_name(), %denial, "denied"),
        }
        decision.map_err(|denial| denial.to_string())
    }
}
