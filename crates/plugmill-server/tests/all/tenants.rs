//! The tenant boundary against the real listening server, with two tenants' tokens (HS256,
//! and RS256 from a local JWKS endpoint): records, token rules, the server's fields in a
//! caller's data, per-tenant limits, open mode, and answers that name no infrastructure.

use std::time::Duration;

use plugmill_server::Server;
use serde_json::{json, Value};

use super::{
    claims, deployment, env_var, hs256, hs256_auth, jwks_endpoint, now, options, rs256, rsa_key,
    start, Api, RsaKey,
};

const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const SUPER: &str = "5555aaaa-0000-4000-8000-000000000005";
const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";
const ADMIN_TOKEN: &str = "an-admin-token-of-enough-length";

/// How a test's server verifies tokens.
enum Signer {
    Hs256,
    Rs256(RsaKey),
}

impl Signer {
    /// The signer and its `[auth]` section (for RS256, with a JWKS endpoint started).
    async fn new(jwks: bool, extra: &str) -> (Self, String) {
        if jwks {
            let key = rsa_key("key-1");
            let url = jwks_endpoint(vec![key.jwk.clone()]).await;
            (
                Signer::Rs256(key),
                format!("[auth]\njwks_url = \"{url}\"\n{extra}"),
            )
        } else {
            (Signer::Hs256, format!("{}{extra}", hs256_auth(SECRET)))
        }
    }

    fn token(&self, claims: &Value) -> String {
        match self {
            Signer::Hs256 => hs256(SECRET, claims),
            Signer::Rs256(key) => rs256(key, "key-1", claims),
        }
    }
}

/// A token's claims without a tenant.
fn tenantless() -> Value {
    json!({"sub": "robot-1", "name": "Robot", "exp": now() + 3600})
}

