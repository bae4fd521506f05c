//! The real server on a loopback port, called with a real HTTP client: HS256 tokens, RS256
//! keys from a local JWKS endpoint (with a key rotation), and a reload while requests are in
//! flight.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Json;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use plugmill_server::Server;
use serde_json::{json, Value};

use super::{
    claims, deployment, hs256, hs256_auth, options, rs256, rsa_key, start, wait_ready, TENANT,
};

#[tokio::test]
async fn hs256_tokens_through_the_listening_server() {
    let secret = "a-test-secret-of-at-least-32-bytes!!";
    let dir = deployment(&hs256_auth(secret), &[("miru.wasm", test_plugins::MIRU)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    let client = reqwest::Client::new();
    wait_ready(&client, &url).await;
    let body = json!({"path": "/miru/create-transmission-package", "data": {}});
    let token = hs256(secret, &claims(TENANT, &["admin-user"]));
    let response = client
        .post(format!("{url}/plugin"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["data"]["status"], "packaged");
    let no_role = hs256(secret, &claims(TENANT, &["user"]));
    let response = client
        .post(format!("{url}/plugin"))
        .bearer_auth(&no_role)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = client
        .post(format!("{url}/plugin"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn rs256_keys_from_a_jwks_endpoint_are_refetched_when_the_provider_rotates_them() {
    let first = rsa_key("key-1");
    let second = rsa_key("key-2");
    let published: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(vec![first.jwk.clone()]));
    let fetches = Arc::new(Mutex::new(0u32));
    let jwks = axum::Router::new().route(
        "/certs",
        get({
            let (published, fetches) = (published.clone(), fetches.clone());
            move || async move {
                *fetches.lock().unwrap() += 1;
                Json(json!({ "keys": published.lock().unwrap().clone() }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, jwks).await.unwrap() });

    let config = format!(
        "[auth]\njwks_url = \"{jwks_url}\"\nissuer = \"https://idp.test/realms/x\"\njwks_refetch_interval = \"200ms\"\n"
    );
    let dir = deployment(&config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    let client = reqwest::Client::new();
    wait_ready(&client, &url).await;
    let call = |token: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .post(format!("{url}/fixture/claims"))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let mut claims = claims(TENANT, &["admin-user"]);
    claims["iss"] = json!("https://idp.test/realms/x");

    let (status, body) = call(rs256(&first, "key-1", &claims)).await;
    assert_eq!(status, 200, "{body}");
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://elsewhere");
    assert_eq!(call(rs256(&first, "key-1", &other_issuer)).await.0, 401);

    // The provider rotates: key-2 replaces key-1.
    *published.lock().unwrap() = vec![second.jwk.clone()];
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (status, body) = call(rs256(&second, "key-2", &claims)).await;
    assert_eq!(
        status, 200,
        "a token of the new key is accepted after a refetch: {body}"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (status, body) = call(rs256(&first, "key-1", &claims)).await;
    assert_eq!(status, 401, "the retired key no longer verifies: {body}");

    // Unknown key ids cannot make the server hammer the provider.
    let before = *fetches.lock().unwrap();
    for i in 0..20 {
        call(rs256(&second, &format!("unknown-{i}"), &claims)).await;
    }
    assert!(
        *fetches.lock().unwrap() - before <= 2,
        "refetches are rate-limited"
    );

    // Algorithm confusion: an HS256 token keyed with the RSA public key is refused.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-2".into());
    let confused = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(second.public_pem.as_bytes()),
    )
    .unwrap();
    let (status, body) = call(confused).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("algorithm"),
        "{body}"
    );

    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_reload_while_requests_are_in_flight_fails_none() {
    let dir = deployment("", &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let host = server.host().clone();
    let (url, stop, task) = start(server).await;
    let client = reqwest::Client::new();
    wait_ready(&client, &url).await;
    let requests: Vec<_> = (0..32)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let response = client
                    .post(format!("{url}/fixture/wait"))
                    .json(&json!({"ms": 100 + i * 10}))
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    std::fs::copy(test_plugins::MIRU, dir.path().join("plugins/miru.wasm")).unwrap();
    let report = host.reload().await.unwrap();
    assert_eq!(report.changes.added, ["miru"]);
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    stop.send(()).unwrap();
    task.await.unwrap();
}
