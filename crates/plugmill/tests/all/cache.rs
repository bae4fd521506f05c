//! The precompiled cache through the manager: a warm start loads every plugin from it, a
//! damaged entry is discarded and rebuilt (never run), and engines with other settings never
//! share entries.

use std::path::{Path, PathBuf};

use plugmill::source::LocalDirectory;
use plugmill::{LoadReport, ManagerBuilder};

use super::{builder, plugin_dir};

const FILES: &[(&str, &str)] = &[
    ("valid.wasm", test_plugins::VALID),
    ("second.wasm", test_plugins::SECOND_GREETER),
];

async fn start(builder: ManagerBuilder, plugins: &Path) -> (plugmill::PluginManager, LoadReport) {
    let manager = builder.build().expect("manager");
    let report = manager
        .load(&LocalDirectory::new(plugins))
        .await
        .expect("load");
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, report)
}

/// Every cache entry under `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for engine_dir in std::fs::read_dir(dir).unwrap() {
        for entry in std::fs::read_dir(engine_dir.unwrap().path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "cwasm") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The entry of the plugin called `name`, found by its file's sha256.
fn entry_of(report: &LoadReport, name: &str, cache: &Path) -> PathBuf {
    let sha256 = &report
        .loaded
        .iter()
        .find(|p| p.name == name)
        .expect("loaded")
        .sha256;
    entries(cache)
        .into_iter()
        .find(|e| e.file_stem().and_then(|s| s.to_str()) == Some(sha256.as_str()))
        .unwrap_or_else(|| panic!("no cache entry for {name}"))
}

async fn greetings(manager: &plugmill::PluginManager) -> Vec<String> {
    manager
        .call_hook_typed::<(String,), (String,)>("greet", ("cache".into(),))
        .await
        .into_iter()
        .map(|o| o.result.expect("greet").0)
        .collect()
}

#[tokio::test]
async fn a_warm_start_loads_every_plugin_from_the_cache() {
    let plugins = plugin_dir(FILES);
    let cache = tempfile::tempdir().unwrap();

    let (cold, report) = start(builder().cache_dir(cache.path()), plugins.path()).await;
    assert_eq!((report.cache.compiled, report.cache.hits), (2, 0));
    assert_eq!(entries(cache.path()).len(), 2);
    let expected = greetings(&cold).await;
    assert_eq!(expected.len(), 2);

    let (warm, report) = start(builder().cache_dir(cache.path()), plugins.path()).await;
    assert_eq!((report.cache.compiled, report.cache.hits), (0, 2));
    assert!(
        report.cache.problems.is_empty(),
        "{:#?}",
        report.cache.problems
    );
    assert_eq!(greetings(&warm).await, expected);
}

#[tokio::test]
async fn corrupt_and_truncated_entries_are_discarded_and_rebuilt_never_run() {
    let plugins = plugin_dir(FILES);
    let cache = tempfile::tempdir().unwrap();
    let (_, report) = start(builder().cache_dir(cache.path()), plugins.path()).await;

    let corrupt = entry_of(&report, "valid", cache.path());
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&corrupt, &bytes).unwrap();
    let truncated = entry_of(&report, "second-greeter", cache.path());
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();

    let (manager, report) = start(builder().cache_dir(cache.path()), plugins.path()).await;
    assert_eq!((report.cache.compiled, report.cache.hits), (2, 0));
    let reasons: Vec<&str> = report
        .cache
        .problems
        .iter()
        .map(|p| p.reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("is corrupt")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("truncated")),
        "{reasons:#?}"
    );
    assert_eq!(greetings(&manager).await.len(), 2);

    let (_, report) = start(builder().cache_dir(cache.path()), plugins.path()).await;
    assert_eq!(
        (report.cache.compiled, report.cache.hits),
        (0, 2),
        "rebuilt entries are used"
    );
}

#[tokio::test]
async fn engines_with_other_settings_compile_their_own_entries() {
    let plugins = plugin_dir(FILES);
    let cache = tempfile::tempdir().unwrap();
    start(builder().cache_dir(cache.path()), plugins.path()).await;

    let metered = builder().cache_dir(cache.path()).fuel(10_000_000);
    let (manager, report) = start(metered, plugins.path()).await;
    assert_eq!((report.cache.compiled, report.cache.hits), (2, 0));
    assert_eq!(
        entries(cache.path()).len(),
        4,
        "one set of entries per engine setting"
    );
    assert_eq!(greetings(&manager).await.len(), 2);
}

#[tokio::test]
async fn a_cache_directory_that_cannot_be_created_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = match builder().cache_dir(file.path().join("cache")).build() {
        Ok(_) => panic!("a cache under a regular file was accepted"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("precompiled cache"), "{error}");
    assert!(error.contains("cannot create the directory"), "{error}");
}

#[tokio::test]
async fn the_cache_directory_can_come_from_the_configuration_file_relative_to_it() {
    let plugins = plugin_dir(FILES);
    let config_dir = tempfile::tempdir().unwrap();
    let file = config_dir.path().join("plugmill.toml");
    std::fs::write(&file, "[loading]\ncache_dir = \"compiled\"\n").unwrap();
    let config = plugmill::config::HostConfig::from_file(&file).unwrap();
    let configured = || builder().config(&config).unwrap();

    let (_, report) = start(configured(), plugins.path()).await;
    assert_eq!(report.cache.compiled, 2);
    assert_eq!(entries(&config_dir.path().join("compiled")).len(), 2);
    let (_, report) = start(configured(), plugins.path()).await;
    assert_eq!(report.cache.hits, 2);
    let (_, report) = start(configured().without_cache(), plugins.path()).await;
    assert_eq!((report.cache.compiled, report.cache.hits), (2, 0));
}