async fn serve(
    config: &str,
) -> (
    Api,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let dir = deployment(config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    (Api::ready(&url).await, stop, task, dir)
}

fn ids(list: &Value) -> Vec<String> {
    list["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every task route sees only the caller's tenant's records; another tenant's record is not
/// found exactly like a missing one; the super-admin and the admin token see all; a token
/// without a tenant sees none.
async fn each_tenant_sees_only_its_own_records(jwks: bool) {
    let (signer, auth) = Signer::new(jwks, "allow_tenantless = true\n").await;
    let admin = env_var("PLUGMILL_TEST_ADMIN", ADMIN_TOKEN);
    let config = format!(
        "{auth}[authorization]\nsuper_admin_tenant = \"{SUPER}\"\n[server]\nadmin_token_env = \"{admin}\"\n[tasks]\nconcurrency = 1\n"
    );
    let (api, stop, task, _dir) = serve(&config).await;
    let a = signer.token(&claims(TENANT_A, &["admin-user"]));
    let b = signer.token(&claims(TENANT_B, &["user"]));
    let root = signer.token(&claims(SUPER, &["admin-user"]));
    let nobody = signer.token(&tenantless());
    let (a, b, root, nobody) = (
        Some(a.as_str()),
        Some(b.as_str()),
        Some(root.as_str()),
        Some(nobody.as_str()),
    );

    // A's first task holds the only runner; the others stay queued behind it.
    let (status, busy, _) = api.post("/tasks/wait", a, &json!({"ms": 4000})).await;
    assert_eq!(status, 202, "{busy}");
    let (_, queued, _) = api.post("/tasks/process", a, &json!({})).await;
    let (_, b_task, _) = api.post("/tasks/process", b, &json!({})).await;
    let (status, orphan, _) = api.post("/tasks/process", nobody, &json!({})).await;
    assert_eq!(status, 202, "{orphan}");
    let [busy, queued, b_task, orphan] =
        [&busy, &queued, &b_task, &orphan].map(|record| record["id"].as_str().unwrap().to_string());
    assert_eq!(
        api.get(&format!("/tasks/{queued}"), a).await.1["tenant_id"],
        TENANT_A
    );

    // B reads and cancels A's queued task: 404, worded as for an id that does not exist.
    let missing = uuid::Uuid::new_v4().to_string();
    let (status, foreign, _) = api.get(&format!("/tasks/{queued}"), b).await;
    let (missing_status, absent, _) = api.get(&format!("/tasks/{missing}"), b).await;
    assert_eq!((status, missing_status), (404, 404), "{foreign}");
    assert_eq!(
        foreign["error"].as_str().unwrap().replace(&queued, "ID"),
        absent["error"].as_str().unwrap().replace(&missing, "ID"),
        "nothing tells B that A's id exists"
    );
    let (status, _, _) = api
        .post(&format!("/tasks/{queued}/cancel"), b, &json!(null))
        .await;
    assert_eq!(status, 404);
    let (_, still, _) = api.get(&format!("/tasks/{queued}"), a).await;
    assert_eq!(
        still["status"], "IN_PROGRESS",
        "B's cancel changed nothing: {still}"
    );

    // Listings: each tenant its own; the super-admin and the admin token everything; a
    // token without a tenant nothing, not even what it queued.
    let (_, list, _) = api.get("/tasks", b).await;
    assert_eq!(ids(&list), std::slice::from_ref(&b_task));
    let (_, list, _) = api.get("/tasks", a).await;
    assert_eq!(ids(&list), [queued.clone(), busy.clone()], "newest first");
    for (who, token) in [("super-admin", root), ("admin", Some(ADMIN_TOKEN))] {
        let (status, list, _) = api.get("/tasks", token).await;
        assert_eq!(status, 200, "{who}: {list}");
        let seen = ids(&list);
        for id in [&busy, &queued, &b_task, &orphan] {
            assert!(seen.contains(id), "{who} sees {id}: {seen:?}");
        }
    }
    let (_, list, _) = api.get("/tasks", nobody).await;
    assert_eq!(ids(&list), Vec::<String>::new());
    for (who, token, expected) in [
        ("the tenantless caller", nobody, 404),
        ("tenant A", a, 404),
        ("the super-admin", root, 200),
        ("the admin token", Some(ADMIN_TOKEN), 200),
    ] {
        let (status, body, _) = api.get(&format!("/tasks/{orphan}"), token).await;
        assert_eq!(
            status, expected,
            "{who} reading a record of no tenant: {body}"
        );
    }

    // The owner and the super-admin can cancel.
    let (status, cancelled, _) = api
        .post(&format!("/tasks/{queued}/cancel"), a, &json!(null))
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("CANCELLED")),
        "{cancelled}"
    );
    let (status, cancelled, _) = api
        .post(&format!("/tasks/{b_task}/cancel"), root, &json!(null))
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("CANCELLED")),
        "{cancelled}"
    );
    // The admin token reads and cancels, and queues nothing.
    let (status, body, _) = api
        .post("/tasks/process", Some(ADMIN_TOKEN), &json!({}))
        .await;
    assert_eq!(
        status, 401,
        "the admin token is not a token for plugin calls: {body}"
    );

    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn each_tenant_sees_only_its_own_records_with_hs256_tokens() {
    each_tenant_sees_only_its_own_records(false).await;
}

#[tokio::test]
async fn each_tenant_sees_only_its_own_records_with_keys_from_a_jwks_endpoint() {
    each_tenant_sees_only_its_own_records(true).await;
}

