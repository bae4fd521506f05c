//! The generic functions of `plugins-manager:documents-manager/documents`, linked one by
//! one into the interface's instance so that an embedder completes it with the seed
//! platform's own functions (or `unknown_imports = "trap"` stubs them):
//!
//! - `render-template-text(template, variables-json)`: a minijinja template (Jinja syntax,
//!   as the seed's handlebars-like templates are written), bounded in work and output;
//! - `hash-sha256(bytes)`;
//! - `upload-and-return-document(file-size, media-type, tenant-id, event?, name, id?,
//!   public)`: stores the file at `name` (a path in a directory granted to the plugin) as a
//!   document of the tenant and answers its record as JSON, with the `id` the host gave it;
//! - `download-s3-file-to-string(file-url)`: the text of a document of the tenant, by its id
//!   or a URL ending with it;
//! - `create-document-as-temp-file(tenant-id, document-id)`: writes a document of the tenant
//!   into the plugin's first writable granted directory and answers the path the plugin
//!   sees;
//! - `get-s3-public-asset-file-path(file-name)`: the URL of a public asset under
//!   `[documents] public_assets_url` (a relative path of plain segments, never one leaving it).

use serde_json::json;
use sha2::{Digest as _, Sha256};
use wasmtime::component::Linker;

use super::tenant::same_tenant;
use crate::capabilities::documents::{Documents, Error, TenantDocuments};
use crate::host::HostState;

/// The documents interface of the seed.
pub const INTERFACE: &str = "plugins-manager:documents-manager/documents";
/// The work one template may do (minijinja fuel).
const TEMPLATE_FUEL: u64 = 1_000_000;
/// The longest template or rendered text.
const MAX_TEXT: usize = 4 << 20;

fn error_text(error: Error) -> String {
    match error {
        Error::NoTenant(m)
        | Error::NotFound(m)
        | Error::TooLarge(m)
        | Error::Invalid(m)
        | Error::Unavailable(m) => m,
    }
}

/// Renders `template` with the JSON object `variables`.
pub fn render_template(template: &str, variables: &str) -> Result<String, String> {
    if template.len() > MAX_TEXT {
        return Err(format!("the template is over {MAX_TEXT} bytes"));
    }
    let variables: serde_json::Value =
        serde_json::from_str(variables).map_err(|e| format!("the variables are not JSON: {e}"))?;
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let rendered = env
        .render_str(template, variables)
        .map_err(|e| format!("the template cannot be rendered: {e}"))?;
    if rendered.len() > MAX_TEXT {
        return Err(format!("the rendered text is over {MAX_TEXT} bytes"));
    }
    Ok(rendered)
}

