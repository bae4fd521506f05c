//! Plugin authoring: `plugmill new` writes a project ([`scaffold`]), `plugmill build` turns a
//! project into a component with its language's toolchain ([`toolchain`]), and `plugmill dev`
//! rebuilds it on every saved change ([`changes`]).

pub mod changes;
pub mod scaffold;
pub mod toolchain;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A plugin project's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust, with wit-bindgen and the `plugmill-guest` crate (`cargo`, target wasm32-wasip2).
    Rust,
    /// JavaScript, built with jco componentize (from npm).
    Js,
    /// Python, built with componentize-py (from PyPI).
    Python,
}

impl Language {
    /// How the language is named to people.
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Js => "JavaScript",
            Language::Python => "Python",
        }
    }
}

/// A plugin project on disk.
#[derive(Clone, Debug)]
pub struct Project {
    /// Its directory.
    pub dir: PathBuf,
    /// Its language, from the files it holds.
    pub language: Language,
    /// The world of `wit/world.wit`, which names the built file.
    pub world: String,
}

impl Project {
    /// The project in `dir`: Rust when it has a `Cargo.toml`, JavaScript an `app.js`, Python
    /// an `app.py`; its world is the one `wit/world.wit` declares.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("no plugin project at `{}`", dir.display()))?;
        let language = if dir.join("Cargo.toml").is_file() {
            Language::Rust
        } else if dir.join("app.js").is_file() {
            Language::Js
        } else if dir.join("app.py").is_file() {
            Language::Python
        } else {
            anyhow::bail!(
                "`{}` is not a plugin project: it has no Cargo.toml (Rust), app.js (JavaScript) or app.py (Python); `plugmill new NAME` makes one",
                dir.display()
            );
        };
        let wit = dir.join("wit").join("world.wit");
        let text = std::fs::read_to_string(&wit)
            .with_context(|| format!("cannot read `{}` (the plugin's world)", wit.display()))?;
        let world = world_name(&text)
            .with_context(|| format!("`{}` declares no `world NAME {{ ... }}`", wit.display()))?;
        Ok(Self {
            dir,
            language,
            world,
        })
    }

    /// Where builds land: `dist/` of the project.
    pub fn dist(&self) -> PathBuf {
        self.dir.join("dist")
    }

    /// The built plugin file.
    pub fn artifact(&self) -> PathBuf {
        self.dist().join(format!("{}.wasm", self.world))
    }
}

/// The name of the first world a WIT document declares.
fn world_name(text: &str) -> Option<String> {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default().trim())
        .find_map(|line| {
            let rest = line.strip_prefix("world ")?;
            let name = rest.split(|c: char| c.is_whitespace() || c == '{').next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::world_name;

    #[test]
    fn the_world_is_found_past_comments_and_packages() {
        let text = "// world commented {\npackage local:x;\n\nworld hello-there {\n  export f: func();\n}\n";
        assert_eq!(world_name(text).as_deref(), Some("hello-there"));
        assert_eq!(world_name("world w{}").as_deref(), Some("w"));
        assert_eq!(world_name("package a:b;\ninterface i {}"), None);
    }
}
