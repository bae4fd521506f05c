//! `[tasks] layout = "seed"` on the task service itself, in process and with a RabbitMQ worker
//! (the platform's table created from the seed's DDL in a database of the test's own), and the
//! checks of `[tasks] layout` and `[task_types]`.

use plugmill_host::{CacheChoice, Host, HostOptions};
use plugmill_tasks::{NewTask, Scope, Status, TaskError, Tasks};
use serde_json::json;

use super::{deployment, expect, final_record, host, log_texts, postgres_url, unique, Schema};

/// The seed platform's table, as its migrations leave it (foreign keys left out).
const SEED_DDL: &str = "CREATE SCHEMA sequent_backend;
CREATE TABLE sequent_backend.tasks_execution (
  id uuid NOT NULL DEFAULT gen_random_uuid(), tenant_id uuid NOT NULL, election_event_id uuid,
  name text NOT NULL, type text NOT NULL, execution_status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), start_at timestamptz NOT NULL DEFAULT now(),
  end_at timestamptz, annotations jsonb, labels jsonb, logs json, executed_by_user text NOT NULL,
  PRIMARY KEY (tenant_id, id));";

const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";

/// The URL of database `name` on the test database's server.
fn database_url(name: &str) -> String {
    let server = postgres_url();
    let server = server.split('?').next().unwrap_or_default();
    let (server, _) = server.rsplit_once('/').expect("a database URL");
    format!("{server}/{name}")
}

/// A database of the test's own, with the seed's table unless `bare`.
struct Database {
    name: String,
    url: String,
    pool: sqlx::PgPool,
}

impl Database {
    async fn new(bare: bool) -> Self {
        let name = unique("plugmill_seed_layout");
        let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = database_url(&name);
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        if !bare {
            sqlx::raw_sql(SEED_DDL).execute(&pool).await.unwrap();
        }
        Self { name, url, pool }
    }

    async fn rows(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sequent_backend.tasks_execution")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        n
    }

    async fn drop(self) {
        self.pool.close().await;
        let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await
        .unwrap();
    }
}

fn seed_config(url: &str) -> String {
    format!(
        "[databases.hasura]\nurl = \"{url}\"\n[tasks]\nrecords = \"hasura\"\nlayout = \"seed\"\n"
    )
}

