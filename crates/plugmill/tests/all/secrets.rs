//! The secrets capability on real databases (a SQLite file, and PostgreSQL): each plugin
//! reads only its own values of the call's tenant; the table holds sealed values only;
//! rotating the key keeps old values readable; values appear in no log line or error.

use base64::Engine as _;
use plugmill::config::HostConfig;
use plugmill::{with_tenant, PluginManager};
use serde_json::{json, Value};
use sqlx::Row as _;

use super::database::Schema;
use super::load_with;
use super::logs::CapturedLogs;

const KEEPER: &str = "secrets-keeper";
const PEER: &str = "secrets-peer";

fn new_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A configuration keeping secrets in `url`, sealed with keys read from the environment
/// variables `keys` (`(id, variable)`, the first sealing).
fn config(url: &str, keys: &[(&str, &str)]) -> HostConfig {
    let keys: Vec<String> = keys
        .iter()
        .map(|(id, env)| format!("{{ id = \"{id}\", env = \"{env}\" }}"))
        .collect();
    let text = format!(
        "[databases.records]\nurl = \"{url}\"\n\n[secrets]\ndatabase = \"records\"\nkeys = [{}]\n",
        keys.join(", ")
    );
    HostConfig::parse(&text, "plugmill.toml").unwrap()
}

async fn manager(builder: plugmill::ManagerBuilder) -> (PluginManager, tempfile::TempDir) {
    let (manager, report, dir) = load_with(
        builder,
        &[
            ("keeper.wasm", test_plugins::SECRETS_KEEPER),
            ("peer.wasm", test_plugins::SECRETS_PEER),
        ],
    )
    .await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    (manager, dir)
}

/// Calls `hook` on `plugin` for `tenant`; its result as `Ok` JSON or the `Err` text.
async fn call(
    manager: &PluginManager,
    tenant: Option<&str>,
    plugin: &str,
    hook: &str,
    args: &[&str],
) -> Result<Value, String> {
    let mut args: Vec<Value> = args.iter().map(|a| json!(a)).collect();
    args.insert(0, json!(plugin));
    let outcomes = with_tenant(tenant, manager.call_hook_json(hook, &args)).await;
    let outcome = outcomes
        .into_iter()
        .find(|o| o.plugin == plugin)
        .expect("the plugin answered");
    super::hook_result(outcome.result.expect("the hook runs").remove(0))
}

async fn get(m: &PluginManager, tenant: &str, plugin: &str, name: &str) -> Option<String> {
    let value = call(m, Some(tenant), plugin, "secret-get", &[name])
        .await
        .unwrap();
    value.as_str().map(str::to_string)
}

async fn set(m: &PluginManager, tenant: &str, plugin: &str, name: &str, value: &str) {
    let done = call(m, Some(tenant), plugin, "secret-set", &[name, value]).await;
    assert_eq!(done, Ok(json!(true)), "{plugin} sets {name} for {tenant}");
}

