//! Compiling plugin bytes into components, all files in parallel on every core, after a cheap
//! header check that gives garbage files and core modules a clear reason.

use rayon::prelude::*;
use wasmtime::component::Component;
use wasmtime::Engine;

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// Why bytes are not a component, from their header alone.
pub fn header_problem(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Some(
            "not a WebAssembly file: it does not start with the `\\0asm` magic number".into(),
        );
    }
    if bytes[4..8] == CORE_MODULE_VERSION {
        return Some(
            "a core WebAssembly module, not a component: build plugins for `wasm32-wasip2` (or wrap the module with `wasm-tools component new`)".into(),
        );
    }
    None
}

/// Compiles one file's bytes.
pub fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    if let Some(problem) = header_problem(bytes) {
        return Err(problem);
    }
    Component::new(engine, bytes).map_err(|e| format!("does not compile as a component: {e:#}"))
}

/// Compiles every input in parallel, keeping the input order.
pub fn compile_all<T: Sync>(
    engine: &Engine,
    inputs: &[T],
    bytes: impl Fn(&T) -> &[u8] + Sync,
) -> Vec<Result<Component, String>> {
    inputs
        .par_iter()
        .map(|input| compile(engine, bytes(input)))
        .collect()
}
