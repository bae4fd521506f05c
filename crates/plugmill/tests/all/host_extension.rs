//! An embedding application adds its own host interface; plugins import it.

use plugmill::runtime::HostState;
use plugmill::wasmtime::StoreContextMut;
use serde_json::json;

use super::{builder, load_with, plugin_dir};

#[tokio::test]
async fn an_embedder_interface_is_linked_and_sees_the_calling_plugin() {
    let with_greeting = builder().host_interfaces(|linker| {
        linker.instance("test:host/greeting")?.func_wrap(
            "greeting-prefix",
            |store: StoreContextMut<'_, HostState>, (): ()| {
                Ok((format!("[{}] welcome, ", store.data().plugin_name()),))
            },
        )?;
        Ok(())
    });
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
