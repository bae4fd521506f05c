//! A plugin built against the seed's newer `miru` world (`miru-b`) end to end: `vault` on
//! the secrets capability, `request-service` on outbound HTTP (to a real server on a loopback
//! port), and the generic `documents` functions on the documents capability. The seed
//! platform's own interfaces trap under `unknown_imports = "trap"`, or are the embedder's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use plugmill::config::HostConfig;
use plugmill::wasmtime::component::Linker;
use plugmill::{with_tenant, HostState, ManagerBuilder, PluginManager};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::load_with;

/// A server on a loopback port keeping the bodies posted to it.
async fn receiver() -> (SocketAddr, Arc<Mutex<Vec<Bytes>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let kept = kept.clone();
                    async move {
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        kept.lock().unwrap().push(body);
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("received"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, received)
}

/// The host configuration of `miru-b` in `dir`: records, secrets, documents, its HTTP
/// allowlist and its temporary directory.
fn config(dir: &Path, receiver: SocketAddr, unknown_imports: &str) -> HostConfig {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).unwrap();
    std::env::set_var(
        "PLUGMILL_TEST_LINE_B_KEY",
        base64::engine::general_purpose::STANDARD.encode(key),
    );
    let text = format!(
        r#"
[loading]
unknown_imports = "{unknown_imports}"

[databases.records]
url = "sqlite://{dir}/records.db"

[secrets]
database = "records"
keys = [{{ id = "k1", env = "PLUGMILL_TEST_LINE_B_KEY" }}]

[documents]
dir = "{dir}/documents"
public_assets_url = "https://assets.example.com/public/"

[plugins.miru-b]
http = ["http://{receiver}"]
dirs = [{{ host = "{dir}/tmp", guest = "/tmp", writable = true }}]
"#,
        dir = dir.display()
    );
    HostConfig::parse(&text, "plugmill.toml").unwrap()
}

async fn call(m: &PluginManager, tenant: &str, hook: &str, input: Value) -> Result<Value, String> {
    let args = [json!(input.to_string())];
    let call = m.call_hook_json(hook, &args);
    let mut outcome = with_tenant(Some(tenant), call).await.remove(0);
    let value = match outcome.result.as_mut() {
        Ok(values) => values.remove(0),
        Err(error) => return Err(format!("call failed: {error}")),
    };
    match value {
        Value::Object(mut result) if result.contains_key("ok") => Ok(result.remove("ok").unwrap()),
        Value::Object(result) => Err(result["err"].as_str().unwrap().to_string()),
        other => panic!("not a result: {other}"),
    }
}

async fn manager(
    builder: ManagerBuilder,
) -> (PluginManager, plugmill::LoadReport, tempfile::TempDir) {
    load_with(builder, &[("miru-b.wasm", test_plugins::MIRU_B)]).await
}

fn input(receiver: SocketAddr, tenant: &str) -> Value {
    json!({
        "tenant_id": tenant,
        "event_id": "event-7",
        "zip_path": "/tmp/package.zip",
        "uri": format!("http://{receiver}/transmissions"),
        "asset_url": "https://assets.example.com/public/logos/seal.png",
    })
}

