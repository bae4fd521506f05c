//! Plugin `reloadable`, version 1: hook `version(sleep-ms)` sleeps, then answers "v1".

const VERSION: &str = "v1";

include!("plugin.rs");
