//! An embedding application adds its own host interface, and a plugin imports it.
//!
//! The plugin (`crates/test-plugins/guests/host-extension`) imports `test:host/greeting` with
//! one function, `greeting-prefix: func() -> string`, and answers the `greet` hook with the
//! prefix followed by the name. The host function sees which plugin calls it.
//!
//! Run: `cargo run -p plugmill --example host_interface`

use plugmill::source::LocalDirectory;
use plugmill::wasmtime::StoreContextMut;
use plugmill::HostState;
use plugmill::PluginManager;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let manager = PluginManager::builder()
        .host_interfaces(|linker| {
            linker.instance("test:host/greeting")?.func_wrap(
                "greeting-prefix",
                |store: StoreContextMut<'_, HostState>, (): ()| {
                    Ok((format!("[{}] welcome, ", store.data().plugin_name()),))
                },
            )?;
            Ok(())
        })
        .grant_import("host-extension", "test:host/greeting")
        .build()?;

    let dir = tempfile::tempdir()?;
    std::fs::copy(
        test_plugins::HOST_EXTENSION,
        dir.path().join("host-extension.wasm"),
    )?;
    let report = manager.load(&LocalDirectory::new(dir.path())).await?;
    anyhow::ensure!(
        report.rejected.is_empty(),
        "rejected: {:?}",
        report.rejected
    );

    for outcome in manager
        .call_hook_json("greet", &[serde_json::json!("reader")])
        .await
    {
        println!("{}: {:?}", outcome.plugin, outcome.result?);
    }
    Ok(())
}