/// The document id a `file-url` names: itself, or the last segment of its path.
fn document_id(file_url: &str) -> &str {
    let without_query = file_url.split(['?', '#']).next().unwrap_or("");
    without_query
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
}

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    let mut instance = linker.instance(INTERFACE)?;
    instance.func_wrap(
        "render-template-text",
        |_, (template, variables): (String, String)| Ok((render_template(&template, &variables),)),
    )?;
    instance.func_wrap(
        "get-s3-public-asset-file-path",
        |store, (file_name,): (String,)| {
            let answer = match store.data().capability::<Documents>() {
                Some(documents) => documents.public_asset_url(&file_name),
                None => Err("the host has no documents capability".to_string()),
            };
            Ok((answer,))
        },
    )?;
    instance.func_wrap("hash-sha256", |_, (bytes,): (Vec<u8>,)| {
        Ok((Ok::<_, String>(Sha256::digest(&bytes).to_vec()),))
    })?;
    instance.func_wrap_async(
        "download-s3-file-to-string",
        |store, (file_url,): (String,)| {
            let documents = TenantDocuments::of(store.data());
            Box::new(async move {
                let answer: Result<String, String> = async {
                    let documents = documents.map_err(error_text)?;
                    let (_, bytes) = documents
                        .get(document_id(&file_url).to_string())
                        .await
                        .map_err(error_text)?;
                    String::from_utf8(bytes)
                        .map_err(|_| "the document is not UTF-8 text".to_string())
                }
                .await;
                Ok((answer,))
            })
        },
    )?;
    instance.func_wrap_async(
        "upload-and-return-document",
        |store,
         (file_size, media_type, tenant_id, election_event_id, name, _document_id, is_public): (
            u64,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            bool,
        )| {
            let state = store.data();
            let plugin = state.plugin_name().to_string();
            let checked = same_tenant(&plugin, &tenant_id)
                .and_then(|()| {
                    state.wasi_grants().host_path(&name).ok_or_else(|| {
                        format!("`{name}` is not in a directory granted to plugin `{plugin}`")
                    })
                })
                .and_then(|(path, _)| {
                    TenantDocuments::of(state)
                        .map(|documents| (path, documents))
                        .map_err(error_text)
                });
            Box::new(async move {
                let answer: Result<String, String> = async {
                    let (path, documents) = checked?;
                    let bytes = crate::files::read_regular(&path, file_size.saturating_add(1))
                        .map_err(|e| format!("`{name}` cannot be read: {e}"))?;
                    if bytes.len() as u64 != file_size {
                        return Err(format!(
                            "`{name}` holds {} bytes, not the {file_size} announced",
                            bytes.len()
                        ));
                    }
                    let file_name = name.rsplit('/').next().unwrap_or(&name).to_string();
                    let stored = documents
                        .put(file_name, media_type, bytes)
                        .await
                        .map_err(error_text)?;
                    Ok(json!({
                        "id": stored.id,
                        "name": stored.name,
                        "media_type": stored.content_type,
                        "size": stored.size,
                        "tenant_id": tenant_id,
                        "election_event_id": election_event_id,
                        "is_public": is_public,
                    })
                    .to_string())
                }
                .await;
                Ok((answer,))
            })
        },
    )?;
    instance.func_wrap_async(
        "create-document-as-temp-file",
        |store, (tenant_id, document): (String, String)| {
            let state = store.data();
            let plugin = state.plugin_name().to_string();
            let writable = state
                .wasi_grants()
                .dirs
                .iter()
                .find(|dir| dir.writable)
                .map(|dir| (dir.host.clone(), dir.guest.trim_end_matches('/').to_string()));
            let checked = same_tenant(&plugin, &tenant_id).and_then(|()| {
                TenantDocuments::of(state).map_err(error_text)
            });
            Box::new(async move {
                let answer: Result<String, String> = async {
                    let documents = checked?;
                    let (host_dir, guest_dir) = writable.ok_or_else(|| {
                        format!("plugin `{plugin}` is granted no writable directory (`dirs` under [plugins.{plugin}])")
                    })?;
                    let id = document_id(&document).to_string();
                    let (_, bytes) = documents.get(id.clone()).await.map_err(error_text)?;
                    let file = format!("document-{id}");
                    tokio::fs::write(host_dir.join(&file), bytes)
                        .await
                        .map_err(|e| format!("the temporary file cannot be written: {e}"))?;
                    Ok(format!("{guest_dir}/{file}"))
                }
                .await;
                Ok((answer,))
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_with_json_variables_and_bounded_work() {
        assert_eq!(
            render_template(
                "Hello {{ name }}: {{ items | length }}",
                r#"{"name":"ana","items":[1,2]}"#
            )
            .unwrap(),
            "Hello ana: 2"
        );
        assert!(render_template("{{ missing }}", "{}")
            .unwrap_err()
            .contains("undefined"));
        assert!(render_template("{{", "{}").is_err());
        assert!(render_template("x", "not json")
            .unwrap_err()
            .contains("not JSON"));
        let endless =
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
        assert!(render_template(endless, "{}").is_err(), "fuel ends it");
    }

    #[test]
    fn a_file_url_names_its_document_by_the_last_segment() {
        assert_eq!(document_id("abc"), "abc");
        assert_eq!(document_id("s3://bucket/tenant/abc?x=1"), "abc");
        assert_eq!(document_id("https://h/p/abc/"), "abc");
    }
}
