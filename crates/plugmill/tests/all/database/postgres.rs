//! PostgreSQL: commit, rollback, traps, deadlines, isolation, errors and every type.

use std::time::Duration;

use plugmill::capabilities::database::Databases;
use plugmill::CallError;
use serde_json::json;

use super::{err, load_clients, ok, run, typed_err, Schema};
use crate::builder;

/// `db-client` granted `hasura` (and `keycloak` on the same schema when `keycloak`).
async fn client(schema: &Schema) -> (plugmill::PluginManager, tempfile::TempDir) {
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", schema.spec());
        databases.insert("keycloak", schema.spec());
        databases.grant("db-client", "hasura");
    });
    load_clients(builder, false).await
}

#[tokio::test]
async fn a_seed_plugin_commits_and_others_see_the_rows_as_json() {
    let schema = Schema::new().await;
    schema
        .admin("CREATE TABLE notes (id serial PRIMARY KEY, owner uuid, body text, n int4)")
        .await;
    let (manager, _dir) = client(&schema).await;
    let owner = "6f1c2b1e-8d4a-4e0b-9a57-1b2c3d4e5f60";
    let steps = run(
        &manager,
        "seed",
        json!([
            {"create": "hasura"},
            {"execute": ["hasura", "INSERT INTO notes (owner, body, n) VALUES ($1, $2, $3) RETURNING id, owner, body, n", [owner, "hello", "7"]]},
            {"commit": "hasura"},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        ok(&steps[1]),
        &json!([{"id": 1, "owner": owner, "body": "hello", "n": 7}]),
        "rows come back as a JSON array of objects, parameters converted to each column's type"
    );
    ok(&steps[2]);
    assert_eq!(
        schema.count("notes").await,
        1,
        "the commit is visible to others"
    );

    // A UUID-looking string bound to a text column stays text (the seed made it a uuid).
    let steps = run(
        &manager,
        "seed",
        json!([
            {"create": "hasura"},
            {"execute": ["hasura", "SELECT body FROM notes WHERE body <> $1", [owner]]},
            {"commit": "hasura"},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(ok(&steps[1]), &json!([{"body": "hello"}]));
}

#[tokio::test]
async fn a_seed_query_without_a_transaction_says_what_to_call_first() {
    let schema = Schema::new().await;
    let (manager, _dir) = client(&schema).await;
    let steps = run(
        &manager,
        "seed",
        json!([{"execute": ["hasura", "SELECT 1", []]}]),
    )
    .await
    .unwrap();
    let message = err(&steps[0]).as_str().unwrap();
    assert!(
        message.contains("call create-hasura-transaction first"),
        "{message}"
    );
}

#[tokio::test]
async fn rollback_leaves_nothing() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let (manager, _dir) = client(&schema).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes VALUES ($1), ($2)", [{"Text": "a"}, {"Text": "b"}]]},
            {"query": [0, "SELECT count(*) AS n FROM notes", []]},
            {"rollback": 0},
            {"execute": [0, "INSERT INTO notes VALUES ('late')", []]},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        ok(&steps[1]),
        &json!(2),
        "execute returns the affected row count"
    );
    assert_eq!(
        ok(&steps[2])["rows"],
        json!([[{"Int": 2}]]),
        "the transaction sees its own rows"
    );
    ok(&steps[3]);
    let (kind, message) = typed_err(&steps[4]);
    assert_eq!(kind, "Closed", "{message}");
    assert!(message.contains("already rolled back"), "{message}");
    assert_eq!(schema.count("notes").await, 0);
}

#[tokio::test]
async fn a_trap_mid_transaction_leaves_nothing_and_frees_the_connection() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let mut spec = schema.spec();
    spec.max_connections = 1;
    spec.acquire_timeout = Duration::from_secs(2);
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", spec);
        databases.grant("db-client", "hasura");
    });
    let (manager, _dir) = load_clients(builder, false).await;

    for hook in ["typed", "seed"] {
        let script = if hook == "typed" {
            json!([
                {"begin": "hasura"},
                {"execute": [0, "INSERT INTO notes VALUES ('half-written')", []]},
                {"trap": "failing mid-transaction"},
            ])
        } else {
            json!([
                {"create": "hasura"},
                {"execute": ["hasura", "INSERT INTO notes VALUES ('half-written')", []]},
                {"trap": "failing mid-transaction"},
            ])
        };
        let error = run(&manager, hook, script).await.unwrap_err();
        assert!(matches!(error, CallError::Trap { .. }), "{error}");
        assert_eq!(
            schema.count("notes").await,
            0,
            "{hook}: nothing half-written"
        );
    }

    // The pool holds one connection: this begins only if the trapped calls returned it.
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes VALUES ('whole')", []]},
            {"commit": 0},
        ]),
    )
    .await
    .unwrap();
    ok(&steps[2]);
    assert_eq!(schema.count("notes").await, 1);
}