/// Two tenants and two plugins, on the database at `url`: nobody reads another's values.
async fn each_reads_only_its_own(
    url: &str,
    builder: plugmill::ManagerBuilder,
    tenants: [&str; 2],
) -> Vec<String> {
    let [a, b] = tenants;
    let (m, _dir) = manager(builder).await;
    let values: Vec<String> = (0..4).map(|i| format!("value-{i}-{}", new_key())).collect();
    set(&m, a, KEEPER, "token", &values[0]).await;
    set(&m, b, KEEPER, "token", &values[1]).await;
    set(&m, a, PEER, "token", &values[2]).await;
    set(&m, a, KEEPER, "other", &values[3]).await;

    assert_eq!(get(&m, a, KEEPER, "token").await.as_ref(), Some(&values[0]));
    assert_eq!(get(&m, b, KEEPER, "token").await.as_ref(), Some(&values[1]));
    assert_eq!(get(&m, a, PEER, "token").await.as_ref(), Some(&values[2]));
    assert_eq!(
        get(&m, b, PEER, "token").await,
        None,
        "another tenant's value is not seen"
    );
    assert_eq!(get(&m, b, KEEPER, "other").await, None);
    let names = call(&m, Some(a), KEEPER, "secret-list", &[]).await.unwrap();
    assert_eq!(names, json!(["other", "token"]));
    let names = call(&m, Some(a), PEER, "secret-list", &[]).await.unwrap();
    assert_eq!(names, json!(["token"]), "only the plugin's own names");

    let deleted = call(&m, Some(a), KEEPER, "secret-delete", &["token"]).await;
    assert_eq!(deleted, Ok(json!(true)));
    assert_eq!(get(&m, a, KEEPER, "token").await, None);
    assert_eq!(get(&m, b, KEEPER, "token").await.as_ref(), Some(&values[1]));
    assert_eq!(get(&m, a, PEER, "token").await.as_ref(), Some(&values[2]));

    let untenanted = call(&m, None, KEEPER, "secret-get", &["token"])
        .await
        .unwrap_err();
    assert!(untenanted.starts_with("no-tenant: "), "{untenanted}");
    let invalid = call(&m, Some(a), KEEPER, "secret-get", &["a b"])
        .await
        .unwrap_err();
    assert!(invalid.starts_with("invalid-name: "), "{invalid}");
    let big = "x".repeat(64 * 1024 + 1);
    let too_large = call(&m, Some(a), KEEPER, "secret-set", &["big", &big])
        .await
        .unwrap_err();
    assert!(too_large.starts_with("too-large: "), "{too_large}");
    let _ = url;
    values
}

/// Every value a table of secrets holds, as text, with its key id.
fn assert_sealed(rows: &[(String, String)], values: &[String]) {
    assert!(!rows.is_empty());
    for (key_id, sealed) in rows {
        assert_eq!(key_id, "k1");
        for value in values {
            assert!(
                !sealed.contains(value.as_str()),
                "a plaintext value in the table"
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            assert!(
                !sealed.contains(&encoded),
                "a merely encoded value in the table"
            );
        }
    }
}

#[tokio::test]
async fn tenants_and_plugins_read_only_their_own_values_in_sqlite_and_the_table_holds_none() {
    let logs = CapturedLogs::global();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.db");
    let url = format!("sqlite://{}", file.display());
    std::env::set_var("PLUGMILL_TEST_SECRETS_SQLITE_KEY", new_key());
    let config = config(&url, &[("k1", "PLUGMILL_TEST_SECRETS_SQLITE_KEY")]);
    let builder = super::builder().config(&config).unwrap();
    let values = each_reads_only_its_own(&url, builder, ["tenant-a", "tenant-b"]).await;

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key_id, sealed FROM plugmill_secrets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "three values left after one deletion");
    assert_sealed(&rows, &values);
    pool.close().await;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        // SQLite removes its journal and WAL files as the last connections close.
        let bytes = match std::fs::read(entry.unwrap().path()) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => panic!("reading the database files: {error}"),
        };
        for value in &values {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "a plaintext value in the database files"
            );
        }
    }
    let logged = logs.text();
    assert!(logged.contains("secret=token"), "the capture saw the calls");
    for value in &values {
        assert!(!logged.contains(value.as_str()), "a value was logged");
    }
}

