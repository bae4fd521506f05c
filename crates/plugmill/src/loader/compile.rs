//! Compiling plugin bytes into components, all files in parallel on every core, after a cheap
//! header check that gives garbage files and core modules a clear reason. With a
//! [`PrecompiledCache`], a file compiled before (same bytes, same engine settings) is loaded
//! from its checked cache entry instead.

use plugmill_precompiled::{Outcome, PrecompiledCache};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use super::{Problem, RejectionCode};

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];

/// Why bytes are not a component, from their header alone.
pub(crate) fn header_problem(bytes: &[u8]) -> Option<Problem> {
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Some(Problem::new(
            RejectionCode::NotWasm,
            "not a WebAssembly file: it does not start with the `\\0asm` magic number",
        ));
    }
    if bytes[4..8] == CORE_MODULE_VERSION {
        return Some(Problem::new(
            RejectionCode::NotAComponent,
            "a core WebAssembly module, not a component: build plugins for `wasm32-wasip2` (or wrap the module with `wasm-tools component new`)",
        ));
    }
    None
}

/// Compiles one file's bytes.
pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, Problem> {
    if let Some(problem) = header_problem(bytes) {
        return Err(problem);
    }
    Component::new(engine, bytes).map_err(|e| {
        Problem::new(
            RejectionCode::InvalidComponent,
            format!("does not compile as a component: {e:#}"),
        )
    })
}

/// The sha256 of a file's bytes, its identity for the cache and for reloads.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// One input, compiled or loaded from the cache.
pub(crate) struct Compiled {
    /// The component, or why there is none.
    pub component: Result<Component, Problem>,
    /// How the cache served it, when there is a cache and the bytes look like a component.
    pub cache: Option<Outcome>,
}

/// Compiles (or loads from `cache`) every input in parallel, keeping the input order.
/// `parts` gives an input's bytes and their [`sha256`].
pub(crate) fn compile_all<T: Sync>(
    engine: &Engine,
    cache: Option<&PrecompiledCache>,
    inputs: &[T],
    parts: impl Fn(&T) -> (&[u8], &[u8; 32]) + Sync,
) -> Vec<Compiled> {
    inputs
        .par_iter()
        .map(|input| {
            let (bytes, sha256) = parts(input);
            let one = || match cache {
                Some(cache) if header_problem(bytes).is_none() => {
                    let (component, outcome) =
                        cache.load_or_compile(sha256, || compile(engine, bytes));
                    (component, Some(outcome))
                }
                _ => (compile(engine, bytes), None),
            };
            // A panic while compiling one file fails that file, not the whole load.
            let (component, cache) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(one))
                .unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("no message");
                    let problem = Problem::new(
                        RejectionCode::LoadFailed,
                        format!("compiling failed in the host: {message}"),
                    );
                    (Err(problem), None)
                });
            Compiled { component, cache }
        })
        .collect()
}