#[tokio::test]
async fn a_transaction_left_open_at_the_end_of_the_call_is_rolled_back_and_its_connection_freed() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let mut spec = schema.spec();
    spec.max_connections = 1;
    spec.acquire_timeout = Duration::from_secs(2);
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", spec);
        databases.grant("db-client", "hasura");
    });
    let (manager, _dir) = load_clients(builder, false).await;

    // The seed kept this transaction to the next call; plugmill ends it with the call.
    let steps = run(
        &manager,
        "seed",
        json!([
            {"create": "hasura"},
            {"execute": ["hasura", "INSERT INTO notes VALUES ('never committed')", []]},
        ]),
    )
    .await
    .unwrap();
    ok(&steps[1]);
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            // The text names this test's schema: other tests' sessions never match it.
            {"execute": [0, format!("INSERT INTO notes VALUES ('forgotten in {}')", schema.name), []]},
        ]),
    )
    .await
    .unwrap();
    ok(&steps[1]);
    assert_eq!(
        schema.count("notes").await,
        0,
        "nothing uncommitted survives the call"
    );

    let steps = run(
        &manager,
        "seed",
        json!([{"create": "hasura"}, {"execute": ["hasura", "SELECT count(*) AS n FROM notes", []]}, {"commit": "hasura"}]),
    )
    .await
    .unwrap();
    assert_eq!(
        ok(&steps[1]),
        &json!([{"n": 0}]),
        "the next call starts clean on the freed connection"
    );
    let stuck: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND query LIKE '%forgotten in ' || $1 || '%'",
    )
    .bind(&schema.name)
    .fetch_one(&schema.admin)
    .await
    .unwrap();
    assert_eq!(stuck, 0, "no connection is left idle in a transaction");
}

#[tokio::test]
async fn a_deadline_mid_transaction_leaves_nothing() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let builder = builder()
        .call_timeout(Duration::from_millis(700))
        .with_capability(|databases: &mut Databases| {
            databases.insert("hasura", schema.spec());
            databases.grant("db-client", "hasura");
        });
    let (manager, _dir) = load_clients(builder, false).await;

    let error = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes VALUES ('x')", []]},
            "spin",
        ]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, CallError::DeadlineExceeded { .. }),
        "{error}"
    );
    assert_eq!(schema.count("notes").await, 0);

    // A statement that outlives the call is stopped: the plugin gets `timeout`, not a hang.
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes VALUES ('y')", []]},
            {"query": [0, "SELECT pg_sleep(30)", []]},
        ]),
    );
    match steps.await {
        Ok(steps) => assert_eq!(typed_err(&steps[2]).0, "Timeout", "{:?}", steps[2]),
        Err(error) => assert!(
            matches!(error, CallError::DeadlineExceeded { .. }),
            "{error}"
        ),
    }
    assert_eq!(schema.count("notes").await, 0);
}

#[tokio::test]
async fn the_statement_timeout_stops_a_slow_statement() {
    let schema = Schema::new().await;
    let mut spec = schema.spec();
    spec.statement_timeout = Duration::from_millis(200);
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", spec);
        databases.grant("db-client", "hasura");
    });
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "hasura"}, {"query": [0, "SELECT pg_sleep(10)", []]}]),
    )
    .await
    .unwrap();
    let (kind, message) = typed_err(&steps[1]);
    assert_eq!(kind, "Timeout", "{message}");
    assert!(message.contains("statement timeout"), "{message}");
}

