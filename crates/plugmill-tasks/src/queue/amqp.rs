//! RabbitMQ (`queue = "amqp://..."`): a durable queue, publisher confirms (a task is handed
//! over only once the broker has it), and workers that acknowledge a message only once its
//! record is final.
//!
//! Topology, declared by publishers and workers alike (`NAME` is `[tasks] queue_name`):
//! - `NAME`: the tasks, durable, persistent messages `{"id", "task"}`; with the Celery
//!   protocol (`[tasks] protocol = "celery"`), the seed's `execute_plugin_task` messages
//!   ([`celery`](super::celery)), the queue declared as Celery declares it (durable, no
//!   arguments), so either side may declare it first;
//! - `NAME.retry.<ms>ms`: one queue per backoff; messages wait there for their TTL, then
//!   return to `NAME` (dead-lettering back);
//! - `NAME.dead`: tasks that failed for good, and messages that are not tasks, each with
//!   an `x-plugmill-reason` header.

use std::sync::Arc;
use std::time::Duration;

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

use crate::config::{Protocol, TaskSettings};
use crate::queue::celery::{self, CeleryError, Received};
use crate::record::TaskRecord;

/// How tasks reach RabbitMQ.
#[derive(Clone)]
pub(crate) struct Broker {
    url: Arc<str>,
    settings: Arc<TaskSettings>,
}

impl Broker {
    pub(crate) fn new(url: &str, settings: Arc<TaskSettings>) -> Self {
        Self {
            url: Arc::from(url),
            settings,
        }
    }

    /// The broker's URL (each node's) with its password hidden, for messages.
    pub(crate) fn shown(&self) -> String {
        super::choice::shown(&self.url)
    }

    /// A connection to the first of the broker's nodes that answers, tried in order, and a
    /// channel in confirm mode with the topology declared.
    pub(crate) async fn connect(&self) -> Result<(Connection, Channel), String> {
        let mut failures = Vec::new();
        let mut connected = None;
        for node in super::choice::nodes(&self.url) {
            let properties = ConnectionProperties::default()
                .with_executor(tokio_executor_trait::Tokio::current())
                .with_reactor(tokio_reactor_trait::Tokio);
            match Connection::connect(node, properties).await {
                Ok(connection) => {
                    connected = Some(connection);
                    break;
                }
                Err(e) => {
                    let node = plugmill::redact_secrets(node);
                    tracing::warn!(%node, error = %e, "broker node unreachable; trying the next");
                    failures.push(format!("{node}: {e}"));
                }
            }
        }
        let Some(connection) = connected else {
            return Err(format!(
                "cannot connect to the broker ({})",
                failures.join("; ")
            ));
        };
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| e.to_string())?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        self.declare(&channel).await?;
        Ok((connection, channel))
    }

    async fn declare(&self, channel: &Channel) -> Result<(), String> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let name = &self.settings.queue_name;
        let mut main = FieldTable::default();
        // Celery's queue has no arguments: declaring it with others would fail once the
        // seed's side has declared it.
        if self.settings.protocol == Protocol::Plugmill {
            main.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            main.insert("x-dead-letter-routing-key".into(), long(&self.dead_queue()));
        }
        channel
            .queue_declare(name, durable, main)
            .await
            .map_err(|e| format!("declaring queue `{name}`: {e}"))?;
        channel
            .queue_declare(&self.dead_queue(), durable, FieldTable::default())
            .await
            .map_err(|e| format!("declaring queue `{}`: {e}", self.dead_queue()))?;
        for next in 2..=self.settings.most_attempts() {
            let delay = self.settings.backoff_before(next);
            let mut retry = FieldTable::default();
            retry.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(delay.as_millis() as i64),
            );
            retry.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString("".into()),
            );
            retry.insert("x-dead-letter-routing-key".into(), long(name));
            let queue = self.retry_queue(delay);
            channel
                .queue_declare(&queue, durable, retry)
                .await
                .map_err(|e| format!("declaring queue `{queue}`: {e}"))?;
        }
        Ok(())
    }

    pub(crate) fn dead_queue(&self) -> String {
        format!("{}.dead", self.settings.queue_name)
    }

    pub(crate) fn retry_queue(&self, delay: Duration) -> String {
        format!("{}.retry.{}ms", self.settings.queue_name, delay.as_millis())
    }

    /// Publishes `payload` to `queue` and waits for the broker's confirmation.
    pub(crate) async fn publish_on(
        channel: &Channel,
        queue: &str,
        payload: &[u8],
        headers: FieldTable,
    ) -> Result<(), String> {
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(ShortString::from("application/json"))
            .with_headers(headers);
        Self::publish_with(channel, queue, payload, properties).await
    }

    /// Publishes `payload` with `properties` to `queue` and waits for the broker's
    /// confirmation.
    pub(crate) async fn publish_with(
        channel: &Channel,
        queue: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), String> {
        let confirm = channel
            .basic_publish(
                "",
                queue,
                BasicPublishOptions::default(),
                payload,
                properties,
            )
            .await
            .map_err(|e| format!("publishing to `{queue}`: {e}"))?
            .await
            .map_err(|e| format!("publishing to `{queue}`: {e}"))?;
        match confirm {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(format!("the broker refused the message for `{queue}`")),
        }
    }
}

