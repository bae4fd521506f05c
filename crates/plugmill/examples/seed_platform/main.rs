//! A platform embedding plugmill completes the seed's newer interfaces with its own domain
//! functions: `postgres-queries` here, SQL on the platform's own schema (`queries.rs`).
//!
//! The plugin (`crates/test-plugins/guests/miru-b`) is built against the seed's newer `miru`
//! world. Its `send-transmission-package` hook asks `get-election-event-by-id` for the event
//! named in its input; this example stores one event, calls the hook for its tenant (found)
//! and for another event (the plugin's error), and prints both answers. `cli-service`, which
//! only the seed's platform has, is left to `unknown_imports = "trap"`.
//!
//! Run (PostgreSQL at `DATABASE_URL`, by default the local server's `test` database):
//! `cargo run -p plugmill --example seed_platform`

mod queries;

use plugmill::config::HostConfig;
use plugmill::source::LocalDirectory;
use plugmill::{with_tenant, PluginManager};
use serde_json::{json, Value};

const TENANT: &str = "2f1c7a36-5f3c-4d6e-9a43-0b8e6c1d2a11";
const EVENT: &str = "8d0e5a4b-3c2f-4b1a-9e8d-7f6a5b4c3d21";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pool = queries::connect(&url, "election_platform").await?;
    sqlx::query(
        "INSERT INTO election_event (tenant_id, id, name) VALUES ($1::text::uuid, $2::text::uuid, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(TENANT)
    .bind(EVENT)
    .bind("General election")
    .execute(&pool)
    .await?;

    let config = HostConfig::parse("[loading]\nunknown_imports = \"trap\"\n", "plugmill.toml")?;
    let linked = pool.clone();
    let manager = PluginManager::builder()
        .config(&config)?
        .host_interfaces(move |linker| queries::add_to_linker(linker, &linked))
        .grant_import("miru-b", queries::INTERFACE)
        .build()?;
    let dir = tempfile::tempdir()?;
    std::fs::copy(test_plugins::MIRU_B, dir.path().join("miru-b.wasm"))?;
    let report = manager.load(&LocalDirectory::new(dir.path())).await?;
    anyhow::ensure!(
        report.rejected.is_empty(),
        "rejected: {:?}",
        report.rejected
    );

    for event in [EVENT, "00000000-0000-4000-8000-000000000000"] {
        let input = json!({ "tenant_id": TENANT, "event_id": event }).to_string();
        let args = [Value::String(input)];
        let call = manager.call_hook_json("send-transmission-package", &args);
        let outcomes = with_tenant(Some(TENANT), call).await;
        for outcome in outcomes {
            match outcome.result {
                Ok(values) => println!("event {event}: {}", Value::Array(values)),
                Err(error) => println!("event {event}: the call failed: {error}"),
            }
        }
    }
    Ok(())
}