/// Why the task service of `config` does not open.
async fn refusal(config: &str) -> String {
    let dir = deployment(config);
    let host = host(&dir).await;
    match Tasks::open(&host).await {
        Ok(tasks) => {
            tasks.shutdown().await;
            panic!("opened with {config}")
        }
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_task_s_record_is_the_seed_s_row_and_what_it_cannot_hold_is_refused() {
    let db = Database::new(false).await;
    let dir = deployment(&seed_config(&db.url));
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let task = |tenant: Option<&str>, data: serde_json::Value| NewTask {
        task: "process".into(),
        task_type: Some("IMPORT_USERS".into()),
        data,
        executed_by: Some("Ada".into()),
        tenant_id: tenant.map(str::to_string),
        document_id: Some("doc-1".into()),
        ..NewTask::default()
    };
    let record = tasks
        .submit(task(Some(TENANT), json!({"election_event_id": TENANT})))
        .await
        .unwrap();
    assert_eq!(record.name.as_deref(), Some("Import Voters"));
    assert_eq!(record.election_event_id.as_deref(), Some(TENANT));
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert_eq!(done.attempts, 1);
    assert_eq!(
        log_texts(&done),
        ["Task started", "Task completed successfully"]
    );
    assert_eq!(done.annotations, Some(json!({"document_id": "doc-1"})));
    assert_eq!(done.outcomes.len(), 1, "{done:#?}");
    assert!(done.ended_at.is_some() && done.started_at.is_some());
    let seed = done.seed_json();
    assert_eq!(seed["execution_status"], "SUCCESS");
    assert_eq!(seed["executed_by_user"], "Ada");
    assert_eq!(
        tasks.records().counts().await.unwrap(),
        [(Status::Success, 1)]
    );

    // What the seed's table cannot hold is refused before anything is written.
    let cases = [
        (task(None, json!({})), "belong to a tenant"),
        (task(Some("tenant-a"), json!({})), "is not"),
        (
            task(Some(TENANT), json!({"election_event_id": "event-1"})),
            "data.election_event_id: `event-1` is not a UUID",
        ),
    ];
    for (task, expected) in cases {
        match tasks.submit(task).await {
            Err(TaskError::Refused(why)) => assert!(why.contains(expected), "{why}"),
            other => panic!("{expected}: {other:?}"),
        }
    }
    let unknown = NewTask {
        task_type: Some("IMPORT_VOTERS".into()),
        ..task(Some(TENANT), json!({}))
    };
    let error = tasks.submit(unknown).await.unwrap_err();
    assert!(matches!(error, TaskError::UnknownTaskType(_)), "{error}");
    assert!(error.to_string().contains("IMPORT_USERS"), "{error}");
    assert_eq!(db.rows().await, 1, "nothing else was written");
    let listed = tasks
        .list(&Scope::Tenant(TENANT.into()), &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.records.len(), 1);
    tasks.shutdown().await;
    db.drop().await;
}

#[tokio::test]
async fn the_seed_layout_needs_the_platform_s_table_in_postgresql() {
    let bare = Database::new(true).await;
    let error = refusal(&seed_config(&bare.url)).await;
    assert!(
        error.contains("sequent_backend.tasks_execution is not in the records database"),
        "{error}"
    );
    bare.drop().await;

    let error = refusal("[tasks]\nlayout = \"seed\"\n").await;
    assert!(error.contains("set [tasks] records"), "{error}");

    let file = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", file.path().join("hasura.db").display());
    let error = refusal(&seed_config(&url)).await;
    assert!(error.contains("not PostgreSQL"), "{error}");

    // A schema without the table (the test database has none of that name).
    let schema = Schema::new().await;
    let error = refusal(&seed_config(&schema.url())).await;
    assert!(error.contains("is not in the records database"), "{error}");
    schema.drop().await;
}

#[tokio::test]
async fn bad_layouts_and_task_types_are_refused_naming_their_line() {
    let cases = [
        (
            "[tasks]\nlayout = \"sideways\"\n",
            "expected `plugmill` or `seed`",
        ),
        (
            "[tasks]\nlayuot = \"seed\"\n",
            "`layuot` is not a key of [tasks]",
        ),
        ("[task_types]\nEXPORT_RESULTS = 5\n", "expected a string"),
        (
            "[task_types]\nEXPORT_RESULTS = \"\"\n",
            "a human name is 1 to 200 characters",
        ),
        (
            "[task_types]\n\"NOT A TYPE\" = \"x\"\n",
            "`NOT A TYPE`: a task type is letters",
        ),
    ];
    for (config, expected) in cases {
        let error = refusal(config).await;
        assert!(
            error.contains("line 2") && error.contains(expected),
            "{config}: {error}"
        );
    }
    // A misspelt section is refused when the host is assembled.
    let dir = deployment("[task_type]\nEXPORT_RESULTS = \"Export Results\"\n");
    let options = HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        plugins: Some(dir.path().join("plugins").display().to_string()),
        cache: CacheChoice::Disabled,
        ..HostOptions::default()
    };
    let error = Host::assemble(&options).err().expect("refused").to_string();
    assert!(
        error.contains("task_type") && error.contains("line 1"),
        "{error}"
    );
    // A well-formed section is taken.
    let dir = deployment("[task_types]\nEXPORT_RESULTS = \"Export Results\"\n");
    let tasks = Tasks::open(&host(&dir).await).await.unwrap();
    assert_eq!(
        tasks.task_types().name_of("EXPORT_RESULTS"),
        Ok("Export Results")
    );
    assert_eq!(tasks.task_types().names().count(), 20);
    tasks.shutdown().await;
}

#[tokio::test]
async fn with_the_seed_layout_a_worker_over_rabbitmq_retries_and_ends_the_platform_s_row() {
    let db = Database::new(false).await;
    let vhost = super::amqp::Vhost::new();
    let config = format!(
        "{}queue = \"{}\"\nqueue_name = \"plugmill.seed\"\nmax_attempts = 2\nretry_backoff = \"100ms\"\nretry_on = [\"trap\"]\n",
        seed_config(&db.url),
        vhost.url()
    );
    let dir = deployment(&config);
    let host = std::sync::Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let host = host.clone();
        tokio::spawn(async move {
            Tasks::work(&host, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        })
    };
    let trap = NewTask {
        task: "trap".into(),
        task_type: Some("EXPORT_TRUSTEES".into()),
        tenant_id: Some(TENANT.into()),
        executed_by: Some("Ada".into()),
        ..NewTask::default()
    };
    let record = tasks.submit(trap).await.unwrap();
    let failed = expect(final_record(&tasks, &record.id).await, Status::Failed);
    assert_eq!(failed.attempts, 2, "{failed:#?}");
    assert_eq!(failed.error_kind.as_deref(), Some("trap"));
    let (status, logs, end_at): (String, serde_json::Value, Option<String>) = sqlx::query_as(
        "SELECT execution_status, logs::jsonb, end_at::text FROM sequent_backend.tasks_execution \
         WHERE id = $1::uuid AND tenant_id = $2::uuid",
    )
    .bind(&record.id)
    .bind(TENANT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(status, "FAILED");
    assert!(end_at.is_some());
    let lines: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["log_text"].as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "Task started");
    assert!(lines[1].starts_with("attempt 1 failed (trap)"), "{lines:?}");
    assert!(
        lines[2].starts_with("Error: ") && lines[2].contains("trapped"),
        "{lines:?}"
    );
    stop.send(()).unwrap();
    worker.await.unwrap();
    tasks.shutdown().await;
    db.drop().await;
}

#[tokio::test]
async fn with_the_seed_layout_a_task_the_seed_s_api_queued_over_celery_ends_the_row_it_wrote() {
    use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
    use lapin::types::{AMQPValue, FieldTable, LongString};
    use lapin::BasicProperties;

    let db = Database::new(false).await;
    // The seed's API: its row first, then its Celery message naming it.
    let (id,): (String,) = sqlx::query_as(
        "INSERT INTO sequent_backend.tasks_execution (tenant_id, election_event_id, name, type, \
         execution_status, annotations, labels, logs, executed_by_user) \
         VALUES ($1::uuid, NULL, 'Create Transmission Package', 'CREATE_TRANSMISSION_PACKAGE', \
         'IN_PROGRESS', NULL, NULL, \
         '[{\"created_date\": \"2026-12-07T10:00:00Z\", \"log_text\": \"Task started\"}]', \
         'admin') RETURNING id::text",
    )
    .bind(TENANT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let vhost = super::amqp::Vhost::new();
    let queue = "seedlayout_short";
    let config = format!(
        "{}queue = \"{}\"\nqueue_name = \"{queue}\"\nprotocol = \"celery\"\n",
        seed_config(&db.url),
        vhost.url()
    );
    let dir = deployment(&config);
    let host = std::sync::Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    let (_connection, channel) = super::amqp::channel(&vhost.url()).await;
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue, durable, FieldTable::default())
        .await
        .unwrap();
    let record = json!({
        "id": id, "tenant_id": TENANT, "election_event_id": null,
        "name": "Create Transmission Package", "task_type": "CREATE_TRANSMISSION_PACKAGE",
        "execution_status": "IN_PROGRESS", "created_at": "2026-12-07T10:00:00Z",
        "start_at": "2026-12-07T10:00:00Z", "end_at": null, "annotations": null,
        "labels": null, "logs": [{"created_date": "2026-12-07T10:00:00Z", "log_text": "Task started"}],
        "executed_by_user": "admin"
    });
    let body = json!([[], {"task": "process", "data": {"n": 1}, "task_execution": record,
                           "document_id": "doc-1"}, {}]);
    let mut headers = FieldTable::default();
    for (name, value) in [
        ("task", "execute_plugin_task"),
        ("id", "7d1f4a52-0000-4000-8000-000000000001"),
        ("lang", "py"),
    ] {
        headers.insert(
            name.into(),
            AMQPValue::LongString(LongString::from(value.as_bytes().to_vec())),
        );
    }
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_delivery_mode(2)
        .with_headers(headers);
    channel
        .basic_publish(
            "",
            queue,
            BasicPublishOptions::default(),
            body.to_string().as_bytes(),
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let host = host.clone();
        tokio::spawn(async move {
            Tasks::work(&host, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        })
    };
    for _ in 0..1200 {
        if tasks.get(&id, &Scope::All).await.unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = expect(final_record(&tasks, &id).await, Status::Success);
    assert_eq!(done.attempts, 1);
    let (status, logs, annotations, end_at, rows): (
        String,
        serde_json::Value,
        serde_json::Value,
        Option<String>,
        i64,
    ) = sqlx::query_as(
        "SELECT execution_status, logs::jsonb, annotations, end_at::text, \
         (SELECT COUNT(*) FROM sequent_backend.tasks_execution) \
         FROM sequent_backend.tasks_execution WHERE id = $1::uuid AND tenant_id = $2::uuid",
    )
    .bind(&id)
    .bind(TENANT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows, 1, "the seed's row was taken, not another written");
    assert_eq!(status, "SUCCESS");
    let lines: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["log_text"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["Task started", "Task completed successfully"]);
    assert_eq!(annotations, json!({"document_id": "doc-1"}));
    assert!(end_at.is_some());
    stop.send(()).unwrap();
    worker.await.unwrap();
    tasks.shutdown().await;
    db.drop().await;
}
