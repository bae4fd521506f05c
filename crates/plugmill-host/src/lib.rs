//! The host assembly: one way from a configuration file and the environment to a running
//! plugmill manager, shared by every front end (the `plugmill` CLI, its server and its task
//! workers) and by services that want plugmill set up the way the product sets it up.
//!
//! - [`HostOptions`]: what a front end asks for (a configuration file, a plugin source,
//!   flags, the sections of `plugmill.toml` it reads); everything it leaves out comes from
//!   `plugmill.toml`, then the seed system's environment, then the defaults, in the order
//!   [`plugmill::config::precedence`] decides for every front end.
//! - [`Host`]: the assembled manager with the standard capabilities, its plugin source
//!   (a directory or `s3://`), the precompiled cache; [`Host::start`] loads the plugins,
//!   [`Host::spawn_reloader`] reloads them on SIGHUP and by polling, [`Host::shutdown`]
//!   releases what the capabilities hold.
//! - [`init_plugin_manager`]: the seed's process-wide manager, assembled from the
//!   environment alone; [`seed`]: the seed's host API (`plugmill::seed`) over it,
//!   initialised on first use.
//!
//! A deployment of the seed system starts plugmill with its environment unchanged: with no
//! plugin source given, `AWS_S3_PUBLIC_BUCKET` names the bucket whose `plugins/` prefix is
//! loaded, and the seed's S3 and database variables (TLS included) are understood by the
//! library (see `plugmill::source::S3Settings` and the database capability), and its
//! `AMQP_ADDR` by the task service (`plugmill-tasks`).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use plugmill_host::{Host, HostOptions};
//!
//! let (host, report) = Host::start(&HostOptions::from_env()).await?;
//! for rejected in &report.rejected {
//!     eprintln!("{rejected}");
//! }
//! let reloader = host.spawn_reloader();
//! let outcomes = host.manager().call_hook_json("greet", &[serde_json::json!("world")]).await;
//! # drop((outcomes, reloader)); Ok(()) }
//! ```

pub mod metrics;

mod global;
mod host;
mod logging;
mod options;
mod reloader;
pub mod seed;
mod signals;
mod source;

pub use global::{init_plugin_manager, InitError};
pub use host::{assemble_manager, source_url, Host, HostError};
pub use logging::{flush_logging, init_logging, DEFAULT_LOG_FILTER};
pub use options::{CacheChoice, HostOptions, DEFAULT_FRONT_END_SECTIONS};
pub use reloader::{ReloadEvent, ReloadTrigger, Reloader};
pub use signals::shutdown_signal;
pub use source::{open_source, DEFAULT_PLUGINS, SEED_BUCKET_VARIABLE};
