//! The documents capability on a local directory and on a real S3-protocol server
//! (`test-s3`): a plugin stores, reads, lists and deletes its tenant's documents only, under
//! ids the host gives, within the size cap and the accepted content types.

use std::sync::Arc;

use plugmill::capabilities::documents::Documents;
use plugmill::config::HostConfig;
use plugmill::{with_tenant, ManagerBuilder, PluginManager};
use serde_json::{json, Value};

use super::load_with;
use super::s3::Server;

async fn manager(builder: ManagerBuilder) -> (PluginManager, tempfile::TempDir) {
    let (manager, report, dir) =
        load_with(builder, &[("documents.wasm", test_plugins::DOCUMENTS_USER)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, dir)
}

async fn call(
    m: &PluginManager,
    tenant: Option<&str>,
    hook: &str,
    args: &[&str],
) -> Result<Value, String> {
    let args: Vec<Value> = args.iter().map(|a| json!(a)).collect();
    let mut outcome = with_tenant(tenant, m.call_hook_json(hook, &args))
        .await
        .remove(0);
    let value = outcome.result.as_mut().expect("the hook runs").remove(0);
    super::hook_result(value).map(|ok| match ok {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    })
}

/// What every storage must do, for tenants `a` and `b`.
async fn a_tenant_s_documents_are_its_own(m: &PluginManager) -> String {
    let (a, b) = (Some("tenant-a"), Some("tenant-b"));
    let stored = call(
        m,
        a,
        "doc-put",
        &["report.txt", "text/plain; charset=utf-8", "hello documents"],
    )
    .await
    .unwrap();
    let id = stored["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "the host gives the id");
    assert_eq!(stored["name"], "report.txt");
    assert_eq!(stored["content_type"], "text/plain; charset=utf-8");
    assert_eq!(stored["size"], 15);

    let read = call(m, a, "doc-get", &[&id]).await.unwrap();
    assert_eq!(read["text"], "hello documents");
    assert_eq!(read["name"], "report.txt");
    let other = call(m, b, "doc-get", &[&id]).await.unwrap_err();
    assert!(
        other.starts_with("not-found: "),
        "another tenant's id is not found: {other}"
    );
    assert_eq!(call(m, b, "doc-list", &[]).await.unwrap(), json!([]));
    assert_eq!(
        call(m, b, "doc-delete", &[&id]).await.unwrap(),
        json!(false)
    );

    let second = call(m, a, "doc-put", &["b.pdf", "application/pdf", "%PDF"])
        .await
        .unwrap();
    let listed = call(m, a, "doc-list", &[]).await.unwrap();
    let mut ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![id.as_str(), second["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);

    let big = "x".repeat(1001);
    let too_large = call(m, a, "doc-put", &["big.txt", "text/plain", &big])
        .await
        .unwrap_err();
    assert!(
        too_large.starts_with("too-large: a document of 1001 bytes is over 1000 bytes"),
        "{too_large}"
    );
    let refused = call(m, a, "doc-put", &["x.png", "image/png", "png"])
        .await
        .unwrap_err();
    assert!(
        refused.starts_with("invalid: the host does not accept documents of type `image/png`"),
        "{refused}"
    );
    let invalid = call(m, a, "doc-put", &["x", "not a type", "x"])
        .await
        .unwrap_err();
    assert!(invalid.starts_with("invalid: "), "{invalid}");
    let traversal = call(m, a, "doc-get", &["../tenant-b/x"]).await.unwrap_err();
    assert!(traversal.starts_with("not-found: "), "{traversal}");
    let untenanted = call(m, None, "doc-list", &[]).await.unwrap_err();
    assert!(untenanted.starts_with("no-tenant: "), "{untenanted}");

    assert_eq!(call(m, a, "doc-delete", &[&id]).await.unwrap(), json!(true));
    assert!(call(m, a, "doc-get", &[&id])
        .await
        .unwrap_err()
        .starts_with("not-found: "));
    second["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn documents_in_a_local_directory_belong_to_their_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[documents]\ndir = {:?}\nmax_size = 1000\ncontent_types = [\"text/*\", \"application/pdf\"]\n",
        dir.path().join("docs").display().to_string()
    );
    let config = HostConfig::parse(&text, "plugmill.toml").unwrap();
    let (m, _plugins) = manager(super::builder().config(&config).unwrap()).await;
    let kept = a_tenant_s_documents_are_its_own(&m).await;
    let folder = dir.path().join("docs").join("tenant-a");
    assert_eq!(std::fs::read(folder.join(&kept)).unwrap(), b"%PDF");
    assert!(folder.join(format!("{kept}.json")).is_file());
    assert!(!dir.path().join("docs").join("tenant-b").exists());
}

#[tokio::test]
async fn documents_on_s3_belong_to_their_tenant() {
    let server = Server::start().await;
    server.create_bucket("docs");
    let source = server.source("s3://docs/plugmill/");
    let store: Arc<dyn object_store::ObjectStore> = source.store().clone();
    let builder = super::builder().with_capability(|documents: &mut Documents| {
        documents
            .use_store(store, source.prefix())
            .set_max_size(1000)
            .set_content_types(vec!["text/*".into(), "application/pdf".into()]);
    });
    let (m, _plugins) = manager(builder).await;
    let kept = a_tenant_s_documents_are_its_own(&m).await;
    let object = server
        .get("docs", &format!("plugmill/tenant-a/{kept}"))
        .await;
    assert_eq!(object, b"%PDF");
}

#[tokio::test]
async fn bad_documents_settings_are_configuration_errors() {
    for (text, says) in [
        ("[documents]\nurl = \"http://x\"\n", "is not an s3:// URL"),
        (
            "[documents]\ndir = \"a\"\nurl = \"s3://b/\"\n",
            "give `dir` or `url`, not both",
        ),
        ("[documents]\nmax_size = 0\n", "[documents] max_size:"),
        (
            "[documents]\ncontent_types = [\"*/*\"]\n",
            "is not a content type pattern",
        ),
    ] {
        let error = super::config_error(text);
        assert!(error.contains(says), "{text}: {error}");
    }
}
