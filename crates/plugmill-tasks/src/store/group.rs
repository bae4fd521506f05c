//! Group commit: the record writes of concurrent tasks share transactions.
//!
//! Every task writes its record three times (created, an attempt started, the attempt
//! ended), and each write is a committed transaction: a round trip per statement and a
//! flush of the database's log per commit. Tasks that run side by side would each wait for
//! their own commit. The [`Committer`] instead hands every write to one loop that takes all
//! the writes waiting at that moment ([`Change`]) and applies them in one transaction, each
//! kind of change as one statement over all of them (the layout's
//! [`RecordLayout::apply_group`](super::RecordLayout::apply_group)). There is no timer:
//! a write that arrives while nothing is in flight goes at once, alone; under load the
//! groups grow by themselves.
//!
//! Nothing is promised earlier than before: a caller's write is answered only once the
//! transaction holding it has committed, so a task's record moves exactly as it did with a
//! transaction of its own, and a worker killed mid-group leaves none of the group's writes.
//! Each change keeps its condition (an attempt starts only while the record is
//! `IN_PROGRESS`, only an `IN_PROGRESS` record becomes final, the tenant's limit, the
//! `Idempotency-Key`). When a group fails as a whole (a deadlock with another process, a
//! statement the database refuses), it is rolled back and each of its changes is applied
//! again alone, so one change's failure is its own. Two changes of the same record never
//! share a group.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{Ending, PluginResult, RecordStore, StoreError};
use crate::record::{NewTask, TaskRecord};

/// The most changes one transaction holds.
const MOST_IN_A_GROUP: usize = 256;

/// Groups in flight at once: while one commits, the next gathers and runs.
const GROUPS_IN_FLIGHT: usize = 2;

/// A write to the records, as one member of a group.
#[derive(Debug)]
pub(crate) enum Change {
    /// Write a new record, `IN_PROGRESS` with "Task started"; with `limit`, only while its
    /// tenant has fewer `IN_PROGRESS` records.
    Insert {
        /// The record.
        record: Box<TaskRecord>,
        /// The task as submitted (its data left out).
        task: Box<NewTask>,
        /// Its data, as JSON text.
        data: String,
        /// The tenant's bound on open records.
        limit: Option<i64>,
    },
    /// Count one more attempt of the `IN_PROGRESS` record `id` by `worker`.
    Begin {
        /// The record.
        id: String,
        /// Who runs the attempt.
        worker: String,
        /// When it started.
        started: String,
    },
    /// Record the plugins' outcomes and end the attempt as `ending`.
    End {
        /// The record.
        id: String,
        /// Each plugin's outcome not yet recorded.
        outcomes: Vec<PluginResult>,
        /// How the attempt ends.
        ending: Ending,
        /// When it ended.
        ended: String,
    },
}

impl Change {
    /// The record the change is about.
    fn id(&self) -> &str {
        match self {
            Change::Insert { record, .. } => &record.id,
            Change::Begin { id, .. } | Change::End { id, .. } => id,
        }
    }

    /// A new record of `task`, for [`Change::Insert`].
    pub(crate) fn insert(
        record: &TaskRecord,
        task: &NewTask,
        data: &str,
        limit: Option<i64>,
    ) -> Self {
        Change::Insert {
            record: Box::new(record.clone()),
            // The data is written from its text: the task is kept without it, not cloned.
            task: Box::new(NewTask {
                task: task.task.clone(),
                task_type: task.task_type.clone(),
                type_name: task.type_name.clone(),
                election_event_id: task.election_event_id.clone(),
                data: Value::Null,
                executed_by: task.executed_by.clone(),
                tenant_id: task.tenant_id.clone(),
                document_id: task.document_id.clone(),
                idempotency_key: task.idempotency_key.clone(),
            }),
            data: data.to_string(),
            limit,
        }
    }
}

/// What a change did.
#[derive(Debug)]
pub(crate) enum Applied {
    /// Whether the record was written (not when its tenant is at its limit or its key taken).
    Inserted(bool),
    /// The record with its outcomes (its log left out) and its data, when the attempt
    /// started; `None` when the record is not `IN_PROGRESS` (or missing).
    Began(Option<Box<(TaskRecord, Value)>>),
    /// Whether the record changed (false once it is final).
    Ended(bool),
}

/// A change waiting for its group, and where its answer goes.
struct Waiting {
    change: Change,
    answer: oneshot::Sender<Result<Applied, StoreError>>,
}

/// Applies the changes handed to it in groups, one transaction each.
pub(crate) struct Committer {
    sender: mpsc::UnboundedSender<Waiting>,
    counts: Arc<Counts>,
}

/// The groups committed and the changes they held, so far.
#[derive(Default)]
struct Counts {
    groups: AtomicU64,
    changes: AtomicU64,
}

