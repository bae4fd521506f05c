//! Builds the guest workspace in `guests/` into WebAssembly components, writes two files that
//! are not plugins (`garbage.wasm`, `core-module.wasm`) into `OUT_DIR`, and generates
//! `$OUT_DIR/paths.rs` with the absolute path of every one of them.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target: rustc links a `cdylib` for it straight into a component.
const TARGET: &str = "wasm32-wasip2";

/// Variables the outer cargo hands to build scripts that would misdirect or break a nested
/// cargo: another target dir or target, the outer flags, the outer jobserver, the outer
/// wrappers (clippy, coverage).
const INHERITED_VARS: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
];

/// Prefixes of further per-build variables of the outer cargo.
const INHERITED_PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_"];

/// A core wasm module (not a component) that exports a function and a memory.
const CORE_MODULE_WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "answer") (result i32)
    i32.const 42))
"#;

/// Size of `garbage.wasm`.
const GARBAGE_LEN: usize = 512;

/// One file the generated `paths.rs` names.
struct Entry {
    /// Name in `ALL`: the guest crate's name, or `garbage` / `core-module`.
    name: String,
    /// Doc comment for its constant.
    doc: String,
    /// Absolute path.
    path: PathBuf,
}

fn main() {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_var("OUT_DIR"));
    let guests_dir = manifest_dir.join("guests");
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("test-plugins: cannot resolve the repository root (CARGO_MANIFEST_DIR/../..)");
    let target_dir = root.join("target").join("test-plugins");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=guests");
    println!("cargo:rerun-if-changed=../../wit");

    let guests = guest_crates(&guests_dir);
    build_guests(&guests_dir, &target_dir);

    let release_dir = target_dir.join(TARGET).join("release");
    let mut entries = Vec::with_capacity(guests.len() + 2);
    for guest in &guests {
        let path = release_dir.join(format!("{}.wasm", guest.replace('-', "_")));
        assert!(
            path.is_file(),
            "test-plugins: the guest build succeeded but {} is missing",
            path.display()
        );
        let doc = crate_summary(&guests_dir.join(guest).join("src").join("lib.rs"));
        entries.push(Entry {
            name: guest.clone(),
            doc,
            path,
        });
    }
    let plugin_count = entries.len();

    let garbage = out_dir.join("garbage.wasm");
    write_if_changed(&garbage, &garbage_bytes());
    entries.push(Entry {
        name: "garbage".into(),
        doc: format!("{GARBAGE_LEN} deterministic pseudo-random bytes: not wasm at all."),
        path: garbage,
    });

    let core_module = out_dir.join("core-module.wasm");
    let wasm = wat::parse_str(CORE_MODULE_WAT)
        .unwrap_or_else(|e| panic!("test-plugins: the inline core module WAT is invalid: {e}"));
    write_if_changed(&core_module, &wasm);
    entries.push(Entry {
        name: "core-module".into(),
        doc: "A core wasm module, not a component: exports `answer: () -> i32` and `memory`."
            .into(),
        path: core_module,
    });

    write_if_changed(
        &out_dir.join("paths.rs"),
        paths_rs(&entries, plugin_count).as_bytes(),
    );
}

fn env_var(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| panic!("test-plugins: cargo did not set {name}"))
}

/// Names of the guest crates: every directory under `guests/` with a `Cargo.toml`, sorted.
/// Each directory is named after its package (checked), so the names are the crate names.
fn guest_crates(guests_dir: &Path) -> Vec<String> {
    let listing = fs::read_dir(guests_dir)
        .unwrap_or_else(|e| panic!("test-plugins: cannot list {}: {e}", guests_dir.display()));
    let mut names = Vec::new();
    for entry in listing {
        let entry = entry.expect("test-plugins: cannot read the guests directory");
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let name = entry
            .file_name()
            .into_string()
            .expect("test-plugins: guest directory names must be UTF-8");
        let text = fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("test-plugins: cannot read {}: {e}", manifest.display()));
        assert!(
            text.lines()
                .any(|line| line.trim() == format!("name = \"{name}\"")),
            "test-plugins: {} must declare `name = \"{name}\"` (directory name = package name)",
            manifest.display()
        );
        names.push(name);
    }
    names.sort();
    assert!(
        !names.is_empty(),
        "test-plugins: no guest crates under {}",
        guests_dir.display()
    );
    names
}

