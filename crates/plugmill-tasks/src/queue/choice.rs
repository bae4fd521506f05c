//! Which queue the tasks use, and the broker nodes it lists.
//!
//! The first that names one wins: `PLUGMILL_QUEUE`, then `[tasks] queue`, then the seed
//! system's `AMQP_ADDR`, then `memory`. An AMQP queue may list several nodes of one
//! RabbitMQ cluster, separated by commas (`amqp://rabbitmq2:5672,amqp://rabbitmq:5672`, as
//! the seed's `AMQP_ADDR` does): each connection, the first and every reconnection, tries
//! them in order and keeps the first that answers.

use plugmill::config::precedence::{Origin, Setting};
use plugmill::config::{ConfigError, HostConfig};

use crate::config::QueueKind;

/// plugmill's variable naming the queue.
pub const QUEUE_VARIABLE: &str = "PLUGMILL_QUEUE";

/// The seed system's variable naming its RabbitMQ broker (one node or several).
pub const SEED_BROKER_VARIABLE: &str = "AMQP_ADDR";

/// Where errors about a variable point.
const ENVIRONMENT: &str = "<environment>";

/// The queue `PLUGMILL_QUEUE`, `[tasks] queue` (`from_file`) or `AMQP_ADDR` names, in that
/// order, else the in-process one. `env` reads a variable (an empty one counts as unset).
pub(crate) fn choose(
    config: &HostConfig,
    from_file: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<QueueKind, ConfigError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let chosen = Setting::new()
        .environment(QUEUE_VARIABLE, set(QUEUE_VARIABLE))
        .file(from_file)
        .seed_environment(SEED_BROKER_VARIABLE, set(SEED_BROKER_VARIABLE))
        .chosen();
    let Some(chosen) = chosen else {
        return Ok(QueueKind::Memory);
    };
    let (queue, origin) = (chosen.value, chosen.origin);
    if queue.trim() == "memory" {
        return Ok(QueueKind::Memory);
    }
    let nodes = nodes(&queue);
    let refuse = |message: String| match origin {
        Origin::Environment(name) | Origin::SeedEnvironment(name) => {
            ConfigError::new(ENVIRONMENT, format!("{name}: {message}"))
        }
        _ => config.error(format!("[tasks] queue: {message}")),
    };
    if nodes.is_empty() {
        return Err(refuse("names no broker".into()));
    }
    for node in &nodes {
        if !(node.starts_with("amqp://") || node.starts_with("amqps://")) {
            return Err(refuse(format!(
                "`{}` is neither `memory` nor an amqp:// URL (several nodes: separated by commas)",
                plugmill::config::values::shorten(&plugmill::redact_secrets(node))
            )));
        }
    }
    Ok(QueueKind::Amqp(nodes.join(",")))
}

/// The nodes a broker list names, in order: its comma-separated URLs, trimmed.
///
/// ```
/// use plugmill_tasks::broker_nodes;
///
/// assert_eq!(
///     broker_nodes("amqp://rabbitmq2:5672, amqp://rabbitmq:5672"),
///     ["amqp://rabbitmq2:5672", "amqp://rabbitmq:5672"]
/// );
/// ```
pub fn nodes(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
        .collect()
}

/// A broker list with each node's password hidden, for messages.
pub(crate) fn shown(list: &str) -> String {
    nodes(list)
        .into_iter()
        .map(plugmill::redact_secrets)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn choose_with(file: Option<&str>, vars: &[(&str, &str)]) -> Result<QueueKind, ConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        let config = HostConfig::default();
        choose(&config, file.map(str::to_string), &|name| {
            map.get(name).map(|v| v.to_string())
        })
    }

    const SEED: &str = "amqp://guest:guest@rabbitmq2:5672,amqp://guest:guest@rabbitmq:5672";

    #[test]
    fn amqp_addr_selects_the_broker_when_nothing_else_names_a_queue() {
        assert_eq!(choose_with(None, &[]).unwrap(), QueueKind::Memory);
        assert_eq!(
            choose_with(None, &[("AMQP_ADDR", SEED)]).unwrap(),
            QueueKind::Amqp(SEED.into())
        );
    }

    #[test]
    fn plugmill_s_variable_then_the_file_win_over_amqp_addr() {
        let file = "amqp://file:5672";
        assert_eq!(
            choose_with(Some(file), &[("AMQP_ADDR", SEED)]).unwrap(),
            QueueKind::Amqp(file.into())
        );
        assert_eq!(
            choose_with(Some("memory"), &[("AMQP_ADDR", SEED)]).unwrap(),
            QueueKind::Memory
        );
        assert_eq!(
            choose_with(
                Some(file),
                &[("AMQP_ADDR", SEED), ("PLUGMILL_QUEUE", "amqp://own:5672")]
            )
            .unwrap(),
            QueueKind::Amqp("amqp://own:5672".into())
        );
        assert_eq!(
            choose_with(None, &[("AMQP_ADDR", SEED), ("PLUGMILL_QUEUE", "")]).unwrap(),
            QueueKind::Amqp(SEED.into()),
            "an empty variable counts as unset"
        );
    }

    #[test]
    fn a_bad_node_is_refused_naming_where_it_came_from_without_its_password() {
        let error = choose_with(None, &[("AMQP_ADDR", "amqp://a:5672, redis://u:secret@b")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("<environment>: AMQP_ADDR: `redis://u:***@b`"),
            "{error}"
        );
        let error = choose_with(Some("kafka://x"), &[]).unwrap_err().to_string();
        assert!(error.contains("[tasks] queue: `kafka://x`"), "{error}");
        let error = choose_with(None, &[("PLUGMILL_QUEUE", ",")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("PLUGMILL_QUEUE: names no broker"), "{error}");
    }

    #[test]
    fn every_node_s_password_is_hidden() {
        assert_eq!(
            shown(SEED),
            "amqp://guest:***@rabbitmq2:5672,amqp://guest:***@rabbitmq:5672"
        );
    }
}
