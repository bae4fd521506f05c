//! `plugmill new`, `plugmill build` and `plugmill dev`: from nothing to a plugin answering over
//! HTTP, in Rust, JavaScript or Python.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use plugmill_host::Host;
use plugmill_server::Server;

use crate::args::HostArgs;
use crate::authoring::changes::Changes;
use crate::authoring::{scaffold, toolchain, Language, Project};

/// Writes a new project into `./name`.
pub fn new(name: &str, language: Language) -> anyhow::Result<ExitCode> {
    let dir = scaffold::create(Path::new("."), name, language)?;
    println!(
        "created {} plugin `{name}` in {}",
        language.display_name(),
        dir.display()
    );
    println!();
    println!("    cd {name} && plugmill dev");
    println!("    curl -s localhost:8080/{name}/echo -d '{{\"hello\": \"plugmill\"}}'");
    Ok(ExitCode::SUCCESS)
}

/// Builds the project in `dir`, checks the result as `inspect` does and optionally signs it.
pub async fn build(host: &HostArgs, dir: &Path, sign: Option<&Path>) -> anyhow::Result<ExitCode> {
    let project = Project::open(dir)?;
    let started = Instant::now();
    let artifact = toolchain::build(&project).await?;
    println!(
        "built {} in {:.1} s",
        artifact.display(),
        started.elapsed().as_secs_f64()
    );
    let checked = super::inspect::run(host, &artifact).await?;
    if checked != ExitCode::SUCCESS {
        return Ok(checked);
    }
    match sign {
        Some(key) => super::keys::sign(key, &[artifact]),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Builds, serves and rebuilds on every saved change until SIGTERM or SIGINT.
pub async fn dev(args: &HostArgs, dir: &Path, listen: &str) -> anyhow::Result<ExitCode> {
    let shutdown = plugmill_host::shutdown_signal();
    let project = Project::open(dir)?;
    // Watching starts before the first build: a save during it is not missed.
    let mut changes = Changes::watch(&project.dir)?;
    let dist = project.dist();
    std::fs::create_dir_all(&dist)
        .with_context(|| format!("cannot create `{}`", dist.display()))?;
    rebuild(&project).await;

    let mut options = args.options();
    options.plugins = Some(dist.display().to_string());
    let local_config = project.dir.join("plugmill.toml");
    if options.config_file.is_none() && local_config.is_file() {
        options.config_file = Some(local_config);
    }
    let server = Server::assemble(options, Some(listen)).await?;
    let address = server.settings().listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    eprintln!("==> watching {} for changes", project.dir.display());

    let host = server.host().clone();
    let watching = tokio::spawn(async move {
        while changes.next().await.is_some() {
            eprintln!("==> change saved: rebuilding");
            if rebuild(&project).await {
                reload(&host, &project).await;
            }
        }
    });
    server.serve(listener, shutdown).await?;
    watching.abort();
    Ok(ExitCode::SUCCESS)
}

/// One build; a failure is printed and leaves the last good file in place.
async fn rebuild(project: &Project) -> bool {
    let started = Instant::now();
    match toolchain::build(project).await {
        Ok(artifact) => {
            eprintln!(
                "==> built {} in {:.1} s",
                artifact.display(),
                started.elapsed().as_secs_f64()
            );
            true
        }
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("==> build failed: the last good version keeps serving");
            false
        }
    }
}

/// Swaps the rebuilt plugin in: calls in flight finish on the old version.
async fn reload(host: &Arc<Host>, project: &Project) {
    match host.reload().await {
        Ok(report) if report.rejected.is_empty() => {
            let names: Vec<_> = report
                .loaded
                .iter()
                .map(|plugin| plugin.name.as_str())
                .collect();
            eprintln!("==> reloaded: {}", names.join(", "));
        }
        Ok(report) => {
            for rejected in &report.rejected {
                eprintln!("error: {rejected}");
            }
            eprintln!(
                "==> {} was rejected: the last good version keeps serving",
                project.artifact().display()
            );
        }
        Err(error) => {
            eprintln!("error: reloading failed ({error}); the last good version keeps serving")
        }
    }
}
