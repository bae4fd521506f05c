//! `plugmill inspect`: everything about one plugin file without registering it: the manifest,
//! every export and import with its signature, and every problem the loader would reject it
//! for. It runs the loader's own checks with the manager's settings (size, sha256 pins,
//! signatures, links, manifest rules, exports, grants), so a valid inspection means the
//! plugin would load.

use std::sync::Arc;

use serde::Serialize;

use super::{
    check_exports, compile, link, read_manifest, validate, LoadOptions, Problem, UnknownImports,
};
use crate::plugin::manifest::{check_manifest, Manifest, Route};
use crate::plugin::signature;
use crate::runtime::Runtime;
use crate::source::PluginArtifact;

/// One export or import and its signature.
#[derive(Clone, Debug, Serialize)]
pub struct InspectionItem {
    /// The export or import name.
    pub name: String,
    /// Its type as WIT-like text.
    pub signature: String,
}

/// What `plugmill inspect` reports. Field names are part of the CLI contract.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inspection {
    /// The plugin's name, when the manifest could be read.
    pub plugin_name: Option<String>,
    /// Hooks from the manifest.
    pub hooks: Vec<String>,
    /// Routes from the manifest.
    pub routes: Vec<Route>,
    /// Tasks from the manifest.
    pub tasks: Vec<String>,
    /// Every export of the component.
    pub exports: Vec<InspectionItem>,
    /// Every import of the component.
    pub imports: Vec<InspectionItem>,
    /// Every reason the loader would reject the plugin. Empty for a valid plugin.
    pub problems: Vec<String>,
    /// What the plugin would load with a warning about.
    pub warnings: Vec<String>,
}

impl Inspection {
    /// Whether the plugin would load.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Inspects one plugin file (its bytes and signature) with the loader's checks and settings.
pub async fn inspect(
    runtime: &Arc<Runtime>,
    options: &LoadOptions,
    artifact: PluginArtifact,
) -> Inspection {
    let mut report = Inspection::default();
    let problem = |report: &mut Inspection, problem: Problem| report.problems.push(problem.message);
    let max = options.limits.max_plugin_size;
    if artifact.bytes.len() as u64 > max {
        report.problems.push(format!(
            "it is {} bytes, more than the {max} bytes allowed ([loading] max_plugin_size)",
            artifact.bytes.len()
        ));
        return report;
    }
    if let Err(refused) = options.trust.verify(&artifact) {
        problem(&mut report, refused);
    }
    let engine = runtime.engine().clone();
    let sha256 = compile::sha256(&artifact.bytes);
    let bytes = artifact.bytes.clone();
    let compiled = tokio::task::spawn_blocking(move || compile::compile(&engine, &bytes)).await;
    let component = match compiled {
        Ok(Ok(component)) => component,
        Ok(Err(refused)) => {
            problem(&mut report, refused);
            return report;
        }
        Err(error) => {
            report
                .problems
                .push(format!("compilation did not finish: {error}"));
            return report;
        }
    };
    let engine = runtime.engine();
    let ty = component.component_type();
    report.exports = ty
        .exports(engine)
        .map(|(name, item)| InspectionItem {
            name: name.into(),
            signature: signature::describe_item(engine, &item.ty),
        })
        .collect();
    report.imports = ty
        .imports(engine)
        .map(|(name, item)| InspectionItem {
            name: name.into(),
            signature: signature::describe_item(engine, &item.ty),
        })
        .collect();
    let file = artifact.file;
    let linked = match link(runtime, file.clone(), sha256, component.clone(), options) {
        Ok(linked) => linked,
        Err(refused) => {
            problem(&mut report, refused);
            // Linked leniently all the same, to show the manifest.
            let lenient = LoadOptions {
                unknown_imports: UnknownImports::Trap,
                ..LoadOptions::default()
            };
            let Ok(linked) = link(runtime, file, sha256, component.clone(), &lenient) else {
                return report;
            };
            if let Ok(manifest) = read_manifest(runtime, &linked).await {
                report.problems.extend(check_manifest(&manifest));
                let export_problems = check_exports(runtime, &component, &manifest).1;
                report
                    .problems
                    .extend(export_problems.into_iter().map(|p| p.message));
                report.describe(manifest);
            }
            report.problems.dedup();
            return report;
        }
    };
    let manifest = match read_manifest(runtime, &linked).await {
        Ok(manifest) => manifest,
        Err(refused) => {
            problem(&mut report, refused);
            return report;
        }
    };
    match validate(runtime, linked, manifest.clone(), options) {
        Ok(plugin) => report.warnings = plugin.warnings().to_vec(),
        Err(refused) => problem(&mut report, refused),
    }
    report.describe(manifest);
    report
}

impl Inspection {
    fn describe(&mut self, manifest: Manifest) {
        self.plugin_name = Some(manifest.plugin_name);
        self.hooks = manifest.hooks;
        self.routes = manifest.routes;
        self.tasks = manifest.tasks;
    }
}
