//! RabbitMQ workers, on the machine's broker (a vhost per test): the happy path, retries and
//! dead-lettering, malformed messages, redeliveries of final tasks, and records that cannot
//! be reached for a while.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use plugmill_host::Host;
use plugmill_tasks::{NewTask, Scope, Status, Tasks};
use serde_json::json;
use tokio::sync::oneshot;

use super::{deployment, expect, final_record, host, log_texts, unique};

/// A RabbitMQ vhost of its own, deleted at the end.
pub struct Vhost {
    name: String,
}

impl Vhost {
    pub fn new() -> Self {
        let name = unique("plugmill_test");
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

fn rabbitmqctl(args: &[&str]) {
    let output = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("the tests need RabbitMQ's rabbitmqctl");
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub async fn channel(url: &str) -> (Connection, Channel) {
    let properties = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let connection = Connection::connect(url, properties).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    (connection, channel)
}

/// Messages ready in `queue`.
pub async fn ready(channel: &Channel, queue: &str) -> u32 {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue, passive, FieldTable::default())
        .await
        .map(|q| q.message_count())
        .unwrap_or(0)
}

/// A worker running in this process until the sender is used.
fn spawn_worker(host: Arc<Host>) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        Tasks::work(&host, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stop, task)
}

fn config(vhost: &Vhost, extra: &str) -> String {
    format!(
        "[limits]\ncall_timeout = \"300ms\"\n[tasks]\nqueue = \"{}\"\nqueue_name = \"plugmill.test\"\nmax_attempts = 2\nretry_backoff = \"100ms\"\nretry_on = [\"trap\"]\n{extra}",
        vhost.url()
    )
}

fn task(name: &str, data: serde_json::Value) -> NewTask {
    NewTask {
        task: name.into(),
        data,
        ..NewTask::default()
    }
}

#[tokio::test]
async fn a_task_through_rabbitmq_runs_on_a_worker_and_a_failing_one_is_retried_then_dead_lettered()
{
    let vhost = Vhost::new();
    let dir = deployment(&config(&vhost, ""));
    let host = Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    let (stop, worker) = spawn_worker(host.clone());

    let ok = tasks
        .submit(task("process", json!({"document_id": "d-7"})))
        .await
        .unwrap();
    let done = expect(final_record(&tasks, &ok.id).await, Status::Success);
    assert_eq!(done.attempts, 1);
    assert!(
        log_texts(&done)[1].contains("worker"),
        "{:?}",
        log_texts(&done)
    );

    let trap = tasks.submit(task("trap", json!({}))).await.unwrap();
    let failed = expect(final_record(&tasks, &trap.id).await, Status::Failed);
    assert_eq!(failed.attempts, 2);
    assert!(
        failed.error.as_deref().unwrap().contains("trapped"),
        "{failed:#?}"
    );

    let (_connection, channel) = channel(&vhost.url()).await;
    let dead = dead_letter(&channel).await;
    assert_eq!(dead.0["id"], trap.id.as_str());
    assert!(dead.1.contains("trapped"), "{}", dead.1);

    stop.send(()).unwrap();
    worker.await.unwrap();
    tasks.shutdown().await;
}

/// The next message of the dead-letter queue: its body and its reason.
async fn dead_letter(channel: &Channel) -> (serde_json::Value, String) {
    for _ in 0..100 {
        let got = channel
            .basic_get("plugmill.test.dead", BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        if let Some(message) = got {
            let body = serde_json::from_slice(&message.delivery.data).unwrap_or(json!(null));
            let reason = message
                .delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get("x-plugmill-reason").cloned())
                .map(|value| match value {
                    AMQPValue::LongString(text) => {
                        String::from_utf8_lossy(text.as_bytes()).into_owned()
                    }
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            return (body, reason);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing was dead-lettered");
}

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_with_its_reason_and_a_final_task_is_not_run_again() {
    let vhost = Vhost::new();
    let dir = deployment(&config(&vhost, ""));
    let host = Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    let (stop, worker) = spawn_worker(host.clone());
    // A first task: the publisher and the worker have declared the queues once it ends.
    let first = tasks.submit(task("process", json!({}))).await.unwrap();
    expect(final_record(&tasks, &first.id).await, Status::Success);
    let (_connection, channel) = channel(&vhost.url()).await;
    channel.confirm_select(Default::default()).await.unwrap();

    let publish = |body: Vec<u8>| {
        let channel = channel.clone();
        async move {
            channel
                .basic_publish(
                    "",
                    "plugmill.test",
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    publish(b"{not json".to_vec()).await;
    let (_, reason) = dead_letter(&channel).await;
    assert!(reason.contains("not JSON"), "{reason}");
    publish(br#"{"task": "process"}"#.to_vec()).await;
    let (_, reason) = dead_letter(&channel).await;
    assert!(reason.contains("no task id"), "{reason}");
    publish(br#"{"id": "no-such-record", "task": "process"}"#.to_vec()).await;
    let (_, reason) = dead_letter(&channel).await;
    assert!(reason.contains("no task record"), "{reason}");

    // The worker kept going.
    let record = tasks.submit(task("process", json!({}))).await.unwrap();
    expect(final_record(&tasks, &record.id).await, Status::Success);
    // A redelivery of a task that ended is acknowledged without running it again.
    publish(
        json!({"id": record.id, "task": "process"})
            .to_string()
            .into_bytes(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        ready(&channel, "plugmill.test").await,
        0,
        "the redelivery was consumed"
    );
    let again = tasks.get(&record.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(again.attempts, 1, "not run again: {again:#?}");

    stop.send(()).unwrap();
    worker.await.unwrap();
    tasks.shutdown().await;
}

/// A TCP proxy to PostgreSQL that a test can cut (refusing new connections and closing the
/// open ones) and restore.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (target, up2, open2) = (target.to_string(), up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(connection);
            }
        });
        Self { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.open.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn while_the_records_are_unreachable_messages_wait_unacknowledged_and_nothing_is_lost() {
    let vhost = Vhost::new();
    let schema = unique("plugmill_tasks_test");
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let database = |port: u16| {
        format!("postgres://postgres@127.0.0.1:{port}/test?options=-c%20search_path%3D{schema}")
    };
    // The worker reaches the records through the proxy; the publisher directly.
    let worker_dir = deployment(&config(
        &vhost,
        &format!(
            "records = \"records\"\n[databases.records]\nurl = \"{}\"\nacquire_timeout = \"1s\"\n",
            database(proxy.port)
        ),
    ));
    let server_dir = deployment(&config(
        &vhost,
        &format!(
            "records = \"records\"\n[databases.records]\nurl = \"{}\"\n",
            database(5432)
        ),
    ));
    let worker_host = Arc::new(host(&worker_dir).await);
    let server_host = host(&server_dir).await;
    let tasks = Tasks::open(&server_host).await.unwrap();
    let (stop, worker) = spawn_worker(worker_host.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    proxy.cut();
    let record = tasks.submit(task("process", json!({}))).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = expect(
        tasks.get(&record.id, &Scope::All).await.unwrap().unwrap(),
        Status::InProgress,
    );
    assert_eq!(
        waiting.attempts, 0,
        "not run while the records are unreachable"
    );

    proxy.restore();
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert_eq!(done.attempts, 1);

    stop.send(()).unwrap();
    worker.await.unwrap();
    tasks.shutdown().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
