//! Imports the seed's `plugins-manager:transactions-manager/transaction` interface; hook `begin` uses it.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugins_manager::transactions_manager::transaction;

wit_bindgen::generate!({
    path: ["../../../../wit/common", "../../../../wit/transactions-manager"],
    generate_all,
    inline: r#"
        package test:db-user;

        world db-user {
            import plugins-manager:transactions-manager/transaction;
            export plugins-manager:common/plugin-common;
            export begin: func() -> result<_, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "db-user".into(),
            hooks: vec!["begin".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn begin() -> Result<(), String> {
        transaction::create_hasura_transaction()
    }
}

export!(Plugin);
