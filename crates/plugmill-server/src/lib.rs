//! plugmill's HTTP server, as `plugmill serve` runs it: a thin layer of axum over the host
//! assembly (`plugmill-host`).
//!
//! - `POST /plugin`: the seed system's endpoint, with its request and response shapes: the
//!   caller's verified token claims replace `data.claims` (as a JSON string);
//! - `POST /{plugin}/{rest}`: every plugin route at its own path, the JSON body as its data;
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text), `POST /admin/reload`.
//!
//! - [`config`]: `[server]` and `[auth]` of `plugmill.toml`, and the environment;
//! - [`auth`]: bearer tokens: HS256 with a shared secret, RS256/ES256 with keys from a JWKS
//!   URL (cached, refetched at a bounded rate on an unknown key id), or decoded without
//!   verification behind a trusted gateway;
//! - [`error`]: one error type whose status says whose fault it is;
//! - [`metrics`]: the Prometheus recorder and what it counts;
//! - `routes`, `middleware`, `state`: the router and what each request goes through.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use plugmill_host::HostOptions;
//! use plugmill_server::Server;
//!
//! let server = Server::assemble(HostOptions::from_env(), None).await?;
//! let listener = tokio::net::TcpListener::bind(server.settings().listen).await?;
//! server.serve(listener, plugmill_host::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;

mod body;
mod middleware;
mod routes;
mod server;
mod state;

pub use config::ServerSettings;
pub use error::ApiError;
pub use server::Server;
