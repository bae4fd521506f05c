//! An example plugmill plugin using the typed database capability: the hook `record-event`
//! writes an event row inside a transaction, the route `/audit-log/events` reads the rows back.
//!
//! The host grants the database in its configuration:
//!
//! ```toml
//! [databases.audit]
//! url = "sqlite://audit.db"          # or postgres://...
//!
//! [plugins.audit-log]
//! databases = ["audit"]
//! ```

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use plugmill::database::transactions::{begin, Transaction};
use plugmill::database::types::{DatabaseError, Value};
use serde_json::Value as Json;

wit_bindgen::generate!({
    world: "example:audit-log/audit-log",
    // The shared contract (`plugins-manager:common`), plugmill's database WIT, then this
    // plugin's own `wit/`. Paths are relative to Cargo.toml.
    path: [
        "../../wit/common",
        "../../wit/database",
        "wit",
    ],
    generate_all,
});

const NAME: &str = "audit-log";
/// The database this plugin is granted.
const DATABASE: &str = "audit";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS audit_events (
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    recorded_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

struct AuditLog;

fn describe(error: DatabaseError) -> String {
    format!("{:?}: {}", error.kind, error.message)
}

/// Begins a transaction with the table in place.
fn transaction() -> Result<Transaction, String> {
    let tx = begin(DATABASE).map_err(describe)?;
    tx.execute(CREATE_TABLE, &[]).map_err(describe)?;
    Ok(tx)
}

impl PluginCommon for AuditLog {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: NAME.into(),
            hooks: vec!["record-event".into()],
            routes: vec![PluginRoute {
                path: format!("/{NAME}/events"),
                handler: "list-events".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for AuditLog {
    fn record_event(kind: String, detail: String) -> Result<(), String> {
        if kind.trim().is_empty() {
            return Err("an event needs a kind".into());
        }
        let tx = transaction()?;
        tx.execute(
            "INSERT INTO audit_events (kind, detail) VALUES ($1, $2)",
            &[Value::Text(kind), Value::Text(detail)],
        )
        .map_err(describe)?;
        // Without this commit the host rolls the insert back when the call ends.
        tx.commit().map_err(describe)
    }

    fn list_events(data: String) -> Result<String, String> {
        let filter: Json = serde_json::from_str(&data).map_err(|e| format!("data: {e}"))?;
        let limit = filter.get("limit").and_then(Json::as_i64).unwrap_or(100);
        let tx = transaction()?;
        let rows = match filter.get("kind").and_then(Json::as_str) {
            Some(kind) => tx.query_json(
                "SELECT kind, detail, recorded_at FROM audit_events WHERE kind = $1 ORDER BY recorded_at DESC LIMIT $2",
                &[Value::Text(kind.into()), Value::Int(limit)],
            ),
            None => tx.query_json(
                "SELECT kind, detail, recorded_at FROM audit_events ORDER BY recorded_at DESC LIMIT $1",
                &[Value::Int(limit)],
            ),
        }
        .map_err(describe)?;
        tx.commit().map_err(describe)?;
        Ok(format!("{{\"events\":{rows}}}"))
    }
}

export!(AuditLog);
