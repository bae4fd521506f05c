//! Adversarial: hook `grow` allocates 1 MiB chunks and never frees them, until the host's memory limit.

use core::hint::black_box;

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:memory-hog;

        world memory-hog {
            export plugins-manager:common/plugin-common;
            export grow: func() -> u64;
        }
    "#,
});

const CHUNK: usize = 1 << 20;

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "memory-hog".into(),
            hooks: vec!["grow".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn grow() -> u64 {
        // 4 Gi chunks of 1 MiB is far beyond what a 32-bit linear memory can hold, so this only
        // ends when an allocation fails, which aborts (traps) the instance.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        for i in 0..u32::MAX {
            let mut chunk = vec![0u8; CHUNK];
            // Touch the chunk so the pages are really used.
            chunk[0] = i as u8;
            chunk[CHUNK - 1] = i as u8;
            hoard.push(black_box(chunk));
        }
        black_box(&hoard);
        hoard.len() as u64
    }
}

export!(Plugin);
