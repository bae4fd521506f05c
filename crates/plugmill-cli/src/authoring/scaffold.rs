//! `plugmill new`: a ready plugin project, written from templates and the WIT packages this
//! binary carries.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Language;

/// plugmill's WIT packages, as `wit/deps/<dir>/<file>` of a project.
const WIT_PACKAGES: &[(&str, &str)] = &[
    (
        "common/plugin.wit",
        include_str!("../../../../wit/common/plugin.wit"),
    ),
    (
        "jwt/authorization.wit",
        include_str!("../../../../wit/jwt/authorization.wit"),
    ),
    (
        "transactions-manager/transaction.wit",
        include_str!("../../../../wit/transactions-manager/transaction.wit"),
    ),
    (
        "database/database.wit",
        include_str!("../../../../wit/database/database.wit"),
    ),
    (
        "variables/variables.wit",
        include_str!("../../../../wit/variables/variables.wit"),
    ),
];

const WORLD: &str = include_str!("../../templates/world.wit");
const README: &str = include_str!("../../templates/README.md");
const GITIGNORE: &str = include_str!("../../templates/gitignore");

/// Each language's own files: path in the project, template.
fn language_files(language: Language) -> &'static [(&'static str, &'static str)] {
    match language {
        Language::Rust => &[
            (
                "Cargo.toml",
                include_str!("../../templates/rust/Cargo.toml"),
            ),
            (
                "src/lib.rs",
                include_str!("../../templates/rust/src/lib.rs"),
            ),
        ],
        Language::Js => &[
            ("app.js", include_str!("../../templates/js/app.js")),
            (
                "app.test.js",
                include_str!("../../templates/js/app.test.js"),
            ),
            (
                "package.json",
                include_str!("../../templates/js/package.json"),
            ),
        ],
        Language::Python => &[
            ("app.py", include_str!("../../templates/python/app.py")),
            (
                "handlers.py",
                include_str!("../../templates/python/handlers.py"),
            ),
            (
                "test_handlers.py",
                include_str!("../../templates/python/test_handlers.py"),
            ),
        ],
    }
}

/// Checks a new plugin's name: it names the plugin, its world, its directory and (for Rust)
/// its crate, so it is a WIT identifier plugmill accepts as a plugin name: lowercase words of
/// letters and digits, each starting with a letter, joined by single `-`.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let rule = "a plugin name for `plugmill new` is lowercase words of letters and digits, each starting with a letter, joined by single `-` (for example `hello` or `audit-log2`)";
    let words_ok = !name.is_empty()
        && name.len() <= 64
        && name.split('-').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !words_ok {
        anyhow::bail!(
            "`{}` is not a valid name: {rule}",
            plugmill::config::values::shorten(name)
        );
    }
    if !plugmill_guest::is_plugin_name(name) {
        anyhow::bail!(
            "`{name}` is reserved for the server's own endpoints ({}); choose another",
            plugmill_guest::RESERVED_NAMES.join(", ")
        );
    }
    Ok(())
}

/// Writes the project `name` in `language` into `parent/name`, which must not exist yet.
pub fn create(parent: &Path, name: &str, language: Language) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    let dir = parent.join(name);
    if dir.exists() {
        anyhow::bail!(
            "`{}` already exists; choose another name or remove it",
            dir.display()
        );
    }
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{language}}", language.display_name())
            .replace("{{guest_dependency}}", &guest_dependency())
            .replace("{{test_command}}", test_command(language))
            .replace("{{source}}", source_file(language))
    };
    let mut files: Vec<(String, String)> = vec![
        ("wit/world.wit".into(), fill(WORLD)),
        ("README.md".into(), fill(README)),
        (".gitignore".into(), GITIGNORE.into()),
    ];
    for (path, text) in WIT_PACKAGES {
        files.push((format!("wit/deps/{path}"), (*text).into()));
    }
    for (path, template) in language_files(language) {
        files.push(((*path).into(), fill(template)));
    }
    // Written aside and renamed into place: an interrupted `new` leaves no half project.
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let outcome = (|| -> anyhow::Result<()> {
        for (path, text) in &files {
            let path = partial.join(path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)
                    .with_context(|| format!("cannot create `{}`", folder.display()))?;
            }
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        std::fs::rename(&partial, &dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))
    })();
    if outcome.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    outcome.map(|()| dir)
}

/// The `plugmill-guest` dependency line: this checkout's crate when the binary runs from a
/// plugmill source tree, else the published crate.
fn guest_dependency() -> String {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugmill-guest");
    match local.canonicalize() {
        Ok(path) if path.join("Cargo.toml").is_file() => {
            format!(
                "plugmill-guest = {{ path = {:?} }}",
                path.display().to_string()
            )
        }
        _ => format!("plugmill-guest = \"{}\"", env!("CARGO_PKG_VERSION")),
    }
}

fn test_command(language: Language) -> &'static str {
    match language {
        Language::Rust => "cargo test",
        Language::Js => "node --test",
        Language::Python => "python3 -m unittest",
    }
}

fn source_file(language: Language) -> &'static str {
    match language {
        Language::Rust => "src/lib.rs",
        Language::Js => "app.js",
        Language::Python => "app.py",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_name_a_world_a_crate_and_a_plugin_are_refused() {
        for good in ["hello", "audit-log2", "a"] {
            check_name(good).unwrap();
        }
        for bad in [
            "", "Hello", "2x", "a--b", "a-", "-a", "a_b", "a-2b", "metrics",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_project_is_written_whole_and_never_over_an_existing_directory() {
        let parent = tempfile::tempdir().unwrap();
        for language in [Language::Rust, Language::Js, Language::Python] {
            let name = format!("p-{}", language.display_name().to_lowercase());
            let dir = create(parent.path(), &name, language).unwrap();
            let world = std::fs::read_to_string(dir.join("wit/world.wit")).unwrap();
            assert!(world.contains(&format!("world {name} {{")), "{world}");
            assert!(dir.join("wit/deps/common/plugin.wit").is_file());
            assert!(!std::fs::read_to_string(dir.join("README.md"))
                .unwrap()
                .contains("{{"));
            let project = super::super::Project::open(&dir).unwrap();
            assert_eq!(
                (project.language, project.world.as_str()),
                (language, name.as_str())
            );
            let again = create(parent.path(), &name, language).unwrap_err();
            assert!(again.to_string().contains("already exists"), "{again}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }
}
