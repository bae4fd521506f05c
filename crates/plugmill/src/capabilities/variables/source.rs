//! Where a variable's value comes from: a literal, a host environment variable, or a file.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::secret::Secret;
use crate::config::HostConfig;

/// The longest value read from a file.
const MAX_FILE_BYTES: u64 = 64 << 10;

/// One variable of `[plugins.NAME.variables]`: `"text"`, `{ value = "text" }`,
/// `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Clone, PartialEq, Eq)]
pub enum VariableSource {
    /// The value itself.
    Literal(Secret),
    /// A host environment variable, read when the manager is built.
    Env(String),
    /// A file (relative to the configuration file), read when the manager is built.
    File(PathBuf),
}

impl fmt::Debug for VariableSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Literal(***)"),
            Self::Env(name) => f.debug_tuple("Env").field(name).finish(),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl VariableSource {
    /// The value, read from the environment or the file as needed. Errors name the variable
    /// or the file, never a value.
    pub(crate) fn resolve(&self, config: &HostConfig) -> Result<Secret, String> {
        match self {
            Self::Literal(value) => Ok(value.clone()),
            Self::Env(name) => std::env::var(name).map(Secret::new).map_err(|e| match e {
                std::env::VarError::NotPresent => {
                    format!("the environment variable `{name}` is not set")
                }
                std::env::VarError::NotUnicode(_) => {
                    format!("the environment variable `{name}` is not UTF-8")
                }
            }),
            Self::File(path) => read_value_file(&config.relative_path(path)),
        }
    }
}

fn read_value_file(path: &std::path::Path) -> Result<Secret, String> {
    let mut text = crate::files::read_regular_text(path, MAX_FILE_BYTES)
        .map_err(|e| format!("`{}` cannot be read: {e}", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Secret::new(text))
}

impl<'de> Deserialize<'de> for VariableSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SourceVisitor)
    }
}

struct SourceVisitor;

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = VariableSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a string, or a table with one of `value`, `env` or `file`"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<VariableSource, E> {
        Ok(VariableSource::Literal(Secret::new(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VariableSource, A::Error> {
        let mut found: Option<VariableSource> = None;
        while let Some(key) = map.next_key::<String>()? {
            let source = match key.as_str() {
                "value" => VariableSource::Literal(Secret::new(map.next_value::<String>()?)),
                "env" => VariableSource::Env(map.next_value()?),
                "file" => VariableSource::File(map.next_value()?),
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown key `{other}`: a variable is a string or a table with one of `value`, `env` or `file`"
                    )))
                }
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "a variable takes one of `value`, `env` or `file`, not several",
                ));
            }
            found = Some(source);
        }
        found.ok_or_else(|| {
            de::Error::custom("a variable table needs one of `value`, `env` or `file`")
        })
    }
}
