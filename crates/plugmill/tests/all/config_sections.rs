//! Top-level sections of `plugmill.toml` beyond the core's and the capabilities': the core
//! names none of the parts above it, so a section is accepted only once the part that reads it
//! registered it, and refused with its line otherwise.

use plugmill::config::{ConfigSections, HostConfig};
use plugmill::PluginManager;

const REPORTS: ConfigSections = ConfigSections::new("the reports service", &["reports"]);

fn refusal(text: &str, registered: &[ConfigSections]) -> Option<String> {
    let config = HostConfig::parse(text, "plugmill.toml").unwrap();
    let builder = registered
        .iter()
        .fold(PluginManager::builder(), |builder, sections| {
            builder.config_sections(*sections)
        });
    builder.config(&config).err().map(|e| e.to_string())
}

#[test]
fn config_sections_registered_above_the_core_are_accepted_and_others_refused_with_their_line() {
    let text = "[limits]\ncall_timeout = \"5s\"\n\n[reports]\nevery = \"1h\"\n";
    assert_eq!(refusal(text, &[REPORTS]), None);

    let error = refusal(text, &[]).expect("[reports] is nobody's without its registration");
    assert!(
        error.contains("plugmill.toml") && error.contains("unknown section `reports`"),
        "{error}"
    );
    assert!(error.contains("line 4"), "{error}");

    // The server's section is not the core's: refused until the server registers it.
    let text = "[limits]\nfuel = 1000\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let error = refusal(text, &[REPORTS]).expect("[server] is unregistered");
    assert!(
        error.contains("unknown section `server`") && error.contains("line 3"),
        "{error}"
    );
    let server = ConfigSections::new("plugmill serve", &["server", "auth", "console"]);
    assert_eq!(refusal(text, &[REPORTS, server]), None);
}
