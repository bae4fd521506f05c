//! Manifest validation: any manifest is checked without a panic, and no message it produces
//! carries a raw control character (which could forge lines of output).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use plugmill::{Manifest, Route};

#[derive(Arbitrary, Debug)]
struct Input {
    name: String,
    hooks: Vec<String>,
    routes: Vec<(String, String, bool)>,
    tasks: Vec<String>,
}

fuzz_target!(|input: Input| {
    let manifest = Manifest {
        plugin_name: input.name,
        hooks: input.hooks,
        routes: input
            .routes
            .into_iter()
            .map(|(path, handler, process_as_task)| Route {
                path,
                handler,
                process_as_task,
            })
            .collect(),
        tasks: input.tasks,
    };
    for problem in plugmill::fuzzing::check_manifest(&manifest) {
        assert!(
            !problem.chars().any(|c| c.is_control()),
            "a raw control character in: {problem:?}"
        );
    }
});
