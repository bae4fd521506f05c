//! Reading one section of the configuration text at a time, so each capability and front end
//! parses its own section with its own types, and errors still name the line.
//!
//! Every read deserializes straight from the text (never from an intermediate value), which
//! is what keeps TOML's line numbers in the errors. [`at`] reads the value at a path of keys,
//! [`each_plugin`] reads one key of every `[plugins.NAME]` table, and [`check_keys`] refuses
//! keys nobody reads (a typo would otherwise be ignored silently).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// The value at `path` (keys from the root of the document), or `None` when it is absent.
pub(crate) fn at<T: for<'de> Deserialize<'de>>(
    text: &str,
    path: &[&str],
) -> Result<Option<T>, toml::de::Error> {
    At {
        path,
        seed: PhantomData::<T>,
    }
    .deserialize(toml::Deserializer::new(text))
}

/// The value of `key` in every `[plugins.NAME]` table that has it, by plugin name.
pub(crate) fn each_plugin<T: for<'de> Deserialize<'de>>(
    text: &str,
    key: &str,
) -> Result<BTreeMap<String, T>, toml::de::Error> {
    let plugins = At {
        path: &["plugins"],
        seed: EachPlugin {
            key,
            marker: PhantomData::<T>,
        },
    }
    .deserialize(toml::Deserializer::new(text))?;
    Ok(plugins.unwrap_or_default())
}

/// Fails on the first top-level key not in `top`, or `[plugins.NAME]` key not in `plugin`,
/// naming it, its line, and the keys that are known.
pub(crate) fn check_keys(text: &str, top: &[&str], plugin: &[&str]) -> Result<(), toml::de::Error> {
    KnownKeys { top, plugin }.deserialize(toml::Deserializer::new(text))
}

/// Reads the value at `path` with `seed`, skipping everything else.
struct At<'p, S> {
    path: &'p [&'p str],
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for At<'_, S> {
    type Value = Option<S::Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            None => self.seed.deserialize(deserializer).map(Some),
            Some((key, rest)) => deserializer.deserialize_map(AtVisitor {
                key,
                rest,
                seed: Some(self.seed),
            }),
        }
    }
}

struct AtVisitor<'p, S> {
    key: &'p str,
    rest: &'p [&'p str],
    seed: Option<S>,
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for AtVisitor<'_, S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            match self.seed.take() {
                Some(seed) if key == self.key => {
                    found = map.next_value_seed(At {
                        path: self.rest,
                        seed,
                    })?;
                }
                seed => {
                    self.seed = seed;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// `[plugins]`: the value of `key` in each plugin's table.
struct EachPlugin<'k, T> {
    key: &'k str,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for EachPlugin<'_, T> {
    type Value = BTreeMap<String, T>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for EachPlugin<'_, T> {
    type Value = BTreeMap<String, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table of plugin tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(plugin) = map.next_key::<String>()? {
            let value = map.next_value_seed(At {
                path: &[self.key],
                seed: PhantomData::<T>,
            })?;
            if let Some(value) = value {
                entries.insert(plugin, value);
            }
        }
        Ok(entries)
    }
}

struct KnownKeys<'k> {
    top: &'k [&'k str],
    plugin: &'k [&'k str],
}

impl<'de> DeserializeSeed<'de> for KnownKeys<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KnownKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Known {
            keys: self.top,
            what: "section",
        })? {
            if key == "plugins" {
                map.next_value_seed(PluginTables(self.plugin))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `[plugins]`: every plugin table's keys must be known.
struct PluginTables<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for PluginTables<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PluginTables<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a table of plugin tables, `[plugins.NAME]`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<String>()?.is_some() {
            map.next_value_seed(PluginTable(self.0))?;
        }
        Ok(())
    }
}

struct PluginTable<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for PluginTable<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PluginTable<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a plugin table, `[plugins.NAME]`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map
            .next_key_seed(Known {
                keys: self.0,
                what: "plugin setting",
            })?
            .is_some()
        {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A key that must be one of `keys`.
struct Known<'k> {
    keys: &'k [&'k str],
    what: &'static str,
}

impl<'de> DeserializeSeed<'de> for Known<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Known<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.keys.contains(&key) {
            return Ok(key.to_string());
        }
        let mut known: Vec<&str> = self.keys.to_vec();
        known.sort_unstable();
        Err(E::custom(format!(
            "unknown {} `{key}`, expected one of: {}",
            self.what,
            known.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[limits]
fuel = 10

[databases.audit]
url = "sqlite://a.db"

[plugins.alpha]
fuel = 5
databases = ["audit"]

[plugins.beta.variables]
region = "eu"
"#;

    #[test]
    fn a_section_is_read_by_its_path() {
        let fuel: Option<u64> = at(TEXT, &["limits", "fuel"]).unwrap();
        assert_eq!(fuel, Some(10));
        let url: Option<String> = at(TEXT, &["databases", "audit", "url"]).unwrap();
        assert_eq!(url.as_deref(), Some("sqlite://a.db"));
        let missing: Option<u64> = at(TEXT, &["server"]).unwrap();
        assert_eq!(missing, None);
    }

    #[test]
    fn one_key_of_every_plugin_table_is_read() {
        let databases: BTreeMap<String, Vec<String>> = each_plugin(TEXT, "databases").unwrap();
        assert_eq!(databases.len(), 1);
        assert_eq!(databases["alpha"], ["audit"]);
        let variables: BTreeMap<String, BTreeMap<String, String>> =
            each_plugin(TEXT, "variables").unwrap();
        assert_eq!(variables["beta"]["region"], "eu");
    }

    #[test]
    fn errors_in_a_section_name_the_line() {
        let error = at::<u64>(TEXT, &["databases", "audit", "url"]).unwrap_err();
        assert!(error.to_string().contains("line 6"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let top = ["limits", "databases", "plugins"];
        let plugin = ["fuel", "databases", "variables"];
        check_keys(TEXT, &top, &plugin).unwrap();
        let error = check_keys(TEXT, &["limits", "plugins"], &plugin).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown section `databases`"), "{text}");
        assert!(text.contains("line 5"), "{text}");
        let error = check_keys(TEXT, &top, &["fuel", "variables"]).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("unknown plugin setting `databases`"),
            "{text}"
        );
        assert!(text.contains("line 10"), "{text}");
    }
}
