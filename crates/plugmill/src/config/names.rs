//! Plugin names: the one rule a name follows, in a manifest and as a `[plugins.NAME]` table
//! of the configuration.

use super::values::shorten;

/// Names the server and its endpoints use (`/plugin`, `/healthz`, `/readyz`, `/metrics`,
/// `/tasks/...`, `/admin/...`, `/console/...`): no plugin may take one, since its routes would sit under it.
pub const RESERVED_NAMES: &[&str] = &[
    "plugin", "healthz", "readyz", "metrics", "tasks", "admin", "console",
];

/// Longest plugin name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a plugin name: 1 to 64 characters, lowercase ASCII letters, digits, `-` and `_`,
/// starting with a letter. The error says which rule failed.
pub fn check_plugin_name(name: &str) -> Result<(), String> {
    let rules = "plugin names are 1 to 64 characters of lowercase letters, digits, '-' and '_', starting with a letter";
    if name.is_empty() {
        return Err(format!("the plugin name is empty; {rules}"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "the plugin name is {} characters long; {rules}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "the plugin name `{}` contains {bad:?}; {rules}",
            shorten(name)
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "the plugin name `{name}` is reserved for the server's own endpoints ({}); choose another",
            RESERVED_NAMES.join(", ")
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "the plugin name `{}` does not start with a letter; {rules}",
            shorten(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        assert!(check_plugin_name("audit-log").is_ok());
        assert!(check_plugin_name("my_plugin2").is_ok());
        assert!(check_plugin_name("").unwrap_err().contains("empty"));
        assert!(check_plugin_name("Bad_Name").unwrap_err().contains("'B'"));
        assert!(check_plugin_name("9lives")
            .unwrap_err()
            .contains("start with a letter"));
        assert!(check_plugin_name("a/b").unwrap_err().contains("'/'"));
        assert!(check_plugin_name("metrics")
            .unwrap_err()
            .contains("reserved"));
        assert!(check_plugin_name("tasks-helper").is_ok());
        assert!(check_plugin_name(&"x".repeat(65))
            .unwrap_err()
            .contains("65 characters"));
    }
}
