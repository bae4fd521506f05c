//! The server registers its own sections of `plugmill.toml` and the task service's with the
//! host assembly; the host's default for processes running no front end is exactly those.

use plugmill::config::ConfigSections;
use plugmill_server::Server;

use crate::{deployment, options};

#[test]
fn config_sections_accepted_without_a_front_end_are_the_ones_the_front_ends_register() {
    let mut registered: Vec<&str> = [
        plugmill_server::CONFIG_SECTIONS,
        plugmill_tasks::CONFIG_SECTIONS,
    ]
    .iter()
    .flat_map(|owner| owner.sections.iter().copied())
    .collect();
    let mut default = plugmill_host::DEFAULT_FRONT_END_SECTIONS.sections.to_vec();
    registered.sort_unstable();
    default.sort_unstable();
    assert_eq!(default, registered);
}

#[tokio::test]
async fn config_sections_of_the_server_and_the_tasks_are_registered_by_the_server() {
    const REPORTS: ConfigSections = ConfigSections::new("the reports service", &["reports"]);
    let config = "[server]\nmax_body = \"2 MiB\"\n\n[console]\nenabled = false\n\n[tasks]\nqueue = \"memory\"\n\n[task_types]\nEXPORT = \"Export\"\n\n[reports]\nevery = \"1h\"\n";
    let dir = deployment(config, &[]);
    let mut with_reports = options(&dir);
    with_reports.register_sections(REPORTS);
    let server = Server::assemble(with_reports.clone(), Some("127.0.0.1:0"))
        .await
        .unwrap();
    assert_eq!(server.settings().max_body, 2 << 20);

    std::fs::write(
        dir.path().join("plugmill.toml"),
        format!("{config}\n[sever]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    let error = Server::assemble(with_reports, Some("127.0.0.1:0"))
        .await
        .err()
        .expect("[sever] is nobody's")
        .to_string();
    assert!(
        error.contains("unknown section `sever`") && error.contains("line 16"),
        "{error}"
    );
}
