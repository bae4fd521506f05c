//! The seed system's environment, understood by `plugmill` unchanged: the `hasura` database
//! over TLS from `HASURA_DB__SSL_MODE` and `HASURA_DB_CA_PATH` (against a private PostgreSQL
//! that takes TLS only, with a CA the test makes), the broker from `AMQP_ADDR` with several
//! nodes (the first dead), and the upload script's `AWS_S3_PUBLIC_BUCKET`.

#[path = "../common/mod.rs"]
mod common;
mod tls_postgres;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{final_record, post, schema_url, terminate, Deployment};
use serde_json::{json, Value};
use tls_postgres::{free_port, Authority, TlsPostgres};

/// A query that says whether the connection it runs on is encrypted.
const SSL_QUERY: &str =
    "SELECT ssl::text AS ssl, current_database() AS db FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// `plugmill call hook seed` running `script` through the `db-client` plugin, with only the
/// seed's database variables `env` (and plugmill's own unset).
fn seed_script(work: &Path, script: &Value, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugmill"));
    command
        .current_dir(work)
        .args(["call", "hook", "seed", "--args"])
        .arg(json!([script.to_string()]).to_string())
        .env("PLUGMILL_LOG", "error")
        .env("PLUGMILL_PLUGINS", work.join("plugins"))
        .env("PLUGMILL_CACHE_DIR", work.join("cache"))
        .env_remove("PLUGMILL_CONFIG")
        .env_remove("PLUGMILL_DATABASE_HASURA")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT");
    for variable in ["HOST", "PORT", "USER", "PASSWORD", "DBNAME", "SSL_MODE"] {
        command.env_remove(format!("HASURA_DB__{variable}"));
    }
    command.env_remove("HASURA_DB_CA_PATH");
    command.envs(env.iter().copied());
    command.output().expect("run plugmill")
}

/// The outcome of each step of a script, from `call hook seed`'s output.
fn steps(output: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let outcomes: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    assert_eq!(outcomes[0]["plugin"], "db-client", "{outcomes}");
    let text = outcomes[0]["ok"][0]["ok"]
        .as_str()
        .unwrap_or_else(|| panic!("no script result: {outcomes}"));
    serde_json::from_str::<Vec<Value>>(text).unwrap()
}