/// A configured issuer and audience must be in the token, not only right when present.
async fn a_configured_issuer_and_audience_are_required(jwks: bool) {
    let (signer, auth) = Signer::new(
        jwks,
        "issuer = \"https://idp.test\"\naudience = \"plugmill\"\n",
    )
    .await;
    let (api, stop, task, _dir) = serve(&auth).await;
    let mut good = claims(TENANT_A, &["admin-user"]);
    good["iss"] = json!("https://idp.test");
    good["aud"] = json!("plugmill");
    let call = |claims: Value| {
        let (api, token) = (api.clone(), signer.token(&claims));
        async move { api.post("/fixture/echo", Some(&token), &json!({})).await }
    };
    assert_eq!(call(good.clone()).await.0, 200);
    for (what, claim, message) in [
        ("no iss", "iss", "lacks a required claim (iss)"),
        ("no aud", "aud", "lacks a required claim (aud)"),
    ] {
        let mut claims = good.clone();
        claims.as_object_mut().unwrap().remove(claim);
        let (status, body, _) = call(claims).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{what}: {body}"
        );
    }
    let mut wrong = good.clone();
    wrong["aud"] = json!("someone-else");
    assert_eq!(call(wrong).await.0, 401);
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required_with_hs256_tokens() {
    a_configured_issuer_and_audience_are_required(false).await;
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required_with_keys_from_a_jwks_endpoint() {
    a_configured_issuer_and_audience_are_required(true).await;
}

#[tokio::test]
async fn trust_unverified_still_checks_exp_nbf_issuer_and_audience() {
    let config = "[auth]\ntrust_unverified = true\nissuer = \"https://idp.test\"\n";
    let (api, stop, task, _dir) = serve(config).await;
    let unsigned = |claims: Value| hs256("any-key-the-gateway-used-to-sign-it!", &claims);
    let mut good = claims(TENANT_A, &[]);
    good["iss"] = json!("https://idp.test");
    let cases = [
        ("valid", json!({}), 200, ""),
        (
            "expired a year ago",
            json!({"exp": now() - 365 * 24 * 3600}),
            401,
            "expired",
        ),
        (
            "not valid yet",
            json!({"nbf": now() + 3600}),
            401,
            "not valid yet",
        ),
        (
            "no exp",
            json!({"exp": null}),
            401,
            "lacks a required claim (exp)",
        ),
        (
            "no iss",
            json!({"iss": null}),
            401,
            "lacks a required claim (iss)",
        ),
        (
            "another iss",
            json!({"iss": "https://elsewhere"}),
            401,
            "issuer",
        ),
    ];
    for (what, changes, expected, message) in cases {
        let mut claims = good.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        let (status, body, _) = api
            .post("/fixture/echo", Some(&unsigned(claims)), &json!({}))
            .await;
        assert_eq!(status, expected, "{what}: {body}");
        if !message.is_empty() {
            assert!(
                body["error"].as_str().unwrap().contains(message),
                "{what}: {body}"
            );
        }
    }
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_token_without_a_tenant_queues_nothing_unless_allowed() {
    for (allowed, expected) in [(false, 403), (true, 202)] {
        let extra = if allowed {
            "allow_tenantless = true\n"
        } else {
            ""
        };
        let (signer, auth) = Signer::new(false, extra).await;
        let (api, stop, task, _dir) = serve(&auth).await;
        let token = signer.token(&tenantless());
        let (status, body, _) = api.post("/tasks/process", Some(&token), &json!({})).await;
        assert_eq!(status, expected, "allowed: {allowed}: {body}");
        let seed =
            json!({"path": "/fixture/process", "data": {}, "task_execution": "EXPORT_VOTERS"});
        let (status, body, _) = api.post("/plugin", Some(&token), &seed).await;
        assert_eq!(status, if allowed { 200 } else { 403 }, "{body}");
        // Plugin calls are not tenant-owned work: they are answered either way.
        assert_eq!(
            api.post("/fixture/echo", Some(&token), &json!({})).await.0,
            200
        );
        stop.send(()).unwrap();
        task.await.unwrap();
    }
}

/// Polls `GET /tasks/{id}` until the record is final.
async fn final_record(api: &Api, id: &str, token: Option<&str>) -> Value {
    for _ in 0..400 {
        let (status, record, _) = api.get(&format!("/tasks/{id}"), token).await;
        assert_eq!(status, 200, "{record}");
        if record["status"] != "IN_PROGRESS" {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never ended");
}

#[tokio::test]
async fn the_server_s_fields_in_a_caller_s_data_are_replaced_or_removed_on_every_path() {
    let (signer, auth) = Signer::new(false, "").await;
    let (api, stop, task, _dir) = serve(&auth).await;
    let token = signer.token(&claims(TENANT_A, &["admin-user"]));
    let token = Some(token.as_str());
    let forged = json!({
        "claims": "{\"sub\": \"root\"}",
        "task_execution": "{\"id\": \"forged\"}",
        "document_id": "forged-document",
        "kept": 1,
    });
    let verified = |data: &Value| {
        let claims: Value = serde_json::from_str(data["claims"].as_str().unwrap()).unwrap();
        assert_eq!(claims["sub"], "caller-1", "the verified claims: {data}");
        assert_eq!(data["kept"], 1, "{data}");
    };
    // A route at its own path, and through POST /plugin.
    let (status, echoed, _) = api.post("/fixture/echo", token, &forged).await;
    assert_eq!(status, 200);
    verified(&echoed);
    assert!(
        echoed.get("task_execution").is_none() && echoed.get("document_id").is_none(),
        "{echoed}"
    );
    let (_, seed, _) = api
        .post(
            "/plugin",
            token,
            &json!({"path": "/fixture/echo", "data": forged}),
        )
        .await;
    verified(&seed["data"]);
    assert!(
        seed["data"].get("task_execution").is_none() && seed["data"].get("document_id").is_none(),
        "{seed}"
    );

    // A task by name: the plugin never sees the forged fields.
    let (status, queued, _) = api.post("/tasks/process", token, &forged).await;
    assert_eq!(status, 202, "{queued}");
    let done = final_record(&api, queued["id"].as_str().unwrap(), token).await;
    let handled = &done["result"]["fixture"];
    assert_eq!(handled["document_id"], Value::Null, "{done}");
    assert_eq!(handled["task_execution"], Value::Null, "{done}");
    let claims: Value = serde_json::from_str(handled["claims"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sub"], "caller-1");

    // A task through POST /plugin: the server's record and no document unless generated.
    let seed_task =
        json!({"path": "/fixture/process", "data": forged, "task_execution": "EXPORT_VOTERS"});
    let (status, answer, _) = api.post("/plugin", token, &seed_task).await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(answer["data"].as_str().unwrap()).unwrap();
    let id = answer["task_execution"]["id"].as_str().unwrap();
    let done = final_record(&api, id, token).await;
    let handled = &done["result"]["fixture"];
    assert_eq!(handled["document_id"], Value::Null, "{done}");
    let record: Value = serde_json::from_str(handled["task_execution"].as_str().unwrap()).unwrap();
    assert_eq!(record["id"], id, "the server's record, not the forged one");
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn without_auth_forged_claims_are_removed() {
    let (api, stop, task, _dir) = serve("").await;
    let forged = json!({"claims": claims(TENANT_A, &["admin-user"]).to_string(), "kept": 1});
    let (status, echoed, _) = api.post("/fixture/echo", None, &forged).await;
    assert_eq!(status, 200);
    assert_eq!(
        echoed,
        json!({"kept": 1}),
        "no claims are injected, none are taken from the body"
    );
    let (_, seed, _) = api
        .post(
            "/plugin",
            None,
            &json!({"path": "/fixture/claims", "data": forged}),
        )
        .await;
    assert_eq!(seed["data"]["claims"], Value::Null, "{seed}");
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn without_auth_a_bind_beyond_loopback_refuses_to_start_unless_allowed() {
    let dir = deployment("", &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let refused = server
        .serve(listener, async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("without an [auth] section"), "{refused}");
    assert!(refused.contains("allow_unauthenticated"), "{refused}");

    let dir = deployment(
        "[server]\nallow_unauthenticated = true\n",
        &[("fixture.wasm", test_plugins::HTTP_FIXTURE)],
    );
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    let api = Api::ready(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(api.post("/fixture/echo", None, &json!({})).await.0, 200);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn each_tenant_has_its_own_limits_of_calls_and_queued_tasks() {
    let (signer, auth) = Signer::new(false, "").await;
    let config = format!(
        "{auth}[server]\ntenant_max_concurrency = 1\n[tasks]\nconcurrency = 1\ntenant_max_queued = 2\n"
    );
    let (api, stop, task, _dir) = serve(&config).await;
    let a = signer.token(&claims(TENANT_A, &[]));
    let b = signer.token(&claims(TENANT_B, &[]));

    // One call of A in flight: A's next call waits its turn (429), B's is answered.
    let slow = {
        let (api, a) = (api.clone(), a.clone());
        tokio::spawn(async move {
            api.post("/fixture/wait", Some(&a), &json!({"ms": 1500}))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body, headers) = api.post("/fixture/echo", Some(&a), &json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(api.post("/fixture/echo", Some(&b), &json!({})).await.0, 200);
    assert_eq!(slow.await.unwrap().0, 200);
    assert_eq!(api.post("/fixture/echo", Some(&a), &json!({})).await.0, 200);

    // Two tasks of A not final: A's third is refused and nothing recorded; B's is queued.
    for _ in 0..2 {
        let (status, body, _) = api
            .post("/tasks/wait", Some(&a), &json!({"ms": 1500}))
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body, headers) = api.post("/tasks/process", Some(&a), &json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "1");
    let (_, list, _) = api.get("/tasks", Some(&a)).await;
    assert_eq!(ids(&list).len(), 2, "the refused task left no record");
    assert_eq!(
        api.post("/tasks/process", Some(&b), &json!({})).await.0,
        202
    );
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_full_in_process_queue_refuses_with_retry_after() {
    let config = "[tasks]\nconcurrency = 1\nqueue_capacity = 1\n";
    let (api, stop, task, _dir) = serve(config).await;
    // The first runs, the second waits in the one place, the third finds none.
    assert_eq!(
        api.post("/tasks/wait", None, &json!({"ms": 1500})).await.0,
        202
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(api.post("/tasks/process", None, &json!({})).await.0, 202);
    let (status, body, headers) = api.post("/tasks/process", None, &json!({})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert!(
        body["error"].as_str().unwrap().contains("queue is full"),
        "{body}"
    );
    let (_, list, _) = api.get("/tasks", None).await;
    assert_eq!(ids(&list).len(), 2, "the refused task left no record");
    stop.send(()).unwrap();
    task.await.unwrap();
}

/// Asserts an answer is a 503 that names the failing part and the request id, and none of
/// `secrets` (hosts, ports, users, vhosts, databases, paths).
fn names_no_infrastructure(
    status: u16,
    body: &Value,
    headers: &reqwest::header::HeaderMap,
    part: &str,
    secrets: &[&str],
) {
    assert_eq!(status, 503, "{body}");
    let text = body.to_string();
    assert!(body["error"].as_str().unwrap().contains(part), "{body}");
    let request_id = headers["x-request-id"].to_str().unwrap();
    assert_eq!(body["request_id"], request_id, "{body}");
    for secret in secrets {
        assert!(!text.contains(secret), "`{secret}` in {text}");
    }
}

#[tokio::test]
async fn an_unreachable_queue_is_answered_without_its_host_user_or_vhost() {
    let config = "[tasks]\nqueue = \"amqp://plugmill_hidden_user:hidden_password@127.0.0.1:1/hidden_vhost\"\n";
    let (api, stop, task, dir) = serve(config).await;
    let (status, body, headers) = api.post("/tasks/process", None, &json!({})).await;
    let path = dir.path().display().to_string();
    names_no_infrastructure(
        status,
        &body,
        &headers,
        "task queue",
        &[
            "127.0.0.1",
            ":1/",
            "plugmill_hidden_user",
            "hidden_password",
            "hidden_vhost",
            "amqp",
            &path,
        ],
    );
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn unreachable_records_are_answered_without_their_host_user_database_or_path() {
    // The records are in PostgreSQL, reached through a proxy the test cuts.
    let schema = format!("plugmill_tenants_{}_{}", std::process::id(), now());
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = proxy.local_addr().unwrap().port();
    // Cutting the proxy closes the connections it forwards too: the set's tasks are aborted
    // when it is dropped, so a pooled connection cannot keep the records reachable.
    let forwarding = tokio::spawn(async move {
        let mut open = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = proxy.accept().await {
            open.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let config = format!(
        "[databases.records]\nurl = \"postgres://postgres@127.0.0.1:{port}/test?options=-c%20search_path%3D{schema}\"\nacquire_timeout = \"1s\"\n[tasks]\nrecords = \"records\"\n"
    );
    let (api, stop, task, dir) = serve(&config).await;
    let (status, queued, _) = api.post("/tasks/process", None, &json!({})).await;
    assert_eq!(status, 202, "{queued}");
    forwarding.abort();
    let _ = forwarding.await;
    let (status, body, headers) = api
        .get(&format!("/tasks/{}", queued["id"].as_str().unwrap()), None)
        .await;
    let (port, path) = (format!(":{port}"), dir.path().display().to_string());
    names_no_infrastructure(
        status,
        &body,
        &headers,
        "task records",
        &[
            "127.0.0.1",
            &port,
            "postgres",
            &schema,
            "search_path",
            &path,
        ],
    );
    stop.send(()).unwrap();
    task.await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
