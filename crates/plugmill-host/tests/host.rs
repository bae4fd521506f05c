//! The host assembly: the process-wide manager from the environment, configuration files
//! with every front end's sections, reloads.

use std::sync::Arc;

use serde_json::json;

/// The only test of this binary that sets the process environment and the process-wide
/// manager.
#[tokio::test]
async fn init_plugin_manager_assembles_from_the_environment_once() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(test_plugins::VALID, plugins.path().join("valid.wasm")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::env::set_var("PLUGMILL_PLUGINS", plugins.path());
    std::env::set_var("PLUGMILL_CACHE_DIR", cache.path());

    assert!(plugmill::get_plugin_manager().is_err());
    let manager = plugmill_host::init_plugin_manager().await.unwrap();
    let again = plugmill_host::init_plugin_manager().await.unwrap();
    assert!(Arc::ptr_eq(&manager, &again));
    let anywhere = plugmill::get_plugin_manager().unwrap();
    assert!(Arc::ptr_eq(&manager, &anywhere));
    let outcome = anywhere
        .call_hook_json("greet", &[json!("ada")])
        .await
        .remove(0);
    assert_eq!(outcome.plugin, "valid");
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
}

#[tokio::test]
async fn a_configuration_with_every_front_end_s_sections_is_accepted_and_typos_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let file = dir.path().join("plugmill.toml");
    std::fs::write(
        &file,
        "[loading]\nplugins = \"plugins\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n[tasks]\nqueue = \"memory\"\n\n[authorization]\nsuper_admin_tenant = \"t\"\n",
    )
    .unwrap();
    let options = plugmill_host::HostOptions {
        config_file: Some(file.clone()),
        cache: plugmill_host::CacheChoice::Disabled,
        ..Default::default()
    };
    let (host, report) = plugmill_host::Host::start(&options).await.unwrap();
    assert!(report.loaded.is_empty());
    assert_eq!(
        host.source_url(),
        plugins.display().to_string(),
        "relative to the configuration file"
    );

    std::fs::write(&file, "[plugins.x]\nfule = 1\n").unwrap();
    let error = plugmill_host::Host::assemble(&options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("unknown plugin setting `fule`") && error.contains("line 2"),
        "{error}"
    );
    std::fs::write(&file, "[sever]\nlisten = \"x\"\n").unwrap();
    let error = plugmill_host::Host::assemble(&options)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("unknown section `sever`"), "{error}");
}

/// A front end's own sections are accepted once it registered them, and then only the
/// registered ones: another front end's section is refused with its line.
#[tokio::test]
async fn a_front_end_s_registered_sections_are_accepted_and_unregistered_ones_refused_with_their_line(
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    let file = dir.path().join("plugmill.toml");
    let mut options = plugmill_host::HostOptions {
        config_file: Some(file.clone()),
        cache: plugmill_host::CacheChoice::Disabled,
        ..Default::default()
    };
    options.register_sections(plugmill::config::ConfigSections::new(
        "the reports service",
        &["reports"],
    ));
    std::fs::write(
        &file,
        "[loading]\nplugins = \"plugins\"\n\n[reports]\nevery = \"1h\"\n",
    )
    .unwrap();
    plugmill_host::Host::assemble(&options).unwrap();

    std::fs::write(
        &file,
        "[loading]\nplugins = \"plugins\"\n\n[reports]\nevery = \"1h\"\n\n[tasks]\nqueue = \"memory\"\n",
    )
    .unwrap();
    let error = plugmill_host::Host::assemble(&options)
        .err()
        .expect("[tasks] is not registered")
        .to_string();
    assert!(
        error.contains("unknown section `tasks`") && error.contains("line 7"),
        "{error}"
    );
}

/// The stock a front end asks for fills once a plugin is called, unless the configuration
/// sets one for every plugin or for the plugin itself.
#[tokio::test]
async fn a_front_end_s_instance_stock_applies_unless_the_configuration_sets_one() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(test_plugins::VALID, plugins.join("valid.wasm")).unwrap();
    let file = dir.path().join("plugmill.toml");
    let options = plugmill_host::HostOptions {
        config_file: Some(file.clone()),
        cache: plugmill_host::CacheChoice::Disabled,
        instance_stock: Some(3),
        ..Default::default()
    };
    let cases = [
        ("", 3),
        ("[plugins.\"*\"]\ninstance_stock = 0\n", 0),
        ("[plugins.valid]\ninstance_stock = 1\n", 1),
    ];
    for (config, expected) in cases {
        std::fs::write(&file, format!("[loading]\nplugins = \"plugins\"\n{config}")).unwrap();
        let (host, report) = plugmill_host::Host::start(&options).await.unwrap();
        assert_eq!(report.loaded.len(), 1, "{:?}", report.rejected);
        let manager = host.manager();
        let outcome = manager
            .call_hook_json("greet", &[json!("ada")])
            .await
            .remove(0);
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        let plugin = manager.registry().plugin("valid").unwrap().clone();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while plugin.stocked_instances().unwrap_or(0) < expected
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let stocked = plugin.stocked_instances();
        if expected == 0 {
            assert_eq!(stocked, None, "no stock with {config:?}");
        } else {
            assert_eq!(stocked, Some(expected), "stock with {config:?}");
        }
        host.shutdown().await;
    }
}

/// A front end without the HTTP server (a task worker) serves the one recorder: the host's
/// plugin-call metrics, a family registered by another crate, its descriptions.
#[tokio::test]
async fn the_metrics_endpoint_serves_the_one_recorder_with_every_crate_s_metrics() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(test_plugins::VALID, plugins.join("valid.wasm")).unwrap();
    plugmill_host::metrics::describe("a-front-end", || {
        metrics::describe_counter!("plugmill_test_front_end_total", "A front end's own");
    });
    plugmill_host::metrics::Metrics::install().unwrap();
    metrics::counter!("plugmill_test_front_end_total").increment(2);
    let options = plugmill_host::HostOptions {
        plugins: Some(plugins.display().to_string()),
        cache: plugmill_host::CacheChoice::Disabled,
        observer: Some(Arc::new(plugmill_host::metrics::CallMetrics)),
        ..Default::default()
    };
    let (host, _) = plugmill_host::Host::start(&options).await.unwrap();
    let outcome = host
        .manager()
        .call_hook_json("greet", &[json!("ada")])
        .await
        .remove(0);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(plugmill_host::metrics::serve_metrics(listener));
    let get = |path: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let text = get("/metrics").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    for expected in [
        r#"plugmill_plugin_calls_total{plugin="valid",function="greet",outcome="ok"} 1"#,
        "plugmill_plugin_call_duration_seconds_bucket",
        "plugmill_plugins_loaded 1",
        "# HELP plugmill_plugin_calls_total Calls to plugins",
        "# HELP plugmill_test_front_end_total A front end's own",
        "plugmill_test_front_end_total 2",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(get("/other").await.starts_with("HTTP/1.1 404"));
    host.shutdown().await;
}
