//! Configuration parsing: any text is parsed, checked and applied to a builder (with the
//! standard capabilities) without a panic; an error names the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use plugmill::config::HostConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Network grants resolve host names: left out, so the target never waits on DNS.
    if text.contains("network") {
        return;
    }
    let config = match HostConfig::parse(text, "fuzz.toml") {
        Ok(config) => config,
        Err(error) => {
            assert!(error.to_string().starts_with("fuzz.toml: "), "{error}");
            return;
        }
    };
    if let Err(error) = plugmill::PluginManager::builder().config(&config) {
        assert!(error.to_string().starts_with("fuzz.toml: "), "{error}");
    }
});
