//! Each language's toolchain: found or installed into plugmill's cache on first use, then run
//! on a project with its output passed through as the toolchain printed it.
//!
//! | language | toolchain | installed with |
//! |---|---|---|
//! | Rust | `cargo build --target wasm32-wasip2 --release` | `rustup target add wasm32-wasip2` |
//! | JavaScript | `jco componentize` (ComponentizeJS) | `npm install` into `<cache>/toolchains/js` |
//! | Python | `componentize-py componentize` | a venv and `pip install` in `<cache>/toolchains/python` |
//!
//! The cache is `$PLUGMILL_TOOLCHAINS`, else `$XDG_CACHE_HOME/plugmill/toolchains`, else
//! `~/.cache/plugmill/toolchains`. Rust builds share one target directory there
//! (`CARGO_TARGET_DIR` overrides it), so a second project reuses the first's dependencies.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::{Language, Project};

/// The pinned JavaScript toolchain.
const JCO: &str = "@bytecodealliance/jco@1.34.0";
const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.22.0";
/// The pinned Python toolchain.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Why a build produced no plugin.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The toolchain is missing and cannot be installed here.
    #[error("{0}")]
    Unavailable(String),
    /// The toolchain ran and failed; it printed why.
    #[error("{0}")]
    Failed(String),
}

/// The toolchain cache.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PLUGMILL_TOOLCHAINS").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("plugmill").join("toolchains")
}

/// Builds `project` into its [`Project::artifact`], replacing the previous file only once the
/// new one is complete.
pub async fn build(project: &Project) -> Result<PathBuf, BuildError> {
    let dist = project.dist();
    std::fs::create_dir_all(&dist)
        .map_err(|e| BuildError::Failed(format!("cannot create `{}`: {e}", dist.display())))?;
    let partial = dist.join(format!(".{}.wasm.partial", project.world));
    let built = match project.language {
        Language::Rust => build_rust(project).await?,
        Language::Js => {
            build_js(project, &partial).await?;
            partial.clone()
        }
        Language::Python => {
            build_python(project, &partial).await?;
            partial.clone()
        }
    };
    let artifact = project.artifact();
    if built != partial {
        std::fs::copy(&built, &partial)
            .map_err(|e| BuildError::Failed(format!("cannot copy `{}`: {e}", built.display())))?;
    }
    std::fs::rename(&partial, &artifact)
        .map_err(|e| BuildError::Failed(format!("cannot write `{}`: {e}", artifact.display())))?;
    Ok(artifact)
}

async fn build_rust(project: &Project) -> Result<PathBuf, BuildError> {
    ensure_rust_target().await?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("cargo-target"));
    let output = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(&project.dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .map_err(|e| BuildError::Unavailable(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(BuildError::Failed(format!(
            "cargo build failed ({}); its errors are above",
            output.status
        )));
    }
    // The cdylib cargo reports building (crate names may differ from the directory's).
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|message| message["filenames"].as_array().cloned())
        .flatten()
        .filter_map(|name| name.as_str().map(PathBuf::from))
        .rfind(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .ok_or_else(|| {
            BuildError::Failed(
                "cargo built no .wasm file: is `crate-type = [\"cdylib\"]` set under [lib] in Cargo.toml?".into(),
            )
        })
}

async fn ensure_rust_target() -> Result<(), BuildError> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stderr(Stdio::null())
        .output()
        .await;
    match installed {
        Ok(output)
            if String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2") =>
        {
            Ok(())
        }
        Ok(_) => {
            eprintln!("==> installing the Rust target wasm32-wasip2 (once)");
            run_step(
                Command::new("rustup").args(["target", "add", "wasm32-wasip2"]),
                "rustup target add wasm32-wasip2",
            )
            .await
        }
        // Without rustup, the toolchain may still have the target (a distribution's Rust).
        Err(_) => Ok(()),
    }
}

async fn build_js(project: &Project, out: &Path) -> Result<(), BuildError> {
    let jco = ensure_js().await?;
    let mut command = Command::new("node");
    command
        .arg(&jco)
        .args([
            "componentize",
            "app.js",
            "--wit",
            "wit",
            "--world-name",
            &project.world,
        ])
        // No wasi:http: plugmill calls handlers, not an HTTP handler.
        .args(["-d", "http", "-d", "fetch-event", "-o"])
        .arg(out)
        .current_dir(&project.dir);
    run_step(&mut command, "jco componentize").await
}

