//! The authorization capability, through a plugin built like the seed's released plugin
//! (`miru`: imports the transaction and authorization interfaces, serves a process-as-task
//! route, authorizes with the caller's claims for its tenant and `admin-user`).

use plugmill::config::HostConfig;
use plugmill::source::LocalDirectory;
use plugmill::{CallError, PluginManager};
use serde_json::{json, Value};

use super::{load_with, plugin_dir};

const ROUTE: &str = "/miru/create-transmission-package";
/// The tenant the plugin hard-codes, as the seed's does.
const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";
const SUPER_ADMIN_TENANT: &str = "00000000-0000-4000-8000-00000000000a";

/// A token payload in the seed's Hasura layout, as the server injects it: a JSON string.
fn claims(tenant: &str, roles: &[&str]) -> String {
    json!({
        "sub": "user-of-the-test",
        "name": "Alice Example",
        "https://hasura.io/jwt/claims": {
            "x-hasura-tenant-id": tenant,
            "x-hasura-allowed-roles": roles,
        }
    })
    .to_string()
}

fn config(text: &str) -> HostConfig {
    HostConfig::parse(text, "plugmill.toml").unwrap()
}

/// miru loaded on a manager with the super-admin tenant configured.
async fn miru() -> (PluginManager, tempfile::TempDir) {
    let configured = super::builder()
        .config(&config(&format!(
            "[authorization]\nsuper_admin_tenant = \"{SUPER_ADMIN_TENANT}\"\n"
        )))
        .unwrap();
    let (manager, report, dir) = load_with(configured, &[("miru.wasm", test_plugins::MIRU)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, dir)
}

async fn call(manager: &PluginManager, data: Value) -> Result<Value, CallError> {
    manager.call_route(ROUTE, &data).await
}

fn denial(outcome: Result<Value, CallError>) -> String {
    match outcome {
        Err(CallError::Plugin { message, .. }) => message,
        other => panic!("expected the plugin's denial, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plugin_built_like_the_seed_s_loads_with_no_configuration_and_answers() {
    let dir = plugin_dir(&[("miru.wasm", test_plugins::MIRU)]);
    let manager = PluginManager::builder().build().unwrap();
    let report = manager
        .load(&LocalDirectory::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{:#?}", report.rejected);
    assert!(report.rejected.is_empty());
    let warning = &report.warnings[0];
    assert_eq!(warning.plugin, "miru");
    assert!(
        warning
            .message
            .contains("plugins-manager:transactions-manager/transaction")
            && warning.message.contains("granted no database"),
        "{warning}"
    );
    let answer = manager
        .call_route(
            ROUTE,
            &json!({"claims": claims(TENANT, &["admin-user"]), "document_id": "d-1"}),
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], "packaged");
    assert_eq!(answer["document_id"], "d-1");
}

#[tokio::test]
async fn the_right_tenant_with_the_role_is_allowed() {
    let (manager, _dir) = miru().await;
    let answer = call(
        &manager,
        json!({"claims": claims(TENANT, &["user", "admin-user"])}),
    )
    .await
    .unwrap();
    assert_eq!(answer["tenant_id"], TENANT);
}

#[tokio::test]
async fn each_broken_rule_is_a_denial_naming_the_rule() {
    let (manager, _dir) = miru().await;
    let cases = [
        (
            json!({"claims": claims("tenant-of-alice", &["admin-user"])}),
            "tenant rule failed: the caller belongs to another tenant",
        ),
        (
            json!({"claims": claims(TENANT, &["user"])}),
            "permission rule failed: the caller does not hold `admin-user`",
        ),
        (
            json!({"claims": claims(SUPER_ADMIN_TENANT, &["admin-user"])}),
            "the caller belongs to the super-admin tenant, which this call does not allow",
        ),
        (
            json!({"claims": claims(TENANT, &["admin-user"]), "permissions": ["made-up-permission"]}),
            "does not hold `made-up-permission`",
        ),
        (
            json!({"claims": "{not json at all"}),
            "the claims are not a JSON object",
        ),
        (
            json!({"claims": json!({"sub": "x"}).to_string()}),
            "the claims have no tenant",
        ),
    ];
    for (data, expected) in cases {
        let message = denial(call(&manager, data.clone()).await);
        assert!(message.contains(expected), "{data}: {message}");
        assert!(message.starts_with("not authorized"), "{message}");
        for private in ["tenant-of-alice", "Alice Example", "user-of-the-test"] {
            assert!(
                !message.contains(private),
                "the denial echoes the claims: {message}"
            );
        }
    }
}

#[tokio::test]
async fn the_super_admin_tenant_is_allowed_when_the_call_allows_it() {
    let (manager, _dir) = miru().await;
    let data = json!({
        "claims": claims(SUPER_ADMIN_TENANT, &["admin-user"]),
        "allow_super_admin": true,
    });
    assert_eq!(call(&manager, data).await.unwrap()["status"], "packaged");
    let without_role = json!({
        "claims": claims(SUPER_ADMIN_TENANT, &["user"]),
        "allow_super_admin": true,
    });
    let message = denial(call(&manager, without_role).await);
    assert!(message.contains("permission rule failed"), "{message}");
}

#[tokio::test]
async fn claims_are_found_where_the_configuration_points() {
    let configured = super::builder()
        .config(&config(
            "[authorization]\ntenant_claim = \"/tenant\"\nroles_claim = \"/realm_access/roles\"\n",
        ))
        .unwrap();
    let (manager, _, _dir) = load_with(configured, &[("miru.wasm", test_plugins::MIRU)]).await;
    let keycloak_style = json!({"tenant": TENANT, "realm_access": {"roles": ["admin-user"]}});
    let answer = call(&manager, json!({"claims": keycloak_style.to_string()})).await;
    assert_eq!(answer.unwrap()["status"], "packaged");
    let message = denial(call(&manager, json!({"claims": claims(TENANT, &["admin-user"])})).await);
    assert!(
        message.contains("no tenant (a string at `/tenant`)"),
        "{message}"
    );

    let error = super::builder()
        .config(&config("[authorization]\nroles_claim = \"roles\"\n"))
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("`roles` is not a JSON pointer"),
        "{error}"
    );
}

#[tokio::test]
async fn the_database_the_seed_plugin_imports_is_not_permitted_until_granted() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("hasura.db").display());
    let data = json!({"claims": claims(TENANT, &["admin-user"]), "use_database": true});

    let ungranted = super::builder()
        .config(&config(&format!("[databases.hasura]\nurl = \"{url}\"\n")))
        .unwrap();
    let (manager, report, _dir) = load_with(ungranted, &[("miru.wasm", test_plugins::MIRU)]).await;
    assert_eq!(report.warnings.len(), 1, "{:#?}", report.warnings);
    let message = denial(call(&manager, data.clone()).await);
    assert!(message.contains("not permitted"), "{message}");

    let granted = super::builder()
        .config(&config(&format!(
            "[databases.hasura]\nurl = \"{url}\"\n\n[plugins.miru]\ndatabases = [\"hasura\"]\n"
        )))
        .unwrap();
    let (manager, report, _dir) = load_with(granted, &[("miru.wasm", test_plugins::MIRU)]).await;
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    assert_eq!(call(&manager, data).await.unwrap()["status"], "packaged");
}
