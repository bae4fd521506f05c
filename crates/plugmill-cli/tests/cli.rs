//! The CLI contract: commands, exit codes and JSON shapes that scripts rely on.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use tempfile::TempDir;

fn plugin_dir(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        std::fs::copy(source, dir.path().join(name)).unwrap();
    }
    dir
}

fn plugmill(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(args)
        .env("PLUGMILL_PLUGINS", dir)
        .env("PLUGMILL_LOG", "error")
        .output()
        .expect("run plugmill")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn list_json_loads_the_good_plugins_and_explains_each_bad_one() {
    let dir = plugin_dir(&[
        ("a-valid.wasm", test_plugins::VALID),
        ("b-second.wasm", test_plugins::SECOND_GREETER),
        ("garbage.wasm", test_plugins::GARBAGE),
        ("core.wasm", test_plugins::CORE_MODULE),
        ("hook.wasm", test_plugins::HOOK_NOT_EXPORTED),
        ("import.wasm", test_plugins::UNKNOWN_IMPORT),
        ("trap.wasm", test_plugins::TRAP_MANIFEST),
    ]);
    let output = plugmill(dir.path(), &["list", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = stdout_json(&output);
    let names: Vec<&str> = listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["valid", "second-greeter"]);
    let valid = &listing["plugins"][0];
    assert!(valid["file"].as_str().unwrap().ends_with("a-valid.wasm"));
    assert_eq!(
        valid["routes"][0],
        json!({"path": "/valid/echo", "handler": "echo", "process_as_task": false})
    );
    assert_eq!(
        listing["hooks"]["greet"],
        json!(["valid", "second-greeter"])
    );
    assert_eq!(
        listing["routes"]["/valid/process"],
        json!({"plugin": "valid", "handler": "process", "task": true})
    );
    assert_eq!(
        listing["tasks"]["cleanup"],
        json!(["valid", "second-greeter"])
    );

    let rejected = listing["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 5);
    let reason = |file: &str| {
        rejected
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(file))
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{file} not rejected"))
    };
    assert!(reason("garbage.wasm").contains("magic number"));
    assert!(reason("core.wasm").contains("not a component"));
    assert!(reason("hook.wasm").contains("missing-hook"));
    assert!(reason("import.wasm").contains("test:unknown/secret-service"));
    assert!(reason("trap.wasm").contains("get-manifest"));
    let hook_rejection = rejected
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("hook.wasm"))
        .unwrap();
    assert_eq!(hook_rejection["plugin"], json!("hook-not-exported"));
    let code = |file: &str| {
        rejected
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(file))
            .map(|r| r["code"].clone())
            .unwrap()
    };
    assert_eq!(code("garbage.wasm"), json!("not-wasm"));
    assert_eq!(code("core.wasm"), json!("not-a-component"));
    assert_eq!(code("hook.wasm"), json!("missing-export"));
    assert_eq!(code("import.wasm"), json!("missing-import"));
    assert_eq!(code("trap.wasm"), json!("manifest-failed"));
}