/// Runs `cargo build --release --target wasm32-wasip2` on the guest workspace.
fn build_guests(guests_dir: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--workspace")
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(guests_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for var in INHERITED_VARS {
        command.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let inherited = key.to_str().is_some_and(|key| {
            INHERITED_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
        });
        if inherited {
            command.env_remove(&key);
        }
    }

    const HINT: &str = "hint: if `core` or `std` cannot be found for wasm32-wasip2, install the \
                        target: `rustup target add wasm32-wasip2`";
    // Captured, not inherited: a build script's stdout is parsed by cargo for directives.
    let output = command.output().unwrap_or_else(|e| {
        panic!(
            "test-plugins: could not run `{}` to build the test plugins: {e}\n{HINT}",
            Path::new(&cargo).display()
        )
    });
    if !output.status.success() {
        panic!(
            "test-plugins: building the test plugins failed ({}):\n\
             `cargo build --release --target {TARGET}` in {}\n\n{}{}\n{HINT}",
            output.status,
            guests_dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

/// The first `//!` line of a guest's `lib.rs`: what the plugin is for.
fn crate_summary(lib_rs: &Path) -> String {
    let text = fs::read_to_string(lib_rs)
        .unwrap_or_else(|e| panic!("test-plugins: cannot read {}: {e}", lib_rs.display()));
    text.lines()
        .find_map(|line| line.strip_prefix("//!"))
        .map(|line| line.trim().to_owned())
        .unwrap_or_else(|| {
            panic!(
                "test-plugins: {} needs a `//!` summary line",
                lib_rs.display()
            )
        })
}

/// Deterministic pseudo-random bytes (xorshift64*) that do not start with the wasm magic.
fn garbage_bytes() -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(GARBAGE_LEN);
    while bytes.len() < GARBAGE_LEN {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(GARBAGE_LEN);
    // Whatever the generator produced, never the `\0asm` preamble.
    bytes[0] = 0xFF;
    bytes
}

/// `valid` -> `VALID`, `route-thief` -> `ROUTE_THIEF`.
fn const_name(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}

fn paths_rs(entries: &[Entry], plugin_count: usize) -> String {
    let mut out = String::from("// @generated by crates/test-plugins/build.rs. Do not edit.\n");
    for entry in entries {
        let path = entry
            .path
            .to_str()
            .unwrap_or_else(|| panic!("test-plugins: {} is not UTF-8", entry.path.display()));
        let _ = writeln!(
            out,
            "\n/// `{}`: {}\npub const {}: &str = {path:?};",
            entry.name,
            entry.doc,
            const_name(&entry.name)
        );
    }
    let list = |entries: &[Entry]| {
        entries
            .iter()
            .map(|entry| format!("    ({:?}, {}),\n", entry.name, const_name(&entry.name)))
            .collect::<String>()
    };
    let _ = write!(
        out,
        "\n/// Every file above as `(name, path)`: the plugin components, then `garbage` and \
         `core-module`.\npub const ALL: &[(&str, &str)] = &[\n{}];\n",
        list(entries)
    );
    let _ = write!(
        out,
        "\n/// Only the components built from `guests/`, as `(crate name, path)`. The crate name \
         is not always the plugin name the manifest declares.\npub const PLUGINS: &[(&str, &str)] \
         = &[\n{}];\n",
        list(&entries[..plugin_count])
    );
    out
}

/// Writes `contents` unless the file already holds exactly that, so mtimes stay put.
fn write_if_changed(path: &Path, contents: &[u8]) {
    if fs::read(path).is_ok_and(|existing| existing == contents) {
        return;
    }
    fs::write(path, contents)
        .unwrap_or_else(|e| panic!("test-plugins: cannot write {}: {e}", path.display()));
}
