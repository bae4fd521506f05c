//! The JSON bridge against the component types of the `valid` test plugin (records, variants,
//! enums, flags, options, results, tuples, lists, every scalar): any JSON converts to a value
//! of the parameter's type or is refused with a message; a value it produced conforms to the
//! type, and converts back to JSON that converts to the same value again.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plugmill::fuzzing::{answer_to_json, conforms, export_types, json_to_val, val_to_json};
use plugmill::wasmtime::component::types::ComponentFunc;
use plugmill::wasmtime::component::Type;

/// Every parameter type of every export of the `valid` plugin.
fn types() -> &'static Vec<(String, Type)> {
    static TYPES: OnceLock<Vec<(String, Type)>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let dir = std::env::temp_dir().join(format!("plugmill-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(test_plugins::VALID, dir.join("valid.wasm")).unwrap();
            let manager = plugmill::PluginManager::builder().build().unwrap();
            let source = plugmill::source::LocalDirectory::new(&dir);
            manager.load(&source).await.unwrap();
            let registry = manager.registry();
            let plugin = registry.plugin("valid").unwrap();
            let funcs: Vec<(String, ComponentFunc)> = export_types(plugin);
            funcs
                .into_iter()
                .flat_map(|(name, func)| {
                    let params: Vec<(String, Type)> = func
                        .params()
                        .map(|(param, ty)| (format!("{name}.{param}"), ty))
                        .collect();
                    let results: Vec<(String, Type)> = func
                        .results()
                        .map(|ty| (format!("{name} -> result"), ty))
                        .collect();
                    params.into_iter().chain(results)
                })
                .collect()
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let types = types();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (_, ty) = &types[usize::from(selector) % types.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // A handler's answer: never panics, deep or not.
    let _ = answer_to_json(text.to_string());
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let Ok(val) = json_to_val(&json, ty) else {
        return;
    };
    conforms(&val, ty).expect("a converted value conforms to its type");
    let back = val_to_json(&val);
    let again = json_to_val(&back, ty).expect("JSON made from a value converts back");
    assert_eq!(val, again, "the round trip keeps the value");
});
