//! Where a setting's value comes from, decided here for every part of plugmill: the host
//! assembly, the server, the task service and the command line all choose through
//! [`Setting`], so the order is written once.
//!
//! The first layer that gives a value wins:
//!
//! 1. the command line (or a value a front end or an embedder passes in code);
//! 2. plugmill's own environment variable (`PLUGMILL_*`);
//! 3. `plugmill.toml`;
//! 4. the seed system's environment variable (`AWS_S3_PUBLIC_BUCKET`, `AMQP_ADDR`, ...);
//! 5. the default (the library's, or one a front end chooses for itself).
//!
//! Switches (`--strict`, `--require-signatures`) are on when any layer turns them on, and lists
//! (trusted keys) are the union of the layers. Every setting, with its flag, its variables,
//! its key and its default, is in one table: `docs/configuration.md`.
//!
//! ```
//! use plugmill::config::precedence::{Origin, Setting};
//!
//! let listen = Setting::new()
//!     .command_line(None)
//!     .environment("PLUGMILL_LISTEN", Some("0.0.0.0:9000".to_string()))
//!     .file(Some("127.0.0.1:8081".to_string()))
//!     .chosen()
//!     .unwrap();
//! assert_eq!(listen.value, "0.0.0.0:9000");
//! assert_eq!(listen.origin, Origin::Environment("PLUGMILL_LISTEN"));
//! ```

/// The layer a value came from, first to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The command line, or a value passed in code.
    CommandLine,
    /// plugmill's environment variable of this name.
    Environment(&'static str),
    /// `plugmill.toml`.
    File,
    /// The seed system's environment variable of this name.
    SeedEnvironment(&'static str),
    /// The default.
    Default,
}

impl Origin {
    /// The rank of the layer: the lowest wins.
    fn rank(self) -> u8 {
        match self {
            Self::CommandLine => 0,
            Self::Environment(_) => 1,
            Self::File => 2,
            Self::SeedEnvironment(_) => 3,
            Self::Default => 4,
        }
    }
}

/// A chosen value and the layer it came from (to point an error at it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

/// One setting's candidates: each layer offers a value or nothing, in any order; the first
/// layer in the order of this module's overview wins.
#[derive(Clone, Debug)]
pub struct Setting<T> {
    best: Option<Chosen<T>>,
}

impl<T> Default for Setting<T> {
    fn default() -> Self {
        Self { best: None }
    }
}

impl<T> Setting<T> {
    /// A setting no layer has given yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The command line's value (or one passed in code).
    pub fn command_line(self, value: Option<T>) -> Self {
        self.offer(Origin::CommandLine, value)
    }

    /// The value of plugmill's variable `variable`, as the caller read it.
    pub fn environment(self, variable: &'static str, value: Option<T>) -> Self {
        self.offer(Origin::Environment(variable), value)
    }

    /// `plugmill.toml`'s value.
    pub fn file(self, value: Option<T>) -> Self {
        self.offer(Origin::File, value)
    }

    /// The value of the seed system's variable `variable`, as the caller read it.
    pub fn seed_environment(self, variable: &'static str, value: Option<T>) -> Self {
        self.offer(Origin::SeedEnvironment(variable), value)
    }

    /// The default, when there is one.
    pub fn default_value(self, value: Option<T>) -> Self {
        self.offer(Origin::Default, value)
    }

    /// The value of the first layer that gave one, and that layer.
    pub fn chosen(self) -> Option<Chosen<T>> {
        self.best
    }

    /// The value of the first layer that gave one.
    pub fn value(self) -> Option<T> {
        self.best.map(|chosen| chosen.value)
    }

    /// The value of the first layer that gave one, else `default`.
    pub fn value_or(self, default: T) -> T {
        self.value().unwrap_or(default)
    }

    /// The value of the first layer that gave one, else `T`'s default.
    pub fn value_or_default(self) -> T
    where
        T: Default,
    {
        self.value().unwrap_or_default()
    }

    fn offer(mut self, origin: Origin, value: Option<T>) -> Self {
        let wins = match &self.best {
            Some(best) => origin.rank() < best.origin.rank(),
            None => true,
        };
        if let (true, Some(value)) = (wins, value) {
            self.best = Some(Chosen { value, origin });
        }
        self
    }
}

impl Setting<String> {
    /// plugmill's variable `variable` read from the process environment; an empty one counts
    /// as unset.
    pub fn environment_variable(self, variable: &'static str) -> Self {
        let value = std::env::var(variable).ok().filter(|v| !v.is_empty());
        self.environment(variable, value)
    }
}

/// A switch is on when any layer turns it on.
pub fn switch(layers: &[bool]) -> bool {
    layers.iter().any(|on| *on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_layer_wins_whatever_order_they_are_offered_in() {
        let chosen = Setting::new()
            .default_value(Some("default"))
            .seed_environment("SEED", Some("seed"))
            .file(Some("file"))
            .environment("PLUGMILL_X", Some("env"))
            .command_line(Some("flag"))
            .chosen()
            .unwrap();
        assert_eq!((chosen.value, chosen.origin), ("flag", Origin::CommandLine));

        let chosen = Setting::new()
            .command_line(None)
            .environment("PLUGMILL_X", None)
            .file(Some("file"))
            .seed_environment("SEED", Some("seed"))
            .default_value(Some("default"))
            .chosen()
            .unwrap();
        assert_eq!((chosen.value, chosen.origin), ("file", Origin::File));

        let chosen = Setting::new()
            .default_value(Some("default"))
            .seed_environment("SEED", Some("seed"))
            .chosen()
            .unwrap();
        assert_eq!(
            (chosen.value, chosen.origin),
            ("seed", Origin::SeedEnvironment("SEED"))
        );
        assert_eq!(Setting::<u8>::new().file(None).value_or(7), 7);
        assert!(!switch(&[false, false]) && switch(&[false, true]));
    }
}
