//! Imports `plugmill:secrets`; hooks `secret-get/set/delete/list(only, ...)` act when `only` is `secrets-keeper` or `*`.

const NAME: &str = "secrets-keeper";

include!("keeper.rs");
