//! The top-level sections of `plugmill.toml` that are known, and who reads each.
//!
//! The core reads `[limits]`, `[loading]`, `[trust]` and `[plugins]`; each capability
//! registers its own sections through [`Capability::config_sections`]; the parts above the
//! core (a front end, an embedding service) register theirs as [`ConfigSections`] with
//! [`ManagerBuilder::config_sections`] when the host is assembled. The core names none of
//! the parts above it. [`HostConfig::check_keys`] then refuses any other section, naming it
//! and its line.
//!
//! [`Capability::config_sections`]: crate::capabilities::Capability::config_sections
//! [`ManagerBuilder::config_sections`]: crate::ManagerBuilder::config_sections
//! [`HostConfig::check_keys`]: super::HostConfig::check_keys

/// The top-level sections one part of plugmill above the core reads itself.
///
/// ```
/// use plugmill::config::ConfigSections;
///
/// const REPORTS: ConfigSections = ConfigSections::new("the reports service", &["reports"]);
/// let manager = plugmill::PluginManager::builder().config_sections(REPORTS);
/// # drop(manager);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigSections {
    /// Who reads them, for messages (`plugmill serve`, the task service).
    pub owner: &'static str,
    /// The sections' names (`server` for `[server]`).
    pub sections: &'static [&'static str],
}

impl ConfigSections {
    /// The sections `owner` reads.
    pub const fn new(owner: &'static str, sections: &'static [&'static str]) -> Self {
        Self { owner, sections }
    }
}

/// The sections registered so far, in the order they were registered.
#[derive(Clone, Debug, Default)]
pub(crate) struct SectionRegistry {
    owners: Vec<ConfigSections>,
}

impl SectionRegistry {
    /// Adds `sections`; registering the same owner's sections twice is harmless.
    pub(crate) fn register(&mut self, sections: ConfigSections) {
        if !self.owners.contains(&sections) {
            self.owners.push(sections);
        }
    }

    /// Every registered section's name.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.owners
            .iter()
            .flat_map(|owner| owner.sections.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_section_is_listed_once_per_owner() {
        let mut registry = SectionRegistry::default();
        let server = ConfigSections::new("server", &["server", "auth"]);
        registry.register(server);
        registry.register(ConfigSections::new("tasks", &["tasks"]));
        registry.register(server);
        assert_eq!(
            registry.names().collect::<Vec<_>>(),
            ["server", "auth", "tasks"]
        );
    }
}
