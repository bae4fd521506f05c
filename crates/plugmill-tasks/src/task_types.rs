//! Task types: what `task_execution` of `POST /plugin` may name, each with its human name
//! (the `name` of a seed record). The seed system's nineteen (`ETasksExecution`) are built
//! in; `[task_types]` of `plugmill.toml` adds more, or renames a built-in one:
//!
//! ```toml
//! [task_types]
//! EXPORT_RESULTS = "Export Results"
//! ```
//!
//! A type that is neither is refused, with the list of those accepted.

use std::collections::BTreeMap;

use plugmill::config::{ConfigError, HostConfig};
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The seed system's task types and their human names.
pub const SEED_TASK_TYPES: [(&str, &str); 19] = [
    ("EXPORT_ELECTION_EVENT", "Export Election Event"),
    ("EXPORT_TENANT_CONFIG", "Export Tenant Config"),
    ("IMPORT_TENANT_CONFIG", "Import Tenant Config"),
    ("IMPORT_CANDIDATES", "Import Candidates"),
    ("IMPORT_USERS", "Import Voters"),
    ("CREATE_ELECTION_EVENT", "Create Election Event"),
    ("IMPORT_ELECTION_EVENT", "Import Election Event"),
    ("EXPORT_VOTERS", "Export Voters"),
    ("CREATE_TRANSMISSION_PACKAGE", "Create Transmission Package"),
    ("EXPORT_BALLOT_PUBLICATION", "Export Ballot Publication"),
    ("EXPORT_ACTIVITY_LOGS_REPORT", "Export Activity Logs Report"),
    ("CREATE_BALLOT_RECEIPT", "Create Ballot Receipt"),
    ("GENERATE_REPORT", "Generate Report"),
    ("GENERATE_TEMPLATE", "Generate Template"),
    (
        "GENERATE_TRANSMISSION_REPORT",
        "Generate Transmission Report",
    ),
    ("EXPORT_APPLICATION", "Export Application"),
    ("IMPORT_APPLICATION", "Import Application"),
    ("EXPORT_TRUSTEES", "Export Trustees"),
    ("RENDER_DOCUMENT_PDF", "Render Document PDF"),
];

/// The longest type name or human name taken.
const MAX_LEN: usize = 200;

/// A task type the caller named that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{given}` is not a task type; the accepted are {accepted} (more can be added under [task_types])"
)]
pub struct UnknownTaskType {
    /// What the caller named (shortened, escaped).
    pub given: String,
    /// The accepted names, comma-separated.
    pub accepted: String,
}

/// The known task types, by type name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTypes {
    names: BTreeMap<String, String>,
}

impl Default for TaskTypes {
    /// The seed system's types only.
    fn default() -> Self {
        let names = SEED_TASK_TYPES
            .iter()
            .map(|(kind, name)| (kind.to_string(), name.to_string()))
            .collect();
        Self { names }
    }
}

impl TaskTypes {
    /// The seed system's types, and those of `[task_types]` over them.
    pub fn from_config(config: &HostConfig) -> Result<Self, ConfigError> {
        let section: TaskTypesConfig = config.section(&["task_types"])?.unwrap_or_default();
        let mut types = Self::default();
        types.names.extend(section.0);
        Ok(types)
    }

    /// The human name of type `kind`, or why it is not accepted.
    pub fn name_of(&self, kind: &str) -> Result<&str, UnknownTaskType> {
        self.names
            .get(kind)
            .map(String::as_str)
            .ok_or_else(|| UnknownTaskType {
                given: plugmill::config::values::shorten(kind),
                accepted: self.names.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The accepted type names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }
}

/// `[task_types]`: type name = human name.
#[derive(Default)]
struct TaskTypesConfig(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for TaskTypesConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TaskTypesVisitor)
    }
}

/// Reads `[task_types]` straight from the text, each name checked as it is read, so that an
/// error names the line of its entry.
struct TaskTypesVisitor;

impl<'de> Visitor<'de> for TaskTypesVisitor {
    type Value = TaskTypesConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the [task_types] table: TYPE = \"Human name\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TaskTypesConfig, A::Error> {
        let mut types = BTreeMap::new();
        while let Some(TypeName(kind)) = map.next_key()? {
            let HumanName(name) = map.next_value()?;
            types.insert(kind, name);
        }
        Ok(TaskTypesConfig(types))
    }
}

/// A task type's name: letters, digits, `_`, `-` and `.`.
struct TypeName(String);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let kind = String::deserialize(deserializer)?;
        if kind.is_empty()
            || kind.len() > MAX_LEN
            || !kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(D::Error::custom(format!(
                "[task_types] `{}`: a task type is letters, digits, '_', '-' and '.' (EXPORT_RESULTS, say)",
                plugmill::config::values::shorten(&kind)
            )));
        }
        Ok(Self(kind))
    }
}

/// A task type's human name: 1 to [`MAX_LEN`] characters, not all blank.
struct HumanName(String);

impl<'de> Deserialize<'de> for HumanName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.trim().is_empty() || name.len() > MAX_LEN {
            return Err(D::Error::custom(format!(
                "[task_types]: a human name is 1 to {MAX_LEN} characters (\"Export Results\", say)"
            )));
        }
        Ok(Self(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_s_types_are_built_in_and_an_unknown_one_lists_the_accepted() {
        let types = TaskTypes::default();
        assert_eq!(types.names().count(), 19);
        assert_eq!(
            types.name_of("CREATE_TRANSMISSION_PACKAGE"),
            Ok("Create Transmission Package")
        );
        assert_eq!(types.name_of("IMPORT_USERS"), Ok("Import Voters"));
        let error = types.name_of("EXPORT").unwrap_err().to_string();
        assert!(error.starts_with("`EXPORT` is not a task type"), "{error}");
        for (kind, _) in SEED_TASK_TYPES {
            assert!(error.contains(kind), "{error} lacks {kind}");
        }
    }
}
