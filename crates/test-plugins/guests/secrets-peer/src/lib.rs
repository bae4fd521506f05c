//! `secrets-keeper` under another plugin name: hooks act when `only` is `secrets-peer` or `*`.

const NAME: &str = "secrets-peer";

include!("../../secrets-keeper/src/keeper.rs");
