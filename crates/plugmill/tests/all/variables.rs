//! The variables capability: a plugin reads the values host configuration gives it, and
//! only its own; values appear in no log line and no error.

use plugmill::config::HostConfig;
use plugmill::PluginManager;
use serde_json::{json, Value};

use super::load_with;
use super::logs::CapturedLogs;

const LITERAL: &str = "literal-value-7c1e";
const FROM_ENV: &str = "env-secret-93ab";
const FROM_FILE: &str = "file-secret-5d20";
const OTHERS: &str = "another-plugins-secret-118f";
const ENV_NAME: &str = "PLUGMILL_TEST_VARIABLES_TOKEN";

/// A configuration file in `dir` giving `variables-reader` a literal, an environment value
/// and a file value, and another plugin a secret of its own.
fn write_config(dir: &std::path::Path) -> HostConfig {
    std::fs::write(dir.join("token.txt"), format!("{FROM_FILE}\n")).unwrap();
    let text = format!(
        r#"
[plugins.variables-reader.variables]
greeting = "{LITERAL}"
token = {{ env = "{ENV_NAME}" }}
key = {{ file = "token.txt" }}

[plugins.other-plugin.variables]
secret = "{OTHERS}"
"#
    );
    let file = dir.join("plugmill.toml");
    std::fs::write(&file, text).unwrap();
    HostConfig::from_file(&file).unwrap()
}

async fn read(manager: &PluginManager, name: &str) -> Result<String, String> {
    let outcome = manager
        .call_hook_json("read-variable", &[json!(name)])
        .await
        .remove(0);
    let value = outcome.result.expect("the hook runs").remove(0);
    match value {
        Value::Object(result) if result.contains_key("ok") => {
            Ok(result["ok"].as_str().unwrap().to_string())
        }
        Value::Object(result) => Err(result["err"].as_str().unwrap().to_string()),
        other => panic!("not a result: {other}"),
    }
}

#[tokio::test]
async fn a_plugin_reads_its_own_values_and_no_other_plugin_s() {
    let logs = CapturedLogs::global();
    std::env::set_var(ENV_NAME, FROM_ENV);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let builder = super::builder().config(&config).unwrap();
    let (manager, report, _plugins) =
        load_with(builder, &[("reader.wasm", test_plugins::VARIABLES_READER)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);

    assert_eq!(read(&manager, "greeting").await.unwrap(), LITERAL);
    assert_eq!(read(&manager, "token").await.unwrap(), FROM_ENV);
    assert_eq!(
        read(&manager, "key").await.unwrap(),
        FROM_FILE,
        "one trailing newline dropped"
    );
    let undefined = read(&manager, "secret").await.unwrap_err();
    assert!(
        undefined
            .starts_with("undefined: no variable `secret` is given to plugin `variables-reader`"),
        "{undefined}"
    );
    let invalid = read(&manager, "Not-A-Name").await.unwrap_err();
    assert!(invalid.starts_with("invalid-name: "), "{invalid}");

    let logged = logs.text();
    assert!(
        logged.contains("variable=greeting") && logged.contains("variable=key"),
        "the capture saw the load and the calls: {logged}"
    );
    for value in [LITERAL, FROM_ENV, FROM_FILE, OTHERS] {
        assert!(!logged.contains(value), "a value was logged: {logged}");
        assert!(
            !format!("{config:?}").contains(value),
            "a value is in Debug output"
        );
        assert!(!undefined.contains(value) && !invalid.contains(value));
    }
}

#[tokio::test]
async fn every_plugin_gets_the_values_given_to_all() {
    let config = HostConfig::parse(
        "[plugins.\"*\".variables]\nregion = \"eu-west-1\"\n",
        "plugmill.toml",
    )
    .unwrap();
    let builder = super::builder().config(&config).unwrap();
    let (manager, _, _dir) =
        load_with(builder, &[("reader.wasm", test_plugins::VARIABLES_READER)]).await;
    assert_eq!(read(&manager, "region").await.unwrap(), "eu-west-1");
}

#[tokio::test]
async fn a_variable_that_cannot_be_read_is_a_configuration_error_without_values() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[plugins.p.variables]\nx = { env = \"PLUGMILL_TEST_SURELY_UNSET_VARIABLE\" }\n",
            "the environment variable `PLUGMILL_TEST_SURELY_UNSET_VARIABLE` is not set",
        ),
        (
            "[plugins.p.variables]\nx = { file = \"missing.txt\" }\n",
            "missing.txt` cannot be read",
        ),
        (
            "[plugins.p.variables]\nx = { file = \".\" }\n",
            "not a regular file",
        ),
        (
            "[plugins.p.variables]\nx = { value = \"a\", env = \"B\" }\n",
            "not several",
        ),
        (
            "[plugins.p.variables]\nx = { vaule = \"secret-typo-value\" }\n",
            "unknown key `vaule`",
        ),
        (
            "[plugins.p.variables]\nBad-Name = \"secret-in-bad-name\"\n",
            "`Bad-Name` is not a variable name",
        ),
    ];
    for (text, expected) in cases {
        let file = dir.path().join("plugmill.toml");
        std::fs::write(&file, text).unwrap();
        let config = HostConfig::from_file(&file).unwrap();
        let error = super::builder()
            .config(&config)
            .err()
            .expect(text)
            .to_string();
        assert!(error.contains(expected), "{text}: {error}");
        assert!(
            error.contains("[plugins.p.variables]") || error.contains("line 2"),
            "{error}"
        );
        assert!(!error.contains("secret-in-bad-name"), "{error}");
    }
}
