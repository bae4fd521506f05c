//! The seed's host API from `plugmill_host::seed`: the first `get_plugin_manager().await`
//! assembles the process-wide manager from the environment, as the seed's loaded its bucket
//! on first use. (A binary of its own: it sets the process environment and the process-wide
//! manager.)

#[tokio::test]
async fn get_plugin_manager_assembles_from_the_environment_on_first_use() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugins::VALID, plugins.path().join("valid.wasm")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("PLUGMILL_PLUGINS", plugins.path());
    std::env::set_var("PLUGMILL_CACHE_DIR", cache.path());

    assert!(plugmill::get_plugin_manager().is_err());
    let plugin_manager = plugmill_host::seed::get_plugin_manager().await.unwrap();
    let answer = plugin_manager
        .call_route("/valid/echo", r#"{"a": 1}"#.to_string())
        .await
        .unwrap();
    assert_eq!(answer, serde_json::json!({"a": 1}));
    let anywhere = plugmill::get_plugin_manager().unwrap();
    assert!(std::sync::Arc::ptr_eq(plugin_manager.manager(), &anywhere));
    plugmill_host::seed::init_plugin_manager().await.unwrap();
    assert!(std::ptr::eq(
        plugin_manager,
        plugmill_host::seed::get_plugin_manager().await.unwrap()
    ));
}