impl Committer {
    /// Starts the loop that applies changes with `store` (one that writes alone); it ends
    /// when the committer is dropped, after the changes already handed to it.
    pub(crate) fn start(store: RecordStore) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        tokio::spawn(gather(store, receiver, Arc::clone(&counts)));
        Self { sender, counts }
    }

    /// The groups committed in one transaction so far, and the changes they held.
    pub(crate) fn committed(&self) -> (u64, u64) {
        (
            self.counts.groups.load(Ordering::Relaxed),
            self.counts.changes.load(Ordering::Relaxed),
        )
    }

    /// Applies `change` in the next group; answers once that group has committed.
    pub(crate) async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.sender
            .send(Waiting { change, answer })
            .map_err(|_| StoreError::Database("the record writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Database("the record writer has stopped".into()))?
    }
}

/// Takes every change waiting, up to [`MOST_IN_A_GROUP`], as soon as a group may start.
async fn gather(
    store: RecordStore,
    mut receiver: mpsc::UnboundedReceiver<Waiting>,
    counts: Arc<Counts>,
) {
    let store = Arc::new(store);
    let in_flight = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
    let mut held_back: Vec<Waiting> = Vec::new();
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut group = std::mem::take(&mut held_back);
        if group.is_empty() {
            match receiver.recv().await {
                Some(waiting) => group.push(waiting),
                None => return,
            }
        }
        while group.len() < MOST_IN_A_GROUP {
            match receiver.try_recv() {
                Ok(waiting) => group.push(waiting),
                Err(_) => break,
            }
        }
        // A second change of a record waits for the next group.
        let mut ids = HashSet::new();
        let (group, later): (Vec<Waiting>, Vec<Waiting>) = group
            .into_iter()
            .partition(|waiting| ids.insert(waiting.change.id().to_string()));
        held_back = later;
        let (store, counts) = (Arc::clone(&store), Arc::clone(&counts));
        tokio::spawn(async move {
            commit(&store, group, &counts).await;
            drop(permit);
        });
    }
}

/// Applies `group` in one transaction, or, if that fails, each change alone.
async fn commit(store: &RecordStore, group: Vec<Waiting>, counts: &Counts) {
    let (changes, answers): (Vec<Change>, Vec<_>) = group
        .into_iter()
        .map(|waiting| (waiting.change, waiting.answer))
        .unzip();
    match store.apply_group(&changes).await {
        Ok(applied) if applied.len() == changes.len() => {
            counts.groups.fetch_add(1, Ordering::Relaxed);
            counts
                .changes
                .fetch_add(changes.len() as u64, Ordering::Relaxed);
            crate::metrics::record_group(changes.len());
            for (answer, applied) in answers.into_iter().zip(applied) {
                let _ = answer.send(Ok(applied));
            }
        }
        outcome => {
            if let Err(error) = outcome {
                tracing::debug!(%error, changes = changes.len(), "a group of record writes failed; applying each alone");
            }
            for (answer, change) in answers.into_iter().zip(changes) {
                let _ = answer.send(store.apply_alone(change).await);
            }
        }
    }
}

/// A record to write, in a group: its place in the group, the record, its
/// `Idempotency-Key`, its data and its tenant's bound.
pub(crate) type NewRow<'a> = (usize, &'a TaskRecord, Option<&'a str>, &'a str, Option<i64>);

/// The changes of a group by kind, each with its place in the group.
#[derive(Default)]
pub(crate) struct Sorted<'a> {
    /// The records to write.
    pub(crate) inserts: Vec<NewRow<'a>>,
    /// The attempts to start: record id, worker, started.
    pub(crate) begins: Vec<(usize, &'a str, &'a str, &'a str)>,
    /// The attempts to end: record id, outcomes, ending, ended.
    pub(crate) ends: Vec<(usize, &'a str, &'a [PluginResult], &'a Ending, &'a str)>,
}

impl<'a> Sorted<'a> {
    /// The changes of `group` by kind.
    pub(crate) fn of(group: &'a [Change]) -> Self {
        let mut sorted = Sorted::default();
        for (place, change) in group.iter().enumerate() {
            match change {
                Change::Insert {
                    record,
                    task,
                    data,
                    limit,
                } => sorted.inserts.push((
                    place,
                    record.as_ref(),
                    task.idempotency_key.as_deref(),
                    data.as_str(),
                    *limit,
                )),
                Change::Begin {
                    id,
                    worker,
                    started,
                } => sorted
                    .begins
                    .push((place, id.as_str(), worker.as_str(), started.as_str())),
                Change::End {
                    id,
                    outcomes,
                    ending,
                    ended,
                } => sorted.ends.push((
                    place,
                    id.as_str(),
                    outcomes.as_slice(),
                    ending,
                    ended.as_str(),
                )),
            }
        }
        sorted
    }
}
