//! What the task drills share: a deployment with RabbitMQ (a vhost of its own) and
//! PostgreSQL records (a schema of their own), `plugmill serve` and `plugmill worker`
//! processes, and the HTTP calls to queue and read tasks.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The URL of a `plugmill serve` or `plugmill dev` child from the first line of its piped
/// stdout, `listening on URL`.
pub fn listening_url(child: &mut Child) -> String {
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected `listening on URL`, got {line:?}"))
        .to_string()
}

/// A deployment: plugins, `plugmill.toml`, a RabbitMQ vhost, a PostgreSQL schema.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    vhost: String,
    schema: String,
}

impl Deployment {
    pub fn new() -> Self {
        Self::with(
            |vhost, schema| {
                format!(
                "[tasks]\nqueue = \"amqp://guest:guest@127.0.0.1:5672/{vhost}\"\nrecords = \"records\"\nmax_attempts = 3\nretry_backoff = \"200ms\"\n\n[databases.records]\nurl = \"{}\"\n",
                schema_url(schema)
            )
            },
            &[("fixture", test_plugins::HTTP_FIXTURE)],
        )
    }

    /// A deployment whose `plugmill.toml` `config` makes from the vhost and the schema, with
    /// these `(name, file)` plugins.
    pub fn with(config: impl FnOnce(&str, &str) -> String, plugins: &[(&str, &str)]) -> Self {
        let vhost = unique("plugmill_drill");
        rabbitmqctl(&["add_vhost", &vhost]);
        rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
        let schema = unique("plugmill_drill");
        psql(&format!("CREATE SCHEMA {schema}"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        for (name, file) in plugins {
            std::fs::copy(file, dir.path().join(format!("plugins/{name}.wasm"))).unwrap();
        }
        std::fs::write(dir.path().join("plugmill.toml"), config(&vhost, &schema)).unwrap();
        Self { dir, vhost, schema }
    }

    /// The deployment's PostgreSQL schema.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("plugmill.toml")
    }

    /// The deployment's RabbitMQ vhost.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// `plugmill ARGS` on this deployment (its configuration, plugins and cache), with these
    /// variables.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugmill"));
        command
            .args(args)
            .env("PLUGMILL_CONFIG", self.config())
            .env("PLUGMILL_PLUGINS", self.dir.path().join("plugins"))
            .env("PLUGMILL_LOG", "warn")
            .env("PLUGMILL_CACHE_DIR", self.dir.path().join("cache"))
            .env_remove("PLUGMILL_QUEUE")
            .env_remove("AMQP_ADDR")
            .envs(env.iter().copied());
        command
    }

    /// `plugmill serve` on a free port, and its URL.
    pub fn serve(&self) -> (Process, String) {
        self.serve_with(&[])
    }

    /// `plugmill serve` on a free port with these variables, and its URL.
    pub fn serve_with(&self, env: &[(&str, &str)]) -> (Process, String) {
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0"], env)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let url = listening_url(&mut child);
        let process = Process(child);
        wait_ready(&url);
        (process, url)
    }

    /// A `plugmill worker`.
    pub fn worker(&self) -> Process {
        self.worker_with(&[])
    }

    /// A `plugmill worker` with these variables.
    pub fn worker_with(&self, env: &[(&str, &str)]) -> Process {
        Process(self.command(&["worker"], env).spawn().unwrap())
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.vhost])
            .output();
        psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// The test database's URL with `schema` first on the search path.
pub fn schema_url(schema: &str) -> String {
    format!("postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{schema}")
}

/// The one value `sql` selects, as text.
pub fn psql_value(sql: &str) -> String {
    psql_run(&["-At"], sql)
}

/// Runs `sql` on the test database (stopping at the first error, which fails the test).
pub fn psql(sql: &str) {
    psql_run(&[], sql);
}

/// What `psql` with the `options` prints for `sql` on the test database.
fn psql_run(options: &[&str], sql: &str) -> String {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test"])
        .args(options)
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Waits until the server at `url` answers `/readyz` with 200, or panics after a minute.
pub fn wait_ready(url: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = ureq_get(&format!("{url}/readyz")) {
            if response.0 == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} never became ready");
}

/// A blocking GET: (status, JSON body).
pub fn ureq_get(url: &str) -> Result<(u16, Value), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::get(url).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    })
}

/// A blocking POST of JSON: (status, JSON body).
pub fn post(url: &str, body: &Value) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    })
}

/// The record once it is final, or a panic after `limit`.
pub fn final_record(url: &str, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, record) = ureq_get(&format!("{url}/tasks/{id}")).unwrap();
        assert_eq!(status, 200, "{record}");
        if record["status"] != "IN_PROGRESS" {
            return record;
        }
        assert!(started.elapsed() < limit, "task {id} never ended: {record}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process, killed when dropped (a failing test leaves none behind).
pub struct Process(pub Child);

impl Process {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Sends SIGTERM to the process `pid`.
pub fn sigterm(pid: u32) {
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -TERM {pid}");
}

/// How `child` exited, waiting for it for up to `limit` (a panic after that).
pub fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < limit, "did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a process with SIGTERM and waits for it to exit (asserting it exits 0).
pub fn terminate(mut process: Process) {
    sigterm(process.id());
    let status = exit_within(&mut process.0, Duration::from_secs(40));
    assert!(status.success(), "exit status {status}");
}

pub fn plugins(dir: &Path) -> PathBuf {
    dir.join("plugins")
}
