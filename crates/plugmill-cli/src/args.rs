//! Command-line arguments (the CLI contract of VISION.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use plugmill::config::values::parse_seconds;

/// Load, check and call WebAssembly component plugins.
#[derive(Parser, Debug)]
#[command(name = "plugmill", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub host: HostArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a plugin file's manifest, exports, imports and problems (exit 1 if it would be rejected).
    Inspect {
        /// The plugin file.
        file: PathBuf,
    },
    /// Load every plugin of the source and show the registry and the rejected files.
    List,
    /// Create an ed25519 key pair for signing plugins: PREFIX.secret (mode 0600) and PREFIX.pub.
    Keygen {
        /// Path prefix of the two key files.
        #[arg(long, default_value = "plugmill")]
        out: PathBuf,
    },
    /// Sign plugin files: writes `<file>.sig` beside each.
    Sign {
        /// The secret key file written by `plugmill keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The plugin files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Upload plugin files to the `--plugins` S3 prefix as `<file-name>.wasm` (with `.sig`
    /// signatures beside them); objects that already hold the same bytes are skipped.
    Upload {
        /// Plugin files to upload.
        files: Vec<PathBuf>,
        /// Also upload every plugin built under this directory
        /// (`.../wasm32-wasip2/{release,debug}/*.wasm`).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
    /// Load every plugin of the source, then reload whenever the source changes (polled every
    /// `--interval`) or on SIGHUP; prints the load and each reload. Runs until interrupted.
    Watch {
        /// Seconds between polls of the source (ETags for S3, file times for a directory).
        #[arg(long, default_value = "2", value_parser = parse_seconds)]
        interval: std::time::Duration,
    },
    /// Serve plugin routes over HTTP: the seed's `POST /plugin`, every route at its own
    /// path, `/healthz`, `/readyz`, `/metrics`; reloads on SIGHUP; exits 0 on SIGTERM once the
    /// requests in flight have finished.
    Serve {
        /// `host:port` to listen on (default `[server] listen`, else 127.0.0.1:8080).
        #[arg(long, env = "PLUGMILL_LISTEN")]
        listen: Option<String>,
    },
    /// Run queued tasks from RabbitMQ (`[tasks] queue = "amqp://..."`) until SIGTERM: each
    /// message is acknowledged only once its record is final.
    Worker {
        /// Serve `/metrics` and `/healthz` here (default `[tasks] metrics_listen`, else none).
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Consume the seed's Celery messages (`execute_plugin_task`, Celery protocol v2) from
        /// `{ENV_SLUG}_short` unless `[tasks] queue_name` says; as `[tasks] protocol = "celery"`.
        #[arg(long)]
        celery: bool,
    },
    /// Task-execution records.
    Task {
        #[command(subcommand)]
        action: TaskAction,
    },
    /// Create a plugin project in ./NAME: its WIT, a hook, a route and a task, the build
    /// configuration, a README and tests.
    New {
        /// The plugin's name (lowercase letters, digits and `-`, starting with a letter).
        name: String,
        /// The plugin's language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: crate::authoring::Language,
    },
    /// Build the plugin project in DIR into DIR/dist/NAME.wasm (installing its toolchain on
    /// first use), check it as `inspect` does and print its manifest.
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Sign the result with this secret key (from `plugmill keygen`).
        #[arg(long)]
        sign: Option<PathBuf>,
    },
    /// Build the plugin project in DIR, serve it with `plugmill serve`, and rebuild and
    /// hot-reload it on every saved change; a failed build keeps the last good version serving.
    Dev {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// `host:port` to listen on.
        #[arg(long, env = "PLUGMILL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Call a hook, a route or a task.
    Call {
        #[command(subcommand)]
        target: CallTarget,
    },
}

#[derive(Subcommand, Debug)]
pub enum TaskAction {
    /// Show one task-execution record (exit 1 if there is none).
    Show {
        /// The task's id.
        id: String,
    },
    /// Queue a FAILED (or dead-lettered) task again (as `POST /tasks/{id}/retry`): its new
    /// attempts are appended to its record, and its plugins that succeeded do not run again.
    /// With RabbitMQ only; with the in-process queue, ask the running server.
    Retry {
        /// The task's id.
        id: String,
    },
    /// List task-execution records, newest first, a page at a time (as `GET /tasks`; the
    /// command line is the operator and sees every tenant's).
    List {
        /// Only records with this status: IN_PROGRESS, SUCCESS, FAILED or CANCELLED.
        #[arg(long)]
        status: Option<String>,
        /// Only records of this task.
        #[arg(long)]
        task: Option<String>,
        /// Only records of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many (default 50, at most 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// The page after this cursor (the `next` of the previous page).
        #[arg(long)]
        before: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CallTarget {
    /// Call a hook on every plugin registered for it; prints one outcome per plugin.
    Hook {
        /// The hook name.
        name: String,
        /// The arguments, as a JSON array with one element per parameter.
        #[arg(long, default_value = "[]")]
        args: String,
    },
    /// Call the handler of a route; prints its JSON.
    Route {
        /// The route path, e.g. `/my-plugin/echo`.
        path: String,
        /// The data passed to the handler, as JSON.
        #[arg(long, default_value = "{}")]
        data: String,
    },
    /// Run a task on every plugin registered for it; prints one outcome per plugin.
    Task {
        /// The task name.
        name: String,
        /// The data passed to each handler, as JSON.
        #[arg(long, default_value = "{}")]
        data: String,
    },
}

/// Where plugins come from and how they are loaded.
#[derive(Args, Debug, Clone)]
pub struct HostArgs {
    /// Plugin source: a directory, or `s3://bucket/prefix/` (default: `[loading] plugins`,
    /// else `s3://$AWS_S3_PUBLIC_BUCKET/plugins/` when that is set, else `./plugins`).
    #[arg(long, env = "PLUGMILL_PLUGINS", global = true)]
    pub plugins: Option<String>,
    /// Host configuration file (default: `./plugmill.toml` when it exists).
    #[arg(long, env = "PLUGMILL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Fail if any plugin is rejected.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Link imports no host interface provides as functions that trap, instead of rejecting the plugin.
    #[arg(long, global = true)]
    pub unknown_imports_trap: bool,
    /// Trust signatures made with the public key in this file (repeatable).
    #[arg(long = "trusted-key", global = true)]
    pub trusted_keys: Vec<PathBuf>,
    /// Reject plugins without a valid signature from a trusted key.
    #[arg(long, global = true)]
    pub require_signatures: bool,
    /// Directory of the precompiled cache (default: `$XDG_CACHE_HOME/plugmill`, else
    /// `~/.cache/plugmill`).
    #[arg(long, env = "PLUGMILL_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Compile every plugin, without reading or writing the precompiled cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Deadline of one call, in seconds.
    #[arg(long, env = "PLUGMILL_TIMEOUT", global = true, value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
}

impl HostArgs {
    /// What these arguments ask of the host assembly, with the sections of the front ends
    /// this binary runs registered: every command reads the one `plugmill.toml` that also
    /// configures the server and the task service.
    pub fn options(&self) -> plugmill_host::HostOptions {
        use plugmill_host::CacheChoice;
        let mut options = plugmill_host::HostOptions {
            config_file: self.config.clone(),
            plugins: self.plugins.clone(),
            strict: self.strict,
            unknown_imports_trap: self.unknown_imports_trap,
            call_timeout: self.timeout,
            trusted_key_files: self.trusted_keys.clone(),
            require_signatures: self.require_signatures,
            cache: match (&self.cache_dir, self.no_cache) {
                (_, true) => CacheChoice::Disabled,
                (Some(dir), false) => CacheChoice::Dir(dir.clone()),
                (None, false) => CacheChoice::Default,
            },
            observer: None,
            instance_stock: None,
            config_sections: Vec::new(),
        };
        options
            .register_sections(plugmill_server::CONFIG_SECTIONS)
            .register_sections(plugmill_tasks::CONFIG_SECTIONS);
        options
    }
}
