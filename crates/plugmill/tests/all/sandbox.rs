//! Containment: each adversarial plugin runs next to a well-behaved one; the bad call fails with
//! the right error (or is denied what it asked for) while the good plugin keeps answering.

use std::time::{Duration, Instant};

use plugmill::{CallError, ManagerBuilder, PluginManager};
use serde_json::{json, Value};

use super::{builder, load_with};

/// Loads `bad` next to the well-behaved `valid` plugin.
async fn with_good_neighbour(
    builder: ManagerBuilder,
    bad: &str,
) -> (PluginManager, tempfile::TempDir) {
    let (manager, report, dir) = load_with(
        builder,
        &[("bad.wasm", bad), ("good.wasm", test_plugins::VALID)],
    )
    .await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, dir)
}

/// Calls `hook` on the bad plugin while the good one is called repeatedly; returns the bad
/// outcome after checking every good answer.
async fn contained(
    manager: &PluginManager,
    hook: &str,
    args: &[Value],
) -> Result<Vec<Value>, CallError> {
    let good = async {
        for i in 0..20 {
            let outcome = manager.call_route("/valid/echo", &json!({"i": i})).await;
            assert_eq!(
                outcome.unwrap(),
                json!({"i": i}),
                "the good plugin stopped answering correctly"
            );
            tokio::task::yield_now().await;
        }
    };
    let (bad, ()) = tokio::join!(manager.call_hook_json(hook, args), good);
    let [outcome] = <[_; 1]>::try_from(bad).expect("one plugin answers the bad hook");
    outcome.result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iloop_ends_with_deadline_exceeded_soon_after_the_deadline() {
    let limit = Duration::from_millis(300);
    let (manager, _dir) =
        with_good_neighbour(builder().plugin_timeout("spin", limit), test_plugins::SPIN).await;
    let started = Instant::now();
    let error = contained(&manager, "spin", &[]).await.unwrap_err();
    let overshoot = started.elapsed().saturating_sub(limit);
    match &error {
        CallError::DeadlineExceeded {
            plugin,
            function,
            limit: reported,
        } => {
            assert_eq!(
                (plugin.as_str(), function.as_str(), *reported),
                ("spin", "spin", limit)
            );
        }
        other => panic!("expected deadline exceeded, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "plugin `spin` exceeded its deadline of 300ms in `spin`"
    );
    println!("deadline to error: {overshoot:?}");
    // The same plugin keeps serving its other functions.
    assert_eq!(
        manager.call_route("/spin/ok", &json!({})).await.unwrap(),
        json!("fine")
    );
}

#[tokio::test]
async fn unbounded_memory_growth_hits_the_cap() {
    let (manager, _dir) = with_good_neighbour(
        builder().max_memory_bytes(64 << 20),
        test_plugins::MEMORY_HOG,
    )
    .await;
    match contained(&manager, "grow", &[]).await {
        Err(CallError::ResourceLimit {
            plugin, message, ..
        }) => {
            assert_eq!(plugin, "memory-hog");
            assert!(
                message.contains("over the limit of 67108864 bytes"),
                "{message}"
            );
        }
        other => panic!("expected a resource limit, got {other:?}"),
    }
}

#[tokio::test]
async fn stack_overflow_is_a_trap_with_a_backtrace() {
    let (manager, _dir) = with_good_neighbour(builder(), test_plugins::STACK_OVERFLOW).await;
    match contained(&manager, "recurse", &[json!(1)]).await {
        Err(CallError::Trap {
            plugin,
            function,
            message,
            backtrace,
        }) => {
            assert_eq!(
                (plugin.as_str(), function.as_str()),
                ("stack-overflow", "recurse")
            );
            assert!(message.contains("call stack exhausted"), "{message}");
            assert!(!backtrace.is_empty());
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn a_panic_is_a_trap_that_carries_the_panic_message() {
    let (manager, _dir) = with_good_neighbour(builder(), test_plugins::PANICKER).await;
    match contained(&manager, "boom", &[]).await {
        Err(CallError::Trap {
            message, backtrace, ..
        }) => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(
                message.contains("boom requested"),
                "the panic message from stderr: {message}"
            );
            assert!(
                backtrace.iter().any(|frame| frame.contains("boom")),
                "{backtrace:?}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    match contained(&manager, "oob", &[]).await {
        Err(CallError::Trap { message, .. }) => {
            assert!(message.contains("out of bounds memory access"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stdout_flood_is_captured_and_capped() {
    // Writing 50 MiB through WASI takes seconds in an unoptimised build on a busy machine:
    // the deadline is generous, as this test is about what happens to the output.
    let builder = builder().call_timeout(Duration::from_secs(120));
    let (manager, _dir) = with_good_neighbour(builder, test_plugins::STDOUT_FLOOD).await;
    // 50 MiB of output: kept up to the capture limit, the rest dropped, the call unharmed.
    assert_eq!(
        contained(&manager, "flood", &[]).await.unwrap(),
        vec![json!("flooded")]
    );
}

#[tokio::test]
async fn a_huge_result_fails_on_the_memory_cap() {
    let (manager, _dir) = with_good_neighbour(
        builder().max_memory_bytes(64 << 20),
        test_plugins::HUGE_RESULT,
    )
    .await;
    let error = contained(&manager, "huge", &[json!(300)])
        .await
        .unwrap_err();
    assert!(error.is_host_failure(), "{error:?}");
    assert!(
        error.to_string().contains("plugin `huge-result`"),
        "{error}"
    );
    assert_eq!(
        manager.call_hook_json("huge", &[json!(1)]).await[0]
            .result
            .as_ref()
            .unwrap()[0]
            .as_str()
            .map(str::len),
        Some(1 << 20),
        "a result within the limits still comes back whole"
    );
}

#[tokio::test]
async fn wasi_is_denied_by_default() {
    let (manager, _dir) = with_good_neighbour(builder(), test_plugins::FS_READER).await;
    let passwd = contained(&manager, "read-passwd", &[]).await.unwrap();
    assert!(
        passwd[0].get("err").is_some(),
        "reading /etc/passwd must fail: {passwd:?}"
    );
    assert_eq!(
        contained(&manager, "read-env", &[]).await.unwrap(),
        vec![json!([])],
        "no environment"
    );
    assert_eq!(
        contained(&manager, "args", &[]).await.unwrap(),
        vec![json!([])],
        "no arguments"
    );
    let written = contained(
        &manager,
        "write-file",
        &[json!("/tmp/plugmill-escape"), json!("x")],
    )
    .await
    .unwrap();
    assert!(written[0].get("err").is_some(), "{written:?}");
    assert!(!std::path::Path::new("/tmp/plugmill-escape").exists());
}

#[tokio::test]
async fn sockets_are_denied_by_default() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (manager, _dir) = with_good_neighbour(builder(), test_plugins::NET_OPENER).await;
    let outcome = contained(&manager, "connect", &[json!(addr)])
        .await
        .unwrap();
    assert!(
        outcome[0].get("err").is_some(),
        "connecting must be denied: {outcome:?}"
    );
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "no connection reached the listener"
    );
}

mod grants {
    //! Host configuration grants WASI access, one plugin at a time.

    use std::time::Duration;

    use plugmill::config::HostConfig;
    use plugmill::CallError;
    use plugmill::{DirGrant, WasiGrants};
    use serde_json::json;

    use super::super::{builder, load_with};

    fn dir_grant(host: &std::path::Path, writable: bool) -> WasiGrants {
        WasiGrants {
            dirs: vec![DirGrant {
                host: host.to_path_buf(),
                guest: "/data".into(),
                writable,
            }],
            ..WasiGrants::default()
        }
    }

    #[tokio::test]
    async fn a_read_only_directory_can_be_read_and_not_written() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("hello.txt"), "hi there").unwrap();
        let granted = builder().grant_wasi("fs-reader", dir_grant(data.path(), false));
        let (manager, _, _dir) = load_with(granted, &[("f.wasm", test_plugins::FS_READER)]).await;
        let read = manager
            .call_hook_json("read-file", &[json!("/data/hello.txt")])
            .await
            .remove(0);
        assert_eq!(read.result.unwrap(), vec![json!({"ok": "hi there"})]);
        let write = manager
            .call_hook_json("write-file", &[json!("/data/new.txt"), json!("x")])
            .await
            .remove(0);
        assert!(write.result.unwrap()[0].get("err").is_some());
        assert!(!data.path().join("new.txt").exists());
        let outside = manager.call_hook_json("read-passwd", &[]).await.remove(0);
        assert!(
            outside.result.unwrap()[0].get("err").is_some(),
            "only the granted directory is reachable"
        );
    }

    #[tokio::test]
    async fn a_writable_directory_can_be_written() {
        let data = tempfile::tempdir().unwrap();
        let granted = builder().grant_wasi("fs-reader", dir_grant(data.path(), true));
        let (manager, _, _dir) = load_with(granted, &[("f.wasm", test_plugins::FS_READER)]).await;
        let write = manager
            .call_hook_json("write-file", &[json!("/data/new.txt"), json!("written")])
            .await
            .remove(0);
        assert_eq!(write.result.unwrap(), vec![json!({"ok": null})]);
        assert_eq!(
            std::fs::read_to_string(data.path().join("new.txt")).unwrap(),
            "written"
        );
    }

    #[tokio::test]
    async fn only_granted_environment_variables_are_visible() {
        let grants = WasiGrants {
            env: vec![("REGION".into(), "eu-1".into())],
            ..WasiGrants::default()
        };
        let (manager, _, _dir) = load_with(
            builder().grant_wasi("fs-reader", grants),
            &[("f.wasm", test_plugins::FS_READER)],
        )
        .await;
        let env = manager.call_hook_json("read-env", &[]).await.remove(0);
        assert_eq!(env.result.unwrap(), vec![json!([["REGION", "eu-1"]])]);
    }

    #[tokio::test]
    async fn outbound_network_reaches_only_listed_addresses() {
        let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let grants = WasiGrants {
            network: std::collections::HashSet::from([allowed.local_addr().unwrap()]),
            ..WasiGrants::default()
        };
        let (manager, _, _dir) = load_with(
            builder().grant_wasi("net-opener", grants),
            &[("n.wasm", test_plugins::NET_OPENER)],
        )
        .await;
        let to_allowed = json!(allowed.local_addr().unwrap().to_string());
        let granted = manager
            .call_hook_json("connect-wasi", &[to_allowed])
            .await
            .remove(0);
        assert_eq!(granted.result.unwrap(), vec![json!({"ok": "connected"})]);
        allowed.set_nonblocking(true).unwrap();
        assert!(
            allowed.accept().is_ok(),
            "the connection reached the listed listener"
        );

        let to_other = json!(other.local_addr().unwrap().to_string());
        let denied = manager
            .call_hook_json("connect-wasi", &[to_other])
            .await
            .remove(0);
        let error = denied.result.unwrap().remove(0);
        assert!(
            error["err"].as_str().unwrap().contains("access-denied"),
            "{error}"
        );
        other.set_nonblocking(true).unwrap();
        assert!(
            other.accept().is_err(),
            "nothing reached the unlisted listener"
        );
    }

    #[tokio::test]
    async fn a_function_can_have_its_own_deadline() {
        let (manager, _, _dir) = load_with(
            builder()
                .plugin_timeout("spin", Duration::from_secs(20))
                .function_timeout("spin", "spin", Duration::from_millis(100)),
            &[("s.wasm", test_plugins::SPIN)],
        )
        .await;
        let outcome = manager.call_hook_json("spin", &[]).await.remove(0);
        assert!(
            matches!(outcome.result, Err(CallError::DeadlineExceeded { limit, .. }) if limit == Duration::from_millis(100)),
            "{:?}",
            outcome.result
        );
    }

    #[tokio::test]
    async fn fuel_bounds_a_call_deterministically_and_is_reported() {
        let (manager, _, _dir) =
            load_with(builder().fuel(5_000_000), &[("s.wasm", test_plugins::SPIN)]).await;
        let spin = manager.registry().plugin("spin").unwrap().clone();
        manager.call_hook_json("quick", &[]).await[0]
            .result
            .as_ref()
            .unwrap();
        let first = spin.stats().last_fuel_used();
        manager.call_hook_json("quick", &[]).await[0]
            .result
            .as_ref()
            .unwrap();
        assert!(first > 0);
        assert_eq!(
            spin.stats().last_fuel_used(),
            first,
            "the same call uses the same fuel"
        );
        let outcome = manager.call_hook_json("spin", &[]).await.remove(0);
        assert!(
            matches!(
                outcome.result,
                Err(CallError::FuelExhausted {
                    budget: 5_000_000,
                    ..
                })
            ),
            "{:?}",
            outcome.result
        );
        assert_eq!(spin.stats().calls(), 3);
        assert_eq!(spin.stats().failures(), 1);
    }

    #[tokio::test]
    async fn grants_come_from_the_configuration_file() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("note.txt"), "from config").unwrap();
        std::fs::create_dir(data.path().join("shared")).unwrap();
        std::fs::write(data.path().join("shared/note.txt"), "from config").unwrap();
        let file = data.path().join("plugmill.toml");
        std::fs::write(
            &file,
            "[plugins.fs-reader]\ndirs = [{ host = \"shared\", guest = \"/data\" }]\n",
        )
        .unwrap();
        let config = HostConfig::from_file(&file).unwrap();
        let configured = builder().config(&config).unwrap();
        let (manager, _, _dir) =
            load_with(configured, &[("f.wasm", test_plugins::FS_READER)]).await;
        let read = manager
            .call_hook_json("read-file", &[json!("/data/note.txt")])
            .await
            .remove(0);
        assert_eq!(
            read.result.unwrap(),
            vec![json!({"ok": "from config"})],
            "relative to the file's directory"
        );

        std::fs::write(
            &file,
            "[plugins.fs-reader]\ndirs = [{ host = \"missing\", guest = \"/data\" }]\n",
        )
        .unwrap();
        let error = builder()
            .config(&HostConfig::from_file(&file).unwrap())
            .err()
            .expect("a missing directory is an error");
        assert!(
            error.to_string().contains("[plugins.fs-reader] dirs: `"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("missing` is not a directory on the host"),
            "{error}"
        );
    }
}
