// The body of `secrets-keeper` and `secrets-peer`: the same hooks under two plugin names.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugmill::secrets::secrets::{self, Error};

wit_bindgen::generate!({
    path: ["../../../../wit/common", "../../../../wit/secrets"],
    generate_all,
    inline: r#"
        package test:secrets-keeper;

        world secrets-keeper {
            import plugmill:secrets/secrets@0.1.0;
            export plugins-manager:common/plugin-common;
            export secret-get: func(only: string, name: string) -> result<option<string>, string>;
            export secret-set: func(only: string, name: string, value: string) -> result<bool, string>;
            export secret-delete: func(only: string, name: string) -> result<bool, string>;
            export secret-list: func(only: string) -> result<list<string>, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: NAME.into(),
            hooks: ["secret-get", "secret-set", "secret-delete", "secret-list"]
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
        Error::InvalidName(m) => format!("invalid-name: {m}"),
        Error::TooLarge(m) => format!("too-large: {m}"),
        Error::Unavailable(m) => format!("unavailable: {m}"),
    }
}

/// Whether this plugin is the one a call is meant for (`*`: every plugin).
fn mine(only: &str) -> bool {
    only == "*" || only == NAME
}

impl Guest for Plugin {
    fn secret_get(only: String, name: String) -> Result<Option<String>, String> {
        if !mine(&only) {
            return Ok(None);
        }
        secrets::get(&name).map_err(text)
    }

    fn secret_set(only: String, name: String, value: String) -> Result<bool, String> {
        if !mine(&only) {
            return Ok(false);
        }
        secrets::set(&name, &value).map_err(text).map(|()| true)
    }

    fn secret_delete(only: String, name: String) -> Result<bool, String> {
        if !mine(&only) {
            return Ok(false);
        }
        secrets::delete(&name).map_err(text)
    }

    fn secret_list(only: String) -> Result<Vec<String>, String> {
        if !mine(&only) {
            return Ok(vec![]);
        }
        secrets::names().map_err(text)
    }
}

export!(Plugin);