#[test]
fn the_hasura_database_is_reached_over_tls_as_the_seed_s_variables_ask() {
    let authority = Authority::new("plugmill test CA");
    let postgres = TlsPostgres::start(&authority);
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("plugins")).unwrap();
    std::fs::copy(
        test_plugins::DB_CLIENT,
        work.path().join("plugins/db-client.wasm"),
    )
    .unwrap();
    std::fs::write(
        work.path().join("plugmill.toml"),
        "[plugins.db-client]\ndatabases = [\"hasura\"]\n",
    )
    .unwrap();
    let ca = work.path().join("ca.pem");
    authority.write(&ca);
    let other_ca = work.path().join("other-ca.pem");
    Authority::new("another CA").write(&other_ca);
    let (ca, other_ca) = (ca.to_str().unwrap(), other_ca.to_str().unwrap());
    let port = postgres.port.to_string();
    let script = json!([
        {"create": "hasura"},
        {"execute": ["hasura", SSL_QUERY, []]},
        {"commit": "hasura"},
    ]);
    let seed = |host: &'static str, more: &[(&'static str, &str)]| {
        let mut env = vec![
            ("HASURA_DB__HOST", host),
            ("HASURA_DB__PORT", port.as_str()),
            ("HASURA_DB__USER", "postgres"),
            ("HASURA_DB__PASSWORD", "unused"),
            ("HASURA_DB__DBNAME", "postgres"),
        ];
        env.extend_from_slice(more);
        seed_script(work.path(), &script, &env)
    };

    // Each mode that should connect does, and the query runs over TLS.
    for (host, mode, ca_path) in [
        ("localhost", "verify-full", Some(ca)),
        ("127.0.0.1", "verify-ca", Some(ca)),
        ("localhost", "Require", Some(ca)),
        ("127.0.0.1", "require", None),
    ] {
        let mut more = vec![("HASURA_DB__SSL_MODE", mode)];
        more.extend(ca_path.map(|ca| ("HASURA_DB_CA_PATH", ca)));
        let steps = steps(&seed(host, &more));
        assert_eq!(
            steps[1],
            json!({"ok": [{"ssl": "true", "db": "postgres"}]}),
            "{mode} at {host}: {steps:?}\n{}",
            postgres.log()
        );
        assert_eq!(steps[2], json!({"ok": null}), "{mode}: {steps:?}");
    }

    // A certificate from another authority is refused, naming the variables that set TLS.
    let steps_refused = steps(&seed(
        "localhost",
        &[
            ("HASURA_DB__SSL_MODE", "verify-full"),
            ("HASURA_DB_CA_PATH", other_ca),
        ],
    ));
    let error = steps_refused[0]["err"].as_str().unwrap_or_default();
    assert!(
        error.contains("database `hasura` cannot be reached over TLS")
            && error.contains(&format!("HASURA_DB_CA_PATH={other_ca}"))
            && error.contains("UnknownIssuer"),
        "{steps_refused:?}"
    );
    // verify-full checks the name: the certificate names localhost, not 127.0.0.1; and so
    // does the seed's `Require` with a CA file, as the seed's connector did.
    for mode in ["verify-full", "Require"] {
        let steps_refused = steps(&seed(
            "127.0.0.1",
            &[("HASURA_DB__SSL_MODE", mode), ("HASURA_DB_CA_PATH", ca)],
        ));
        let error = steps_refused[0]["err"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!("HASURA_DB__SSL_MODE={mode}"))
                && error.contains("certificate not valid for name"),
            "{steps_refused:?}"
        );
    }

    // The server takes TLS only: without it the connection is refused.
    let steps_refused = steps(&seed("127.0.0.1", &[("HASURA_DB__SSL_MODE", "disable")]));
    let error = steps_refused[0]["err"].as_str().unwrap_or_default();
    assert!(
        error.contains("refused the connection") && error.contains("pg_hba.conf"),
        "{steps_refused:?}"
    );

    // A CA file that is not there stops the start, naming the variable.
    let missing = seed(
        "localhost",
        &[
            ("HASURA_DB__SSL_MODE", "verify-full"),
            ("HASURA_DB_CA_PATH", "/nonexistent/ca.pem"),
        ],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success(), "{stderr}");
    assert!(
        stderr.contains("HASURA_DB_CA_PATH: cannot read `/nonexistent/ca.pem`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn amqp_addr_selects_the_broker_and_a_dead_first_node_fails_over_to_the_next() {
    // No `[tasks] queue`: only AMQP_ADDR says where the broker is.
    let deployment = Deployment::with(
        |_, schema| {
            format!(
                "[tasks]\nrecords = \"records\"\n\n[databases.records]\nurl = \"{}\"\n",
                schema_url(schema)
            )
        },
        &[("fixture", test_plugins::HTTP_FIXTURE)],
    );
    let dead = free_port();
    let vhost = deployment.vhost();
    let nodes = format!(
        "amqp://guest:guest@127.0.0.1:{dead}/{vhost},amqp://guest:guest@127.0.0.1:5672/{vhost}"
    );
    let env = [("AMQP_ADDR", nodes.as_str())];
    let (server, url) = deployment.serve_with(&env);
    let worker = deployment.worker_with(&env);

    let (status, record) = post(&format!("{url}/tasks/wait"), &json!({"ms": 10}));
    assert_eq!(status, 202, "{record}");
    let id = record["id"].as_str().unwrap();
    let record = final_record(&url, id, Duration::from_secs(60));
    assert_eq!(record["status"], "SUCCESS", "{record:#}");
    let ran_on = format!("(pid {})", worker.id());
    let logs: Vec<&str> = record["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|line| line["log_text"].as_str())
        .collect();
    assert!(
        logs.iter()
            .any(|line| line.starts_with("attempt 1 started on worker") && line.ends_with(&ran_on)),
        "the worker, not the server, ran it: {logs:?}"
    );
    terminate(worker);
    terminate(server);
}

#[test]
fn the_upload_script_takes_the_seed_s_bucket_variable_and_bucket_wins_over_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(test_s3::Server::start()).unwrap();
    server.create_bucket("seed-bucket").unwrap();
    server.create_bucket("own-bucket").unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let built = workspace
        .path()
        .join("valid/rust-local-target/wasm32-wasip2/debug");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::copy(test_plugins::VALID, built.join("valid.wasm")).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/upload_plugins_to_s3.sh");
    let upload = |bucket: Option<&str>| {
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .arg(workspace.path())
            .env("PLUGMILL", env!("CARGO_BIN_EXE_plugmill"))
            .env("PLUGMILL_LOG", "error")
            .env("AWS_S3_PUBLIC_BUCKET", "seed-bucket")
            .env("AWS_S3_PRIVATE_URI", server.endpoint())
            .env("AWS_S3_ACCESS_KEY", test_s3::ACCESS_KEY)
            .env("AWS_S3_ACCESS_SECRET", test_s3::SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
        for own_name in [
            "BUCKET",
            "PLUGMILL_PLUGINS",
            "PLUGMILL_CONFIG",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            command.env_remove(own_name);
        }
        if let Some(bucket) = bucket {
            command.env("BUCKET", bucket);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };

    let stdout = upload(None);
    assert!(
        stdout.contains("uploaded  s3://seed-bucket/plugins/valid.wasm"),
        "{stdout}"
    );
    let stored = std::fs::read(server.root().join("seed-bucket/plugins/valid.wasm")).unwrap();
    assert_eq!(stored, std::fs::read(test_plugins::VALID).unwrap());

    let stdout = upload(Some("own-bucket"));
    assert!(
        stdout.contains("uploaded  s3://own-bucket/plugins/valid.wasm"),
        "{stdout}"
    );
    assert!(server.root().join("own-bucket/plugins/valid.wasm").exists());
}
