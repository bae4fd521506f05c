//! plugmill's HTTP server, as `plugmill serve` runs it: a thin layer of axum over the host
//! assembly (`plugmill-host`).
//!
//! - `POST /plugin`: the seed system's endpoint, with its request and response shapes: the
//!   caller's verified token claims replace `data.claims` (as a JSON string);
//! - `POST /{plugin}/{rest}`: every plugin route at its own path, the JSON body as its data;
//! - `POST /tasks/{name}`, `GET /tasks`, `GET /tasks/{id}`, `POST /tasks/{id}/cancel`,
//!   `POST /tasks/{id}/retry`: tasks,
//!   each caller seeing its own tenant's only;
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text), `POST /admin/reload`;
//! - `/console`: the operator console (sign-in, plugins, live traffic, tasks).
//!
//! - [`config`]: `[server]` and `[auth]` of `plugmill.toml`, and the environment;
//! - [`auth`]: bearer tokens: HS256 with a shared secret, RS256/ES256 with keys from a JWKS
//!   URL (cached, refetched at a bounded rate on an unknown key id), or decoded without
//!   verification behind a trusted gateway;
//! - [`caller`]: who is calling (operator, admin, a token's subject and tenant), derived once
//!   per request; every task route decides what it sees from it;
//! - [`error`]: one error type whose status says whose fault it is;
//! - [`metrics`]: what the server counts (the recorder is the host assembly's, shared by every
//!   front end: `plugmill_host::metrics`);
//! - `connections`: serving connections with header, idle and body timeouts and a cap;
//! - `limits`: the body read first, then the server's and each tenant's calls at once;
//! - `data`: the fields of a caller's data that are the server's;
//! - `audit`: one log line per task submission, cancellation and admin action;
//! - [`console`]: the operator console at `/console` (`[console]`);
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
pub mod caller;
pub mod config;
pub mod console;
pub mod error;
pub mod metrics;

mod audit;
mod body;
mod connections;
mod data;
mod limits;
mod middleware;
mod routes;
mod server;
mod state;

pub use config::{ServerSettings, CONFIG_SECTIONS};
pub use data::SERVER_FIELDS;
pub use error::ApiError;
pub use server::Server;
