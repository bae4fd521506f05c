//! Built like the seed system's released plugin `miru`: imports the transaction and authorization interfaces, serves a process-as-task route and authorizes with the caller's claims.
//!
//! `create-transmission-package(data)` reads `claims` (a JSON string, as the server injects
//! it) from its input, calls `authorize` with its hard-coded tenant and `["admin-user"]`
//! (`allow_super_admin` and `permissions` may be given in the input, for tests), opens a
//! hasura transaction when the input asks for `use_database`, and answers a small JSON
//! document.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use plugins_manager::jwt::authorization::authorize;
use plugins_manager::transactions_manager::transaction;
use serde_json::{json, Value};

wit_bindgen::generate!({
    path: [
        "../../../../wit/common",
        "../../../../wit/transactions-manager",
        "../../../../wit/jwt",
    ],
    generate_all,
    inline: r#"
        package test:miru;

        world miru {
            import plugins-manager:transactions-manager/transaction;
            import plugins-manager:jwt/authorization;
            export plugins-manager:common/plugin-common;
            export create-transmission-package: func(data: string) -> result<string, string>;
        }
    "#,
});

/// The tenant the seed's plugin hard-codes.
const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";
const HANDLER: &str = "create-transmission-package";

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "miru".into(),
            hooks: vec![HANDLER.into()],
            routes: vec![PluginRoute {
                path: format!("/miru/{HANDLER}"),
                handler: HANDLER.into(),
                process_as_task: true,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn create_transmission_package(data: String) -> Result<String, String> {
        let input: Value =
            serde_json::from_str(&data).map_err(|e| format!("the input is not JSON: {e}"))?;
        let claims = match &input["claims"] {
            Value::String(text) => text.clone(),
            Value::Null => return Err("the input has no claims".into()),
            other => other.to_string(),
        };
        let allow_super_admin = input["allow_super_admin"].as_bool().unwrap_or(false);
        let permissions: Vec<String> = match input["permissions"].as_array() {
            Some(list) => list
                .iter()
                .map(|p| p.as_str().unwrap_or_default().to_string())
                .collect(),
            None => vec!["admin-user".to_string()],
        };
        authorize(&claims, allow_super_admin, Some(TENANT), &permissions)?;
        if input["use_database"].as_bool().unwrap_or(false) {
            transaction::create_hasura_transaction()?;
        }
        Ok(json!({
            "status": "packaged",
            "tenant_id": TENANT,
            "document_id": input["document_id"],
        })
        .to_string())
    }
}

export!(Plugin);
