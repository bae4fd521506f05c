//! `plugmill worker`: consumes the RabbitMQ queue, `concurrency` tasks at once (the prefetch),
//! and acknowledges each message only once its record is final. A failed attempt goes to a
//! retry queue for its backoff; the last failed attempt, and a message that is not a task, go
//! to the dead-letter queue with the reason. When the records cannot be reached, the message
//! is not acknowledged and returns later. After losing the broker the worker reconnects; on
//! shutdown it stops consuming, finishes the tasks it holds (for up to the grace period) and
//! leaves the rest in the queue.
//!
//! With the Celery protocol (`[tasks] protocol = "celery"`, `plugmill worker --celery`) the
//! messages are the seed's `execute_plugin_task`: each runs on plugmill's record with the
//! seed's record id ([`crate::seed::record_for`]), under the same guarantees; messages passed
//! on keep their Celery headers. A message that is not one (not Celery, another task, a body
//! of the wrong shape) is dead-lettered with the reason.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use lapin::message::Delivery;
use lapin::types::FieldTable;
use lapin::Channel;
use tokio::task::JoinSet;

use crate::config::Protocol;
use crate::queue::amqp::{self, Broker};
use crate::runner::{Runner, Verdict};

/// How long a message waits before it returns to the queue when the records are unreachable.
const UNAVAILABLE_WAIT: Duration = Duration::from_secs(1);

/// The longest wait between two reconnections.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(10);

/// How long the tasks in hand may finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(30);

/// Consumes tasks until `shutdown` resolves.
pub(crate) async fn run(
    runner: Runner,
    broker: Broker,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let mut wait = Duration::from_millis(250);
    loop {
        match session(&runner, &broker, &mut shutdown).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::warn!(%error, broker = %broker.shown(), ?wait, "lost the broker; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = &mut shutdown => return Ok(()),
                }
                wait = (wait * 2).min(MAX_RECONNECT_WAIT);
            }
        }
    }
}

/// One connection's life: consume until shutdown (Ok) or until the connection fails (Err).
async fn session(
    runner: &Runner,
    broker: &Broker,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<(), String> {
    let (connection, channel) = broker.connect().await?;
    let (prefetch, options) = amqp::qos(runner.settings.concurrency);
    channel
        .basic_qos(prefetch, options)
        .await
        .map_err(|e| e.to_string())?;
    let tag = format!("plugmill-worker-{}", uuid::Uuid::new_v4());
    let mut consumer = channel
        .basic_consume(
            &runner.settings.queue_name,
            &tag,
            amqp::consume_options(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(broker = %broker.shown(), queue = %runner.settings.queue_name, prefetch, "consuming tasks");
    let mut running = JoinSet::new();
    let outcome = loop {
        tokio::select! {
            delivery = consumer.next() => match delivery {
                Some(Ok(delivery)) => {
                    let (runner, broker, channel) = (runner.clone(), broker.clone(), channel.clone());
                    running.spawn(async move { handle(&runner, &broker, &channel, delivery).await });
                }
                Some(Err(error)) => break Err(error.to_string()),
                None => break Err("the broker ended the consumer".into()),
            },
            Some(_) = running.join_next(), if !running.is_empty() => {}
            () = shutdown.as_mut() => {
                let _ = channel.basic_cancel(&tag, amqp::cancel()).await;
                break Ok(());
            }
        }
    };
    // The tasks in hand finish (on shutdown, within the grace period); on a lost
    // connection their acknowledgements fail and the broker redelivers them.
    if tokio::time::timeout(GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("tasks still running after the grace period; the broker redelivers them");
    }
    if outcome.is_ok() {
        let _ = connection.close(200, "worker stopping").await;
    }
    outcome
}

/// Runs one message and settles it.
async fn handle(runner: &Runner, broker: &Broker, channel: &Channel, delivery: Delivery) {
    let celery = runner.settings.protocol == Protocol::Celery;
    let verdict = if celery {
        run_celery(runner, &delivery).await
    } else {
        match amqp::task_id(&delivery.data) {
            Ok(id) => runner.run(&id).await,
            Err(reason) => Verdict::Malformed(reason),
        }
    };
    let settled = match verdict {
        Verdict::Done => delivery.ack(amqp::ack()).await.map_err(|e| e.to_string()),
        Verdict::Retry { delay, .. } => {
            let queue = broker.retry_queue(delay);
            forward(channel, &queue, &delivery, FieldTable::default(), celery).await
        }
        Verdict::DeadLetter(reason) | Verdict::Malformed(reason) => {
            tracing::warn!(%reason, "dead-lettering a task");
            let outcome = forward(
                channel,
                &broker.dead_queue(),
                &delivery,
                amqp::reason_header(&reason),
                celery,
            )
            .await;
            if outcome.is_ok() {
                crate::metrics::dead_lettered();
            }
            outcome
        }
        Verdict::Unavailable(error) => {
            tracing::warn!(%error, "task records unavailable; the message returns to the queue");
            tokio::time::sleep(UNAVAILABLE_WAIT).await;
            delivery
                .nack(amqp::requeue())
                .await
                .map_err(|e| e.to_string())
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, "settling a message failed; the broker redelivers it");
    }
}

/// Runs a Celery message: the seed's task on plugmill's record of it.
async fn run_celery(runner: &Runner, delivery: &Delivery) -> Verdict {
    let received = match amqp::read_celery(delivery) {
        Ok(received) => received,
        Err(error) => return Verdict::Malformed(error.to_string()),
    };
    match crate::seed::record_for(&runner.store, &received.task).await {
        Ok(id) => {
            tracing::debug!(task_id = %id, celery_id = ?received.message_id, "running a Celery message");
            runner.run(&id).await
        }
        Err(verdict) => verdict,
    }
}

/// Publishes the message to `queue` (confirmed), then acknowledges it; if the publish fails,
/// the message returns to the queue instead. A Celery message keeps its properties and
/// headers, `headers` added.
async fn forward(
    channel: &Channel,
    queue: &str,
    delivery: &Delivery,
    headers: FieldTable,
    celery: bool,
) -> Result<(), String> {
    let published = if celery {
        let properties = amqp::passed_on(delivery, headers);
        Broker::publish_with(channel, queue, &delivery.data, properties).await
    } else {
        Broker::publish_on(channel, queue, &delivery.data, headers).await
    };
    match published {
        Ok(()) => delivery.ack(amqp::ack()).await.map_err(|e| e.to_string()),
        Err(error) => {
            let _ = delivery.nack(amqp::requeue()).await;
            Err(error)
        }
    }
}

/// Runs workers with this runner: used by [`crate::Tasks::work`].
pub(crate) fn broker_of(url: &str, runner: &Runner) -> Broker {
    Broker::new(url, Arc::clone(&runner.settings))
}
