//! Hot reload from a real S3-protocol server and from a directory: the new registry is built
//! aside and swapped in; calls in flight finish on the version they started with; a rejected
//! new version leaves the previous one serving; a poll notices added, changed and removed
//! plugins.

use std::sync::Arc;
use std::time::Duration;

use plugmill::source::{LocalDirectory, PluginSource, S3Settings, S3Source};
use plugmill::{LoadError, LoadReport, PluginManager, Watch};

use super::builder;
use super::s3::{plugin, Server};

const BUCKET: &str = "reloads";
const KEY: &str = "plugins/reloadable.wasm";

/// A server whose bucket holds `reloadable` v1 and `valid`, and a manager that loaded them.
async fn loaded_from_s3() -> (Server, S3Source, Arc<PluginManager>) {
    let server = Server::start().await;
    server.create_bucket(BUCKET);
    server
        .put(BUCKET, KEY, plugin(test_plugins::RELOADABLE_V1))
        .await;
    server
        .put(BUCKET, "plugins/valid.wasm", plugin(test_plugins::VALID))
        .await;
    let source = server.source(&format!("s3://{BUCKET}/plugins/"));
    let manager = Arc::new(builder().build().unwrap());
    let report = manager.load(&source).await.unwrap();
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    assert_eq!(report.changes.added, ["reloadable", "valid"]);
    (server, source, manager)
}

/// The `version` hook's answer, after the plugin sleeps `sleep_ms`.
async fn version(manager: &PluginManager, sleep_ms: u32) -> Vec<String> {
    manager
        .call_hook_typed::<(u32,), (String,)>("version", (sleep_ms,))
        .await
        .into_iter()
        .map(|outcome| outcome.result.expect("version").0)
        .collect()
}

