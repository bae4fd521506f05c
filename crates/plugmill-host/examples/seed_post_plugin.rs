//! The seed's `POST /plugin` handler, ported to axum over `plugmill_host::seed`: the same
//! calls (`get_plugin_manager`, `get_route_task_handler`, `execute_task`, `call_route`) with
//! only the `use` lines and the web framework changed.
//!
//! Run it over a directory of plugins (or any source `PLUGMILL_PLUGINS` names):
//!
//! ```text
//! PLUGMILL_PLUGINS=./plugins cargo run -p plugmill-host --example seed_post_plugin
//! curl -s localhost:3000/plugin -H 'content-type: application/json' \
//!   -d '{"path": "/hello-plugin/hello", "data": {"name": "ada"}}'
//! ```
//!
//! It shows the port of the handler's calls, not a deployment: it verifies no token (the
//! claims come from whatever layer puts a [`Claims`] in the request's extensions) and runs
//! a task in the process where the seed wrote a record and published a Celery message.
//! `plugmill serve` is the deployable form of this handler, with both.

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use plugmill_host::seed::{get_plugin_manager, init_plugin_manager};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The caller's verified token payload, put in the request's extensions by the layer that
/// verified it.
#[derive(Clone)]
struct Claims(Value);

#[derive(Deserialize)]
struct PluginsRouteInput {
    path: String,
    data: Value,
    task_execution: Option<String>,
    generate_document: Option<bool>,
}

#[derive(Serialize)]
struct PluginsRouteOutput {
    data: Value,
}

async fn plugin_routes(
    claims: Option<Extension<Claims>>,
    Json(input): Json<PluginsRouteInput>,
) -> Result<Json<PluginsRouteOutput>, (StatusCode, String)> {
    let internal = |e: anyhow::Error| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let plugin_manager = get_plugin_manager().await.map_err(internal)?;

    let mut route_data = match input.data {
        Value::Object(map) => map,
        Value::Null => Default::default(),
        _ => {
            return Err((
                StatusCode::BAD_REQUEST,
                "Plugin route data must be a JSON object".to_string(),
            ))
        }
    };
    let claims = claims.map_or(json!({}), |Extension(Claims(claims))| claims);
    route_data.insert("claims".into(), Value::String(claims.to_string()));

    let task = plugin_manager.get_route_task_handler(&input.path);
    if let (Some(task), Some(task_type)) = (task, input.task_execution) {
        let task_execution = json!({"task_type": task_type, "execution_status": "IN_PROGRESS"});
        route_data.insert(
            "task_execution".into(),
            Value::String(task_execution.to_string()),
        );
        let document_id = (input.generate_document == Some(true)).then(|| {
            let id = uuid::Uuid::new_v4().to_string();
            route_data.insert("document_id".into(), Value::String(id.clone()));
            id
        });
        let data = Value::Object(route_data).to_string();
        tokio::spawn(async move {
            if let Err(error) = plugin_manager.execute_task(&task, data).await {
                eprintln!("task {task} failed: {error}");
            }
        });
        let answer = json!({"document_id": document_id, "task_execution": task_execution});
        return Ok(Json(PluginsRouteOutput {
            data: Value::String(answer.to_string()),
        }));
    }
    let data = plugin_manager
        .call_route(&input.path, Value::Object(route_data).to_string())
        .await
        .map_err(internal)?;
    Ok(Json(PluginsRouteOutput { data }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_plugin_manager().await?;
    let app = Router::new().route("/plugin", post(plugin_routes));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
