//! Hostile or careless input around the plugins: durations, files that are not regular
//! files, sizes, settings that size memory, secrets, and failures inside the loader. Each test
//! fails without the fix it is named for.

use std::sync::Arc;
use std::time::Duration;

use plugmill::capabilities::{Admission, Capability};
use plugmill::config::HostConfig;
use plugmill::source::LocalDirectory;
use plugmill::wasmtime::component::Linker;
use plugmill::{CallError, HostState, LoadError, RejectionCode};
use serde_json::{json, Value};

use super::logs::CapturedLogs;
use super::{builder, load_with, plugin_dir, rejection};

#[tokio::test]
async fn durations_of_any_size_are_refused_with_a_clear_error_never_a_panic() {
    let error = builder().call_timeout(Duration::MAX).build().err().unwrap();
    assert!(
        error.to_string().contains("call_timeout") && error.to_string().contains("365 days"),
        "{error}"
    );
    let error = builder()
        .function_timeout("valid", "greet", Duration::ZERO)
        .build()
        .err()
        .unwrap();
    assert!(error.to_string().contains("timeouts.greet"), "{error}");
    for text in [
        "[limits]\ncall_timeout = \"100000000000years\"\n",
        "[limits]\nmanifest_timeout = \"0s\"\n",
        "[plugins.valid]\ntimeouts = { greet = \"400days\" }\n",
        "[databases.d]\nurl = \"sqlite://d.db\"\nstatement_timeout = \"9999999999999h\"\n",
        "[loading]\nreload_interval = \"0ms\"\n",
    ] {
        let error = match HostConfig::parse(text, "plugmill.toml") {
            Err(error) => error.to_string(),
            Ok(config) => builder().config(&config).err().expect(text).to_string(),
        };
        assert!(error.contains("line"), "{text}: {error}");
    }
}

#[tokio::test]
async fn a_watch_with_a_zero_interval_polls_instead_of_panicking() {
    let dir = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    let manager = Arc::new(builder().build().unwrap());
    let source = Arc::new(LocalDirectory::new(dir.path()));
    let mut watch = manager.watch(source, Duration::ZERO);
    let first = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("the first poll reloads")
        .expect("a report")
        .expect("a load");
    assert_eq!(first.loaded.len(), 1);
}

/// An embedder's capability that panics when asked about one plugin.
struct PanicsOnAdmit;

impl Capability for PanicsOnAdmit {
    fn name(&self) -> &'static str {
        "panics-on-admit"
    }
    fn interfaces(&self) -> &'static [&'static str] {
        &["test:host/greeting"]
    }
    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        linker
            .instance("test:host/greeting")?
            .func_wrap("greeting-prefix", |_, (): ()| Ok((String::new(),)))?;
        Ok(())
    }
    fn admit(&self, _plugin: &str, _interface: &str) -> Admission {
        panic!("a bug in the embedder's capability")
    }
}

#[tokio::test]
async fn a_failure_inside_the_loader_is_that_plugin_s_rejection() {
    let files = [
        ("a-valid.wasm", test_plugins::VALID),
        ("b-host.wasm", test_plugins::HOST_EXTENSION),
    ];
    let (manager, report, _dir) = load_with(builder().capability(PanicsOnAdmit), &files).await;
    assert_eq!(report.loaded.len(), 1, "the other plugin loads");
    let refused = rejection(&report, "b-host.wasm");
    assert_eq!(refused.code, RejectionCode::LoadFailed);
    assert!(refused.reason.contains("failed in the host"), "{refused}");
    assert!(manager.registry().plugin("valid").is_some());

    let dir = plugin_dir(&files);
    let strict = builder()
        .capability(PanicsOnAdmit)
        .strict(true)
        .build()
        .unwrap();
    let error = strict
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(error, LoadError::Strict { .. }), "{error}");
}