#[tokio::test]
async fn two_plugins_in_concurrent_transactions_do_not_see_each_others_uncommitted_rows() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let builder = |plugin: &str| {
        builder()
            .call_timeout(Duration::from_secs(20))
            .with_capability(|databases: &mut Databases| {
                databases.insert("hasura", schema.spec());
                databases.grant(plugin, "hasura");
            })
    };
    let (writer, _, _d1) =
        super::load_with(builder("db-client"), &[("c.wasm", test_plugins::DB_CLIENT)]).await;
    let (reader, _, _d2) =
        super::load_with(builder("db-peer"), &[("p.wasm", test_plugins::DB_PEER)]).await;

    // The writer inserts, then waits on an advisory lock the test holds, inside its
    // transaction; the reader looks while the writer's row is uncommitted.
    let mut gate = schema.admin.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(4242)")
        .execute(&mut *gate)
        .await
        .unwrap();
    let writing = tokio::spawn(async move {
        run(
            &writer,
            "typed",
            json!([
                {"begin": "hasura"},
                {"execute": [0, "INSERT INTO notes VALUES ('uncommitted')", []]},
                {"query": [0, "SELECT pg_advisory_lock(4242)", []]},
                {"commit": 0},
            ]),
        )
        .await
    });
    let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted";
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar(waiting)
            .fetch_one(&schema.admin)
            .await
            .unwrap();
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let look = json!([{"begin": "hasura"}, {"query": [0, "SELECT count(*) AS n FROM notes", []]}, {"commit": 0}]);
    let before = run(&reader, "typed", look.clone()).await.unwrap();
    assert_eq!(
        ok(&before[1])["rows"],
        json!([[{"Int": 0}]]),
        "the uncommitted row is invisible"
    );

    sqlx::query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut *gate)
        .await
        .unwrap();
    let written = writing.await.unwrap().unwrap();
    ok(&written[3]);
    let after = run(&reader, "typed", look).await.unwrap();
    assert_eq!(
        ok(&after[1])["rows"],
        json!([[{"Int": 1}]]),
        "the committed row is visible"
    );
}

#[tokio::test]
async fn several_transactions_run_at_once_on_one_or_several_databases() {
    let schema = Schema::new().await;
    schema.admin("CREATE TABLE notes (body text)").await;
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", sqlite_dir.path().join("local.db").display());
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", schema.spec());
        databases.insert(
            "local",
            plugmill::capabilities::database::DatabaseSpec::from_url(&sqlite).unwrap(),
        );
        databases.grant("db-client", "hasura");
        databases.grant("db-client", "local");
    });
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"begin": "hasura"},
            {"begin": "local"},
            {"execute": [0, "INSERT INTO notes VALUES ('kept')", []]},
            {"execute": [1, "INSERT INTO notes VALUES ('dropped')", []]},
            {"execute": [2, "CREATE TABLE t (x integer)", []]},
            {"database": 2},
            {"commit": 0},
            {"rollback": 1},
            {"commit": 2},
        ]),
    )
    .await
    .unwrap();
    for step in &steps {
        ok(step);
    }
    assert_eq!(ok(&steps[6]), &json!("local"));
    assert_eq!(schema.count("notes").await, 1);
}

#[tokio::test]
async fn bad_sql_is_an_error_and_the_transaction_cannot_then_commit() {
    let schema = Schema::new().await;
    schema
        .admin("CREATE TABLE notes (body text NOT NULL)")
        .await;
    let (manager, _dir) = client(&schema).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes VALUES ('a')", []]},
            {"query": [0, "SELEC body FROM notes", []]},
            {"commit": 0},
        ]),
    )
    .await
    .unwrap();
    let (kind, message) = typed_err(&steps[2]);
    assert_eq!(kind, "Query");
    assert!(
        message.contains("syntax error") && message.contains("42601"),
        "{message}"
    );
    let (kind, message) = typed_err(&steps[3]);
    assert_eq!(
        kind, "Closed",
        "a commit after a failed statement is refused: {message}"
    );
    assert!(message.contains("rolled back, not committed"), "{message}");
    assert_eq!(schema.count("notes").await, 0);

    // The seed interface reports the same as text.
    let steps = run(
        &manager,
        "seed",
        json!([{"create": "hasura"}, {"execute": ["hasura", "INSERT INTO notes VALUES (NULL)", []]}]),
    )
    .await
    .unwrap();
    let message = err(&steps[1]).as_str().unwrap();
    assert!(
        message.contains("null value") && message.contains("23502"),
        "{message}"
    );
}

