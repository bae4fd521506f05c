//! Imports `plugmill:documents`; hooks `doc-put(name, type, text)`, `doc-get(id)`, `doc-delete(id)` and `doc-list()` answer JSON text or the error as `kind: message`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugmill::documents::documents::{self, DocumentInfo, Error};
use serde_json::json;

wit_bindgen::generate!({
    path: ["../../../../wit/common", "../../../../wit/documents"],
    generate_all,
    inline: r#"
        package test:documents-user;

        world documents-user {
            import plugmill:documents/documents@0.1.0;
            export plugins-manager:common/plugin-common;
            export doc-put: func(name: string, content-type: string, text: string) -> result<string, string>;
            export doc-get: func(id: string) -> result<string, string>;
            export doc-delete: func(id: string) -> result<bool, string>;
            export doc-list: func() -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "documents-user".into(),
            hooks: ["doc-put", "doc-get", "doc-delete", "doc-list"]
                .map(String::from)
                .to_vec(),
            routes: vec![],
            tasks: vec![],
        }
    }
}

fn text(error: Error) -> String {
    match error {
        Error::NoTenant(m) => format!("no-tenant: {m}"),
        Error::NotFound(m) => format!("not-found: {m}"),
        Error::TooLarge(m) => format!("too-large: {m}"),
        Error::Invalid(m) => format!("invalid: {m}"),
        Error::Unavailable(m) => format!("unavailable: {m}"),
    }
}

fn info(info: &DocumentInfo) -> serde_json::Value {
    json!({
        "id": info.id,
        "name": info.name,
        "content_type": info.content_type,
        "size": info.size,
    })
}

impl Guest for Plugin {
    fn doc_put(name: String, content_type: String, text_body: String) -> Result<String, String> {
        let stored = documents::put(&name, &content_type, text_body.as_bytes()).map_err(text)?;
        Ok(info(&stored).to_string())
    }

    fn doc_get(id: String) -> Result<String, String> {
        let (stored, bytes) = documents::get(&id).map_err(text)?;
        let mut answer = info(&stored);
        answer["text"] = json!(String::from_utf8_lossy(&bytes));
        Ok(answer.to_string())
    }

    fn doc_delete(id: String) -> Result<bool, String> {
        documents::delete(&id).map_err(text)
    }

    fn doc_list() -> Result<String, String> {
        let listed = documents::list_documents().map_err(text)?;
        Ok(json!(listed.iter().map(info).collect::<Vec<_>>()).to_string())
    }
}

export!(Plugin);