async fn build_python(project: &Project, out: &Path) -> Result<(), BuildError> {
    let componentize = ensure_python().await?;
    let pycache = project.dir.join("__pycache__");
    let had_pycache = pycache.exists();
    let mut command = Command::new(&componentize);
    command
        .args([
            "-d",
            "wit",
            "-w",
            &project.world,
            "componentize",
            "app",
            "-p",
            ".",
            "-o",
        ])
        .arg(out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(&project.dir);
    let outcome = run_step(&mut command, "componentize-py").await;
    if !had_pycache {
        let _ = std::fs::remove_dir_all(&pycache);
    }
    outcome
}

/// `jco`'s entry point, installed with npm on first use.
async fn ensure_js() -> Result<PathBuf, BuildError> {
    let home = cache_dir().join("js");
    let jco = home.join("node_modules/@bytecodealliance/jco/dist/jco.js");
    installed(&home, jco, async |home: &Path| {
        require(
            "node",
            "JavaScript plugins need Node.js 18 or later (https://nodejs.org)",
        )
        .await?;
        require(
            "npm",
            "JavaScript plugins need npm, which comes with Node.js",
        )
        .await?;
        eprintln!(
            "==> installing {JCO} and {COMPONENTIZE_JS} into {} (once)",
            home.display()
        );
        run_step(
            Command::new("npm")
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--save-exact",
                    "--prefix",
                ])
                .arg(home)
                .args([JCO, COMPONENTIZE_JS]),
            "npm install",
        )
        .await
    })
    .await
}

/// `componentize-py`, installed into a virtual environment on first use.
async fn ensure_python() -> Result<PathBuf, BuildError> {
    let home = cache_dir().join("python");
    let componentize = home.join("bin/componentize-py");
    installed(&home, componentize, async |home: &Path| {
        require(
            "python3",
            "Python plugins need Python 3.9 or later with its venv module",
        )
        .await?;
        eprintln!(
            "==> installing {COMPONENTIZE_PY} into {} (once)",
            home.display()
        );
        run_step(
            Command::new("python3").args(["-m", "venv"]).arg(home),
            "python3 -m venv",
        )
        .await?;
        run_step(
            Command::new(home.join("bin/pip")).args([
                "install",
                "--disable-pip-version-check",
                "--quiet",
                COMPONENTIZE_PY,
            ]),
            "pip install",
        )
        .await
    })
    .await
}

/// `entry`, running `install` into `home` first when it is missing, under a lock so that two
/// builds never install into one directory at once.
async fn installed(
    home: &Path,
    entry: PathBuf,
    install: impl AsyncFnOnce(&Path) -> Result<(), BuildError>,
) -> Result<PathBuf, BuildError> {
    if entry.is_file() {
        return Ok(entry);
    }
    let _lock = lock(home).await?;
    if !entry.is_file() {
        install(home).await?;
    }
    if entry.is_file() {
        Ok(entry)
    } else {
        Err(BuildError::Unavailable(format!(
            "the install finished but `{}` is missing",
            entry.display()
        )))
    }
}

/// Fails with `hint` when `program` cannot be run.
async fn require(program: &str, hint: &str) -> Result<(), BuildError> {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success());
    if found {
        Ok(())
    } else {
        Err(BuildError::Unavailable(format!(
            "`{program}` was not found on PATH: {hint}"
        )))
    }
}

/// An exclusive lock beside `home`, held while a toolchain is installed there.
async fn lock(home: &Path) -> Result<std::fs::File, BuildError> {
    let path = home.with_extension("lock");
    let unavailable = |e: std::io::Error| {
        BuildError::Unavailable(format!("cannot lock `{}`: {e}", path.display()))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(unavailable)?;
    }
    let file = std::fs::File::create(&path).map_err(unavailable)?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| BuildError::Unavailable(format!("cannot lock the toolchain cache: {e}")))?
        .map_err(unavailable)
}

/// Runs one step with the toolchain's output going to this process's stderr.
async fn run_step(command: &mut Command, what: &str) -> Result<(), BuildError> {
    let status = command
        .stdin(Stdio::null())
        // stdout belongs to plugmill's own output (the manifest, `listening on`).
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .await
        .map_err(|e| BuildError::Unavailable(format!("cannot run {what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed(format!(
            "{what} failed ({status}); its errors are above"
        )))
    }
}
