//! Runs JSON scripts of database operations through the seed and the typed database interfaces (hooks `seed`, `typed`).

const PLUGIN_NAME: &str = "db-client";

include!("script.rs");
