//! The variables capability: `plugmill:variables/variables@0.1.0` (WIT in
//! `wit/variables/variables.wit`). A plugin reads the named settings and secrets that host
//! configuration gives it, and only its own; settings that the seed's plugins hard-coded
//! (their tenant, say) come from here instead.
//!
//! ```toml
//! [plugins.miru.variables]
//! tenant_id = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5"   # a literal
//! api_token = { env = "MIRU_API_TOKEN" }               # a host environment variable
//! signing_key = { file = "secrets/miru.key" }          # a file (relative to plugmill.toml)
//!
//! [plugins."*".variables]                               # given to every plugin
//! region = "eu-west-1"
//! ```
//!
//! Values are read when the manager is built, so a missing variable or file is an error at
//! start and not at the first call; a file's single trailing newline is dropped. Every value
//! is treated as a secret: it is never logged, never part of an error, and its `Debug` form
//! is hidden.

mod secret;
mod source;

use std::collections::BTreeMap;

use wasmtime::component::{HasSelf, Linker};

pub use secret::Secret;
pub use source::VariableSource;

use crate::capabilities::Capability;
use crate::config::{ConfigError, HostConfig};
use crate::grants::PluginGrants;
use crate::host::HostState;

/// Bindings generated from the WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit/variables",
        world: "plugmill:variables/variables-client",
    });
}
use generated::plugmill::variables::variables::{self as wit, Error};

/// Longest variable name accepted.
const MAX_NAME_LEN: usize = 64;

/// The variables capability: each plugin's values, by name.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    values: PluginGrants<BTreeMap<String, Secret>>,
}

impl Variables {
    /// Gives `plugin` (every plugin, with `*`) the variable `name`.
    pub fn set(&mut self, plugin: &str, name: &str, value: Secret) -> Result<(), ConfigError> {
        check_name(name).map_err(|problem| {
            ConfigError::new(
                "<configuration>",
                format!("[plugins.{plugin}.variables] {problem}"),
            )
        })?;
        self.values.entry(plugin).insert(name.to_string(), value);
        Ok(())
    }

    /// The value of `name` for `plugin`: its own, else one given to every plugin.
    pub fn get(&self, plugin: &str, name: &str) -> Option<&Secret> {
        self.values
            .entries_for(plugin)
            .find_map(|values| values.get(name))
    }
}

/// Checks a variable name: lowercase ASCII letters, digits and `_`, starting with a letter.
fn check_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a variable name: use 1 to {MAX_NAME_LEN} lowercase letters, digits and `_`, starting with a letter",
            name.escape_debug()
        ))
    }
}

impl Capability for Variables {
    fn name(&self) -> &'static str {
        "variables"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        &["plugmill:variables/variables"]
    }

    fn plugin_keys(&self) -> &'static [&'static str] {
        &["variables"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let tables: BTreeMap<String, BTreeMap<String, VariableSource>> =
            config.plugin_entries("variables")?;
        for (plugin, variables) in tables {
            for (name, source) in variables {
                let value = source.resolve(config).map_err(|problem| {
                    config.error(format!("[plugins.{plugin}.variables] {name}: {problem}"))
                })?;
                self.set(&plugin, &name, value)
                    .map_err(|e| config.error(e.message))?;
            }
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
        Ok(())
    }
}

impl wit::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, Error> {
        check_name(&name).map_err(Error::InvalidName)?;
        let plugin = self.plugin_name();
        let value = self
            .capability::<Variables>()
            .and_then(|variables| variables.get(plugin, &name).cloned());
        tracing::debug!(plugin, variable = %name, found = value.is_some(), "variable read");
        match value {
            Some(value) => Ok(value.expose().to_string()),
            None => Err(Error::Undefined(format!(
                "no variable `{name}` is given to plugin `{plugin}`: set it under [plugins.{plugin}.variables]"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in ["tenant_id", "a", "x9"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Tenant", "9x", "_x", "a-b", "a b", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plugin_reads_its_own_values_and_those_given_to_every_plugin() {
        let mut variables = Variables::default();
        variables
            .set("alpha", "token", Secret::new("a-token"))
            .unwrap();
        variables.set("*", "region", Secret::new("eu")).unwrap();
        variables.set("beta", "region", Secret::new("us")).unwrap();
        assert_eq!(variables.get("alpha", "token").unwrap().expose(), "a-token");
        assert_eq!(variables.get("alpha", "region").unwrap().expose(), "eu");
        assert_eq!(variables.get("beta", "region").unwrap().expose(), "us");
        assert!(variables.get("beta", "token").is_none());
    }

    #[test]
    fn values_never_show_in_debug_output() {
        let mut variables = Variables::default();
        variables
            .set("alpha", "token", Secret::new("s3cr3t-value"))
            .unwrap();
        assert!(!format!("{variables:?}").contains("s3cr3t-value"));
    }
}