#[tokio::test]
async fn a_plugin_of_the_newer_miru_world_runs_end_to_end_with_the_seed_s_services_trapping() {
    let dir = tempfile::tempdir().unwrap();
    let (address, received) = receiver().await;
    let config = config(dir.path(), address, "trap");
    let (m, report, _plugins) = manager(super::builder().config(&config).unwrap()).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);

    let done = call(
        &m,
        "tenant-a",
        "create-transmission-package",
        input(address, "tenant-a"),
    )
    .await;
    assert_eq!(done, Ok(Value::Null));

    let package = std::fs::read(dir.path().join("tmp/package.zip")).unwrap();
    let text = String::from_utf8(package.clone()).unwrap();
    assert!(
        text.starts_with("Package of event-7 for tenant-a\nsha256:"),
        "{text}"
    );
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        b"Package of event-7 for tenant-a",
    ));
    assert!(text.contains(&digest), "hash-sha256 is SHA-256");
    assert_eq!(
        received.lock().unwrap().as_slice(),
        [Bytes::from(package.clone())],
        "send-zip posted the file"
    );
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("documents/tenant-a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".json"))
        .collect();
    assert_eq!(stored.len(), 1, "one document uploaded");
    assert_eq!(
        std::fs::read(dir.path().join("documents/tenant-a").join(&stored[0])).unwrap(),
        package
    );

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/records.db", dir.path().display()))
        .await
        .unwrap();
    let names: Vec<(String, String, String)> =
        sqlx::query_as("SELECT tenant_id, plugin, name FROM plugmill_secrets")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        names,
        [(
            "tenant-a".into(),
            "miru-b".into(),
            "vault/event-7/transmission-key".into()
        )]
    );
    pool.close().await;

    let other_tenant = call(
        &m,
        "tenant-a",
        "create-transmission-package",
        input(address, "tenant-b"),
    )
    .await;
    let error = other_tenant.unwrap_err();
    assert!(
        error.starts_with("save-secret: not permitted: plugin `miru-b` acts for another tenant"),
        "{error}"
    );

    let trapped = call(
        &m,
        "tenant-a",
        "send-transmission-package",
        input(address, "tenant-a"),
    )
    .await;
    let error = trapped.unwrap_err();
    assert!(
        error.contains("plugins-manager:transactions-manager/postgres-queries")
            && error.contains("get-election-event-by-id"),
        "{error}"
    );
}

#[tokio::test]
async fn without_trap_the_seed_platform_s_interfaces_are_missing_imports() {
    let dir = tempfile::tempdir().unwrap();
    let (address, _) = receiver().await;
    let config = config(dir.path(), address, "reject");
    let (_m, report, _plugins) = manager(super::builder().config(&config).unwrap()).await;
    let rejection = super::rejection(&report, "miru-b.wasm");
    let text = rejection.to_string();
    assert!(
        text.contains("postgres-queries") && text.contains("cli-service"),
        "{text}"
    );
}

#[tokio::test]
async fn an_embedder_provides_the_seed_platform_s_queries_with_sql_on_its_own_schema() {
    const TENANT_A: &str = "0a8f3c52-1111-4d2e-8e4b-5c6d7e8f9a01";
    const TENANT_B: &str = "0a8f3c52-2222-4d2e-8e4b-5c6d7e8f9a02";
    const EVENT: &str = "5e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a21";
    let schema = super::database::Schema::new().await;
    let pool =
        super::seed_platform_queries::connect(&super::database::postgres_url(), &schema.name)
            .await
            .expect("the platform's schema");
    sqlx::query(
        "INSERT INTO election_event (tenant_id, id, name) \
         VALUES ($1::text::uuid, $2::text::uuid, 'General election')",
    )
    .bind(TENANT_A)
    .bind(EVENT)
    .execute(&pool)
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (address, _) = receiver().await;
    let config = config(dir.path(), address, "trap");
    let linked = pool.clone();
    let builder = super::builder()
        .config(&config)
        .unwrap()
        .host_interfaces(move |linker: &mut Linker<HostState>| {
            super::seed_platform_queries::add_to_linker(linker, &linked)
        })
        .grant_import("miru-b", super::seed_platform_queries::INTERFACE);
    let (m, report, _plugins) = manager(builder).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    let m = &m;
    let send = |tenant: &'static str, tenant_id: &'static str, event: &'static str| {
        let input = json!({ "tenant_id": tenant_id, "event_id": event });
        call(m, tenant, "send-transmission-package", input)
    };

    assert_eq!(send(TENANT_A, TENANT_A, EVENT).await, Ok(Value::Null));

    let error = send(TENANT_B, TENANT_B, EVENT).await.unwrap_err();
    assert_eq!(
        error, "no such election event for the tenant",
        "another tenant's row"
    );

    let error = send(TENANT_B, TENANT_A, EVENT).await.unwrap_err();
    assert!(
        error.starts_with("not permitted: plugin `miru-b` asked for tenant"),
        "{error}"
    );

    let error = send(TENANT_A, TENANT_A, "not-a-uuid").await.unwrap_err();
    assert!(
        error.starts_with("get-election-event-by-id: invalid input syntax for type uuid"),
        "{error}"
    );
}
