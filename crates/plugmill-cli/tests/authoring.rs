//! `plugmill new`, `build` and `dev` with the real toolchains: a new plugin in each language is
//! created, built and called; `plugmill dev` serves one over HTTP and reloads it on a saved
//! change; the JavaScript and Python examples build and answer. A language whose toolchain
//! cannot be installed here is skipped with the reason printed, never faked.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn plugmill(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(args)
        .current_dir(cwd)
        .env_remove("PLUGMILL_PLUGINS")
        .env_remove("PLUGMILL_CONFIG")
        .env("PLUGMILL_CACHE_DIR", cwd.join(".plugmill-cache"))
        .output()
        .expect("plugmill runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds `dir`; `None` (with the reason printed) when the language's toolchain cannot be
/// installed on this machine.
fn build_or_skip(dir: &Path) -> Option<Output> {
    let output = plugmill(dir, &["build", "."]);
    let stderr = text(&output.stderr);
    let unavailable = [
        "was not found on PATH",
        "npm install failed",
        "pip install failed",
        "python3 -m venv failed",
    ];
    if !output.status.success() && unavailable.iter().any(|sign| stderr.contains(sign)) {
        eprintln!(
            "SKIPPED: the toolchain for `{}` cannot be installed here:\n{stderr}",
            dir.display()
        );
        return None;
    }
    assert!(
        output.status.success(),
        "plugmill build {} failed:\n{stderr}\n{}",
        dir.display(),
        text(&output.stdout)
    );
    Some(output)
}

fn call(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--plugins", "dist"]);
    let output = plugmill(dir, &all);
    assert!(
        output.status.success(),
        "plugmill {args:?}: {}{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", text(&output.stdout)))
}

