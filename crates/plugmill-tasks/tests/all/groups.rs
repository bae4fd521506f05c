//! Group commit on PostgreSQL: the record writes of concurrent tasks share transactions,
//! and each write keeps the conditions it has alone (a tenant's bound on open records, an
//! `Idempotency-Key`, an attempt only on an `IN_PROGRESS` record), and one write the
//! database refuses fails alone, not its group.

use futures::future::join_all;
use plugmill::capabilities::database::DatabaseSpec;
use plugmill_tasks::store::Attempt;
use plugmill_tasks::{Created, Ending, NewTask, RecordStore, Scope, Status};
use serde_json::json;

use super::{log_texts, Schema};

fn task(tenant: Option<&str>, key: Option<&str>) -> NewTask {
    NewTask {
        task: "process".into(),
        data: json!({ "n": 1 }),
        tenant_id: tenant.map(str::to_string),
        idempotency_key: key.map(str::to_string),
        ..NewTask::default()
    }
}

async fn store(schema: &Schema) -> RecordStore {
    let pool = DatabaseSpec::from_url(&schema.url())
        .unwrap()
        .connect_lazy();
    RecordStore::open(pool).await.unwrap()
}

fn id_of(created: Created) -> String {
    match created {
        Created::Yes(record) => record.id,
        other => panic!("the record was not written: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_share_transactions_and_each_record_moves_as_alone() {
    let schema = Schema::new().await;
    let store = &store(&schema).await;
    assert_eq!(store.shared_transactions(), Some((0, 0)));

    let tasks = 200;
    let ids: Vec<String> =
        join_all((0..tasks).map(|_| async move { store.create(&task(None, None), None).await }))
            .await
            .into_iter()
            .map(|created| id_of(created.unwrap()))
            .collect();
    let attempts = join_all(ids.iter().map(|id| store.begin_attempt(id, "worker w"))).await;
    for attempt in attempts {
        match attempt.unwrap() {
            Attempt::Run { number, data, .. } => {
                assert_eq!(number, 1);
                assert_eq!(data, json!({ "n": 1 }));
            }
            other => panic!("the attempt did not start: {other:?}"),
        }
    }
    let ended = join_all(ids.iter().enumerate().map(|(n, id)| {
        let outcomes = vec![("fixture".to_string(), Ok(json!({ "n": n })))];
        let ending = Ending::Success(json!({ "fixture": { "n": n } }));
        async move { store.finish(id, &outcomes, &ending).await }
    }))
    .await;
    assert!(ended.into_iter().all(|changed| changed.unwrap()));

    // 600 writes, far fewer transactions.
    let (groups, changes) = store.shared_transactions().unwrap();
    assert_eq!(
        changes,
        3 * tasks as u64,
        "every write went through a group"
    );
    assert!(
        groups < changes / 2,
        "{changes} writes in {groups} transactions: concurrent writes did not share them"
    );
    for (n, id) in ids.iter().enumerate() {
        let record = store.get(id, &Scope::All).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Success);
        assert_eq!(record.attempts, 1);
        assert_eq!(record.result, Some(json!({ "fixture": { "n": n } })));
        assert_eq!(record.outcomes.len(), 1, "{record:#?}");
        assert_eq!(record.outcomes[0].answer, Some(json!({ "n": n })));
        assert_eq!(
            log_texts(&record),
            [
                "Task started",
                "attempt 1 started on worker w",
                "Task succeeded"
            ]
        );
    }
    // A record ends once: a second ending changes nothing, and an attempt no longer starts.
    assert!(!store
        .finish(&ids[0], &[], &Ending::Success(json!({})))
        .await
        .unwrap());
    assert!(matches!(
        store.begin_attempt(&ids[0], "worker w").await.unwrap(),
        Attempt::Final(Status::Success)
    ));
    assert!(matches!(
        store
            .begin_attempt("no-such-record", "worker w")
            .await
            .unwrap(),
        Attempt::Missing
    ));
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_s_bound_and_an_idempotency_key_hold_inside_a_group() {
    let schema = Schema::new().await;
    let store = &store(&schema).await;

    // 50 at once for a tenant bounded at 10 open records: exactly 10 written.
    let created = join_all(
        (0..50).map(|_| async move { store.create(&task(Some("acme"), None), Some(10)).await }),
    )
    .await;
    let written = created
        .iter()
        .filter(|c| matches!(c, Ok(Created::Yes(_))))
        .count();
    let refused = created
        .iter()
        .filter(|c| matches!(c, Ok(Created::TenantAtLimit)))
        .count();
    assert_eq!((written, refused), (10, 40), "{created:?}");
    // Another tenant is not held back by it.
    assert!(matches!(
        store
            .create(&task(Some("globex"), None), Some(10))
            .await
            .unwrap(),
        Created::Yes(_)
    ));

    // 20 at once with one key: one record, and every caller gets it.
    let created = join_all((0..20).map(|_| async move {
        store
            .create(&task(Some("acme"), Some("order-7")), None)
            .await
    }))
    .await;
    let mut ids: Vec<String> = created
        .into_iter()
        .map(|c| match c.unwrap() {
            Created::Yes(record) | Created::Existing(record) => record.id,
            other => panic!("{other:?}"),
        })
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one key, one record: {ids:?}");
    assert_eq!(
        schema.count("plugmill_task_records").await,
        10 + 1 + 1,
        "records written"
    );
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_attempts_of_one_record_at_once_both_count_and_a_refused_write_fails_alone() {
    let schema = Schema::new().await;
    let store = &store(&schema).await;
    let id = id_of(store.create(&task(None, None), None).await.unwrap());
    let others: Vec<String> =
        join_all((0..30).map(|_| async move { store.create(&task(None, None), None).await }))
            .await
            .into_iter()
            .map(|c| id_of(c.unwrap()))
            .collect();

    // Two deliveries of one task start at once: both attempts count, as they would alone.
    let (first, second) = tokio::join!(
        store.begin_attempt(&id, "worker a"),
        store.begin_attempt(&id, "worker b")
    );
    let mut numbers: Vec<u32> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .map(|attempt| match attempt {
            Attempt::Run { number, .. } => number,
            other => panic!("{other:?}"),
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2]);

    // One ending carries text the database refuses (a NUL byte): the statement over the
    // whole group fails, and each write is applied alone, so only that one fails.
    for other in &others {
        assert!(matches!(
            store.begin_attempt(other, "worker a").await.unwrap(),
            Attempt::Run { .. }
        ));
    }
    let refused = Ending::Failed {
        error: "bad\u{0}text".into(),
        kind: "plugin-error".into(),
    };
    let (alone, together) = tokio::join!(
        store.finish(&id, &[], &refused),
        join_all(others.iter().map(|other| async move {
            store.finish(other, &[], &Ending::Success(json!({}))).await
        }))
    );
    let error = alone
        .expect_err("PostgreSQL refuses a NUL byte in text")
        .to_string();
    assert!(error.contains("task records"), "{error}");
    assert!(together.into_iter().all(|changed| changed.unwrap()));
    let record = store.get(&id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::InProgress,
        "nothing of the refused write landed"
    );
    for other in &others {
        let record = store.get(other, &Scope::All).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Success);
    }
    schema.drop().await;
}
