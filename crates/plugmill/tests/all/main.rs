//! plugmill's integration tests: one binary, shared helpers, test plugins built from source
//! by the `test-plugins` crate.

mod authorization;
mod cache;
mod config_sections;
mod database;
mod dispatch;
mod documents;
mod hardening;
mod host_extension;
mod http;
mod instances;
mod integrity;
mod json_bridge;
mod layers;
mod line_b;
mod loading;
mod logs;
mod reload;
mod s3;
mod sandbox;
mod secrets;
mod seed;
#[path = "../../examples/seed_platform/queries.rs"]
mod seed_platform_queries;
mod seed_shaped;
mod typed;
mod variables;

use std::path::Path;
use std::time::Duration;

use plugmill::config::HostConfig;
use plugmill::source::LocalDirectory;
use plugmill::{LoadReport, ManagerBuilder, PluginManager};
use serde_json::Value;
use tempfile::TempDir;

/// A directory holding the given plugin files under the given names (names decide load order).
pub fn plugin_dir(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, source) in files {
        std::fs::copy(source, dir.path().join(name))
            .unwrap_or_else(|e| panic!("copy {source}: {e}"));
    }
    dir
}

/// A builder with short deadlines so failing tests fail fast.
pub fn builder() -> ManagerBuilder {
    PluginManager::builder()
        .manifest_timeout(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(5))
}

/// Loads `files` with `builder`; returns the manager, the report and the directory guard.
pub async fn load_with(
    builder: ManagerBuilder,
    files: &[(&str, &str)],
) -> (PluginManager, LoadReport, TempDir) {
    let dir = plugin_dir(files);
    let manager = builder.build().expect("manager");
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .expect("load");
    (manager, report, dir)
}

/// Loads `files` with the default test builder.
pub async fn load(files: &[(&str, &str)]) -> (PluginManager, LoadReport, TempDir) {
    load_with(builder(), files).await
}

/// The rejection of `file`, or a panic listing what was rejected.
pub fn rejection<'a>(report: &'a LoadReport, file: &str) -> &'a plugmill::Rejection {
    report
        .rejected
        .iter()
        .find(|r| Path::new(&r.file).file_name().and_then(|n| n.to_str()) == Some(file))
        .unwrap_or_else(|| panic!("{file} was not rejected; rejected: {:#?}", report.rejected))
}

/// A WIT `result` a hook returned as JSON (`{"ok": ...}` or `{"err": "..."}`): the value or
/// the error's text.
pub fn hook_result(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(mut result) if result.contains_key("ok") => Ok(result.remove("ok").unwrap()),
        Value::Object(result) => Err(result["err"].as_str().unwrap().to_string()),
        other => panic!("not a result: {other}"),
    }
}

/// What the manager builder says of the configuration `text`, or a panic if it accepts it.
pub fn config_error(text: &str) -> String {
    let config = HostConfig::parse(text, "plugmill.toml").unwrap();
    let error = match builder().config(&config) {
        Ok(builder) => builder.build().err().map(|e| e.to_string()),
        Err(error) => Some(error.to_string()),
    };
    error.unwrap_or_else(|| panic!("{text} was accepted"))
}
