//! Code shaped as the seed's host code is (its typed-hook trait, its `POST /plugin` handler's
//! calls), with only its `use` lines pointing at `plugmill::seed`: it must compile, and
//! [`exercise`] runs it once the process-wide manager holds `valid` and `miru`.

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use plugmill::seed::{get_plugin_manager, HookValue, PluginManager};
use serde_json::Value;

#[async_trait]
pub trait PluginHooks {
    async fn create_transmission_package(&self, input: Value) -> Result<String>;
}

#[async_trait]
impl PluginHooks for PluginManager {
    async fn create_transmission_package(&self, input: Value) -> Result<String> {
        let res: Vec<Vec<HookValue>> = self
            .call_hook(
                "create-transmission-package",
                vec![HookValue::String(input.to_string())],
                vec![HookValue::Result(core::result::Result::Ok(None))],
            )
            .await
            .map_err(|e| anyhow!("Failed to call plugin hook: {e}"))?;
        let result = &res[0];
        match result.first() {
            Some(HookValue::Result(Ok(Some(boxed_value)))) => match &**boxed_value {
                HookValue::String(value) => Ok(value.clone()),
                _ => Err(anyhow!("Unexpected boxed hook value type")),
            },
            Some(HookValue::Result(Err(Some(e)))) => match &**e {
                HookValue::String(e) => Err(anyhow!("Plugin hook error: {e}")),
                _ => Err(anyhow!("Error executing plugin hook")),
            },
            _ => Err(anyhow!("Unexpected hook value type")),
        }
    }
}

/// The calls of the seed's `POST /plugin` handler: a task route's handler, or the route's
/// JSON.
async fn plugin_routes(path: &str, mut route_data: Value) -> Result<Value, (u16, String)> {
    let plugin_manager: &'static PluginManager = get_plugin_manager()
        .await
        .map_err(|e| (500, e.to_string()))?;
    route_data["claims"] = Value::String("{}".to_string());
    if let Some(task) = plugin_manager.get_route_task_handler(path) {
        plugin_manager
            .execute_task(&task, route_data.to_string())
            .await
            .map_err(|e| (500, e.to_string()))?;
        return Ok(Value::String(task));
    }
    plugin_manager
        .call_route(path, route_data.to_string())
        .await
        .map_err(|e| (500, e.to_string()))
}

pub async fn exercise() {
    let manager = get_plugin_manager().await.unwrap();
    let refused = manager
        .create_transmission_package(serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Plugin hook error: the input has no claims"
    );

    let echoed = plugin_routes("/valid/echo", serde_json::json!({"x": 1}))
        .await
        .unwrap();
    assert_eq!(echoed, serde_json::json!({"x": 1, "claims": "{}"}));
    let task = plugin_routes("/valid/process", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(task, "process");
    let (status, message) = plugin_routes("/valid/nope", Value::Null).await.unwrap_err();
    assert_eq!(
        (status, message.as_str()),
        (500, "Route /valid/nope not found")
    );
}
