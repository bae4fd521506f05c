//! The one grant model: what host configuration gives each plugin, by plugin name, with `*`
//! for every plugin.
//!
//! Every per-plugin setting (deadlines, WASI access, imports) and every capability's grant
//! (databases, variables) is a [`PluginGrants`]. The `*` entry applies to every plugin and a
//! plugin's own entry adds to it ([`Merge`]): lists and sets are joined, single values of the
//! plugin's own entry win. Nowhere else is `*` interpreted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The key that grants something to every plugin.
pub const EVERY_PLUGIN: &str = "*";

/// How a plugin's own entry adds to the `*` entry.
pub trait Merge {
    /// Adds `own` to `self` (the `*` entry): collections are joined, set values of `own` win.
    fn merge(&mut self, own: &Self);
}

impl<T: Ord + Clone> Merge for BTreeSet<T> {
    fn merge(&mut self, own: &Self) {
        self.extend(own.iter().cloned());
    }
}

impl<K: Ord + Clone, V: Clone> Merge for BTreeMap<K, V> {
    fn merge(&mut self, own: &Self) {
        self.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

impl<T: Clone> Merge for Vec<T> {
    fn merge(&mut self, own: &Self) {
        self.extend(own.iter().cloned());
    }
}

impl<T: Clone> Merge for Option<T> {
    fn merge(&mut self, own: &Self) {
        if own.is_some() {
            self.clone_from(own);
        }
    }
}

/// Grants by plugin name, plus the `*` entry every plugin gets.
#[derive(Clone, Debug)]
pub struct PluginGrants<T> {
    every: T,
    own: HashMap<String, T>,
}

impl<T: Default> Default for PluginGrants<T> {
    fn default() -> Self {
        Self {
            every: T::default(),
            own: HashMap::new(),
        }
    }
}

impl<T: Default + Clone + Merge> PluginGrants<T> {
    /// The entry of `plugin`, or the `*` entry for `*`, created empty if missing.
    pub fn entry(&mut self, plugin: &str) -> &mut T {
        if plugin == EVERY_PLUGIN {
            &mut self.every
        } else {
            self.own.entry(plugin.to_string()).or_default()
        }
    }

    /// What `plugin` is granted: the `*` entry merged with its own.
    pub fn resolve(&self, plugin: &str) -> T {
        let mut granted = self.every.clone();
        if let Some(own) = self.own.get(plugin) {
            granted.merge(own);
        }
        granted
    }

    /// The entries that apply to `plugin`, without copying: its own first (it wins), then
    /// the `*` entry.
    pub fn entries_for<'a>(&'a self, plugin: &str) -> impl Iterator<Item = &'a T> + 'a {
        self.own.get(plugin).into_iter().chain(Some(&self.every))
    }

    /// Every entry with its key (`*` included), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.own
            .iter()
            .map(|(name, grant)| (name.as_str(), grant))
            .chain(Some((EVERY_PLUGIN, &self.every)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_gets_the_every_plugin_entry_and_its_own() {
        let mut grants: PluginGrants<BTreeSet<&str>> = PluginGrants::default();
        grants.entry("*").insert("shared");
        grants.entry("audit").insert("audit-db");
        assert_eq!(
            grants.resolve("audit"),
            BTreeSet::from(["audit-db", "shared"])
        );
        assert_eq!(grants.resolve("other"), BTreeSet::from(["shared"]));
        assert_eq!(grants.entries_for("audit").count(), 2);
        assert_eq!(grants.entries_for("other").count(), 1);
    }

    #[test]
    fn a_plugin_s_own_single_values_win() {
        let mut grants: PluginGrants<BTreeMap<&str, &str>> = PluginGrants::default();
        grants.entry("*").insert("region", "eu");
        grants.entry("*").insert("tier", "free");
        grants.entry("billing").insert("tier", "paid");
        let billing = grants.resolve("billing");
        assert_eq!(billing["tier"], "paid");
        assert_eq!(billing["region"], "eu");
        let mut fuel: PluginGrants<Option<u64>> = PluginGrants::default();
        *fuel.entry("*") = Some(10);
        *fuel.entry("heavy") = Some(99);
        assert_eq!(fuel.resolve("heavy"), Some(99));
        assert_eq!(fuel.resolve("light"), Some(10));
    }
}