#[tokio::test]
async fn fifos_in_place_of_plugins_and_signatures_are_rejected_without_blocking() {
    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ]);
    for fifo in ["c.wasm", "b.wasm.sig"] {
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join(fifo))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let manager = builder().build().unwrap();
    let source = LocalDirectory::new(dir.path());
    let report = tokio::time::timeout(Duration::from_secs(30), manager.load(&source))
        .await
        .expect("no read blocks on a FIFO")
        .unwrap();
    assert_eq!(report.loaded.len(), 1);
    let fifo = rejection(&report, "c.wasm");
    assert_eq!(fifo.code, RejectionCode::Unreadable);
    assert!(fifo.reason.contains("FIFO"), "{fifo}");
    let signature = rejection(&report, "b.wasm");
    assert!(signature.reason.contains("signature file") && signature.reason.contains("FIFO"));
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused_from_their_size() {
    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ]);
    std::fs::write(dir.path().join("b.wasm.sig"), vec![b'A'; 8 << 10]).unwrap();
    let size = std::fs::metadata(test_plugins::VALID).unwrap().len();
    let config = HostConfig::parse(
        &format!("[loading]\nmax_plugin_size = {}\n", size - 1),
        "plugmill.toml",
    )
    .unwrap();
    let manager = builder().config(&config).unwrap().build().unwrap();
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    let plugin = rejection(&report, "a.wasm");
    assert_eq!(plugin.code, RejectionCode::TooLarge);
    assert!(plugin.reason.contains(&format!("{size} bytes")), "{plugin}");
    let signature = rejection(&report, "b.wasm");
    assert_eq!(signature.code, RejectionCode::TooLarge);

    for text in [
        "[loading]\nmax_plugin_size = \"2 GiB\"\n",
        "[loading]\nmax_plugin_size = \"lots\"\n",
    ] {
        let error = match HostConfig::parse(text, "plugmill.toml") {
            Err(error) => error.to_string(),
            Ok(config) => builder().config(&config).err().expect(text).to_string(),
        };
        assert!(
            error.contains("max_plugin_size") || error.contains("line 2"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn values_that_size_memory_have_upper_bounds() {
    let cases = [
        (
            "[plugins.valid]\nwarm_instances = 1000000\n",
            "warm_instances",
        ),
        (
            "[plugins.valid]\ninstance_stock = 1000000\n",
            "instance_stock",
        ),
        ("[limits]\nmax_memory_mib = 1000000\n", "max_memory_mib"),
        (
            "[limits]\noutput_capture_kib = 100000000\n",
            "output_capture_kib",
        ),
        (
            "[databases.d]\nurl = \"sqlite://d.db\"\nmax_connections = 100000\n",
            "max_connections",
        ),
        (
            "[databases.d]\nurl = \"sqlite://d.db\"\nmax_rows = 999999999999\n",
            "max_rows",
        ),
    ];
    for (text, setting) in cases {
        let config = HostConfig::parse(text, "plugmill.toml").unwrap();
        let error = builder().config(&config).err().expect(text).to_string();
        assert!(
            error.contains(setting) && error.contains("more than"),
            "{text}: {error}"
        );
    }
    let error = builder()
        .warm_instances("valid", 1 << 20)
        .build()
        .err()
        .unwrap();
    assert!(error.to_string().contains("warm_instances"), "{error}");
    let error = builder()
        .instance_stock("valid", 1 << 20)
        .build()
        .err()
        .unwrap();
    assert!(error.to_string().contains("instance_stock"), "{error}");
    let options = plugmill::RuntimeOptions {
        pool_instances: u32::MAX,
        ..Default::default()
    };
    let error = builder().runtime_options(options).build().err().unwrap();
    assert!(error.to_string().contains("pool_instances"), "{error}");
}

#[tokio::test]
async fn secrets_appear_in_no_error_and_no_log_line() {
    let logs = CapturedLogs::global();
    let cases = [
        "[databases.d]\nurl = \"postgres://app:pw-userinfo-1@127.0.0.1:1/x\"\nmax_connections = 0\n",
        "[databases.d]\nurl = \"postgres://127.0.0.1:1/x?user=app&password=pw-query-2\"\nmax_connections = 0\n",
        "[databases.d]\nurl = \"postgress://app:pw-typo-3@db/x\"\n",
        "[databases.d]\nurl = \"postgres://app:pw-toml-4@db/x\"\nmax_rows = \"many\"\n",
        "[plugins.p.variables]\ntoken = { value = \"pw-variable-5\", env = \"X\" }\n",
        "[databases.d]\nurl = \"postgres://app@127.0.0.1:1/x?sslpassword=pw-query-7\"\n",
    ];
    let mut errors = Vec::new();
    for text in cases {
        let error = match HostConfig::parse(text, "plugmill.toml") {
            Err(error) => error.to_string(),
            Ok(config) => builder().config(&config).err().expect(text).to_string(),
        };
        errors.push(error);
    }
    // A database that parses, then fails to connect: the error and the logs of the attempt.
    let config = HostConfig::parse(
        "[databases.d]\nurl = \"postgres://app:pw-connect-6@127.0.0.1:1/x\"\nacquire_timeout = \"1s\"\n[plugins.db-client]\ndatabases = [\"d\"]\n",
        "plugmill.toml",
    )
    .unwrap();
    let (manager, _, _dir) = load_with(
        builder().config(&config).unwrap(),
        &[("c.wasm", test_plugins::DB_CLIENT)],
    )
    .await;
    let steps = super::database::run(&manager, "typed", json!([{"begin": "d"}]))
        .await
        .unwrap();
    errors.push(steps[0].to_string());
    errors.push(format!(
        "{:?}",
        manager.capability::<plugmill::capabilities::database::Databases>()
    ));
    // An S3 endpoint with user-info.
    let settings = plugmill::source::S3Settings {
        endpoint: Some("http://minio:pw-endpoint-8@127.0.0.1:1".into()),
        access_key_id: Some("id".into()),
        secret_access_key: Some("pw-secret-key-9".into()),
        region: None,
    };
    let refused = plugmill::source::S3Source::new("s3://bucket/plugins/", &settings);
    errors.push(
        refused
            .err()
            .expect("credentials in the endpoint are refused")
            .to_string(),
    );

    let logged = logs.text();
    for (i, error) in errors.iter().enumerate() {
        assert!(!error.is_empty(), "case {i} produced an error");
        assert!(!error.contains("pw-"), "case {i} leaks a secret: {error}");
    }
    assert!(!logged.contains("pw-"), "a secret was logged: {logged}");
}

#[tokio::test]
async fn a_plugin_s_own_fuel_budget_works_without_a_global_one() {
    let config = HostConfig::parse("[plugins.spin]\nfuel = 100000\n", "plugmill.toml").unwrap();
    let (manager, report, _dir) = load_with(
        builder().config(&config).unwrap(),
        &[
            ("spin.wasm", test_plugins::SPIN),
            ("valid.wasm", test_plugins::VALID),
        ],
    )
    .await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    let outcome = manager.call_hook_json("spin", &[]).await.remove(0);
    assert!(
        matches!(
            outcome.result,
            Err(CallError::FuelExhausted { budget: 100000, .. })
        ),
        "{:?}",
        outcome.result
    );
    let unlimited = manager
        .call_hook_json("greet", &[json!("x")])
        .await
        .remove(0);
    assert!(
        unlimited.result.is_ok(),
        "a plugin without a budget runs unlimited"
    );
}

#[tokio::test]
async fn inspect_applies_the_loader_s_pins_signatures_and_grants() {
    let pinned = builder()
        .pin_sha256("valid.wasm", &"0".repeat(64))
        .unwrap()
        .build()
        .unwrap();
    let dir = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    let artifact =
        plugmill::source::read_plugin_file(&dir.path().join("valid.wasm"), Default::default())
            .unwrap();
    let report = pinned.inspect(artifact.clone()).await;
    assert!(!report.is_valid());
    assert!(
        report.problems[0].contains("sha256 mismatch"),
        "{:?}",
        report.problems
    );
    assert_eq!(
        report.plugin_name.as_deref(),
        Some("valid"),
        "still described"
    );

    let signed_only = builder().require_signatures(true).build().unwrap();
    let report = signed_only.inspect(artifact).await;
    assert!(
        report.problems.iter().any(|p| p.contains("unsigned")),
        "{:?}",
        report.problems
    );

    let host_dir = plugin_dir(&[("h.wasm", test_plugins::HOST_EXTENSION)]);
    let with_interface = builder().host_interfaces(|linker| {
        linker
            .instance("test:host/greeting")?
            .func_wrap("greeting-prefix", |_, (): ()| Ok((String::new(),)))?;
        Ok(())
    });
    let manager = with_interface.build().unwrap();
    let artifact =
        plugmill::source::read_plugin_file(&host_dir.path().join("h.wasm"), Default::default())
            .unwrap();
    let report = manager.inspect(artifact).await;
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("without a grant")),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn a_sqlite_url_without_a_path_is_a_configuration_error() {
    for url in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
        let config = HostConfig::parse(
            &format!("[databases.d]\nurl = \"{url}\"\n"),
            "plugmill.toml",
        )
        .unwrap();
        let error = builder().config(&config).err().expect(url).to_string();
        assert!(error.contains("names no file"), "{url}: {error}");
    }
}

#[tokio::test]
async fn a_handler_answer_nested_past_serde_s_default_limit_comes_back_as_json() {
    let (manager, _, _dir) = super::load(&[("valid.wasm", test_plugins::VALID)]).await;
    let mut deep = json!("bottom");
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let answer = manager.call_route("/valid/echo", &deep).await.unwrap();
    assert!(answer.is_array(), "the answer is JSON, not a string");
    let mut depth = 0;
    let mut cursor = &answer;
    while let Value::Array(items) = cursor {
        depth += 1;
        cursor = &items[0];
    }
    assert_eq!(depth, 300);
}
