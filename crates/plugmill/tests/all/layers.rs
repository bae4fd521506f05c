//! The core's module import graph, drawn from its own source: every `use` and every path
//! (`crate::...`, `super::...`, a child module, a name a `use` brought in) is an arrow from the
//! file it is written in to the file that defines the item it names, through any re-exports.
//! Test modules (`#[cfg(test)]`) are left out. The test fails on an import circle between
//! files, and on an arrow from one top-level module to one above it in [`LAYERS`].
//!
//! `scripts/import-graph.sh` prints the graph's figures, circles and upward arrows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The core's top-level modules, from the top (what an application calls) down (what
/// everything else uses). A module may import only the modules below it.
const LAYERS: &[&str] = &[
    "lib",
    "seed",
    "global",
    "dispatch",
    "registry",
    "loader",
    "plugin",
    "runtime",
    "capabilities",
    "call",
    "host",
    "config",
    "grants",
    "source",
    "files",
    "redact",
];

#[test]
fn the_core_imports_downward_only() {
    // Another tree of the core's source (an earlier commit's, say) when one is given.
    let src = std::env::var_os("PLUGMILL_CORE_SRC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let graph = Graph::of(&src);
    let report = graph.report();
    println!("{report}");
    assert!(
        graph.circles().is_empty() && graph.upward().is_empty() && graph.unplaced().is_empty(),
        "{report}"
    );
}

/// One module: a file, or an inline `mod name { ... }` inside one.
#[derive(Default)]
struct Module {
    path: Vec<String>,
    file: usize,
    children: BTreeMap<String, usize>,
    /// Items defined here (types, functions, traits, constants, macros).
    defines: BTreeSet<String>,
    /// Names brought in by `use`, with the path as written and the module it is relative to.
    aliases: BTreeMap<String, Vec<String>>,
}

/// A path as written somewhere: the module it is written in and its segments.
struct Reference {
    module: usize,
    segments: Vec<String>,
}

/// The graph of one crate's source.
struct Graph {
    files: Vec<String>,
    modules: Vec<Module>,
    /// (from file, to file) -> one path that draws the arrow.
    arrows: BTreeMap<(usize, usize), String>,
}

impl Graph {
    fn of(src: &Path) -> Self {
        let mut graph = Graph {
            files: Vec::new(),
            modules: Vec::new(),
            arrows: BTreeMap::new(),
        };
        let mut references = Vec::new();
        graph.read_file(src, &src.join("lib.rs"), Vec::new(), &mut references);
        for reference in references {
            let from = graph.modules[reference.module].file;
            // A lone name that is a child module's is a variable: a module is never a value.
            let here = &graph.modules[reference.module];
            if let [only] = reference.segments.as_slice() {
                if here.children.contains_key(only) && !here.aliases.contains_key(only) {
                    continue;
                }
            }
            let Some(absolute) = graph.absolute(reference.module, &reference.segments) else {
                continue;
            };
            if let Some(to) = graph.resolve(&absolute, 0) {
                if to != from {
                    graph
                        .arrows
                        .entry((from, to))
                        .or_insert_with(|| reference.segments.join("::"));
                }
            }
        }
        graph
    }

    /// Parses `file` as module `path` and every file module it declares.
    fn read_file(
        &mut self,
        src: &Path,
        file: &Path,
        path: Vec<String>,
        references: &mut Vec<Reference>,
    ) -> usize {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let file_index = self.files.len();
        let relative = file.strip_prefix(src).expect("under src");
        self.files.push(relative.to_string_lossy().into_owned());
        let module = self.new_module(path, file_index);
        // The directory that holds this file's child modules.
        let dir: PathBuf = match file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "mod.rs") => file.parent().expect("parent").to_path_buf(),
            _ => file.with_extension(""),
        };
        self.read_items(src, &dir, module, &parsed.items, references);
        module
    }

    fn new_module(&mut self, path: Vec<String>, file: usize) -> usize {
        self.modules.push(Module {
            path,
            file,
            ..Module::default()
        });
        self.modules.len() - 1
    }

    fn read_items(
        &mut self,
        src: &Path,
        dir: &Path,
        module: usize,
        items: &[syn::Item],
        references: &mut Vec<Reference>,
    ) {
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            if let syn::Item::Mod(declared) = item {
                let name = declared.ident.to_string();
                let mut path = self.modules[module].path.clone();
                path.push(name.clone());
                let child = match &declared.content {
                    Some((_, inner)) => {
                        let child = self.new_module(path, self.modules[module].file);
                        self.read_items(src, &dir.join(&name), child, inner, references);
                        child
                    }
                    None => {
                        let flat = dir.join(format!("{name}.rs"));
                        let file = if flat.exists() {
                            flat
                        } else {
                            dir.join(&name).join("mod.rs")
                        };
                        self.read_file(src, &file, path, references)
                    }
                };
                self.modules[module].children.insert(name, child);
                continue;
            }
            if let Some(name) = item_name(item) {
                self.modules[module].defines.insert(name);
            }
            let mut collector = Collector {
                module,
                aliases: Vec::new(),
                references: Vec::new(),
            };
            collector.visit_item(item);
            for (alias, segments) in collector.aliases {
                self.modules[module].aliases.insert(alias, segments);
            }
            references.extend(collector.references);
        }
    }

    /// The absolute path (from `crate`) of `segments` as written in `module`, or `None` when
    /// it names something outside the crate (or a local variable, a generic, ...).
    fn absolute(&self, module: usize, segments: &[String]) -> Option<Vec<String>> {
        let here = &self.modules[module];
        let first = segments.first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" | "$crate" => return Some(segments[1..].to_vec()),
            "self" => here.path.clone(),
            "super" => {
                let mut path = here.path.clone();
                let mut rest = segments;
                while rest.first().map(String::as_str) == Some("super") {
                    path.pop();
                    rest = &rest[1..];
                }
                path.extend(rest.iter().cloned());
                return Some(path);
            }
            _ if here.children.contains_key(first) || here.defines.contains(first) => {
                let mut path = here.path.clone();
                path.extend(segments.iter().cloned());
                return Some(path);
            }
            _ => {
                let aliased = here.aliases.get(first)?;
                if aliased.first() == Some(first) {
                    return None; // `use serde::Serialize` style: outside the crate
                }
                let mut target = self.absolute(module, aliased)?;
                target.extend(segments[1..].iter().cloned());
                return Some(target);
            }
        };
        base.extend(segments[1..].iter().cloned());
        Some(base)
    }

    /// The file defining what the absolute path `path` names: a module's file for a module,
    /// the defining module's file for an item, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        if depth > 16 {
            return None;
        }
        let mut module = 0;
        for (i, segment) in path.iter().enumerate() {
            let here = &self.modules[module];
            if let Some(&child) = here.children.get(segment) {
                module = child;
                continue;
            }
            if here.defines.contains(segment) {
                return Some(here.file);
            }
            if let Some(aliased) = here.aliases.get(segment) {
                let mut target = self.absolute(module, aliased)?;
                target.extend(path[i + 1..].iter().cloned());
                return self.resolve(&target, depth + 1);
            }
            // A name the parser cannot see (made by a macro, a variant, a method...).
            return Some(here.file);
        }
        Some(self.modules[module].file)
    }

    fn layer(&self, file: usize) -> Option<usize> {
        let name = self.files[file]
            .split('/')
            .next()
            .expect("a path")
            .trim_end_matches(".rs");
        LAYERS.iter().position(|layer| *layer == name)
    }

    /// Files of the crate's top-level modules that [`LAYERS`] does not place.
    fn unplaced(&self) -> Vec<&str> {
        (0..self.files.len())
            .filter(|&file| self.layer(file).is_none())
            .map(|file| self.files[file].as_str())
            .collect()
    }

    /// Arrows from a module to one above it.
    fn upward(&self) -> Vec<(usize, usize)> {
        self.arrows
            .keys()
            .copied()
            .filter(|&(from, to)| match (self.layer(from), self.layer(to)) {
                (Some(from), Some(to)) => to < from,
                _ => false,
            })
            .collect()
    }

    /// Sets of files that import each other, directly or not (strongly connected components
    /// of more than one file).
    fn circles(&self) -> Vec<Vec<usize>> {
        let n = self.files.len();
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(from, to) in self.arrows.keys() {
            next[from].push(to);
        }
        // Tarjan's algorithm.
        struct State {
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            counter: usize,
            components: Vec<Vec<usize>>,
        }
        fn connect(v: usize, next: &[Vec<usize>], s: &mut State) {
            s.index[v] = Some(s.counter);
            s.low[v] = s.counter;
            s.counter += 1;
            s.stack.push(v);
            s.on_stack[v] = true;
            for &w in &next[v] {
                match s.index[w] {
                    None => {
                        connect(w, next, s);
                        s.low[v] = s.low[v].min(s.low[w]);
                    }
                    Some(index) if s.on_stack[w] => s.low[v] = s.low[v].min(index),
                    Some(_) => {}
                }
            }
            if Some(s.low[v]) == s.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = s.stack.pop().expect("on the stack");
                    s.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    s.components.push(component);
                }
            }
        }
        let mut state = State {
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            counter: 0,
            components: Vec::new(),
        };
        for v in 0..n {
            if state.index[v].is_none() {
                connect(v, &next, &mut state);
            }
        }
        state.components
    }

    fn report(&self) -> String {
        let mut out = String::new();
        let circles = self.circles();
        let upward = self.upward();
        let unplaced = self.unplaced();
        let _ = writeln!(
            out,
            "core import graph (crates/plugmill/src): {} files, {} arrows between files, {} circles ({} files in them), {} arrows that run back up",
            self.files.len(),
            self.arrows.len(),
            circles.len(),
            circles.iter().map(Vec::len).sum::<usize>(),
            upward.len(),
        );
        let _ = writeln!(out, "layers, top to bottom: {}", LAYERS.join(" > "));
        for circle in &circles {
            let names: Vec<&str> = circle.iter().map(|&f| self.files[f].as_str()).collect();
            let _ = writeln!(
                out,
                "circle of {} files: {}",
                circle.len(),
                names.join(", ")
            );
            for (&(from, to), via) in &self.arrows {
                if circle.contains(&from) && circle.contains(&to) {
                    let _ = writeln!(
                        out,
                        "    {} -> {} ({via})",
                        self.files[from], self.files[to]
                    );
                }
            }
        }
        for (from, to) in upward {
            let _ = writeln!(
                out,
                "upward: {} -> {} ({})",
                self.files[from],
                self.files[to],
                self.arrows[&(from, to)]
            );
        }
        for file in unplaced {
            let _ = writeln!(out, "not placed in a layer: {file}");
        }
        out
    }
}

