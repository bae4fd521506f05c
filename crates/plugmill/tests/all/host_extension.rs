//! An embedding application adds its own host interface; plugins import it.

use plugmill::wasmtime::StoreContextMut;
use plugmill::HostState;
use serde_json::json;

use super::{builder, load_with, plugin_dir};

fn with_greeting() -> plugmill::ManagerBuilder {
    builder().host_interfaces(|linker| {
        linker.instance("test:host/greeting")?.func_wrap(
            "greeting-prefix",
            |store: StoreContextMut<'_, HostState>, (): ()| {
                Ok((format!("[{}] welcome, ", store.data().plugin_name()),))
            },
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn an_embedder_interface_is_linked_and_sees_the_calling_plugin() {
    let with_greeting = with_greeting().grant_import("host-extension", "test:host/greeting");
    let (manager, report, _dir) =
        load_with(with_greeting, &[("h.wasm", test_plugins::HOST_EXTENSION)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    let outcome = manager
        .call_hook_json("greet", &[json!("eve")])
        .await
        .remove(0);
    assert_eq!(
        outcome.result.unwrap(),
        vec![json!("[host-extension] welcome, eve")]
    );
}

#[tokio::test]
async fn without_the_interface_the_plugin_is_rejected_naming_it() {
    let dir = plugin_dir(&[("h.wasm", test_plugins::HOST_EXTENSION)]);
    let manager = builder().build().unwrap();
    let report = manager
        .load(&plugmill::source::LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    assert!(
        report.rejected[0].reason.contains("`test:host/greeting`"),
        "{}",
        report.rejected[0].reason
    );
}

#[tokio::test]
async fn a_provided_interface_that_is_not_granted_is_rejected_naming_it() {
    let (_, report, _dir) =
        load_with(with_greeting(), &[("h.wasm", test_plugins::HOST_EXTENSION)]).await;
    assert!(report.loaded.is_empty());
    let reason = &report.rejected[0].reason;
    assert!(
        reason.contains("imports `test:host/greeting` without a grant")
            && reason.contains("[plugins.host-extension]"),
        "{reason}"
    );
    let granted_to_all = with_greeting().grant_import("*", "test:host/greeting");
    let (_, report, _dir) =
        load_with(granted_to_all, &[("h.wasm", test_plugins::HOST_EXTENSION)]).await;
    assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
}
