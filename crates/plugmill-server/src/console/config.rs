//! `[console]` of `plugmill.toml`: whether `plugmill serve` serves the operator console, who
//! may sign in with a bearer token, and how long a session lasts.
//!
//! ```toml
//! [console]
//! enabled = true                # false: nothing is served under /console
//! role = "plugmill-operator"    # a token whose roles claim holds it may sign in
//! session_ttl = "8h"            # a session expires this long after sign-in
//! ```

use std::time::Duration;

use plugmill::config::{ConfigError, HostConfig, HumanDuration};
use serde::Deserialize;

/// The longest session that may be configured.
const MAX_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `[console]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleConfig {
    enabled: Option<bool>,
    role: Option<String>,
    session_ttl: Option<HumanDuration>,
}

/// The console's settings, resolved.
#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    /// Whether `/console` is served (default: yes).
    pub enabled: bool,
    /// The role (in the authorization capability's roles claim) that lets a bearer token sign
    /// in; without it only the admin token signs in.
    pub role: Option<String>,
    /// How long a session lasts (default 8 h, at most 7 days).
    pub session_ttl: Duration,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            role: None,
            session_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

impl ConsoleSettings {
    /// Reads `[console]`.
    pub fn from_config(config: &HostConfig) -> Result<Self, ConfigError> {
        let section: ConsoleConfig = config.section(&["console"])?.unwrap_or_default();
        let defaults = Self::default();
        let session_ttl = section.session_ttl.map_or(defaults.session_ttl, |d| d.0);
        if session_ttl.is_zero() || session_ttl > MAX_SESSION_TTL {
            return Err(config.error(format!(
                "[console] session_ttl: {} is outside 1s to 7 days",
                humantime::format_duration(session_ttl)
            )));
        }
        let role = match section.role {
            Some(role) if role.trim().is_empty() => {
                return Err(config.error(
                    "[console] role: an empty role would match no token; remove the key to let only the admin token sign in",
                ))
            }
            role => role,
        };
        Ok(Self {
            enabled: section.enabled.unwrap_or(true),
            role,
            session_ttl,
        })
    }
}