#[tokio::test]
async fn a_reload_serves_the_new_version_while_a_call_in_flight_finishes_on_the_old_one() {
    let (server, source, manager) = loaded_from_s3().await;
    assert_eq!(version(&manager, 0).await, ["v1"]);

    let in_flight = tokio::spawn({
        let manager = manager.clone();
        async move { version(&manager, 1_500).await }
    });
    // The call is inside the plugin's sleep well before this returns.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server
        .put(BUCKET, KEY, plugin(test_plugins::RELOADABLE_V2))
        .await;
    let downloads = source.downloads();
    let report = manager.reload(&source).await.unwrap();

    assert_eq!(report.changes.updated, ["reloadable"]);
    assert_eq!(report.changes.unchanged, ["valid"]);
    assert_eq!(
        source.downloads() - downloads,
        1,
        "only the object whose ETag changed is downloaded again"
    );
    assert!(report.changes.added.is_empty() && report.changes.removed.is_empty());
    assert_eq!(
        report.cache.reused, 1,
        "the unchanged plugin is not recompiled"
    );
    assert_eq!(report.cache.compiled, 1);
    assert!(
        !in_flight.is_finished(),
        "the reload did not wait for the call"
    );
    assert_eq!(version(&manager, 0).await, ["v2"]);
    let route = manager
        .call_route("/reloadable/describe", &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(route, serde_json::json!({"version": "v2"}));
    assert_eq!(in_flight.await.unwrap(), ["v1"]);
}

#[tokio::test]
async fn removing_a_plugin_then_reloading_unregisters_it() {
    let (server, source, manager) = loaded_from_s3().await;
    server.delete(BUCKET, KEY).await;
    let report = manager.reload(&source).await.unwrap();

    assert_eq!(report.changes.removed, ["reloadable"]);
    assert_eq!(report.changes.unchanged, ["valid"]);
    assert!(manager.registry().plugin("reloadable").is_none());
    assert!(version(&manager, 0).await.is_empty());
    let route = manager
        .call_route("/reloadable/describe", &serde_json::json!({}))
        .await;
    assert!(
        route.is_err(),
        "the route of a removed plugin still answers"
    );
}

#[tokio::test]
async fn a_new_version_that_fails_to_load_keeps_the_previous_one_serving() {
    let (server, source, manager) = loaded_from_s3().await;
    server.put(BUCKET, KEY, plugin(test_plugins::GARBAGE)).await;
    let report = manager.reload(&source).await.unwrap();

    let [kept] = report.changes.kept.as_slice() else {
        panic!("expected one kept plugin: {:#?}", report.changes);
    };
    assert_eq!(kept.plugin.as_deref(), Some("reloadable"));
    assert_eq!(kept.file, format!("s3://{BUCKET}/{KEY}"));
    assert!(
        kept.reason.contains("not a WebAssembly file"),
        "{}",
        kept.reason
    );
    assert!(report.rejected.iter().any(|r| r.file == kept.file));
    assert!(report.changes.is_empty(), "{:#?}", report.changes);
    assert_eq!(version(&manager, 0).await, ["v1"]);

    // Once fixed, the next reload serves the new version.
    server
        .put(BUCKET, KEY, plugin(test_plugins::RELOADABLE_V2))
        .await;
    let report = manager.reload(&source).await.unwrap();
    assert_eq!(report.changes.updated, ["reloadable"]);
    assert!(report.changes.kept.is_empty());
    assert_eq!(version(&manager, 0).await, ["v2"]);
}

#[tokio::test]
async fn a_reload_from_a_source_that_cannot_be_read_changes_nothing() {
    let (server, _source, manager) = loaded_from_s3().await;
    let wrong = S3Settings {
        secret_access_key: Some("not-the-secret".into()),
        ..server.settings()
    };
    let source = S3Source::new(&format!("s3://{BUCKET}/plugins/"), &wrong).unwrap();
    match manager.reload(&source).await {
        Err(LoadError::Source(error)) => {
            assert!(error.to_string().contains("access denied"), "{error}")
        }
        other => panic!("the reload should fail on the source: {other:?}"),
    }
    assert_eq!(manager.registry().plugins().len(), 2);
    assert_eq!(version(&manager, 0).await, ["v1"]);
}

/// The next reload a watch reports, failing the test after a minute instead of hanging.
async fn next_reload(watch: &mut Watch) -> LoadReport {
    tokio::time::timeout(Duration::from_secs(60), watch.next())
        .await
        .expect("no reload within a minute")
        .expect("the watch stopped")
        .expect("the reload failed")
}

#[tokio::test]
async fn polling_a_bucket_notices_changed_and_removed_plugins_by_etag() {
    let (server, source, manager) = loaded_from_s3().await;
    let source: Arc<dyn PluginSource> = Arc::new(source);
    let mut watch = manager.watch(source, Duration::from_millis(50));
    // Let the watch take its first listing before anything changes.
    tokio::time::sleep(Duration::from_millis(200)).await;

    server
        .put(BUCKET, KEY, plugin(test_plugins::RELOADABLE_V2))
        .await;
    let report = next_reload(&mut watch).await;
    assert_eq!(report.changes.updated, ["reloadable"]);
    assert_eq!(version(&manager, 0).await, ["v2"]);

    server.delete(BUCKET, "plugins/valid.wasm").await;
    let report = next_reload(&mut watch).await;
    assert_eq!(report.changes.removed, ["valid"]);
}

#[tokio::test]
async fn polling_a_directory_notices_added_changed_and_removed_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let manager = Arc::new(builder().build().unwrap());
    let source = Arc::new(LocalDirectory::new(dir.path()));
    let report = manager.load(source.as_ref()).await.unwrap();
    assert!(report.loaded.is_empty());
    let mut watch = manager.watch(source, Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Files are written aside, then renamed into place, so no poll sees half a file.
    let file = dir.path().join("reloadable.wasm");
    let staged = dir.path().join("reloadable.partial");
    std::fs::copy(test_plugins::RELOADABLE_V1, &staged).unwrap();
    std::fs::rename(&staged, &file).unwrap();
    assert_eq!(next_reload(&mut watch).await.changes.added, ["reloadable"]);
    assert_eq!(version(&manager, 0).await, ["v1"]);

    // A broken file changes no plugin, but the set of rejected files: that is reported too.
    let broken = dir.path().join("broken.partial");
    std::fs::copy(test_plugins::GARBAGE, &broken).unwrap();
    std::fs::rename(&broken, dir.path().join("broken.wasm")).unwrap();
    let report = next_reload(&mut watch).await;
    assert!(report.changes.is_empty(), "{:#?}", report.changes);
    assert!(
        report.rejected[0].file.ends_with("broken.wasm"),
        "{:#?}",
        report.rejected
    );

    std::fs::copy(test_plugins::RELOADABLE_V2, &staged).unwrap();
    std::fs::rename(&staged, &file).unwrap();
    assert_eq!(
        next_reload(&mut watch).await.changes.updated,
        ["reloadable"]
    );
    assert_eq!(version(&manager, 0).await, ["v2"]);

    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        next_reload(&mut watch).await.changes.removed,
        ["reloadable"]
    );
}

