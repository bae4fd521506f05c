//! Grants: a plugin opens only the databases host configuration names for it.

use plugmill::capabilities::database::Databases;
use plugmill::config::HostConfig;
use serde_json::json;

use super::{err, load_clients, run, typed_err, Schema};
use crate::builder;
use crate::load_with;

#[tokio::test]
async fn a_database_the_plugin_is_not_granted_is_not_permitted() {
    let schema = Schema::new().await;
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", schema.spec());
        databases.insert("keycloak", schema.spec());
        databases.grant("db-client", "hasura");
    });
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "keycloak"}, {"begin": "nowhere"}]),
    )
    .await
    .unwrap();
    let (kind, message) = typed_err(&steps[0]);
    assert_eq!(kind, "NotPermitted");
    assert!(
        message.contains("not permitted")
            && message.contains("`keycloak`")
            && message.contains("[plugins.db-client]"),
        "{message}"
    );
    let (kind, message) = typed_err(&steps[1]);
    assert_eq!(kind, "UnknownDatabase");
    assert!(
        message.contains("configured: hasura, keycloak"),
        "{message}"
    );

    let steps = run(&manager, "seed", json!([{"create": "keycloak"}]))
        .await
        .unwrap();
    let message = err(&steps[0]).as_str().unwrap();
    assert!(message.contains("not permitted"), "{message}");
}

/// Seed plugins import the transaction interface whether or not they use it: without a
/// grant they load, with a warning, and every transaction they begin is not permitted.
#[tokio::test]
async fn importing_the_database_without_a_grant_loads_with_a_warning_and_is_not_permitted() {
    let schema = Schema::new().await;
    for (file, plugin, name) in [
        ("seed.wasm", test_plugins::DB_USER, "db-user"),
        ("typed.wasm", test_plugins::DB_CLIENT, "db-client"),
    ] {
        let builder = builder()
            .with_capability(|databases: &mut Databases| databases.insert("hasura", schema.spec()));
        let (_manager, report, _dir) = load_with(builder, &[(file, plugin)]).await;
        assert_eq!(report.loaded.len(), 1, "{file}: {:#?}", report.rejected);
        let warning = &report.warnings[0];
        assert_eq!(warning.plugin, name);
        assert!(
            warning.message.contains("granted no database")
                && warning.message.contains("transaction")
                && warning.message.contains(&format!("[plugins.{name}]")),
            "{file}: {warning}"
        );
    }
    let seed = builder()
        .with_capability(|databases: &mut Databases| databases.insert("hasura", schema.spec()));
    let (manager, _, _dir) = load_with(seed, &[("seed.wasm", test_plugins::DB_USER)]).await;
    let outcome = manager.call_hook_json("begin", &[]).await.remove(0);
    let result = outcome.result.unwrap().remove(0);
    let message = result["err"].as_str().unwrap_or_default();
    assert!(message.contains("not permitted"), "{result}");

    let (manager, _dir) = load_clients(
        builder()
            .with_capability(|databases: &mut Databases| databases.insert("hasura", schema.spec())),
        false,
    )
    .await;
    let steps = run(&manager, "typed", json!([{"begin": "hasura"}]))
        .await
        .unwrap();
    assert_eq!(typed_err(&steps[0]).0, "NotPermitted");
}

#[tokio::test]
async fn a_grant_of_a_database_that_is_not_configured_is_a_configuration_error() {
    let error = builder()
        .with_capability(|databases: &mut Databases| databases.grant("db-client", "ghost"))
        .build()
        .err()
        .unwrap();
    assert!(
        error
            .to_string()
            .contains("`ghost` is not a configured database"),
        "{error}"
    );

    let config = HostConfig::parse(
        r#"
        [databases.audit]
        url = "sqlite://audit.db"

        [plugins.db-client]
        databases = ["audit", "ghost"]
        "#,
        "plugmill.toml",
    )
    .unwrap();
    let error = builder().config(&config).err().unwrap();
    assert!(
        error.to_string().contains("plugmill.toml") && error.to_string().contains("`ghost`"),
        "{error}"
    );
}

#[tokio::test]
async fn bad_database_configuration_names_the_database_and_the_problem() {
    let cases = [
        (
            "[databases.x]\nurl = \"mysql://u:secret@h/d\"",
            "[databases.x]",
        ),
        (
            "[databases.x]\nurl_env = \"PLUGMILL_TEST_UNSET_VARIABLE\"",
            "PLUGMILL_TEST_UNSET_VARIABLE",
        ),
        (
            "[databases.x]\nurl = \"sqlite://a.db\"\nmax_connection = 3",
            "max_connection",
        ),
        ("[databases.x]", "no URL"),
    ];
    for (text, expected) in cases {
        let error = match HostConfig::parse(text, "plugmill.toml") {
            Err(error) => error.to_string(),
            Ok(config) => builder()
                .config(&config)
                .err()
                .expect("an error")
                .to_string(),
        };
        assert!(error.contains(expected), "{text}: {error}");
        assert!(
            !error.contains("secret"),
            "passwords stay out of messages: {error}"
        );
    }
}

#[tokio::test]
async fn configuration_grants_databases_and_their_interfaces() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig::parse(
        &format!(
            "[databases.local]\nurl = \"sqlite://{}\"\n\n[plugins.db-client]\ndatabases = [\"local\"]\n",
            dir.path().join("local.db").display()
        ),
        "plugmill.toml",
    )
    .unwrap();
    let builder = builder().config(&config).unwrap();
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "local"}, {"execute": [0, "CREATE TABLE t (x integer)", []]}, {"commit": 0}]),
    )
    .await
    .unwrap();
    for step in &steps {
        super::ok(step);
    }
}