fn long(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

/// The message of a task.
pub(crate) fn task_message(id: &str, task: &str) -> Vec<u8> {
    json!({ "id": id, "task": task }).to_string().into_bytes()
}

/// The record id of a message, or why it is not a task.
pub(crate) fn task_id(payload: &[u8]) -> Result<String, String> {
    let message: Value =
        serde_json::from_slice(payload).map_err(|e| format!("the message is not JSON: {e}"))?;
    message["id"]
        .as_str()
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .map(str::to_string)
        .ok_or_else(|| "the message has no task id (`id`)".to_string())
}

/// The message of a task in the Celery protocol: the seed's `execute_plugin_task` with the
/// record in the seed's layout (see [`crate::seed::plugin_task`]).
pub(crate) fn celery_message(record: &TaskRecord, data: &Value) -> (Vec<u8>, BasicProperties) {
    let task = crate::seed::plugin_task(record, data);
    let message_id = uuid::Uuid::new_v4().to_string();
    let origin = format!(
        "plugmill{}@{}",
        std::process::id(),
        std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
    );
    let message = celery::encode(&task, &message_id, &origin);
    let mut headers = FieldTable::default();
    for (name, value) in &message.headers {
        headers.insert(name.as_str().into(), amqp_value(value));
    }
    let properties = BasicProperties::default()
        .with_correlation_id(message.correlation_id.as_str().into())
        .with_content_type(celery::CONTENT_TYPE.into())
        .with_content_encoding(celery::CONTENT_ENCODING.into())
        .with_delivery_mode(2)
        .with_priority(0)
        .with_headers(headers);
    (message.body, properties)
}

/// Reads a delivery as a Celery message.
pub(crate) fn read_celery(delivery: &Delivery) -> Result<Received, CeleryError> {
    let properties = &delivery.properties;
    let headers: Map<String, Value> = properties
        .headers()
        .as_ref()
        .map(|table| {
            table
                .inner()
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), json_value(value)))
                .collect()
        })
        .unwrap_or_default();
    celery::decode(
        &headers,
        properties.content_type().as_ref().map(|s| s.as_str()),
        properties.content_encoding().as_ref().map(|s| s.as_str()),
        &delivery.data,
    )
}

/// The properties a delivery is passed on with (to a retry queue or the dead-letter one) in
/// the Celery protocol: its own, `extra` added to its headers, so that a Celery worker can
/// read it there or once it is back.
pub(crate) fn passed_on(delivery: &Delivery, extra: FieldTable) -> BasicProperties {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    for (name, value) in extra.inner() {
        headers.insert(name.clone(), value.clone());
    }
    delivery.properties.clone().with_headers(headers)
}

/// A JSON value as an AMQP header value.
fn amqp_value(value: &Value) -> AMQPValue {
    match value {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::Double(n.as_f64().unwrap_or_default()),
        },
        Value::String(text) => long(text),
        Value::Array(items) => {
            AMQPValue::FieldArray(items.iter().map(amqp_value).collect::<Vec<_>>().into())
        }
        Value::Object(map) => {
            let mut table = FieldTable::default();
            for (name, value) in map {
                table.insert(name.as_str().into(), amqp_value(value));
            }
            AMQPValue::FieldTable(table)
        }
    }
}