#[tokio::test]
async fn a_source_that_disappears_is_reported_once_and_the_plugins_keep_serving() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(test_plugins::RELOADABLE_V1, dir.join("reloadable.wasm")).unwrap();
    let manager = Arc::new(builder().build().unwrap());
    let source = Arc::new(LocalDirectory::new(&dir));
    manager.load(source.as_ref()).await.unwrap();
    let mut watch = manager.watch(source, Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(200)).await;

    std::fs::remove_dir_all(&dir).unwrap();
    let event = tokio::time::timeout(Duration::from_secs(60), watch.next())
        .await
        .expect("the failed poll is reported")
        .expect("the watch runs");
    match event {
        Err(LoadError::Source(error)) => {
            assert!(
                error.to_string().contains("cannot read plugin directory"),
                "{error}"
            )
        }
        other => panic!("expected a source error, got {other:?}"),
    }
    // Further polls fail the same way: no further report, and nothing changes.
    let quiet = tokio::time::timeout(Duration::from_millis(500), watch.next()).await;
    assert!(
        quiet.is_err(),
        "a failing source was reported again: {quiet:?}"
    );
    assert_eq!(version(&manager, 0).await, ["v1"]);

    let staged = parent.path().join("staged");
    std::fs::create_dir(&staged).unwrap();
    std::fs::copy(test_plugins::RELOADABLE_V2, staged.join("reloadable.wasm")).unwrap();
    std::fs::rename(&staged, &dir).unwrap();
    assert_eq!(
        next_reload(&mut watch).await.changes.updated,
        ["reloadable"]
    );
    assert_eq!(version(&manager, 0).await, ["v2"]);
}

#[tokio::test]
async fn a_route_matched_once_is_called_on_the_plugin_it_matched_even_after_a_reload() {
    let dir = super::plugin_dir(&[("reloadable.wasm", test_plugins::RELOADABLE_V1)]);
    let source = LocalDirectory::new(dir.path());
    let manager = builder().build().unwrap();
    assert_eq!(manager.registry().generation(), 0, "nothing loaded yet");
    manager.load(&source).await.unwrap();
    let matched = manager
        .match_route("/reloadable/describe")
        .expect("a match");
    assert_eq!(
        (
            matched.plugin.name(),
            matched.handler.as_str(),
            matched.generation
        ),
        ("reloadable", "describe", 1)
    );

    std::fs::copy(
        test_plugins::RELOADABLE_V2,
        dir.path().join("reloadable.wasm"),
    )
    .unwrap();
    manager.reload(&source).await.unwrap();
    let data = serde_json::json!({});
    assert_eq!(
        manager.call_matched(&matched, &data).await.unwrap(),
        serde_json::json!({"version": "v1"}),
        "the call runs on the version that was matched, not on a second lookup"
    );
    let rematched = manager.match_route("/reloadable/describe").unwrap();
    assert_eq!(rematched.generation, 2);
    assert_eq!(
        manager.call_matched(&rematched, &data).await.unwrap(),
        serde_json::json!({"version": "v2"})
    );
    assert!(manager.match_route("/reloadable/nope").is_none());
}
