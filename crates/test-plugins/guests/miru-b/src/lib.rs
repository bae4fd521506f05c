//! Built against the seed's newer `miru` world (`wit/line-b`): imports vault, request-service, documents, postgres-queries and cli-service; `create-transmission-package(data)` uses the generic services end to end.
//!
//! `create-transmission-package` reads `{tenant_id, event_id, zip_path, uri, asset_url}`
//! from its input: saves and reads back a vault secret, renders a template, hashes it, writes
//! the package at `zip_path`, posts it with `send-zip`, uploads it as a document and
//! downloads it again, and checks that the public asset `logos/seal.png` is at `asset_url`
//! while `../private/key.pem` is refused, failing with the step that went wrong. `send-transmission-package` asks the seed
//! platform's `postgres-queries` for the election event; `upload-transmission-package-
//! signature` asks its `cli-service` to sign.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugins_manager::documents_manager::documents;
use plugins_manager::extra_services_manager::{cli_service, request_service};
use plugins_manager::transactions_manager::{postgres_queries, vault};
use serde_json::{json, Value};

wit_bindgen::generate!({
    path: [
        "../../../../wit/common",
        "../../../../wit/transactions-manager",
        "../../../../wit/jwt",
        "../../../../wit/documents-manager",
        "../../../../wit/extra-services-manager",
        "../../../../wit/line-b",
    ],
    world: "plugins-manager:miru-plugin/miru-plugin",
    generate_all,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "miru-b".into(),
            hooks: [
                "create-transmission-package",
                "send-transmission-package",
                "upload-transmission-package-signature",
            ]
            .map(String::from)
            .to_vec(),
            routes: vec![],
            tasks: vec![],
        }
    }
}

fn field(input: &Value, name: &str) -> Result<String, String> {
    input[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the input has no `{name}`"))
}

impl Guest for Plugin {
    fn create_transmission_package(data: String) -> Result<(), String> {
        let input: Value = serde_json::from_str(&data).map_err(|e| format!("input: {e}"))?;
        let tenant = field(&input, "tenant_id")?;
        let event = field(&input, "event_id")?;
        let zip_path = field(&input, "zip_path")?;
        let uri = field(&input, "uri")?;

        vault::save_secret(&tenant, Some(&event), "transmission-key", "key-of-the-event")
            .map_err(|e| format!("save-secret: {e}"))?;
        let kept = vault::read_secret(&tenant, Some(&event), "transmission-key")
            .map_err(|e| format!("read-secret: {e}"))?;
        if kept.as_deref() != Some("key-of-the-event") {
            return Err(format!("read-secret answered {kept:?}"));
        }

        let variables = json!({ "tenant": tenant, "event": event }).to_string();
        let text = documents::render_template_text(
            "Package of {{ event }} for {{ tenant }}",
            &variables,
        )
        .map_err(|e| format!("render-template-text: {e}"))?;
        let digest = documents::hash_sha256(text.as_bytes()).map_err(|e| format!("hash-sha256: {e}"))?;
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let package = format!("{text}\nsha256:{hex}\n");
        std::fs::write(&zip_path, &package).map_err(|e| format!("writing {zip_path}: {e}"))?;

        request_service::send_zip(&zip_path, &uri).map_err(|e| format!("send-zip: {e}"))?;

        let answer = documents::upload_and_return_document(
            package.len() as u64,
            "application/zip",
            &tenant,
            Some(&event),
            &zip_path,
            None,
            false,
        )
        .map_err(|e| format!("upload-and-return-document: {e}"))?;
        let document: Value =
            serde_json::from_str(&answer).map_err(|e| format!("the document answer: {e}"))?;
        let id = document["id"].as_str().ok_or("the document answer has no id")?;
        let downloaded = documents::download_s3_file_to_string(&format!("documents/{tenant}/{id}"))
            .map_err(|e| format!("download-s3-file-to-string: {e}"))?;
        if downloaded != package {
            return Err("the downloaded document differs from the uploaded one".into());
        }

        let asset = documents::get_s3_public_asset_file_path("logos/seal.png")
            .map_err(|e| format!("get-s3-public-asset-file-path: {e}"))?;
        if asset != field(&input, "asset_url")? {
            return Err(format!("get-s3-public-asset-file-path answered {asset}"));
        }
        if let Ok(outside) = documents::get_s3_public_asset_file_path("../private/key.pem") {
            return Err(format!("a path leaving the public assets was answered: {outside}"));
        }
        Ok(())
    }

    fn send_transmission_package(data: String) -> Result<(), String> {
        let input: Value = serde_json::from_str(&data).map_err(|e| format!("input: {e}"))?;
        let event = postgres_queries::get_election_event_by_id(
            &field(&input, "tenant_id")?,
            &field(&input, "event_id")?,
        )?;
        if event.is_empty() {
            return Err("no election event".into());
        }
        Ok(())
    }

    fn upload_transmission_package_signature(data: String) -> Result<(), String> {
        let _ = cli_service::run_shell_command_ecies_sign_data("sign.jar", "key.pem", &data)?;
        Ok(())
    }
}

export!(Plugin);