/// An AMQP header value as JSON (bytes and decimals, which Celery does not send, as null).
fn json_value(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => json!(b),
        AMQPValue::ShortShortInt(i) => json!(i),
        AMQPValue::ShortShortUInt(i) => json!(i),
        AMQPValue::ShortInt(i) => json!(i),
        AMQPValue::ShortUInt(i) => json!(i),
        AMQPValue::LongInt(i) => json!(i),
        AMQPValue::LongUInt(i) => json!(i),
        AMQPValue::LongLongInt(i) => json!(i),
        AMQPValue::Timestamp(i) => json!(i),
        AMQPValue::Float(f) => json!(f),
        AMQPValue::Double(f) => json!(f),
        AMQPValue::ShortString(text) => json!(text.as_str()),
        AMQPValue::LongString(text) => json!(String::from_utf8_lossy(text.as_bytes())),
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(json_value).collect())
        }
        AMQPValue::FieldTable(table) => Value::Object(
            table
                .inner()
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), json_value(value)))
                .collect(),
        ),
        AMQPValue::DecimalValue(_) | AMQPValue::ByteArray(_) | AMQPValue::Void => Value::Null,
    }
}

/// A header giving a reason, for dead-lettered messages.
pub(crate) fn reason_header(reason: &str) -> FieldTable {
    let mut headers = FieldTable::default();
    let reason: String = reason.chars().take(1000).collect();
    headers.insert("x-plugmill-reason".into(), long(&reason));
    headers
}

/// Publishes tasks from the server, reconnecting when the connection is lost.
pub(crate) struct Publisher {
    broker: Broker,
    channel: Mutex<Option<(Connection, Channel)>>,
}

impl Publisher {
    pub(crate) fn new(broker: Broker) -> Self {
        Self {
            broker,
            channel: Mutex::new(None),
        }
    }

    /// Hands the task over to the broker; returns once the broker has confirmed it.
    /// Concurrent publishes share the channel and wait for their confirmations side by side
    /// (the lock is held only to find the channel), so they are pipelined.
    pub(crate) async fn publish(&self, record: &TaskRecord, data: &Value) -> Result<(), String> {
        let (payload, properties) = match self.broker.settings.protocol {
            Protocol::Plugmill => (
                task_message(&record.id, &record.task),
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_content_type(ShortString::from("application/json"))
                    .with_headers(FieldTable::default()),
            ),
            Protocol::Celery => celery_message(record, data),
        };
        let mut last = String::new();
        for _ in 0..2 {
            let channel = {
                let mut slot = self.channel.lock().await;
                if slot.is_none() {
                    match self.broker.connect().await {
                        Ok(connected) => *slot = Some(connected),
                        Err(error) => {
                            last = error;
                            continue;
                        }
                    }
                }
                let Some((_, channel)) = slot.as_ref() else {
                    continue;
                };
                channel.clone()
            };
            let queue = &self.broker.settings.queue_name;
            match Broker::publish_with(&channel, queue, &payload, properties.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    // The connection may be gone: a new one for the next try.
                    let mut slot = self.channel.lock().await;
                    if slot.as_ref().is_some_and(|(_, c)| !c.status().connected()) {
                        *slot = None;
                    }
                    last = error;
                }
            }
        }
        Err(last)
    }

    pub(crate) async fn close(&self) {
        if let Some((connection, _)) = self.channel.lock().await.take() {
            let _ = connection.close(200, "shutting down").await;
        }
    }
}

/// Options for a consumer.
pub(crate) fn consume_options() -> BasicConsumeOptions {
    BasicConsumeOptions {
        no_ack: false,
        ..BasicConsumeOptions::default()
    }
}

pub(crate) fn qos(prefetch: usize) -> (u16, BasicQosOptions) {
    (
        u16::try_from(prefetch).unwrap_or(u16::MAX),
        BasicQosOptions::default(),
    )
}

pub(crate) fn ack() -> BasicAckOptions {
    BasicAckOptions::default()
}

pub(crate) fn requeue() -> BasicNackOptions {
    BasicNackOptions {
        requeue: true,
        ..BasicNackOptions::default()
    }
}

pub(crate) fn cancel() -> BasicCancelOptions {
    BasicCancelOptions::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn when_no_node_answers_the_error_names_each_without_its_password() {
        let (first, second) = (closed_port(), closed_port());
        let list = format!(
            "amqp://guest:secret@127.0.0.1:{first}/%2f,amqp://guest:secret@127.0.0.1:{second}/%2f"
        );
        let broker = Broker::new(&list, Arc::new(test_settings()));
        let Err(error) = broker.connect().await else {
            panic!("connected to a closed port")
        };
        assert!(
            error.starts_with("cannot connect to the broker ("),
            "{error}"
        );
        assert!(error.contains(&format!("127.0.0.1:{first}")), "{error}");
        assert!(error.contains(&format!("127.0.0.1:{second}")), "{error}");
        assert!(!error.contains("secret"), "{error}");
    }

    fn test_settings() -> TaskSettings {
        TaskSettings::from_config(&plugmill::config::HostConfig::default()).unwrap()
    }
}