/// Collects the `use` declarations and paths of one item.
struct Collector {
    module: usize,
    aliases: Vec<(String, Vec<String>)>,
    references: Vec<Reference>,
}

impl Collector {
    fn reference(&mut self, segments: Vec<String>) {
        self.references.push(Reference {
            module: self.module,
            segments,
        });
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let name = name.ident.to_string();
                let mut full = prefix.clone();
                if name != "self" {
                    full.push(name.clone());
                }
                let alias = full.last().cloned().unwrap_or(name);
                self.reference(full.clone());
                self.aliases.push((alias, full));
            }
            syn::UseTree::Rename(rename) => {
                let mut full = prefix.clone();
                if rename.ident != "self" {
                    full.push(rename.ident.to_string());
                }
                self.reference(full.clone());
                if rename.rename != "_" {
                    self.aliases.push((rename.rename.to_string(), full));
                }
            }
            syn::UseTree::Glob(_) => self.reference(prefix.clone()),
            syn::UseTree::Group(group) => {
                for tree in &group.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl Collector {
    /// The paths (`a::b::C`) in a macro's tokens, which the parser leaves unparsed.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        use proc_macro2::TokenTree;
        let mut path: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match &token {
                TokenTree::Ident(ident) if path.is_empty() || colons == 2 => {
                    path.push(ident.to_string());
                    colons = 0;
                    continue;
                }
                TokenTree::Punct(punct) if punct.as_char() == ':' && !path.is_empty() => {
                    colons += 1;
                    if colons <= 2 {
                        continue;
                    }
                }
                TokenTree::Group(group) => {
                    self.flush(&mut path);
                    self.tokens(group.stream());
                    colons = 0;
                    continue;
                }
                _ => {}
            }
            self.flush(&mut path);
            colons = 0;
            if let TokenTree::Ident(ident) = &token {
                path.push(ident.to_string());
            }
        }
        self.flush(&mut path);
    }

    fn flush(&mut self, path: &mut Vec<String>) {
        if !path.is_empty() {
            self.reference(std::mem::take(path));
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        if item.leading_colon.is_none() {
            self.use_tree(&mut prefix, &item.tree);
        }
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {
        // `pub(crate)`, `pub(super)`: not an import.
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.reference(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.tokens(mac.tokens.clone());
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        // Paths inside strings: `#[serde(with = "crate::config::values::duration")]`.
        if attribute.path().is_ident("doc") {
            return;
        }
        let text = quote::ToTokens::to_token_stream(&attribute.meta).to_string();
        for quoted in text.split('"').skip(1).step_by(2) {
            if quoted.starts_with("crate::") {
                self.reference(quoted.split("::").map(str::to_string).collect());
            }
        }
    }
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attribute| {
        attribute.path().is_ident("cfg")
            && quote::ToTokens::to_token_stream(&attribute.meta)
                .to_string()
                .replace(' ', "")
                == "cfg(test)"
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}
