//! The in-process queue (`queue = "memory"`, the embedded default): the server runs tasks
//! itself, at most `concurrency` at once. Nothing is forgotten: tasks still queued when the
//! server stops get a log line saying so, and every record still `IN_PROGRESS` is queued
//! again at the next start.
//!
//! The queue is bounded: a new task takes one of `queue_capacity` places ([`Place`]) before
//! its record is written, and gives it back when it starts running; with
//! no place free it is refused. Retries and the records queued again at start are tasks
//! already admitted, so they take no place.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::runner::{Runner, Verdict};
use crate::store::StoreError;

/// How long a task waits before another try when the records cannot be reached.
const UNAVAILABLE_WAIT: Duration = Duration::from_secs(1);

/// A place on the bounded queue, held from before a task's record is written until the
/// task starts running.
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
}

/// A task on the queue: its record's id, and the place it holds (none for a retry or a
/// record queued again at start).
type Queued = (String, Option<Place>);

/// The queue and its dispatcher.
pub(crate) struct MemoryQueue {
    sender: mpsc::UnboundedSender<Queued>,
    places: Arc<Semaphore>,
    capacity: usize,
    stop: watch::Sender<bool>,
    dispatcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl MemoryQueue {
    /// Starts the dispatcher and queues every record still `IN_PROGRESS` (from before a
    /// restart).
    pub(crate) async fn start(runner: Runner) -> Result<Self, StoreError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let (stop, stopping) = watch::channel(false);
        for id in runner.store.in_progress().await? {
            let _ = sender.send((id, None));
        }
        let capacity = runner.settings.queue_capacity;
        let dispatcher = tokio::spawn(dispatch(runner, receiver, sender.clone(), stopping));
        Ok(Self {
            sender,
            places: Arc::new(Semaphore::new(capacity)),
            capacity,
            stop,
            dispatcher: Mutex::new(Some(dispatcher)),
        })
    }

    /// A place for one more task, or [`TaskError::QueueFull`](crate::TaskError::QueueFull).
    pub(crate) fn reserve(&self) -> Result<Place, crate::TaskError> {
        self.places
            .clone()
            .try_acquire_owned()
            .map(|permit| Place { _permit: permit })
            .map_err(|_| crate::TaskError::QueueFull(self.capacity))
    }

    /// Queues the task whose record is `id`, in the place reserved for it.
    pub(crate) fn publish(&self, id: String, place: Option<Place>) -> Result<(), String> {
        self.sender
            .send((id, place))
            .map_err(|_| "the in-process queue has stopped".to_string())
    }

    /// Stops taking tasks, lets running ones finish for up to `grace`, and records the
    /// queued ones as not run.
    pub(crate) async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(dispatcher) = self.dispatcher.lock().await.take() {
            if tokio::time::timeout(grace, dispatcher).await.is_err() {
                tracing::warn!(?grace, "tasks still running after the grace period");
            }
        }
    }
}

async fn dispatch(
    runner: Runner,
    mut queued: mpsc::UnboundedReceiver<Queued>,
    requeue: mpsc::UnboundedSender<Queued>,
    mut stopping: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(runner.settings.concurrency));
    let mut running = JoinSet::new();
    loop {
        let (id, place) = tokio::select! {
            biased;
            _ = stopping.changed() => break,
            id = queued.recv() => match id {
                Some(queued) => queued,
                None => break,
            },
        };
        // A slot frees up when a running task ends; a stop while waiting for one leaves
        // this task queued.
        let slot = tokio::select! {
            biased;
            _ = stopping.changed() => {
                not_run(&runner, &id).await;
                break;
            }
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        // Running, no longer waiting: its place is free for another task.
        drop(place);
        let (runner, requeue, stopping) = (runner.clone(), requeue.clone(), stopping.clone());
        running.spawn(async move {
            let verdict = runner.run(&id).await;
            drop(slot);
            let delay = match verdict {
                Verdict::Done => return,
                Verdict::Retry { delay, .. } => delay,
                Verdict::Unavailable(error) => {
                    tracing::warn!(task_id = %id, %error, "task records unavailable; the task waits");
                    UNAVAILABLE_WAIT
                }
                Verdict::DeadLetter(error) | Verdict::Malformed(error) => {
                    crate::metrics::dead_lettered();
                    tracing::warn!(task_id = %id, %error, "task failed for good");
                    return;
                }
            };
            if wait_unless_stopping(delay, stopping).await {
                let _ = requeue.send((id, None));
            }
        });
        while running.try_join_next().is_some() {}
    }
    // Stopping: what is still queued is recorded as such, and runs at the next start.
    queued.close();
    while let Ok((id, _)) = queued.try_recv() {
        not_run(&runner, &id).await;
    }
    while running.join_next().await.is_some() {}
}

/// Records that `id` was still queued when the server stopped.
async fn not_run(runner: &Runner, id: &str) {
    let line = "not run: the server stopped while it was queued; it runs at the next start";
    if let Err(error) = runner.store.log(id, line).await {
        tracing::warn!(task_id = %id, %error, "cannot record a task left queued at shutdown");
    }
}

/// Waits `delay`; false if the queue stops first.
async fn wait_unless_stopping(delay: Duration, mut stopping: watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => !*stopping.borrow(),
        _ = stopping.changed() => false,
    }
}
