//! The {{name}} plugin: a hook, a route and a task.

wit_bindgen::generate!({ world: "{{name}}", path: "wit", generate_all });

use serde_json::{json, Value};

struct Plugin;

// The manifest plugmill reads, checked against the exports below when this compiles.
plugmill_guest::plugin! {
    component: Plugin,
    name: "{{name}}",
    hooks: [greet],
    routes: ["/{{name}}/echo" => echo],
    tasks: [cleanup],
}

impl Guest for Plugin {
    /// Hook `greet`: `plugmill call hook greet --args '["you"]'`.
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }

    /// Route `/{{name}}/echo`: the request's JSON back, with what the plugin made of it.
    fn echo(data: String) -> Result<String, String> {
        let value: Value = serde_json::from_str(&data).map_err(|e| format!("echo: the data is not JSON: {e}"))?;
        Ok(json!({ "plugin": "{{name}}", "echo": value }).to_string())
    }

    /// Task `cleanup`: `{"items": [...]}` in, how many items were stale out.
    fn cleanup(data: String) -> Result<String, String> {
        let value: Value = serde_json::from_str(&data).map_err(|e| format!("cleanup: the data is not JSON: {e}"))?;
        let items = match value.get("items") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err("cleanup: `items` must be an array".into()),
        };
        let stale = items.iter().filter(|item| item["stale"] == true).count();
        Ok(json!({ "items": items.len(), "removed": stale, "kept": items.len() - stale }).to_string())
    }
}

export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greet_says_hello() {
        assert_eq!(Plugin::greet("plugmill".into()), "Hello, plugmill!");
    }

    #[test]
    fn echo_returns_the_data_and_refuses_what_is_not_json() {
        let answer: Value = serde_json::from_str(&Plugin::echo(r#"{"a": 1}"#.into()).unwrap()).unwrap();
        assert_eq!(answer["echo"]["a"], 1);
        assert!(Plugin::echo("not json".into()).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn cleanup_counts_stale_items() {
        let answer = Plugin::cleanup(r#"{"items": [{"stale": true}, {}]}"#.into()).unwrap();
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!((answer["removed"].as_u64(), answer["kept"].as_u64()), (Some(1), Some(1)));
    }
}
