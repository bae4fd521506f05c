//! plugmill-server's tests: the router in-process (`oneshot`) for every status, and the real
//! server on a loopback port with a real HTTP client (tokens signed here with HS256, and with
//! RS256 keys served from a local JWKS endpoint).

mod live;
mod router;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use plugmill_host::{CacheChoice, HostOptions};
use plugmill_server::Server;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The tenant the `miru` test plugin hard-codes.
pub const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";

/// A directory with `plugmill.toml` (`config`) and `plugins/` holding `plugins`.
pub fn deployment(config: &str, plugins: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugin_dir).unwrap();
    for (name, source) in plugins {
        std::fs::copy(source, plugin_dir.join(name)).unwrap();
    }
    std::fs::write(dir.path().join("plugmill.toml"), config).unwrap();
    dir
}

/// The host options of a deployment made by [`deployment`].
pub fn options(dir: &TempDir) -> HostOptions {
    HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        plugins: Some(dir.path().join("plugins").display().to_string()),
        cache: CacheChoice::Disabled,
        ..HostOptions::default()
    }
}

/// A server for `config` and `plugins`, with its plugins loaded.
pub async fn loaded(config: &str, plugins: &[(&str, &str)]) -> (Server, TempDir) {
    let dir = deployment(config, plugins);
    let server = Server::assemble(options(&dir), Some("127.0.0.1:0"))
        .await
        .unwrap();
    let report = server.load().await.unwrap();
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (server, dir)
}

/// A fresh environment variable name holding `secret`, and the `[auth]` section using it.
pub fn hs256_auth(secret: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let variable = format!(
        "PLUGMILL_TEST_JWT_SECRET_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    std::env::set_var(&variable, secret);
    format!("[auth]\nhs256_secret_env = \"{variable}\"\n")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims in the seed's Hasura layout, valid for an hour.
pub fn claims(tenant: &str, roles: &[&str]) -> Value {
    json!({
        "sub": "caller-1",
        "name": "Ada Caller",
        "exp": now() + 3600,
        "https://hasura.io/jwt/claims": {
            "x-hasura-tenant-id": tenant,
            "x-hasura-allowed-roles": roles,
        }
    })
}

/// An HS256 token of `claims`.
pub fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}