#[tokio::test]
async fn parameters_must_fit_the_statement() {
    let schema = Schema::new().await;
    schema
        .admin("CREATE TABLE notes (id int4, owner uuid)")
        .await;
    let (manager, _dir) = client(&schema).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"query": [0, "SELECT * FROM notes WHERE id = $1 AND owner = $2", [{"Int": 1}]]},
            {"query": [0, "SELECT * FROM notes WHERE id = $1", [{"Text": "1"}]]},
            {"query": [0, "SELECT * FROM notes WHERE owner = $1", [{"Text": "6f1c2b1e-8d4a-4e0b-9a57-1b2c3d4e5f60"}]]},
            {"query": [0, "SELECT * FROM notes WHERE id = $1", [{"Int": 3000000000_i64}]]},
            {"query": [0, "SELECT * FROM notes WHERE owner = $1", [{"Uuid": "not-a-uuid"}]]},
        ]),
    )
    .await
    .unwrap();
    let expectations = [
        (1, "the statement has 2 parameters, 1 given"),
        (2, "parameter $1: the statement expects int4, got text"),
        (3, "parameter $1: the statement expects uuid, got text"),
        (4, "3000000000 is out of range"),
        (5, "`not-a-uuid` is not a UUID"),
    ];
    for (step, expected) in expectations {
        let (kind, message) = typed_err(&steps[step]);
        assert_eq!(kind, "Parameters", "{message}");
        assert!(message.contains(expected), "step {step}: {message}");
    }
}

#[tokio::test]
async fn every_type_round_trips_typed_and_as_json() {
    let schema = Schema::new().await;
    schema
        .admin(
            "CREATE TABLE every (
                i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric, b bool,
                t text, vc varchar(20), ch char(3), nm name, j json, jb jsonb, u uuid,
                ts timestamp, tz timestamptz, d date, tm time, by bytea,
                ai int4[], at text[], nothing int4
            )",
        )
        .await;
    let (manager, _dir) = client(&schema).await;
    let values = json!([
        {"Int": -7}, {"Int": 2147483647}, {"Int": 9007199254740993_i64},
        {"Float": 1.5}, {"Float": -0.125},
        {"Numeric": "12345678901234567890.123456789012"},
        {"Boolean": true},
        {"Text": "naïve ✓"}, {"Text": "varchar"}, {"Text": "abc"}, {"Text": "a_name"},
        {"Json": "{\"a\":[1,2]}"}, {"Json": "{\"b\":null}"},
        {"Uuid": "6f1c2b1e-8d4a-4e0b-9a57-1b2c3d4e5f60"},
        {"Timestamp": "2024-05-01T12:30:00.250"},
        {"Timestamptz": "2024-05-01T14:30:00+02:00"},
        {"Date": "2024-02-29"}, {"Time": "23:59:58.500"},
        {"Bytes": [0, 1, 254, 255]},
        {"Array": "[1,null,3]"}, {"Array": "[\"x\",\"y\"]"},
        "Null",
    ]);
    let placeholders: Vec<String> = (1..=22).map(|i| format!("${i}")).collect();
    let insert = format!("INSERT INTO every VALUES ({})", placeholders.join(", "));
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, insert, values]},
            {"query": [0, "SELECT * FROM every", []]},
            {"query_json": [0, "SELECT * FROM every", []]},
            {"commit": 0},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(ok(&steps[1]), &json!(1));
    let typed = ok(&steps[2]);
    let types: Vec<&str> = typed["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "int2",
            "int4",
            "int8",
            "float4",
            "float8",
            "numeric",
            "bool",
            "text",
            "varchar",
            "char",
            "name",
            "json",
            "jsonb",
            "uuid",
            "timestamp",
            "timestamptz",
            "date",
            "time",
            "bytea",
            "int4[]",
            "text[]",
            "int4"
        ]
    );
    let mut expected = values.as_array().unwrap().clone();
    expected[15] = json!({"Timestamptz": "2024-05-01T12:30:00Z"});
    expected[11] = json!({"Json": "{\"a\":[1,2]}"});
    assert_eq!(
        typed["rows"][0].as_array().unwrap(),
        &expected,
        "typed values come back as they went in"
    );

    assert_eq!(
        ok(&steps[3]),
        &json!([{
            "i2": -7, "i4": 2147483647, "i8": 9007199254740993_i64, "f4": 1.5, "f8": -0.125,
            "num": "12345678901234567890.123456789012", "b": true,
            "t": "naïve ✓", "vc": "varchar", "ch": "abc", "nm": "a_name",
            "j": {"a": [1, 2]}, "jb": {"b": null},
            "u": "6f1c2b1e-8d4a-4e0b-9a57-1b2c3d4e5f60",
            "ts": "2024-05-01T12:30:00.250", "tz": "2024-05-01T12:30:00Z",
            "d": "2024-02-29", "tm": "23:59:58.500", "by": "AAH+/w==",
            "ai": [1, null, 3], "at": ["x", "y"], "nothing": null
        }]),
        "JSON keeps every digit of numeric, base64s bytea, nests json and arrays"
    );

    // The seed interface reads the same types through JSON.
    let steps = run(
        &manager,
        "seed",
        json!([{"create": "hasura"}, {"execute": ["hasura", "SELECT num, u, by, ai FROM every WHERE d = $1", ["2024-02-29"]]}]),
    )
    .await
    .unwrap();
    assert_eq!(
        ok(&steps[1]),
        &json!([{"num": "12345678901234567890.123456789012", "u": "6f1c2b1e-8d4a-4e0b-9a57-1b2c3d4e5f60", "by": "AAH+/w==", "ai": [1, null, 3]}])
    );
}