#[tokio::test]
async fn tenants_and_plugins_read_only_their_own_values_in_postgres() {
    let schema = Schema::new().await;
    let key = new_key();
    let spec = schema.spec();
    let keys = plugmill::capabilities::secrets::Keyring::new(vec![
        plugmill::capabilities::secrets::SealingKey::from_text("k1", &key).unwrap(),
    ])
    .unwrap();
    let builder = super::builder()
        .with_capability(
            |databases: &mut plugmill::capabilities::database::Databases| {
                databases.insert("records", spec)
            },
        )
        .with_capability(|secrets: &mut plugmill::capabilities::secrets::Secrets| {
            secrets.use_database("records", keys);
        });
    let values = each_reads_only_its_own("postgres", builder, ["tenant-a", "tenant-b"]).await;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT key_id, sealed FROM {}.plugmill_secrets",
        schema.name
    )))
    .fetch_all(&schema.admin)
    .await
    .unwrap();
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row.get("key_id"), row.get("sealed")))
        .collect();
    assert_eq!(rows.len(), 3);
    assert_sealed(&rows, &values);
}

#[tokio::test]
async fn rotating_the_key_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("records.db").display());
    std::env::set_var("PLUGMILL_TEST_SECRETS_OLD_KEY", new_key());
    std::env::set_var("PLUGMILL_TEST_SECRETS_NEW_KEY", new_key());
    let old = config(&url, &[("k1", "PLUGMILL_TEST_SECRETS_OLD_KEY")]);
    let (m, _d) = manager(super::builder().config(&old).unwrap()).await;
    set(&m, "t", KEEPER, "old", "sealed-with-k1").await;
    m.shutdown().await;

    let rotated = config(
        &url,
        &[
            ("k2", "PLUGMILL_TEST_SECRETS_NEW_KEY"),
            ("k1", "PLUGMILL_TEST_SECRETS_OLD_KEY"),
        ],
    );
    let (m, _d) = manager(super::builder().config(&rotated).unwrap()).await;
    assert_eq!(
        get(&m, "t", KEEPER, "old").await.as_deref(),
        Some("sealed-with-k1")
    );
    set(&m, "t", KEEPER, "new", "sealed-with-k2").await;
    m.shutdown().await;

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let ids: Vec<(String, String)> =
        sqlx::query_as("SELECT name, key_id FROM plugmill_secrets ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        ids,
        [
            ("new".to_string(), "k2".to_string()),
            ("old".to_string(), "k1".to_string())
        ]
    );
    pool.close().await;

    let without_old = config(&url, &[("k2", "PLUGMILL_TEST_SECRETS_NEW_KEY")]);
    let (m, _d) = manager(super::builder().config(&without_old).unwrap()).await;
    assert_eq!(
        get(&m, "t", KEEPER, "new").await.as_deref(),
        Some("sealed-with-k2")
    );
    let error = call(&m, Some("t"), KEEPER, "secret-get", &["old"])
        .await
        .unwrap_err();
    assert!(
        error.starts_with(
            "unavailable: `old`: the value was sealed with key `k1`, which the host does not hold"
        ),
        "{error}"
    );
    assert!(!error.contains("sealed-with-k1"));
}

#[tokio::test]
async fn secrets_without_a_usable_key_are_configuration_errors() {
    std::env::set_var("PLUGMILL_TEST_SECRETS_SHORT_KEY", "c2hvcnQ=");
    for (text, says) in [
        (
            "[databases.r]\nurl = \"sqlite::memory:\"\n[secrets]\ndatabase = \"r\"\n",
            "has no key to seal them",
        ),
        (
            "[secrets]\ndatabase = \"r\"\nkeys = [{ id = \"k\", env = \"PLUGMILL_TEST_SECRETS_SURELY_UNSET\" }]\n",
            "the environment variable `PLUGMILL_TEST_SECRETS_SURELY_UNSET` is not set",
        ),
        (
            "[secrets]\ndatabase = \"r\"\nkeys = [{ id = \"k\", env = \"PLUGMILL_TEST_SECRETS_SHORT_KEY\" }]\n",
            "key `k` is not 32 bytes",
        ),
        (
            "[secrets]\nkeys = [{ id = \"k\" }]\n",
            "give one of `env` or `file`",
        ),
    ] {
        let error = super::config_error(text);
        assert!(error.contains(says), "{text}: {error}");
        assert!(!error.contains("c2hvcnQ="));
    }
}
