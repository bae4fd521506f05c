//! Linking a plugin: which of its imports no host interface provides, and (as an option)
//! linking those as functions that trap when called.
//!
//! wasmtime's type check stops at the first unresolved import; [`missing_imports`] repeats it,
//! stubbing each unresolved import on a scratch copy of the linker, so that a rejection lists
//! every import that is missing and not only the first, and the scratch linker serves the
//! option of linking unknown imports as traps.
//!
//! A stubbed interface gets stand-ins for the resources it defines, never for those it
//! `use`s from an interface imported before it (`wasi:http/types` uses `input-stream` of
//! `wasi:io/streams`): those keep the type the earlier import gave them.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker, LinkerInstance, ResourceType};
use wasmtime::Engine;

use crate::host::HostState;

/// One import that the host does not provide, with wasmtime's explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingImport {
    /// The import's name, e.g. `plugins-manager:transactions-manager/transaction`.
    pub name: String,
    /// Why it does not link (missing, or a function with a different type).
    pub detail: String,
}

/// Every import of `component` that `linker` cannot satisfy (empty when it links), and the
/// component pre-instantiated with exactly those imports defined as functions that trap.
///
/// wasmtime's own `define_unknown_imports_as_traps` is not used: it looks names up exactly,
/// so a plugin importing `wasi:cli/stdout@0.2.6` from a linker holding `@0.2.12` would get
/// trapping stand-ins that hide the real (semver-compatible) WASI functions.
pub fn missing_imports(
    engine: &Engine,
    linker: &Linker<HostState>,
    component: &Component,
) -> (Vec<MissingImport>, wasmtime::Result<InstancePre<HostState>>) {
    let error = match linker.instantiate_pre(component) {
        Ok(pre) => return (Vec::new(), Ok(pre)),
        Err(error) => error,
    };
    let ty = component.component_type();
    let imports: Vec<(String, ComponentItem)> = ty
        .imports(engine)
        .map(|(name, item)| (name.to_string(), item.ty))
        .collect();
    let defined_before = resources_defined_before(engine, &imports);
    let mut scratch = linker.clone();
    let mut missing: Vec<MissingImport> = Vec::new();
    let mut outcome = Err(error);
    for _ in 0..=imports.len() {
        let error = match outcome {
            Ok(_) => break,
            Err(error) => error,
        };
        let message = error.to_string();
        let found = imports
            .iter()
            .enumerate()
            .find(|(_, (name, _))| message.contains(&format!("`{name}`")));
        let Some((index, (name, item))) =
            found.filter(|(_, (name, _))| !missing.iter().any(|m| &m.name == name))
        else {
            missing.push(MissingImport {
                name: found
                    .map(|(_, (n, _))| n.clone())
                    .unwrap_or_else(|| "(unknown)".into()),
                detail: format!("{error:#}"),
            });
            outcome = Err(error);
            break;
        };
        missing.push(MissingImport {
            name: name.clone(),
            detail: error.root_cause().to_string(),
        });
        stub(
            engine,
            &mut scratch.root(),
            name,
            name,
            item,
            &defined_before[index],
        );
        outcome = scratch.instantiate_pre(component);
    }
    (missing, outcome)
}

/// For each import, in the component's order, the resource types the imports before it
/// introduced: a later interface that `use`s one of them refers to it, it does not define it.
fn resources_defined_before(
    engine: &Engine,
    imports: &[(String, ComponentItem)],
) -> Vec<Vec<ResourceType>> {
    let mut seen: Vec<ResourceType> = Vec::new();
    let mut before = Vec::with_capacity(imports.len());
    for (_, item) in imports {
        before.push(seen.clone());
        collect_resources(engine, item, &mut seen);
    }
    before
}

fn collect_resources(engine: &Engine, item: &ComponentItem, into: &mut Vec<ResourceType>) {
    match item {
        ComponentItem::Resource(ty) if !into.contains(ty) => into.push(*ty),
        ComponentItem::ComponentInstance(instance) => {
            for (_, export) in instance.exports(engine) {
                collect_resources(engine, &export.ty, into);
            }
        }
        _ => {}
    }
}

/// Defines `name` in `linker` as an item of type `item` whose functions trap. Items already
/// defined are left as they are, and so are the resources in `defined_before`.
fn stub(
    engine: &Engine,
    linker: &mut LinkerInstance<'_, HostState>,
    qualified: &str,
    name: &str,
    item: &ComponentItem,
    defined_before: &[ResourceType],
) {
    match item {
        ComponentItem::ComponentFunc(_) => {
            let qualified = qualified.to_string();
            let _already_defined = linker.func_new(name, move |_, _, _, _| {
                Err(wasmtime::format_err!(
                    "unknown import `{qualified}` was called: no host interface provides it"
                ))
            });
        }
        ComponentItem::ComponentInstance(instance) => {
            if let Ok(mut nested) = linker.instance(name) {
                for (export, ty) in instance.exports(engine) {
                    stub(
                        engine,
                        &mut nested,
                        &format!("{qualified}#{export}"),
                        export,
                        &ty.ty,
                        defined_before,
                    );
                }
            }
        }
        ComponentItem::Resource(ty) if defined_before.contains(ty) => {}
        ComponentItem::Resource(_) => {
            let _already_defined = linker.resource(name, ResourceType::host::<()>(), |_, _| Ok(()));
        }
        _ => {}
    }
}

/// Renders missing imports as one sentence for a rejection.
pub fn describe_missing(missing: &[MissingImport]) -> String {
    let names: Vec<String> = missing
        .iter()
        .map(|m| format!("`{}` ({})", m.name, m.detail))
        .collect();
    format!(
        "imports that no host interface provides: {}; grant or add these interfaces, or load with unknown imports linked as traps",
        names.join(", ")
    )
}
