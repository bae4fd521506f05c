//! Adversarial: hook `recurse` recurses without end until the stack overflows and the instance traps.

use core::hint::black_box;

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:stack-overflow;

        world stack-overflow {
            export plugins-manager:common/plugin-common;
            export recurse: func(n: u64) -> u64;
        }
    "#,
});

struct Plugin;

/// Not a tail call: the result is used after the recursive call returns, and each frame keeps a
/// buffer alive across it. The exit condition is opaque to the optimizer and never true in
/// practice (it would take 2^64 frames).
#[inline(never)]
fn dive(n: u64) -> u64 {
    let frame = black_box([n as u8; 64]);
    if black_box(n) == u64::MAX {
        return n;
    }
    let below = dive(black_box(n.wrapping_add(1)));
    black_box(below.wrapping_add(u64::from(frame[0])))
}

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "stack-overflow".into(),
            hooks: vec!["recurse".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn recurse(n: u64) -> u64 {
        dive(n)
    }
}

export!(Plugin);
