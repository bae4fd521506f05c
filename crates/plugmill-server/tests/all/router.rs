//! The router in-process: every status, through `tower::ServiceExt::oneshot`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use super::{claims, hs256, hs256_auth, loaded, now, TENANT};

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

fn post(path: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(body.into()).unwrap()
}

async fn call(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, body)
}

fn plugins() -> Vec<(&'static str, &'static str)> {
    vec![
        ("fixture.wasm", test_plugins::HTTP_FIXTURE),
        ("miru.wasm", test_plugins::MIRU),
    ]
}

#[tokio::test]
async fn the_seed_endpoint_answers_with_the_seed_s_shape_and_injects_verified_claims() {
    let config = format!("{}\n[limits]\ncall_timeout = \"2s\"\n", hs256_auth(SECRET));
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let body = json!({"path": "/miru/create-transmission-package", "data": {"document_id": "d-1"}});
    let (status, answer) = call(&router, post("/plugin", Some(&token), body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["status"], "packaged");
    assert_eq!(
        answer["data"]["document_id"],
        Value::Null,
        "document_id is the server's: a caller's is removed"
    );

    let wrong_tenant = hs256(SECRET, &claims("another-tenant", &["admin-user"]));
    let (status, answer) = call(
        &router,
        post("/plugin", Some(&wrong_tenant), body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("tenant rule failed"));

    // The body cannot choose its own claims: the verified ones replace them, as a string.
    let forged = json!({"path": "/fixture/claims", "data": {"claims": "{\"sub\": \"root\"}"}});
    let (status, answer) = call(&router, post("/plugin", Some(&token), forged.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let injected: Value = serde_json::from_str(answer["data"]["claims"].as_str().unwrap()).unwrap();
    assert_eq!(injected["sub"], "caller-1");
    let (_, direct) = call(
        &router,
        post(
            "/fixture/claims",
            Some(&token),
            r#"{"claims": {"sub": "root"}}"#,
        ),
    )
    .await;
    let injected: Value = serde_json::from_str(direct["claims"].as_str().unwrap()).unwrap();
    assert_eq!(injected["sub"], "caller-1");
}

#[tokio::test]
async fn every_status_says_whose_fault_it_is() {
    let config = format!(
        "{}\n[limits]\ncall_timeout = \"300ms\"\n[server]\nmax_body = \"1 KiB\"\n",
        hs256_auth(SECRET)
    );
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let ok = Some(token.as_str());
    let expired = hs256(SECRET, &json!({"sub": "x", "exp": now() - 3600}));
    let not_yet = hs256(
        SECRET,
        &json!({"sub": "x", "exp": now() + 3600, "nbf": now() + 3600}),
    );
    let wrong_key = hs256("another-secret-of-at-least-32-bytes!", &claims(TENANT, &[]));
    let tampered = {
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = base64_url(&json!({"sub": "root", "exp": now() + 3600}).to_string());
        parts.join(".")
    };
    let none_alg = format!(
        "{}.{}.",
        base64_url(r#"{"alg":"none","typ":"JWT"}"#),
        base64_url(&json!({"sub": "root", "exp": now() + 3600}).to_string())
    );
    let seed = |path: &str| json!({"path": path, "data": {}}).to_string();
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        (
            "ok",
            post("/plugin", ok, seed("/fixture/echo")),
            StatusCode::OK,
            "",
        ),
        (
            "no token",
            post("/plugin", None, seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "bearer token is required",
        ),
        (
            "expired",
            post("/plugin", Some(&expired), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "expired",
        ),
        (
            "not yet valid",
            post("/plugin", Some(&not_yet), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "not valid yet",
        ),
        (
            "wrong key",
            post("/plugin", Some(&wrong_key), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            "tampered",
            post("/plugin", Some(&tampered), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            "alg none",
            post("/plugin", Some(&none_alg), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "malformed",
        ),
        (
            "garbage token",
            post("/plugin", Some("not.a.jwt"), seed("/fixture/echo")),
            StatusCode::UNAUTHORIZED,
            "malformed",
        ),
        (
            "body not JSON",
            post("/plugin", ok, "{nope"),
            StatusCode::BAD_REQUEST,
            "not JSON",
        ),
        (
            "data not an object",
            post("/plugin", ok, r#"{"path": "/fixture/echo", "data": [1]}"#),
            StatusCode::BAD_REQUEST,
            "`data` must be a JSON object",
        ),
        (
            "no path",
            post("/plugin", ok, r#"{"data": {}}"#),
            StatusCode::BAD_REQUEST,
            "`path` is missing",
        ),
        (
            "unknown route",
            post("/plugin", ok, seed("/nobody/here")),
            StatusCode::NOT_FOUND,
            "no plugin serves route",
        ),
        (
            "unknown path",
            post("/nobody/here", ok, "{}"),
            StatusCode::NOT_FOUND,
            "no plugin serves route",
        ),
        (
            "too large",
            post(
                "/plugin",
                ok,
                format!(
                    r#"{{"path": "/fixture/echo", "data": {{"x": "{}"}}}}"#,
                    "y".repeat(4096)
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
        (
            "plugin error",
            post("/plugin", ok, seed("/fixture/fail")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "the fixture refuses",
        ),
        (
            "trap",
            post("/fixture/trap", ok, "{}"),
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed (trap)",
        ),
        (
            "deadline",
            post("/fixture/spin", ok, "{}"),
            StatusCode::GATEWAY_TIMEOUT,
            "deadline",
        ),
        (
            "task execution not a string",
            post(
                "/plugin",
                ok,
                json!({"path": "/fixture/process", "data": {}, "task_execution": 7}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "task type name",
        ),
        (
            "unknown task",
            post("/tasks/no-such-task", ok, "{}"),
            StatusCode::NOT_FOUND,
            "no plugin registered task",
        ),
        (
            "unknown task id",
            Request::get("/tasks/no-such-id")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
            "no task has id",
        ),
    ];
    for (what, request, expected, message) in cases {
        let (status, body) = call(&router, request).await;
        assert_eq!(status, expected, "{what}: {body}");
        if !message.is_empty() {
            let error = body["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: {body}"));
            assert!(error.contains(message), "{what}: {error}");
        }
    }
    // A trap is answered shortly: what the plugin printed and its backtrace stay in the log.
    let (_, body) = call(&router, post("/fixture/trap", ok, "{}")).await;
    assert!(
        !body["error"]
            .as_str()
            .unwrap()
            .contains("the fixture traps"),
        "{body}"
    );
}

#[tokio::test]
async fn a_server_at_its_limit_refuses_with_retry_after_and_one_not_loaded_is_not_ready() {
    let config = "[server]\nmax_concurrency = 1\n";
    let dir = super::deployment(config, &plugins());
    let server = plugmill_server::Server::assemble(super::options(&dir), Some("127.0.0.1:0"))
        .await
        .unwrap();
    let router = server.router();
    let (status, _) = call(
        &router,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let response = router
        .clone()
        .oneshot(post("/fixture/echo", None, "{}"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let (status, _) = call(
        &router,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "alive before it is ready");

    server.load().await.unwrap();
    let (status, ready) = call(
        &router,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["plugins"], 2);
    let slow = tokio::spawn(
        router
            .clone()
            .oneshot(post("/fixture/wait", None, r#"{"ms": 500}"#)),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let response = router
        .clone()
        .oneshot(post("/fixture/echo", None, "{}"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(slow.await.unwrap().unwrap().status(), StatusCode::OK);
    let (status, _) = call(&router, post("/fixture/echo", None, "{}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "served again once the first call ended"
    );
}

#[tokio::test]
async fn metrics_count_requests_calls_and_outcomes() {
    let (server, _dir) = loaded("[limits]\ncall_timeout = \"300ms\"\n", &plugins()).await;
    let router = server.router();
    call(&router, post("/fixture/echo", None, "{}")).await;
    call(&router, post("/fixture/fail", None, "{}")).await;
    call(&router, post("/fixture/trap", None, "{}")).await;
    call(&router, post("/fixture/spin", None, "{}")).await;
    let response = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for expected in [
        r#"plugmill_plugin_calls_total{plugin="fixture",function="echo",outcome="ok"}"#,
        r#"plugmill_plugin_calls_total{plugin="fixture",function="fail",outcome="plugin_error"}"#,
        r#"plugmill_plugin_calls_total{plugin="fixture",function="trap",outcome="trap"}"#,
        r#"plugmill_plugin_calls_total{plugin="fixture",function="spin",outcome="deadline"}"#,
        r#"plugmill_plugin_instances_total{plugin="fixture",source="instantiated"}"#,
        r#"plugmill_http_requests_total{route="/fixture/fail",status="422"}"#,
        "plugmill_plugin_call_duration_seconds_bucket",
        "plugmill_plugins_loaded",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[tokio::test]
async fn the_admin_reload_needs_its_token() {
    let variable = format!("PLUGMILL_TEST_ADMIN_{}", std::process::id());
    std::env::set_var(&variable, "an-admin-token-of-enough-length");
    let config = format!("[server]\nadmin_token_env = \"{variable}\"\n");
    let (server, dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let reload = |token: Option<&str>| {
        let mut request = Request::post("/admin/reload");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(
        call(&router, reload(None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&router, reload(Some("wrong-token-of-enough-length")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    std::fs::remove_file(dir.path().join("plugins/miru.wasm")).unwrap();
    let (status, report) = call(&router, reload(Some("an-admin-token-of-enough-length"))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["changes"]["removed"], json!(["miru"]));

    let (open, _dir) = loaded("", &plugins()).await;
    let (status, body) = call(&open.router(), reload(Some("x"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn get_json(router: &axum::Router, path: &str, token: &str) -> (StatusCode, Value) {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    call(router, request).await
}

async fn until_final(router: &axum::Router, id: &str, token: &str) -> Value {
    for _ in 0..600 {
        let (status, record) = get_json(router, &format!("/tasks/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{record}");
        if record["status"] != "IN_PROGRESS" {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never ended");
}

#[tokio::test]
async fn a_task_execution_request_is_recorded_queued_and_answered_the_seed_s_way() {
    let (server, _dir) = loaded(&hs256_auth(SECRET), &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let body = json!({
        "path": "/fixture/process",
        "data": {"claims": "forged", "kind": "export"},
        "task_execution": "EXPORT_ELECTION_EVENT",
        "generate_document": true,
    });
    let (status, answer) = call(&router, post("/plugin", Some(&token), body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let data: Value =
        serde_json::from_str(answer["data"].as_str().expect("data is a JSON string")).unwrap();
    let record = &data["task_execution"];
    let document = data["document_id"].as_str().expect("a document id");
    assert_eq!(record["status"], "IN_PROGRESS");
    assert_eq!(record["task_type"], "EXPORT_ELECTION_EVENT");
    assert_eq!(record["executed_by"], "Ada Caller");
    assert_eq!(record["tenant_id"], TENANT);
    assert_eq!(record["logs"][0]["log_text"], "Task started");

    let done = until_final(&router, record["id"].as_str().unwrap(), &token).await;
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    let handled = &done["result"]["fixture"];
    assert_eq!(handled["document_id"], document);
    let given: Value = serde_json::from_str(handled["task_execution"].as_str().unwrap()).unwrap();
    assert_eq!(
        given["id"], record["id"],
        "the handler got its record as a JSON string"
    );
    let claims: Value = serde_json::from_str(handled["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        claims["sub"], "caller-1",
        "verified claims, not the forged ones"
    );
}

#[tokio::test]
async fn tasks_are_queued_by_name_read_and_cancelled_over_http() {
    let (server, _dir) = loaded("[tasks]\nconcurrency = 1\n", &plugins()).await;
    let router = server.router();
    let (status, busy) = call(&router, post("/tasks/wait", None, r#"{"ms": 400}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{busy}");
    let (status, queued) = call(&router, post("/tasks/process", None, "{}")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let cancel = |id: &str| post(&format!("/tasks/{id}/cancel"), None, "");
    let (status, cancelled) = call(&router, cancel(queued["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "CANCELLED");
    let done = until_final(&router, busy["id"].as_str().unwrap(), "").await;
    assert_eq!(done["status"], "SUCCESS");
    let (status, _) = call(&router, cancel(busy["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&router, cancel("no-such-id")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_task_is_retried_over_http_by_its_tenant_only() {
    let config = format!("{}[tasks]\nconcurrency = 2\n", hs256_auth(SECRET));
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let other = hs256(SECRET, &claims("another-tenant", &[]));
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 600;
    let body = json!({"refuse_until_ms": until}).to_string();
    let (status, queued) = call(&router, post("/tasks/process", Some(&token), body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let id = queued["id"].as_str().unwrap();
    let failed = until_final(&router, id, &token).await;
    assert_eq!(
        failed["status"], "FAILED",
        "never retried by default: {failed:#}"
    );
    assert_eq!(failed["error_kind"], "plugin-error");
    let retry = |token: &str| post(&format!("/tasks/{id}/retry"), Some(token), "");
    let (status, _) = call(&router, retry(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's task");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, retried) = call(&router, retry(&token)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    assert_eq!(retried["status"], "IN_PROGRESS");
    let done = until_final(&router, id, &token).await;
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["attempts"], 2);
    let (status, _) = call(&router, retry(&token)).await;
    assert_eq!(status, StatusCode::CONFLICT, "only a FAILED task");
}

#[tokio::test]
async fn a_repeated_idempotency_key_answers_the_first_task_and_queues_nothing() {
    let config = format!("{}[tasks]\nconcurrency = 2\n", hs256_auth(SECRET));
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let other = hs256(SECRET, &claims("another-tenant", &[]));
    let keyed = |path: &str, token: &str, key: &str, body: String| {
        let mut request = post(path, Some(token), body);
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
    };
    let (status, first) = call(&router, keyed("/tasks/process", &token, "k-1", "{}".into())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (_, again) = call(&router, keyed("/tasks/process", &token, "k-1", "{}".into())).await;
    assert_eq!(again["id"], first["id"]);
    let (_, theirs) = call(&router, keyed("/tasks/process", &other, "k-1", "{}".into())).await;
    assert_ne!(theirs["id"], first["id"], "keys are per tenant");

    let seed = json!({"path": "/fixture/process", "data": {}, "task_execution": "EXPORT_VOTERS"})
        .to_string();
    let record_of = |answer: &Value| -> Value {
        let data: Value = serde_json::from_str(answer["data"].as_str().unwrap()).unwrap();
        data["task_execution"]["id"].clone()
    };
    let (status, one) = call(&router, keyed("/plugin", &token, "k-2", seed.clone())).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let (_, two) = call(&router, keyed("/plugin", &token, "k-2", seed)).await;
    assert_eq!(record_of(&one), record_of(&two));

    let (_, page) = get_json(&router, "/tasks", &token).await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 2, "{page:#}");
    let (status, refused) = call(
        &router,
        keyed("/tasks/process", &token, &"x".repeat(300), "{}".into()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["error"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
}

#[tokio::test]
async fn the_task_list_is_newest_first_filtered_and_paged() {
    let (server, _dir) = loaded("[tasks]\nconcurrency = 1\n", &plugins()).await;
    let router = server.router();
    let (status, busy) = call(&router, post("/tasks/wait", None, r#"{"ms": 2000}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{busy}");
    let mut queued = Vec::new();
    for _ in 0..4 {
        let (_, record) = call(&router, post("/tasks/process", None, "{}")).await;
        queued.push(record["id"].as_str().unwrap().to_string());
    }
    let (status, _) = call(
        &router,
        post(&format!("/tasks/{}/cancel", queued[0]), None, ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list = |query: &str| {
        let router = router.clone();
        let path = format!("/tasks{query}");
        async move { get_json(&router, &path, "").await }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut newest_first: Vec<String> = queued.iter().rev().cloned().collect();
    newest_first.push(busy["id"].as_str().unwrap().to_string());
    let (status, page) = list("?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), newest_first[..2]);
    let next = page["next"].as_str().expect("a next page").to_string();
    let (_, page) = list(&format!("?limit=2&before={next}")).await;
    assert_eq!(ids(&page), newest_first[2..4]);
    let next = page["next"].as_str().unwrap().to_string();
    let (_, page) = list(&format!("?limit=2&before={next}")).await;
    assert_eq!(ids(&page), newest_first[4..]);
    assert_eq!(page["next"], Value::Null, "the last page");
    let (_, page) = list("?status=CANCELLED").await;
    assert_eq!(ids(&page), [queued[0].clone()]);
    let (_, page) = list("?task=wait").await;
    assert_eq!(ids(&page), [busy["id"].as_str().unwrap().to_string()]);
    for (query, message) in [
        ("?status=DONE", "not a status"),
        ("?limit=0", "limit"),
        ("?limit=lots", "limit"),
        ("?before=garbage", "not a cursor"),
        ("?tenant=other", "GET /tasks takes"),
    ] {
        let (status, body) = list(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn metrics_can_ask_for_a_token_and_refused_tokens_are_counted_by_reason() {
    let variable = format!("PLUGMILL_TEST_METRICS_{}", std::process::id());
    std::env::set_var(&variable, "a-metrics-token-of-enough-length");
    let config = format!(
        "{}[server]\nmetrics_token_env = \"{variable}\"\n",
        hs256_auth(SECRET)
    );
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let expired = hs256(SECRET, &json!({"sub": "x", "exp": now() - 3600}));
    assert_eq!(
        call(&router, post("/fixture/echo", Some(&expired), "{}"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let scrape = |token: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    assert_eq!(
        scrape(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(Some("not-the-metrics-token-at-all"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let response = scrape(Some("a-metrics-token-of-enough-length"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for expected in [
        r#"plugmill_auth_refused_total{reason="expired"}"#,
        r#"plugmill_auth_refused_total{reason="metrics_token"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

/// What a test's log writer received.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_submission_cancellation_retry_and_admin_action_writes_one_audit_line() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::Layer as _;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .without_time()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("plugmill::audit", tracing::Level::INFO),
            ),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let variable = format!("PLUGMILL_TEST_AUDIT_ADMIN_{}", std::process::id());
    std::env::set_var(&variable, "an-admin-token-of-enough-length");
    let config = format!(
        "{}[server]\nadmin_token_env = \"{variable}\"\n[tasks]\nconcurrency = 1\n",
        hs256_auth(SECRET)
    );
    let (server, _dir) = loaded(&config, &plugins()).await;
    let router = server.router();
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));
    let other = hs256(SECRET, &claims("another-tenant", &[]));
    let with_id = |mut request: Request<Body>, id: &str| {
        request
            .headers_mut()
            .insert("x-request-id", id.parse().unwrap());
        request
    };
    call(
        &router,
        with_id(
            post("/tasks/wait", Some(&token), r#"{"ms": 1000}"#),
            "req-submit-1",
        ),
    )
    .await;
    let (_, queued) = call(
        &router,
        with_id(post("/tasks/process", Some(&token), "{}"), "req-submit-2"),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    call(
        &router,
        with_id(
            post(&format!("/tasks/{id}/cancel"), Some(&other), ""),
            "req-cancel-foreign",
        ),
    )
    .await;
    call(
        &router,
        with_id(
            post(&format!("/tasks/{id}/cancel"), Some(&token), ""),
            "req-cancel-own",
        ),
    )
    .await;
    call(
        &router,
        with_id(
            post(&format!("/tasks/{id}/retry"), Some(&token), ""),
            "req-retry-own",
        ),
    )
    .await;
    let mut reload = Request::post("/admin/reload")
        .header(
            header::AUTHORIZATION,
            "Bearer an-admin-token-of-enough-length",
        )
        .body(Body::empty())
        .unwrap();
    reload
        .headers_mut()
        .insert("x-request-id", "req-reload".parse().unwrap());
    call(&router, reload).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines_of = |request: &str| -> Vec<&str> {
        let marker = format!("request_id=\"{request}\"");
        text.lines().filter(|line| line.contains(&marker)).collect()
    };
    for (request, action, subject, tenant, outcome) in [
        ("req-submit-1", "task.submit", "caller-1", TENANT, "ok"),
        ("req-submit-2", "task.submit", "caller-1", TENANT, "ok"),
        (
            "req-cancel-foreign",
            "task.cancel",
            "caller-1",
            "another-tenant",
            "not_found",
        ),
        ("req-cancel-own", "task.cancel", "caller-1", TENANT, "ok"),
        (
            "req-retry-own",
            "task.retry",
            "caller-1",
            TENANT,
            "conflict",
        ),
        ("req-reload", "admin.reload", "admin", "-", "ok"),
    ] {
        let found = lines_of(request);
        assert_eq!(found.len(), 1, "one audit line for {request}: {text}");
        for expected in [
            format!("action=\"{action}\""),
            format!("subject=\"{subject}\""),
            format!("tenant=\"{tenant}\""),
            format!("outcome=\"{outcome}\""),
        ] {
            assert!(found[0].contains(&expected), "{expected} in {}", found[0]);
        }
    }
    assert!(lines_of("req-cancel-own")[0].contains(&format!("target=\"{id}\"")));
}
