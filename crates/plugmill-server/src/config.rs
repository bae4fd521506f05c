//! The server's configuration: `[server]` and `[auth]` of `plugmill.toml`, with
//! `PLUGMILL_LISTEN` over `[server] listen`.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"        # PLUGMILL_LISTEN
//! max_body = "1 MiB"               # larger request bodies are refused (413)
//! max_concurrency = 256            # plugin calls at once; more are refused (503, Retry-After)
//! tenant_max_concurrency = 64      # one tenant's plugin calls at once; more are refused (429)
//! max_connections = 1024           # open connections; more wait to be accepted
//! header_timeout = "10s"           # a request's headers must arrive within this (also idle)
//! body_timeout = "30s"             # a request's body must arrive within this (408 beyond)
//! grace_period = "30s"             # on SIGTERM, how long requests in flight may finish
//! admin_token_env = "PLUGMILL_ADMIN_TOKEN"   # enables POST /admin/reload with this bearer token
//! metrics_token_env = "PLUGMILL_METRICS_TOKEN"   # GET /metrics asks for this bearer token
//! # allow_unauthenticated = true   # no [auth] on a non-loopback address: anyone may call
//!
//! [auth]                           # without it, no token is asked for
//! hs256_secret_env = "PLUGMILL_JWT_SECRET"   # HS256 with a shared secret, read from this variable
//! jwks_url = "https://idp/realms/x/protocol/openid-connect/certs"   # RS256/ES256 keys
//! issuer = "https://idp/realms/x"  # checked when set
//! audience = "plugmill"            # checked when set
//! leeway = "30s"                   # clock skew allowed on exp and nbf
//! jwks_refetch_interval = "30s"    # an unknown key id refetches the keys at most this often
//! token_cache_max_age = "60s"      # a verified token is reused until its exp, at most this long
//! token_cache_entries = 10000      # verified tokens remembered (0: verify every request)
//! # allow_tenantless = true        # tokens without a tenant claim may queue tasks
//! # trust_unverified = true        # decode without verifying, behind a gateway that verifies
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use plugmill::config::precedence::Setting;
use plugmill::config::{ByteSize, ConfigError, ConfigSections, HostConfig, HumanDuration};
use serde::Deserialize;

/// The address the server listens on by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// plugmill's variable naming the address to listen on.
pub const LISTEN_VARIABLE: &str = "PLUGMILL_LISTEN";

/// The top-level sections of `plugmill.toml` the server reads: `[server]`, `[auth]` and the
/// console's `[console]`. [`Server::assemble`](crate::Server::assemble) registers them with
/// the host assembly, beside the task service's.
pub const CONFIG_SECTIONS: ConfigSections =
    ConfigSections::new("plugmill serve", &["server", "auth", "console"]);

/// `[server]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// The largest request body.
    pub max_body: Option<ByteSize>,
    /// Plugin calls served at once.
    pub max_concurrency: Option<usize>,
    /// One tenant's plugin calls served at once.
    pub tenant_max_concurrency: Option<usize>,
    /// Connections open at once.
    pub max_connections: Option<usize>,
    /// How long a connection may take to send a request's headers (and stay idle).
    pub header_timeout: Option<HumanDuration>,
    /// How long a request's body may take to arrive.
    pub body_timeout: Option<HumanDuration>,
    /// How long requests in flight may finish after SIGTERM.
    pub grace_period: Option<HumanDuration>,
    /// The environment variable holding the admin token.
    pub admin_token_env: Option<String>,
    /// The environment variable holding the token `GET /metrics` asks for.
    pub metrics_token_env: Option<String>,
    /// Serve without `[auth]` on an address other than loopback.
    #[serde(default)]
    pub allow_unauthenticated: bool,
}

/// `[auth]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The environment variable holding the HS256 secret.
    pub hs256_secret_env: Option<String>,
    /// Where the RS256/ES256 keys are published (a JWKS document).
    pub jwks_url: Option<String>,
    /// The expected `iss`.
    pub issuer: Option<String>,
    /// The expected `aud`.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
    pub leeway: Option<HumanDuration>,
    /// The shortest time between two fetches of the JWKS (default 30 s).
    pub jwks_refetch_interval: Option<HumanDuration>,
    /// Decode tokens without verifying them (a gateway in front verifies).
    #[serde(default)]
    pub trust_unverified: bool,
    /// Let tokens without a tenant claim queue tasks (their records belong to no tenant).
    #[serde(default)]
    pub allow_tenantless: bool,
    /// The longest a verified token is reused without verifying it again (default 60 s).
    pub token_cache_max_age: Option<HumanDuration>,
    /// How many verified tokens are remembered (default 10 000; 0: none).
    pub token_cache_entries: Option<usize>,
}