/// The hook, route and task every new project has, called through plugmill.
fn check_new_project(dir: &Path, name: &str) {
    let greeting = call(dir, &["call", "hook", "greet", "--args", r#"["author"]"#]);
    assert_eq!(
        greeting,
        json!([{ "plugin": name, "ok": ["Hello, author!"] }])
    );
    let echo = call(
        dir,
        &[
            "call",
            "route",
            &format!("/{name}/echo"),
            "--data",
            r#"{"n": 7}"#,
        ],
    );
    assert_eq!(echo["echo"], json!({ "n": 7 }), "{echo}");
    let cleanup = call(
        dir,
        &[
            "call",
            "task",
            "cleanup",
            "--data",
            r#"{"items": [{"stale": true}, {}, {}]}"#,
        ],
    );
    let outcome = &cleanup[0]["ok"];
    assert_eq!(
        (outcome["removed"].as_u64(), outcome["kept"].as_u64()),
        (Some(1), Some(2)),
        "{cleanup}"
    );
}

fn new_project(parent: &Path, name: &str, lang: &str) -> PathBuf {
    let output = plugmill(parent, &["new", name, "--lang", lang]);
    assert!(
        output.status.success(),
        "plugmill new: {}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("plugmill dev"),
        "{}",
        text(&output.stdout)
    );
    parent.join(name)
}

fn run_in(dir: &Path, program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect(program);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn a_new_javascript_plugin_builds_passes_its_tests_and_answers() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_project(parent.path(), "hello-js", "js");
    let Some(built) = build_or_skip(&dir) else {
        return;
    };
    assert!(
        text(&built.stdout).contains("plugin   hello-js"),
        "{}",
        text(&built.stdout)
    );
    check_new_project(&dir, "hello-js");
    run_in(&dir, "node", &["--test"]);
}

#[test]
fn a_new_python_plugin_builds_passes_its_tests_and_answers() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_project(parent.path(), "hello-py", "python");
    let Some(_) = build_or_skip(&dir) else { return };
    assert!(
        !dir.join("__pycache__").exists(),
        "the build left __pycache__ in the project"
    );
    check_new_project(&dir, "hello-py");
    run_in(&dir, "python3", &["-m", "unittest", "-q"]);
}

/// A copy of an example of the repository, so that its build output stays out of the tree.
fn example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    copy_dir(&source, &dir);
    (parent, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["node_modules", "dist", "__pycache__"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn the_javascript_example_builds_and_answers_its_hook_route_and_task() {
    let (_parent, dir) = example("js-hello");
    let Some(_) = build_or_skip(&dir) else { return };
    assert_eq!(
        call(&dir, &["call", "hook", "greet", "--args", r#"["js"]"#])[0]["ok"],
        json!(["Hello, js!"])
    );
    let echo = call(
        &dir,
        &["call", "route", "/js-hello/echo", "--data", r#"[1, 2]"#],
    );
    assert_eq!(
        (echo["echo"].clone(), echo["type"].clone()),
        (json!([1, 2]), json!("array")),
        "{echo}"
    );
    let refused = plugmill(
        &dir,
        &[
            "call",
            "task",
            "cleanup",
            "--data",
            r#"{"items": 3}"#,
            "--plugins",
            "dist",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stdout).contains("`items` must be an array"),
        "{}",
        text(&refused.stdout)
    );
}

fn hasura_claims(tenant: &str, roles: &[&str]) -> String {
    json!({ "sub": "reader-1", "https://hasura.io/jwt/claims": {
        "x-hasura-tenant-id": tenant, "x-hasura-allowed-roles": roles } })
    .to_string()
}

#[test]
fn the_python_example_checks_its_callers_through_the_seed_s_authorization_interface() {
    let (_parent, dir) = example("python-hello");
    let Some(_) = build_or_skip(&dir) else { return };
    assert_eq!(
        call(&dir, &["call", "hook", "greet", "--args", r#"["py"]"#])[0]["ok"],
        json!(["Hello, py!"])
    );
    let allowed = json!({ "claims": hasura_claims("t-1", &["reports:read"]), "tenant_id": "t-1" });
    let report = call(
        &dir,
        &[
            "call",
            "route",
            "/python-hello/report",
            "--data",
            &allowed.to_string(),
        ],
    );
    assert_eq!(
        (report["report"].clone(), report["subject"].clone()),
        (json!("ready"), json!("reader-1")),
        "{report}"
    );
    for denied in [
        json!({ "claims": hasura_claims("t-2", &["reports:read"]), "tenant_id": "t-1" }),
        json!({ "claims": hasura_claims("t-1", &["other"]), "tenant_id": "t-1" }),
    ] {
        let output = plugmill(
            &dir,
            &[
                "call",
                "route",
                "/python-hello/report",
                "--data",
                &denied.to_string(),
                "--plugins",
                "dist",
            ],
        );
        assert!(
            !output.status.success(),
            "{denied} was allowed: {}",
            text(&output.stdout)
        );
        assert!(
            text(&output.stderr).contains("report:"),
            "{}",
            text(&output.stderr)
        );
    }
}

/// `plugmill dev` running, with what it printed on stderr so far.
struct Dev {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Dev {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugmill"))
            .args(["dev", ".", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env_remove("PLUGMILL_PLUGINS")
            .env_remove("PLUGMILL_CONFIG")
            .env("PLUGMILL_CACHE_DIR", dir.join(".plugmill-cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[dev] {line}");
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let base = common::listening_url(&mut child);
        Self { child, base, log }
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        let client = reqwest::blocking::Client::new();
        match client
            .post(format!("{}{path}", self.base))
            .body(body.to_string())
            .send()
        {
            Ok(response) => (
                response.status().as_u16(),
                response.text().unwrap_or_default(),
            ),
            Err(error) => (0, error.to_string()),
        }
    }

    /// Waits until `ready` holds for the answer of `path`, or panics with the log.
    fn wait_for(&self, path: &str, ready: impl Fn(u16, &str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let (status, body) = self.post(path, r#"{"n": 1}"#);
            if ready(status, &body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting on {path}: last {status} {body}\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_for_log(&self, needle: &str, after: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while !self.log.lock().unwrap()[after..].contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no `{needle}` in the log:\n{}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_new_rust_plugin_passes_its_tests_serves_under_dev_and_reloads_on_a_saved_change() {
    let parent = tempfile::tempdir().unwrap();
    let dir = new_project(parent.path(), "hello", "rust");
    // The author's own tests, on the host.
    run_in(&dir, "cargo", &["test", "--quiet"]);

    let dev = Dev::start(&dir);
    let first = dev.wait_for("/hello/echo", |status, _| status == 200);
    assert_eq!(
        serde_json::from_str::<Value>(&first).unwrap()["echo"],
        json!({ "n": 1 })
    );

    // A saved change is rebuilt and served.
    let source = dir.join("src/lib.rs");
    let original = std::fs::read_to_string(&source).unwrap();
    let changed = original.replace(
        r#"json!({ "plugin": "hello", "echo": value })"#,
        r#"json!({ "plugin": "hello", "echo": value, "version": 2 })"#,
    );
    assert_ne!(changed, original, "the template's echo line moved");
    std::fs::write(&source, &changed).unwrap();
    let second = dev.wait_for("/hello/echo", |status, body| {
        status == 200 && body.contains("\"version\":2")
    });
    assert_eq!(
        serde_json::from_str::<Value>(&second).unwrap()["version"],
        2
    );
    dev.wait_for_log("==> reloaded: hello", 0);

    // A change that does not compile is reported and the last good version keeps serving.
    let seen = dev.log.lock().unwrap().len();
    std::fs::write(&source, changed.replace("fn greet(", "fn greet(,")).unwrap();
    dev.wait_for_log("build failed: the last good version keeps serving", seen);
    assert!(
        dev.log.lock().unwrap()[seen..].contains("error"),
        "the compiler's error was not shown"
    );
    let (status, body) = dev.post("/hello/echo", r#"{"n": 3}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["version"], 2);

    // `plugmill build` on the same project checks and prints the manifest, and signs.
    std::fs::write(&source, &changed).unwrap();
    let keys = plugmill(&dir, &["keygen", "--out", "key"]);
    assert!(keys.status.success(), "{}", text(&keys.stderr));
    let built = plugmill(&dir, &["build", ".", "--sign", "key.secret"]);
    let stdout = text(&built.stdout);
    assert!(built.status.success(), "{}{stdout}", text(&built.stderr));
    assert!(
        stdout.contains("route    /hello/echo -> echo")
            && stdout.contains("valid: no problems found"),
        "{stdout}"
    );
    assert!(dir.join("dist/hello.wasm.sig").is_file());
}

#[test]
fn build_outside_a_project_and_new_over_a_bad_name_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let output = plugmill(dir.path(), &["build", "."]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("is not a plugin project"),
        "{}",
        text(&output.stderr)
    );
    let output = plugmill(dir.path(), &["new", "Bad_Name"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("is not a valid name"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a refused `new` wrote files"
    );
}
