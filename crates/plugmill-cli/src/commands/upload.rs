//! `plugmill upload`: plugin files to the S3 prefix `--plugins` names, as the seed's
//! `upload_plugins_to_s3.sh` did, skipping objects that already hold the same bytes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use plugmill::source::{read_plugin_file, FetchLimits, S3Source, Uploaded};
use serde_json::json;

use crate::args::HostArgs;

pub async fn run(
    host: &HostArgs,
    files: &[PathBuf],
    workspace: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let destination_url = plugmill_host::source_url(&host.options())?;
    if !destination_url.starts_with("s3://") {
        bail!(
            "`{destination_url}`: upload needs an S3 destination: --plugins s3://BUCKET/PREFIX/ (or PLUGMILL_PLUGINS)"
        );
    }
    let mut plugins: Vec<PathBuf> = files.to_vec();
    if let Some(dir) = workspace {
        plugins.extend(built_plugins(dir)?);
    }
    if plugins.is_empty() {
        bail!("nothing to upload: name plugin files, or --workspace DIR with built plugins");
    }
    let destination = S3Source::from_env(&destination_url)?;
    let mut report = Vec::new();
    for file in &plugins {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.ends_with(".wasm"))
            .with_context(|| format!("`{}` is not a .wasm file", file.display()))?;
        let artifact = read_plugin_file(file, FetchLimits::default())
            .with_context(|| format!("`{}`", file.display()))?;
        let mut objects = vec![(name.to_string(), artifact.bytes.to_vec())];
        if let Some(signature) = artifact.signature {
            objects.push((format!("{name}.sig"), signature));
        }
        for (object, bytes) in objects {
            let size = bytes.len();
            let outcome = destination.upload(&object, bytes).await?;
            let url = destination.object_url(&object);
            if !host.json {
                match outcome {
                    Uploaded::Written => println!("uploaded  {url} ({size} bytes)"),
                    Uploaded::Unchanged => println!("unchanged {url}"),
                }
            }
            report.push(
                json!({"file": file.display().to_string(), "object": url, "status": outcome}),
            );
        }
    }
    if host.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "uploads": report }))?
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Plugins built under `dir`: `*.wasm` directly in a `wasm32-wasip2/{release,debug}` directory.
fn built_plugins(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((current, depth)) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("cannot read `{}`", current.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if depth < 8 && !path.ends_with("deps") && !path.ends_with("build") {
                    pending.push((path, depth + 1));
                }
                continue;
            }
            let profile = path.parent();
            let in_output = profile
                .and_then(|p| p.parent())
                .is_some_and(|p| p.ends_with("wasm32-wasip2"))
                && profile.is_some_and(|p| p.ends_with("release") || p.ends_with("debug"));
            if in_output && path.extension().is_some_and(|e| e == "wasm") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
