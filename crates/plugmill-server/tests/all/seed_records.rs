//! `[tasks] layout = "seed"`: tasks queued through `POST /plugin` on a real server port are
//! rows of the seed platform's `sequent_backend.tasks_execution` (created here from the
//! seed's DDL in a database of the test's own), read back with the seed's own query; and the
//! task types `task_execution` may name.

use std::time::Duration;

use plugmill_server::Server;
use serde_json::{json, Value};

use super::{claims, deployment, hs256, hs256_auth, options, start, Api, TENANT};

const SECRET: &str = "a-seed-records-secret-of-32-bytes!!";

/// Another tenant, a UUID.
const OTHER_TENANT: &str = "0b9e8c56-4a1e-4a3c-8f43-2d6f3b1c9a77";

/// An election event of the caller's data.
const EVENT: &str = "6f1c7f3e-2b7a-4a55-9d1c-1e2f3a4b5c6d";

/// The seed platform's table, as its migrations leave it (foreign keys left out).
const SEED_DDL: &str = "CREATE SCHEMA sequent_backend;
CREATE TABLE sequent_backend.tasks_execution (
  id uuid NOT NULL DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, election_event_id uuid,
  name text NOT NULL, type text NOT NULL, execution_status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), start_at timestamptz NOT NULL DEFAULT now(),
  end_at timestamptz, annotations jsonb, labels jsonb, logs json, executed_by_user text NOT NULL,
  PRIMARY KEY (tenant_id, id));";

/// The keys of the seed's `TasksExecution` JSON.
const SEED_KEYS: [&str; 13] = [
    "annotations",
    "created_at",
    "election_event_id",
    "end_at",
    "executed_by_user",
    "execution_status",
    "id",
    "labels",
    "logs",
    "name",
    "start_at",
    "task_type",
    "tenant_id",
];