#[tokio::test]
async fn a_column_type_plugmill_cannot_convert_is_an_error_naming_it() {
    let schema = Schema::new().await;
    let (manager, _dir) = client(&schema).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"query": [0, "SELECT 1 AS ok, '10.0.0.1'::inet AS address", []]},
            {"query": [0, "SELECT '10.0.0.1'::inet::text AS address", []]},
            {"execute": [0, "CREATE TABLE after_conversion (x int4)", []]},
            {"commit": 0},
        ]),
    )
    .await
    .unwrap();
    let (kind, message) = typed_err(&steps[1]);
    assert_eq!(kind, "UnsupportedType");
    assert!(
        message.contains("`address`") && message.contains("inet"),
        "{message}"
    );
    assert!(
        message.contains("address::text"),
        "the message says how to fix it: {message}"
    );
    assert_eq!(
        ok(&steps[2])["rows"],
        json!([[{"Text": "10.0.0.1/32"}]]),
        "the suggested cast works"
    );
    ok(&steps[4]);
    assert_eq!(
        schema.count("after_conversion").await,
        0,
        "a conversion error leaves the transaction usable"
    );
}

#[tokio::test]
async fn an_exhausted_pool_and_a_server_that_is_down_are_clear_errors() {
    let schema = Schema::new().await;
    let mut spec = schema.spec();
    spec.max_connections = 1;
    spec.acquire_timeout = Duration::from_millis(300);
    let mut down = plugmill::capabilities::database::DatabaseSpec::from_url(
        "postgres://postgres@127.0.0.1:9/test",
    )
    .unwrap();
    down.acquire_timeout = Duration::from_millis(500);
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", spec);
        databases.insert("keycloak", down);
        databases.grant("db-client", "hasura");
        databases.grant("db-client", "keycloak");
    });
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "hasura"}, {"begin": "hasura"}, {"begin": "keycloak"}]),
    )
    .await
    .unwrap();
    ok(&steps[0]);
    let (kind, message) = typed_err(&steps[1]);
    assert_eq!(kind, "Unavailable");
    assert!(
        message.contains("no connection to database `hasura` came free"),
        "{message}"
    );
    let (kind, message) = typed_err(&steps[2]);
    assert_eq!(kind, "Unavailable");
    assert!(
        message.contains("database `keycloak` cannot be reached"),
        "{message}"
    );
}

#[tokio::test]
async fn a_query_returning_too_many_rows_is_refused() {
    let schema = Schema::new().await;
    let mut spec = schema.spec();
    spec.max_rows = 10;
    let builder = builder().with_capability(|databases: &mut Databases| {
        databases.insert("hasura", spec);
        databases.grant("db-client", "hasura");
    });
    let (manager, _dir) = load_clients(builder, false).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"query": [0, "SELECT generate_series(1, 10) AS n", []]},
            {"query": [0, "SELECT generate_series(1, 11) AS n", []]},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(ok(&steps[1])["rows"].as_array().unwrap().len(), 10);
    let (kind, message) = typed_err(&steps[2]);
    assert_eq!(kind, "Limit");
    assert!(message.contains("more than 10 rows"), "{message}");
}

#[tokio::test]
async fn the_host_queries_the_same_pool_the_plugins_use() {
    let schema = Schema::new().await;
    schema
        .admin("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('x')")
        .await;
    let (manager, _dir) = client(&schema).await;
    let Some(plugmill::capabilities::database::Pool::Postgres(pool)) = manager
        .capability::<Databases>()
        .unwrap()
        .pool("hasura")
        .await
    else {
        panic!("hasura is a PostgreSQL pool");
    };
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
