//! The db-client scripts under a second plugin name, for tests of two plugins at once.

const PLUGIN_NAME: &str = "db-peer";

include!("../../db-client/src/script.rs");