#[test]
fn inspect_exits_zero_for_a_valid_plugin_and_one_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let output = plugmill(dir.path(), &["inspect", test_plugins::VALID, "--json"]);
    assert!(output.status.success());
    let report = stdout_json(&output);
    assert_eq!(report["plugin_name"], json!("valid"));
    assert_eq!(report["problems"], json!([]));
    assert!(report["exports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == &json!({"name": "add", "signature": "func(a: s32, b: s32) -> s32"})));
    assert!(report["imports"].is_array());

    let output = plugmill(
        dir.path(),
        &["inspect", test_plugins::BAD_SIGNATURE, "--json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let report = stdout_json(&output);
    assert!(report["problems"][0]
        .as_str()
        .unwrap()
        .contains("cannot be called"));
}

#[test]
fn call_hook_prints_one_outcome_per_plugin() {
    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ]);
    let output = plugmill(
        dir.path(),
        &["call", "hook", "greet", "--args", r#"["fay"]"#],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout_json(&output),
        json!([{"plugin": "valid", "ok": ["hello, fay"]}, {"plugin": "second-greeter", "ok": ["hi from second, fay"]}])
    );
    let output = plugmill(dir.path(), &["call", "hook", "greet", "--args", "[1]"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a failed plugin makes the exit code 1"
    );
    let outcomes = stdout_json(&output);
    assert!(outcomes[0]["error"]
        .as_str()
        .unwrap()
        .contains("expected string, got 1"));
}

#[test]
fn call_route_prints_the_handler_json_or_fails_on_stderr() {
    let dir = plugin_dir(&[("a.wasm", test_plugins::VALID)]);
    let output = plugmill(
        dir.path(),
        &["call", "route", "/valid/echo", "--data", r#"{"n": 5}"#],
    );
    assert!(output.status.success());
    assert_eq!(stdout_json(&output), json!({"n": 5}));

    let output = plugmill(
        dir.path(),
        &["call", "route", "/valid/fail", "--data", "{}"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("fail handler refused"));

    let output = plugmill(dir.path(), &["call", "route", "/valid/missing"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no plugin serves route `/valid/missing`")
    );

    let output = plugmill(
        dir.path(),
        &["call", "route", "/valid/echo", "--data", "{not json"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--data is not valid JSON"));
}

#[test]
fn call_task_prints_one_outcome_per_plugin() {
    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ]);
    let output = plugmill(dir.path(), &["call", "task", "cleanup", "--data", "1"]);
    assert!(output.status.success());
    assert_eq!(
        stdout_json(&output),
        json!([{"plugin": "valid", "ok": "cleaned 1"}, {"plugin": "second-greeter", "ok": "second cleaned"}])
    );
}

#[test]
fn a_missing_plugin_directory_is_a_clear_error() {
    let output = plugmill(Path::new("/no/such/plugins"), &["list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr)
        .contains("cannot read plugin directory `/no/such/plugins`"));
}

#[test]
fn keygen_and_sign_produce_plugins_that_load_with_signatures_required() {
    let keys = tempfile::tempdir().unwrap();
    let prefix = keys.path().join("release");
    let dir = plugin_dir(&[
        ("a.wasm", test_plugins::VALID),
        ("b.wasm", test_plugins::SECOND_GREETER),
    ]);
    let output = plugmill(dir.path(), &["keygen", "--out", prefix.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secret = keys.path().join("release.secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let signed = dir.path().join("a.wasm");
    let output = plugmill(
        dir.path(),
        &[
            "sign",
            "--key",
            secret.to_str().unwrap(),
            signed.to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("a.wasm.sig").exists());

    let public = keys.path().join("release.pub");
    let output = plugmill(
        dir.path(),
        &[
            "list",
            "--json",
            "--require-signatures",
            "--trusted-key",
            public.to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = stdout_json(&output);
    assert_eq!(listing["plugins"].as_array().unwrap().len(), 1);
    assert_eq!(listing["plugins"][0]["name"], json!("valid"));
    assert!(listing["rejected"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unsigned"));

    let output = plugmill(dir.path(), &["keygen", "--out", prefix.to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "keygen never overwrites a key"
    );
}

/// `plugmill` with the environment that reaches the test S3 server.
fn plugmill_s3(server: &test_s3::Server, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(args)
        .env("PLUGMILL_PLUGINS", url)
        .env("PLUGMILL_LOG", "error")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", test_s3::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", test_s3::SECRET_KEY)
        .output()
        .expect("run plugmill")
}

#[test]
fn upload_puts_plugins_in_the_bucket_skips_unchanged_ones_and_list_loads_them() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(test_s3::Server::start()).unwrap();
    server.create_bucket("plugins-bucket").unwrap();
    let url = "s3://plugins-bucket/plugins/";
    // A workspace laid out like the seed's: packages/plugins/<name>/.../wasm32-wasip2/debug/.
    let workspace = tempfile::tempdir().unwrap();
    let built = workspace
        .path()
        .join("valid/rust-local-target/wasm32-wasip2/debug");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::copy(test_plugins::VALID, built.join("valid.wasm")).unwrap();
    let loose = plugin_dir(&[("second.wasm", test_plugins::SECOND_GREETER)]);
    let second = loose.path().join("second.wasm");
    let second = second.to_str().unwrap();
    let workspace_arg = workspace.path().to_str().unwrap();

    let first = plugmill_s3(
        &server,
        url,
        &["upload", second, "--workspace", workspace_arg],
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("uploaded  s3://plugins-bucket/plugins/second.wasm"),
        "{stdout}"
    );
    assert!(
        stdout.contains("uploaded  s3://plugins-bucket/plugins/valid.wasm"),
        "{stdout}"
    );

    let again = plugmill_s3(
        &server,
        url,
        &["--json", "upload", second, "--workspace", workspace_arg],
    );
    let report = stdout_json(&again);
    let statuses: Vec<&str> = report["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unchanged", "unchanged"], "{report}");

    let listed = stdout_json(&plugmill_s3(&server, url, &["list", "--json"]));
    let files: Vec<&str> = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{listed}");
    assert!(
        files.contains(&"s3://plugins-bucket/plugins/valid.wasm"),
        "{listed}"
    );

    let wrong = Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(["upload", second])
        .env("PLUGMILL_PLUGINS", "./plugins")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("upload needs an S3 destination"));
}

/// Lines of a running command's stdout, each within a minute or the test fails.
struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn of(child: &mut std::process::Child) -> Self {
        use std::io::BufRead as _;
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self(receiver)
    }

    fn next_json(&self) -> Value {
        let line = self
            .0
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a line within a minute");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }
}

#[test]
fn watch_reloads_when_the_directory_changes_and_on_sighup() {
    let dir = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(["watch", "--json", "--interval", "0.05"])
        .env("PLUGMILL_PLUGINS", dir.path())
        .env("PLUGMILL_CACHE_DIR", cache.path())
        .env("PLUGMILL_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run plugmill watch");
    let lines = Lines::of(&mut child);

    let load = lines.next_json();
    assert_eq!(load["event"], "load");
    assert_eq!(load["changes"]["added"], json!(["valid"]));
    assert_eq!(load["cache"]["compiled"], 1);

    // Written aside, then renamed into place, so no poll sees half a file.
    let staged = dir.path().join("second.partial");
    std::fs::copy(test_plugins::SECOND_GREETER, &staged).unwrap();
    std::fs::rename(&staged, dir.path().join("second.wasm")).unwrap();
    let reload = lines.next_json();
    assert_eq!(reload["event"], "reload");
    assert_eq!(reload["changes"]["added"], json!(["second-greeter"]));
    assert_eq!(reload["changes"]["unchanged"], json!(["valid"]));
    assert_eq!(reload["plugins"].as_array().unwrap().len(), 2);

    let hangup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    let reload = lines.next_json();
    assert_eq!(reload["event"], "reload");
    assert_eq!(
        reload["changes"]["unchanged"],
        json!(["second-greeter", "valid"])
    );
    assert_eq!(reload["changes"]["added"], json!([]));

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_second_list_loads_every_plugin_from_the_precompiled_cache_unless_told_not_to() {
    let dir = plugin_dir(&[("valid.wasm", test_plugins::VALID)]);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let cold = stdout_json(&plugmill(
        dir.path(),
        &["list", "--json", "--cache-dir", cache_dir],
    ));
    assert_eq!(cold["cache"]["compiled"], 1);
    let warm = stdout_json(&plugmill(
        dir.path(),
        &["list", "--json", "--cache-dir", cache_dir],
    ));
    assert_eq!(warm["cache"]["hits"], 1);
    assert_eq!(warm["cache"]["compiled"], 0);
    let args = ["list", "--json", "--cache-dir", cache_dir, "--no-cache"];
    let uncached = stdout_json(&plugmill(dir.path(), &args));
    assert_eq!(uncached["cache"]["compiled"], 1);
    assert_eq!(uncached["cache"]["hits"], 0);
}

/// A deployment of the seed system starts plugmill with its environment unchanged: plugins
/// from the `plugins/` prefix of `AWS_S3_PUBLIC_BUCKET` at `AWS_S3_PRIVATE_URI`, the
/// `hasura` database from `HASURA_DB__*`, the super-admin tenant from
/// `SUPER_ADMIN_TENANT_ID`; and `plugmill.toml` in the working directory is read.
#[test]
fn the_seed_system_s_environment_is_understood_unchanged() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(test_s3::Server::start()).unwrap();
    server.create_bucket("public-bucket").unwrap();
    let prefix = server.root().join("public-bucket/plugins");
    std::fs::create_dir_all(&prefix).unwrap();
    std::fs::copy(test_plugins::MIRU, prefix.join("miru.wasm")).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("plugmill.toml"),
        "[plugins.miru]\ndatabases = [\"hasura\"]\n",
    )
    .unwrap();
    let postgres = std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let postgres = url_parts(&postgres);
    let super_admin = "00000000-0000-4000-8000-0000000000ad";
    let claims = json!({"https://hasura.io/jwt/claims": {
        "x-hasura-tenant-id": super_admin,
        "x-hasura-allowed-roles": ["admin-user"],
    }});
    let data = json!({
        "claims": claims.to_string(),
        "allow_super_admin": true,
        "use_database": true,
        "document_id": "doc-7",
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugmill"));
    command
        .current_dir(work.path())
        .args([
            "call",
            "route",
            "/miru/create-transmission-package",
            "--data",
        ])
        .arg(data.to_string())
        .env("PLUGMILL_LOG", "error")
        .env("AWS_S3_PUBLIC_BUCKET", "public-bucket")
        .env("AWS_S3_PRIVATE_URI", server.endpoint())
        .env("AWS_S3_ACCESS_KEY", test_s3::ACCESS_KEY)
        .env("AWS_S3_ACCESS_SECRET", test_s3::SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("HASURA_DB__HOST", &postgres.host)
        .env("HASURA_DB__PORT", &postgres.port)
        .env("HASURA_DB__USER", &postgres.user)
        .env("HASURA_DB__DBNAME", &postgres.database)
        .env("SUPER_ADMIN_TENANT_ID", super_admin);
    for own_name in [
        "PLUGMILL_PLUGINS",
        "PLUGMILL_CONFIG",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PLUGMILL_DATABASE_HASURA",
    ] {
        command.env_remove(own_name);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let answer = stdout_json(&output);
    assert_eq!(answer["status"], "packaged");
    assert_eq!(answer["document_id"], "doc-7");
}

/// The parts of a `postgres://user@host:port/database` URL.
struct UrlParts {
    user: String,
    host: String,
    port: String,
    database: String,
}

fn url_parts(url: &str) -> UrlParts {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = user.split(':').next().unwrap_or(user);
    let (address, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (host, port) = address.split_once(':').unwrap_or((address, "5432"));
    UrlParts {
        user: user.into(),
        host: host.into(),
        port: port.into(),
        database: database.split('?').next().unwrap_or(database).into(),
    }
}

/// `plugmill` in `dir` (as the working directory) with `env`.
fn plugmill_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugmill"));
    command
        .current_dir(dir)
        .args(args)
        .env("PLUGMILL_LOG", "error")
        .env_remove("PLUGMILL_PLUGINS")
        .env_remove("PLUGMILL_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run plugmill")
}

#[test]
fn durations_of_any_size_are_refused_at_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    for (args, env) in [
        (vec!["--timeout", "1e19", "list"], vec![]),
        (vec!["list"], vec![("PLUGMILL_TIMEOUT", "1e19")]),
        (vec!["watch", "--interval", "0"], vec![]),
        (vec!["watch", "--interval", "1e300"], vec![]),
    ] {
        let output = plugmill_in(dir.path(), &args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("seconds"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn hooks_and_tasks_report_failures_and_missing_names_the_same_way() {
    let dir = plugin_dir(&[("a.wasm", test_plugins::VALID)]);
    let item = json!({
        "name": "", "tags": [], "color": "red", "perms": [], "origin": null, "size": [1, 2],
        "count": 1, "ratio": 0.5, "initial": "x", "ok": true, "delta": 0, "small": 1,
        "shape": "empty",
    });
    let args = json!([item]).to_string();
    let returned_err = plugmill(dir.path(), &["call", "hook", "describe", "--args", &args]);
    let task_failed = plugmill(
        dir.path(),
        &["call", "task", "process", "--data", r#"{"fail": true}"#],
    );
    for (what, output) in [("hook", &returned_err), ("task", &task_failed)] {
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rows = stdout_json(output);
        assert_eq!(rows[0]["plugin"], "valid", "{what}");
        assert_eq!(rows[0]["kind"], "plugin-error", "{what}: {rows}");
        assert!(rows[0]["error"].is_string(), "{what}: {rows}");
    }
    assert_eq!(stdout_json(&returned_err)[0]["error"], "empty name");

    for (what, name) in [("hook", "no-such-hook"), ("task", "no-such-task")] {
        let output = plugmill(dir.path(), &["call", what, name]);
        assert_eq!(output.status.code(), Some(0), "{what}");
        assert_eq!(stdout_json(&output), json!([]), "{what}");
        assert!(
            String::from_utf8_lossy(&output.stderr)
                .contains(&format!("no plugin registered {what} `{name}`")),
            "{what}"
        );
    }
}

#[test]
fn names_that_could_forge_output_are_escaped_and_long_input_is_shortened() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = plugin_dir(&[("a.wasm", test_plugins::VALID)]);
    let odd = std::ffi::OsStr::from_bytes(b"b\nrejected forged.wasm\xff.wasm");
    std::fs::write(dir.path().join(odd), b"garbage").unwrap();
    let output = plugmill(dir.path(), &["list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("b\\nrejected forged.wasm\\xFF.wasm"),
        "{stdout}"
    );
    assert!(
        !stdout
            .lines()
            .any(|line| line.starts_with("rejected forged")),
        "{stdout}"
    );

    let long = format!("[{}", "x".repeat(20_000));
    let output = plugmill(dir.path(), &["call", "hook", "greet", "--args", &long]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("--args is not valid JSON") && stderr.len() < 500,
        "{stderr}"
    );

    let output = plugmill(dir.path(), &["list", "--plugins", "/nonexistent-plugins"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "the cause is said once: {stderr}"
    );
}

#[test]
fn sign_refuses_a_public_key_given_as_the_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("release");
    let prefix = prefix.to_str().unwrap();
    assert!(plugmill(dir.path(), &["keygen", "--out", prefix])
        .status
        .success());
    let plugins = plugin_dir(&[("a.wasm", test_plugins::VALID)]);
    let plugin = plugins.path().join("a.wasm");
    let public = format!("{prefix}.pub");
    let output = plugmill(
        dir.path(),
        &["sign", "--key", &public, plugin.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a secret key"), "{stderr}");
    assert!(
        !plugins.path().join("a.wasm.sig").exists(),
        "nothing was signed"
    );
    let output = plugmill(
        dir.path(),
        &["--trusted-key", &format!("{prefix}.secret"), "list"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("this is a secret key"), "{stderr}");
}

#[test]
fn watch_never_stalls_on_a_fifo_and_stops_on_sigterm() {
    let dir = plugin_dir(&[("a.wasm", test_plugins::VALID)]);
    let status = Command::new("mkfifo")
        .arg(dir.path().join("f.wasm"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(["watch", "--interval", "0.1", "--json"])
        .env("PLUGMILL_PLUGINS", dir.path())
        .env("PLUGMILL_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let load: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(load["event"], "load");
    assert!(
        load["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("FIFO"),
        "{load}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    common::sigterm(child.id());
    let status = common::exit_within(&mut child, std::time::Duration::from_secs(20));
    assert!(status.success(), "watch on SIGTERM: {status}");
}

/// `plugmill serve` on a free port; returns the child and its URL (read from stdout).
fn serve(dir: &Path, log: &str) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugmill"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-cache"])
        // The default task records file goes beside the (absent) plugmill.toml: not in the tree.
        .current_dir(dir)
        .env("PLUGMILL_PLUGINS", dir)
        .env("PLUGMILL_LOG", log)
        .env_remove("PLUGMILL_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let url = common::listening_url(&mut child);
    (child, url)
}

#[test]
fn serve_finishes_the_requests_in_flight_on_sigterm_and_exits_zero() {
    let dir = plugin_dir(&[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let (mut child, url) = serve(dir.path(), "info");
    common::wait_ready(&url);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let in_flight = runtime.spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client
                .post(format!("{url}/fixture/wait"))
                .json(&json!({"ms": 1500}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(400));
    common::sigterm(child.id());
    let (status, body) = runtime.block_on(in_flight).unwrap();
    assert_eq!(status, 200, "the request in flight completes: {body}");
    assert_eq!(body["waited_ms"], 1500);
    let exit = common::exit_within(&mut child, std::time::Duration::from_secs(20));
    assert!(exit.success(), "serve on SIGTERM: {exit}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let line = stderr
        .lines()
        .find(|line| line.contains("request") && line.contains("/fixture/wait"))
        .unwrap_or_else(|| panic!("no request line in:\n{stderr}"));
    for field in [
        "method=POST",
        "status=200",
        "plugin=fixture",
        "duration_ms=",
        "request_id=",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[test]
fn task_list_pages_the_records_newest_first_and_filters_them() {
    let dir = plugin_dir(&[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let (mut child, url) = serve(dir.path(), "error");
    common::wait_ready(&url);
    let client = reqwest::blocking::Client::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let record: Value = client
            .post(format!("{url}/tasks/process"))
            .json(&json!({}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        ids.push(record["id"].as_str().unwrap().to_string());
    }
    let cancel_me = client
        .post(format!("{url}/tasks/wait"))
        .json(&json!({"ms": 10}))
        .send()
        .unwrap();
    assert_eq!(cancel_me.status(), 202);
    common::sigterm(child.id());
    assert!(child.wait().unwrap().success());

    let plugins = dir.path().display().to_string();
    let env = [("PLUGMILL_PLUGINS", plugins.as_str())];
    let list = |args: &[&str]| {
        let mut all = vec!["task", "list", "--json"];
        all.extend_from_slice(args);
        let output = plugmill_in(dir.path(), &all, &env);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout_json(&output)
    };
    let page = list(&["--task", "process", "--limit", "2"]);
    let first: Vec<&str> = page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[2].as_str(), ids[1].as_str()], "newest first");
    let next = page["next"].as_str().expect("a next page");
    let page = list(&["--task", "process", "--limit", "2", "--before", next]);
    assert_eq!(page["tasks"][0]["id"], ids[0]);
    assert_eq!(page["next"], Value::Null);
    let page = list(&["--tenant", "someone-else"]);
    assert_eq!(
        page["tasks"],
        json!([]),
        "records of no tenant are not another tenant's"
    );
    let output = plugmill_in(dir.path(), &["task", "list", "--status", "DONE"], &env);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--status"));
    let text = plugmill_in(dir.path(), &["task", "list"], &env);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&ids[0]));
}

#[test]
fn serve_without_auth_refuses_an_address_beyond_loopback() {
    let dir = plugin_dir(&[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let plugins = dir.path().display().to_string();
    let output = plugmill_in(
        dir.path(),
        &["serve", "--listen", "0.0.0.0:0", "--no-cache"],
        &[("PLUGMILL_PLUGINS", plugins.as_str())],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without an [auth] section"), "{stderr}");
    assert!(stderr.contains("allow_unauthenticated"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "no listening line: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}
