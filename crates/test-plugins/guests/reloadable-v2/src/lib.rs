//! Plugin `reloadable`, version 2: the same plugin as reloadable-v1, answering "v2".

const VERSION: &str = "v2";

include!("../../reloadable-v1/src/plugin.rs");
