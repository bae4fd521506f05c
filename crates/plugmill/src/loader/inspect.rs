//! `plugmill inspect`: everything about one plugin file without registering it: the manifest,
//! every export and import with its signature, and every problem the loader would reject it
//! for.

use std::sync::Arc;

use serde::Serialize;

use super::manifest::{check_manifest, Route};
use super::{
    check_exports, compile, imports, link, read_manifest, signature, LoadOptions, UnknownImports,
};
use crate::runtime::Runtime;

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
}

impl Inspection {
    /// Whether the plugin would load.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Inspects one plugin file's bytes.
pub async fn inspect(runtime: &Arc<Runtime>, file: &str, bytes: Vec<u8>) -> Inspection {
    let mut report = Inspection::default();
    let engine = runtime.engine().clone();
    let sha256 = compile::sha256(&bytes);
    let compiled = tokio::task::spawn_blocking(move || compile::compile(&engine, &bytes)).await;
    let component = match compiled {
        Ok(Ok(component)) => component,
        Ok(Err(problem)) => {
            report.problems.push(problem.message);
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
    let (missing, _) = imports::missing_imports(engine, runtime.linker(), &component);
    if !missing.is_empty() {
        report.problems.push(imports::describe_missing(&missing));
    }
    let lenient = LoadOptions {
        unknown_imports: UnknownImports::Trap,
        ..LoadOptions::default()
    };
    let linked = match link(
        runtime,
        file.to_string(),
        sha256,
        component.clone(),
        &lenient,
    ) {
        Ok(linked) => linked,
        Err(problem) => {
            report.problems.push(problem.message);
            return report;
        }
    };
    let manifest = match read_manifest(runtime, &linked).await {
        Ok(manifest) => manifest,
        Err(problem) => {
            report.problems.push(problem.message);
            return report;
        }
    };
    report.problems.extend(check_manifest(&manifest));
    report.problems.extend(
        check_exports(runtime, &component, &manifest)
            .1
            .into_iter()
            .map(|problem| problem.message),
    );
    report.plugin_name = Some(manifest.plugin_name);
    report.hooks = manifest.hooks;
    report.routes = manifest.routes;
    report.tasks = manifest.tasks;
    report
}
