//! Tenant scopes on the records, in SQLite and PostgreSQL: every read and change a caller
//! makes names its scope, filtered in the statement; a tenant's open records are bounded,
//! counted from the records, so the bound holds across stores (servers) sharing them.

use std::sync::Arc;

use plugmill::capabilities::database::{DatabaseSpec, Pool};
use plugmill_tasks::{Created, ListFilter, NewTask, RecordStore, Scope, Status};
use serde_json::json;

use super::unique;

fn task(tenant: Option<&str>) -> NewTask {
    NewTask {
        task: "process".into(),
        data: json!({}),
        tenant_id: tenant.map(str::to_string),
        ..NewTask::default()
    }
}

async fn created(store: &RecordStore, tenant: Option<&str>) -> String {
    match store.create(&task(tenant), None).await.unwrap() {
        Created::Yes(record) => record.id,
        other => panic!("no limit or key was given: {other:?}"),
    }
}

/// A PostgreSQL pool on a schema of its own (dropped by the caller with `admin`).
async fn postgres() -> (Pool, sqlx::PgPool, String) {
    let schema = unique("plugmill_scope_test");
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let url =
        format!("postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{schema}");
    (
        DatabaseSpec::from_url(&url).unwrap().connect_lazy(),
        admin,
        schema,
    )
}

fn sqlite(dir: &tempfile::TempDir) -> Pool {
    let url = format!("sqlite://{}", dir.path().join("records.db").display());
    DatabaseSpec::from_url(&url).unwrap().connect_lazy()
}

async fn a_scope_sees_and_changes_only_its_tenant_s_records(pool: Pool) {
    let store = RecordStore::open(pool).await.unwrap();
    let a = Scope::Tenant("tenant-a".into());
    let b = Scope::Tenant("tenant-b".into());
    let a_task = created(&store, Some("tenant-a")).await;
    let b_task = created(&store, Some("tenant-b")).await;
    let orphan = created(&store, None).await;

    assert!(store.get(&a_task, &a).await.unwrap().is_some());
    assert!(
        store.get(&a_task, &b).await.unwrap().is_none(),
        "B does not see A's"
    );
    assert!(
        store.get(&orphan, &a).await.unwrap().is_none(),
        "nor a record of no tenant"
    );
    assert!(store.get(&orphan, &Scope::All).await.unwrap().is_some());

    assert!(
        !store.cancel(&a_task, &b).await.unwrap(),
        "B cannot cancel A's"
    );
    let untouched = store.get(&a_task, &Scope::All).await.unwrap().unwrap();
    assert_eq!(untouched.status, Status::InProgress);
    assert!(store.cancel(&a_task, &a).await.unwrap());

    let listed = |page: plugmill_tasks::Page| -> Vec<String> {
        page.records.into_iter().map(|r| r.id).collect()
    };
    let filter = ListFilter::default();
    assert_eq!(
        listed(store.list(&b, &filter).await.unwrap()),
        std::slice::from_ref(&b_task)
    );
    assert_eq!(
        listed(store.list(&a, &filter).await.unwrap()),
        std::slice::from_ref(&a_task)
    );
    let all = listed(store.list(&Scope::All, &filter).await.unwrap());
    assert_eq!(
        all,
        [orphan.clone(), b_task.clone(), a_task.clone()],
        "newest first"
    );

    // A lower time bound keeps the records created at or after it.
    let records = store.list(&Scope::All, &filter).await.unwrap().records;
    let created_at = |id: &str| {
        records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.created_at.clone())
            .unwrap()
    };
    let since = created_at(&b_task);
    let bounded = ListFilter {
        since: Some(since.clone()),
        ..ListFilter::default()
    };
    let kept = listed(store.list(&Scope::All, &bounded).await.unwrap());
    assert_eq!(kept[..2], [orphan, b_task], "{kept:?}");
    assert_eq!(
        kept.contains(&a_task),
        created_at(&a_task) >= since,
        "A's record is older than the bound unless created in the same instant"
    );
}

#[tokio::test]
async fn a_scope_sees_and_changes_only_its_tenant_s_records_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_scope_sees_and_changes_only_its_tenant_s_records(sqlite(&dir)).await;
}

#[tokio::test]
async fn a_scope_sees_and_changes_only_its_tenant_s_records_in_postgres() {
    let (pool, admin, schema) = postgres().await;
    a_scope_sees_and_changes_only_its_tenant_s_records(pool).await;
    drop_schema(&admin, &schema).await;
}

async fn drop_schema(admin: &sqlx::PgPool, schema: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_tenant_s_open_records_are_bounded_across_servers_sharing_them() {
    let (pool, admin, schema) = postgres().await;
    // Two stores on two pools: two servers sharing the records.
    let first = Arc::new(RecordStore::open(pool).await.unwrap());
    let url =
        format!("postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{schema}");
    let second = Arc::new(
        RecordStore::open(DatabaseSpec::from_url(&url).unwrap().connect_lazy())
            .await
            .unwrap(),
    );
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move {
                store
                    .create(&task(Some("busy-tenant")), Some(5))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut admitted = 0;
    for attempt in attempts {
        if let Created::Yes(_) = attempt.await.unwrap() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5, "exactly the limit, whichever server took them");
    // Another tenant, and tasks of no tenant, are not affected.
    assert!(matches!(
        first
            .create(&task(Some("quiet-tenant")), Some(5))
            .await
            .unwrap(),
        Created::Yes(_)
    ));
    assert!(matches!(
        first.create(&task(None), Some(5)).await.unwrap(),
        Created::Yes(_)
    ));
    // A record that ends frees its place.
    let page = first
        .list(&Scope::Tenant("busy-tenant".into()), &ListFilter::default())
        .await
        .unwrap();
    assert!(first
        .fail(&page.records[0].id, "done", "plugin-error")
        .await
        .unwrap());
    assert!(matches!(
        second
            .create(&task(Some("busy-tenant")), Some(5))
            .await
            .unwrap(),
        Created::Yes(_)
    ));
    drop_schema(&admin, &schema).await;
}