/// The server's settings, resolved.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The largest request body, in bytes (default 1 MiB).
    pub max_body: usize,
    /// Plugin calls served at once (default 256).
    pub max_concurrency: usize,
    /// One tenant's plugin calls served at once (default 64, at most `max_concurrency`).
    pub tenant_max_concurrency: usize,
    /// Connections open at once (default 1 024); more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, from when it opens or
    /// its previous answer was sent: bounds half-sent headers, silence and idle
    /// keep-alive alike (default 10 s).
    pub header_timeout: Duration,
    /// How long a request's whole body may take to arrive (default 30 s).
    pub body_timeout: Duration,
    /// How long requests in flight may finish after SIGTERM (default 30 s).
    pub grace_period: Duration,
    /// The admin token, when admin endpoints are enabled.
    pub admin_token: Option<String>,
    /// The token `GET /metrics` asks for, when set.
    pub metrics_token: Option<String>,
    /// Whether the server may serve without `[auth]` on an address other than loopback.
    pub allow_unauthenticated: bool,
    /// How bearer tokens are verified; `None`: no token is asked for.
    pub auth: Option<AuthConfig>,
}

/// The most plugin calls served at once that may be configured.
const MAX_CONCURRENCY: usize = 100_000;

/// The most open connections that may be configured.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The largest `max_body` that may be configured.
const MAX_BODY: u64 = 1 << 30;

impl ServerSettings {
    /// Reads `[server]` and `[auth]`; `listen` (the command line, else `PLUGMILL_LISTEN`) wins
    /// over `[server] listen`.
    pub fn from_config(config: &HostConfig, listen: Option<&str>) -> Result<Self, ConfigError> {
        let server: ServerConfig = config.section(&["server"])?.unwrap_or_default();
        let auth: Option<AuthConfig> = config.section(&["auth"])?;
        let listen = Setting::new()
            .command_line(listen.map(str::to_string))
            .environment_variable(LISTEN_VARIABLE)
            .file(server.listen)
            .value_or(DEFAULT_LISTEN.to_string());
        let listen = listen
            .to_socket_addrs_first()
            .map_err(|e| config.error(format!("[server] listen: `{listen}` {e}")))?;
        let max_body = match server.max_body {
            Some(size) => size
                .within(1, MAX_BODY)
                .map_err(|e| config.error(format!("[server] max_body: {e}")))?
                as usize,
            None => 1 << 20,
        };
        let max_concurrency = server.max_concurrency.unwrap_or(256);
        if max_concurrency == 0 || max_concurrency > MAX_CONCURRENCY {
            return Err(config.error(format!(
                "[server] max_concurrency: {max_concurrency} is outside 1 to {MAX_CONCURRENCY}"
            )));
        }
        let tenant_max_concurrency = server
            .tenant_max_concurrency
            .unwrap_or(64)
            .min(max_concurrency);
        if tenant_max_concurrency == 0 {
            return Err(config.error(
                "[server] tenant_max_concurrency: 0 would refuse every call; use 1 or more",
            ));
        }
        let max_connections = server.max_connections.unwrap_or(1024);
        if max_connections == 0 || max_connections > MAX_CONNECTIONS {
            return Err(config.error(format!(
                "[server] max_connections: {max_connections} is outside 1 to {MAX_CONNECTIONS}"
            )));
        }
        let admin_token = token_from_env(config, "admin_token_env", &server.admin_token_env)?;
        let metrics_token = token_from_env(config, "metrics_token_env", &server.metrics_token_env)?;
        Ok(Self {
            listen,
            max_body,
            max_concurrency,
            tenant_max_concurrency,
            max_connections,
            header_timeout: server
                .header_timeout
                .map_or(Duration::from_secs(10), |d| d.0),
            body_timeout: server.body_timeout.map_or(Duration::from_secs(30), |d| d.0),
            grace_period: server.grace_period.map_or(Duration::from_secs(30), |d| d.0),
            admin_token,
            metrics_token,
            allow_unauthenticated: server.allow_unauthenticated,
            auth,
        })
    }
}

/// A token read from the environment variable `[server] key` names: at least 16 characters.
fn token_from_env(
    config: &HostConfig,
    key: &str,
    variable: &Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(variable) = variable else {
        return Ok(None);
    };
    std::env::var(variable)
        .ok()
        .filter(|token| token.len() >= 16)
        .map(Some)
        .ok_or_else(|| {
            config.error(format!(
                "[server] {key}: the variable `{variable}` must hold a token of at least 16 characters"
            ))
        })
}

/// The first address a `host:port` resolves to.
trait FirstAddress {
    fn to_socket_addrs_first(&self) -> Result<SocketAddr, String>;
}

impl FirstAddress for String {
    fn to_socket_addrs_first(&self) -> Result<SocketAddr, String> {
        use std::net::ToSocketAddrs as _;
        self.to_socket_addrs()
            .map_err(|e| format!("is not a host:port to listen on ({e})"))?
            .next()
            .ok_or_else(|| "resolves to no address".to_string())
    }
}
