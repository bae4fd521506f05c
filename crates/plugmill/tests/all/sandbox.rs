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
    let (manager, _dir) = with_good_neighbour(builder(), test_plugins::STDOUT_FLOOD).await;
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

#[tokio::test]
async fn importing_the_database_without_it_being_provided_is_rejected() {
    let (_, report, _dir) = load_with(builder(), &[("db.wasm", test_plugins::DB_USER)]).await;
    assert!(
        report.rejected[0]
            .reason
            .contains("`plugins-manager:transactions-manager/transaction`"),
        "{:?}",
        report.rejected
    );
}