/// The test database's URL (`PLUGMILL_TEST_POSTGRES`), where databases are created and dropped.
fn test_database() -> String {
    std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The URL of database `name` on the test database's server.
fn database_url(name: &str) -> String {
    let server = test_database();
    let server = server.split('?').next().unwrap_or_default();
    let (server, _) = server.rsplit_once('/').expect("a database URL");
    format!("{server}/{name}")
}

/// A database of the test's own holding the seed's table, dropped at the end.
pub struct SeedDatabase {
    /// Its name.
    name: String,
    /// Its URL.
    pub url: String,
    /// A pool on it.
    pub pool: sqlx::PgPool,
}

impl SeedDatabase {
    /// A new database with the seed's DDL run in it.
    pub async fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "plugmill_seed_records_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let admin = sqlx::PgPool::connect(&test_database()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = database_url(&name);
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::raw_sql(SEED_DDL).execute(&pool).await.unwrap();
        Self { name, url, pool }
    }

    /// Drops the database.
    pub async fn drop(self) {
        self.pool.close().await;
        let admin = sqlx::PgPool::connect(&test_database()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await
        .unwrap();
    }

    /// The row `id` of tenant `tenant`, read with the seed's own columns, as JSON.
    pub async fn seed_row(&self, id: &str, tenant: &str) -> Value {
        let (row,): (Value,) = sqlx::query_as(
            "SELECT json_build_object('id', id, 'tenant_id', tenant_id, \
             'election_event_id', election_event_id, 'name', name, 'type', type, \
             'execution_status', execution_status, 'created_at', created_at, \
             'start_at', start_at, 'end_at', end_at, 'annotations', annotations, \
             'labels', labels, 'logs', logs, 'executed_by_user', executed_by_user)::jsonb \
             FROM sequent_backend.tasks_execution WHERE id = $1::uuid AND tenant_id = $2::uuid",
        )
        .bind(id)
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        row
    }
}

/// A server with the seed's layout on `db` (and `extra` configuration), on a loopback port.
async fn serve(
    db: &SeedDatabase,
    extra: &str,
) -> (
    Api,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let config = format!(
        "{}[databases.hasura]\nurl = \"{}\"\n[tasks]\nrecords = \"hasura\"\nlayout = \"seed\"\n{extra}",
        hs256_auth(SECRET),
        db.url
    );
    let dir = deployment(&config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    (Api::ready(&url).await, stop, task, dir)
}

/// Queues `path` as a task of type `kind` through `POST /plugin`: the answer's data (the
/// document id and the record, in the seed's shape).
async fn queue(api: &Api, token: &str, path: &str, data: Value, kind: &str) -> Value {
    let body =
        json!({"path": path, "data": data, "task_execution": kind, "generate_document": true});
    let (status, answer, _) = api.post("/plugin", Some(token), &body).await;
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(answer["data"].as_str().expect("data is a JSON string")).unwrap()
}

/// The record `id` (plugmill's shape) once it is final.
async fn final_record(api: &Api, id: &str, token: &str) -> Value {
    for _ in 0..600 {
        let (status, record, _) = api.get(&format!("/tasks/{id}"), Some(token)).await;
        assert_eq!(status, 200, "{record}");
        if record["status"] != "IN_PROGRESS" {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never ended");
}

fn log_texts(row: &Value) -> Vec<&str> {
    row["logs"]
        .as_array()
        .expect("logs is a JSON array")
        .iter()
        .map(|line| {
            assert!(
                line["created_date"].as_str().is_some_and(|d| !d.is_empty()),
                "{line}"
            );
            line["log_text"].as_str().unwrap()
        })
        .collect()
}

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn with_the_seed_layout_a_task_is_a_row_of_the_platform_s_table_as_the_seed_writes_it() {
    let db = SeedDatabase::new().await;
    let (api, stop, server, _dir) = serve(&db, "").await;
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));

    let answer = queue(
        &api,
        &token,
        "/fixture/process",
        json!({"election_event_id": EVENT, "kind": "export"}),
        "CREATE_TRANSMISSION_PACKAGE",
    )
    .await;
    let created = &answer["task_execution"];
    let document = answer["document_id"].as_str().expect("a document id");
    assert_eq!(keys(created), SEED_KEYS, "the seed's shape: {created:#}");
    assert_eq!(created["execution_status"], "IN_PROGRESS");
    assert_eq!(created["task_type"], "CREATE_TRANSMISSION_PACKAGE");
    assert_eq!(created["name"], "Create Transmission Package");
    assert_eq!(created["executed_by_user"], "Ada Caller");
    assert_eq!(created["election_event_id"], EVENT);
    assert_eq!(created["tenant_id"], TENANT);
    assert_eq!(log_texts(created), ["Task started"]);
    let id = created["id"].as_str().unwrap();

    let done = final_record(&api, id, &token).await;
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    // What the plugin received in data.task_execution: the seed's record, as a JSON string.
    let given = done["result"]["fixture"]["task_execution"]
        .as_str()
        .expect("task_execution is a JSON string");
    let given: Value = serde_json::from_str(given).unwrap();
    assert_eq!(keys(&given), SEED_KEYS, "{given:#}");
    assert_eq!(given["id"], id);
    assert_eq!(given["execution_status"], "IN_PROGRESS");
    assert_eq!(given["name"], "Create Transmission Package");
    assert_eq!(done["result"]["fixture"]["document_id"], document);

    // The row, read as the seed's code reads it.
    let row = db.seed_row(id, TENANT).await;
    assert_eq!(row["execution_status"], "SUCCESS", "{row:#}");
    assert_eq!(row["type"], "CREATE_TRANSMISSION_PACKAGE");
    assert_eq!(row["name"], "Create Transmission Package");
    assert_eq!(row["election_event_id"], EVENT);
    assert_eq!(row["executed_by_user"], "Ada Caller");
    assert_eq!(
        log_texts(&row),
        ["Task started", "Task completed successfully"]
    );
    assert!(row["end_at"].is_string(), "end_at is set: {row:#}");
    assert_eq!(row["annotations"]["document_id"], document);
    assert_eq!(row["labels"], Value::Null);

    // A task that fails: FAILED with the seed's "Error: <message>" line.
    let failing = queue(
        &api,
        &token,
        "/fixture/process",
        json!({"fail": true}),
        "EXPORT_VOTERS",
    )
    .await;
    let failing_id = failing["task_execution"]["id"].as_str().unwrap();
    let failed = final_record(&api, failing_id, &token).await;
    assert_eq!(failed["status"], "FAILED", "{failed:#}");
    assert_eq!(failed["error_kind"], "plugin-error");
    let row = db.seed_row(failing_id, TENANT).await;
    assert_eq!(row["execution_status"], "FAILED", "{row:#}");
    assert_eq!(row["name"], "Export Voters");
    assert_eq!(row["election_event_id"], Value::Null);
    let lines = log_texts(&row);
    assert_eq!(lines.len(), 2, "{row:#}");
    assert!(
        lines[1].starts_with("Error: ") && lines[1].contains("processing refused"),
        "{row:#}"
    );
    assert!(row["end_at"].is_string());
    assert_eq!(
        row["annotations"]["document_id"], failing["document_id"],
        "{row:#}"
    );

    // A retry reopens the same row; it fails again, with the retry in its log.
    let (status, retried, _) = api
        .post(
            &format!("/tasks/{failing_id}/retry"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 202, "{retried}");
    let again = final_record(&api, failing_id, &token).await;
    assert_eq!(again["status"], "FAILED");
    assert_eq!(again["attempts"], 2, "{again:#}");
    let row = db.seed_row(failing_id, TENANT).await;
    let lines = log_texts(&row);
    assert_eq!(lines[2], "Retry requested by Ada Caller", "{row:#}");
    assert!(lines[3].starts_with("Error: "), "{row:#}");

    // Without a `name` claim the record says the Hasura user id, as the seed's API does.
    let mut anonymous = claims(TENANT, &["admin-user"]);
    anonymous.as_object_mut().unwrap().remove("name");
    anonymous["https://hasura.io/jwt/claims"]["x-hasura-user-id"] = json!("user-7");
    let by_id = queue(
        &api,
        &hs256(SECRET, &anonymous),
        "/fixture/process",
        json!({}),
        "GENERATE_REPORT",
    )
    .await;
    assert_eq!(by_id["task_execution"]["executed_by_user"], "user-7");

    // plugmill added no column to the platform's table; what it keeps is in its own.
    let (columns,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM information_schema.columns \
         WHERE table_schema = 'sequent_backend' AND table_name = 'tasks_execution'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(columns, 13);
    let (kept,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM plugmill_seed_tasks WHERE id IN ($1, $2)")
            .bind(id)
            .bind(failing_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(kept, 2);

    let _ = stop.send(());
    server.await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn with_the_seed_layout_tasks_are_cancelled_read_and_listed_each_by_its_tenant() {
    let db = SeedDatabase::new().await;
    // A row of the platform's own, not plugmill's (there before the server starts): never
    // listed, run or cancelled.
    let (foreign,): (String,) = sqlx::query_as(
        "INSERT INTO sequent_backend.tasks_execution \
         (tenant_id, name, type, execution_status, logs, executed_by_user) \
         VALUES ($1::uuid, 'Export Voters', 'EXPORT_VOTERS', 'IN_PROGRESS', '[]', 'someone') \
         RETURNING id::text",
    )
    .bind(TENANT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let (api, stop, server, _dir) = serve(&db, "concurrency = 1\n").await;
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let other = hs256(SECRET, &claims(OTHER_TENANT, &["admin-user"]));

    // The one worker place is held, so the next task waits, queued.
    let busy = queue(
        &api,
        &token,
        "/fixture/wait",
        json!({"ms": 1500}),
        "EXPORT_VOTERS",
    )
    .await;
    let busy_id = busy["task_execution"]["id"].as_str().unwrap().to_string();
    let waiting = queue(
        &api,
        &token,
        "/fixture/process",
        json!({}),
        "EXPORT_TRUSTEES",
    )
    .await;
    let waiting_id = waiting["task_execution"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs = queue(
        &api,
        &other,
        "/fixture/process",
        json!({}),
        "EXPORT_TRUSTEES",
    )
    .await;
    let theirs_id = theirs["task_execution"]["id"].as_str().unwrap().to_string();

    // Another tenant neither sees nor cancels the task.
    let (status, _, _) = api.get(&format!("/tasks/{waiting_id}"), Some(&other)).await;
    assert_eq!(status, 404);
    let path = format!("/tasks/{waiting_id}/cancel");
    let (status, _, _) = api.post(&path, Some(&other), &json!({})).await;
    assert_eq!(status, 404);
    let (status, _, _) = api
        .post(
            &format!("/tasks/{foreign}/cancel"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(
        status, 404,
        "a row plugmill did not write is not its to cancel"
    );

    let (status, cancelled, _) = api.post(&path, Some(&token), &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "CANCELLED");
    let row = db.seed_row(&waiting_id, TENANT).await;
    assert_eq!(row["execution_status"], "CANCELLED", "{row:#}");
    assert_eq!(log_texts(&row), ["Task started", "Task cancelled"]);
    assert!(row["end_at"].is_string(), "{row:#}");
    let (status, shown, _) = api.get(&format!("/tasks/{waiting_id}"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(shown["status"], "CANCELLED");
    assert_eq!(shown["name"], "Export Trustees");
    assert_eq!(shown["task_type"], "EXPORT_TRUSTEES");

    // Listings: each tenant its own, newest first; filtered by status.
    let ids = |page: &Value| -> Vec<String> {
        page["tasks"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, page, _) = api.get("/tasks", Some(&token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), [waiting_id.as_str(), busy_id.as_str()]);
    let (_, page, _) = api.get("/tasks?status=CANCELLED", Some(&token)).await;
    assert_eq!(ids(&page), [waiting_id.as_str()]);
    let (_, page, _) = api.get("/tasks?limit=1", Some(&token)).await;
    assert_eq!(ids(&page), [waiting_id.as_str()]);
    let next = page["next"].as_str().expect("a next page").to_string();
    let (_, page, _) = api
        .get(&format!("/tasks?limit=1&before={next}"), Some(&token))
        .await;
    assert_eq!(ids(&page), [busy_id.as_str()]);
    let (_, page, _) = api.get("/tasks", Some(&other)).await;
    assert_eq!(ids(&page), [theirs_id.as_str()]);

    assert_eq!(
        final_record(&api, &busy_id, &token).await["status"],
        "SUCCESS"
    );
    assert_eq!(
        final_record(&api, &theirs_id, &other).await["status"],
        "SUCCESS"
    );
    let row = db.seed_row(&foreign, TENANT).await;
    assert_eq!(row["execution_status"], "IN_PROGRESS", "untouched: {row:#}");
    assert_eq!(row["logs"], json!([]));

    let _ = stop.send(());
    server.await.unwrap();
    db.drop().await;
}

#[tokio::test]
async fn task_execution_names_a_known_task_type_the_seed_s_or_one_configured() {
    let config = format!(
        "{}[tasks]\nconcurrency = 1\n[task_types]\nEXPORT_RESULTS = \"Export Results\"\n",
        hs256_auth(SECRET)
    );
    let dir = deployment(&config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    let api = Api::ready(&url).await;
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    for kind in ["RENDER_DOCUMENT_PDF", "EXPORT_RESULTS"] {
        let body = json!({"path": "/fixture/process", "data": {}, "task_execution": kind});
        let (status, answer, _) = api.post("/plugin", Some(&token), &body).await;
        assert_eq!(status, 200, "{kind}: {answer}");
    }
    let body = json!({"path": "/fixture/process", "data": {}, "task_execution": "EXPORT"});
    let (status, answer, _) = api.post("/plugin", Some(&token), &body).await;
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("`EXPORT` is not a task type"), "{error}");
    for accepted in [
        "EXPORT_RESULTS",
        "CREATE_TRANSMISSION_PACKAGE",
        "IMPORT_USERS",
    ] {
        assert!(error.contains(accepted), "{error} lacks {accepted}");
    }
    let (_, page, _) = api.get("/tasks", Some(&token)).await;
    assert_eq!(
        page["tasks"].as_array().unwrap().len(),
        2,
        "the unknown type recorded nothing: {page:#}"
    );
    let _ = stop.send(());
    task.await.unwrap();
}
