//! HTTP/2 over cleartext with prior knowledge (h2c), on the same listener as HTTP/1.1, with a
//! real HTTP/2 client: routes and the seed's `POST /plugin` answer, and the limits hold (body
//! size and time, idle and half-sent connections, the cap on open connections).

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::{json, Value};

use super::{
    claims, hs256, hs256_auth, past_the_cap_a_call_waits_until_one_closes, raw_client, Fixture,
    TENANT,
};

const SECRET: &str = "an-h2c-test-secret-of-at-least-32-bytes";

/// An HTTP/2 client that speaks it from the first byte (no upgrade, no TLS).
fn h2_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// What a raw client sends before going silent.
#[derive(Clone, Copy, Debug)]
enum Silent {
    /// Part of the HTTP/2 preface.
    HalfPreface,
    /// The preface and empty settings.
    AfterPreface,
    /// The preface, settings and a HEADERS frame whose header block never ends.
    HalfHeaders,
}

/// Opens a connection that sends what `how` says, then nothing; resolves to how long the
/// server kept it open (`None`: still open after `patience`).
async fn silent_client(address: String, how: Silent, patience: Duration) -> Option<Duration> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // A SETTINGS frame without settings: length 0, type 4, no flags, stream 0.
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    // A HEADERS frame of stream 1 without END_HEADERS: one header (`:method: GET`), and a
    // CONTINUATION that never comes.
    const HALF_HEADERS: &[u8] = &[0, 0, 1, 1, 0, 0, 0, 0, 1, 0x82];
    let sent: Vec<u8> = match how {
        Silent::HalfPreface => PREFACE[..16].to_vec(),
        Silent::AfterPreface => [PREFACE, SETTINGS].concat(),
        Silent::HalfHeaders => [PREFACE, SETTINGS, HALF_HEADERS].concat(),
    };
    let closed = raw_client(address, sent, None, patience).await;
    closed.map(|(_, after)| after)
}

#[tokio::test]
async fn routes_and_the_seed_endpoint_answer_over_h2c_beside_http1() {
    let h2 = h2_client(Duration::from_secs(30));
    let served = Fixture::serve(&hs256_auth(SECRET), &h2).await;
    let url = &served.url;
    let token = hs256(SECRET, &claims(TENANT, &["admin-user"]));

    let response = h2
        .post(format!("{url}/fixture/echo"))
        .bearer_auth(&token)
        .json(&json!({"n": 1, "claims": "forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["n"], 1);
    let claims: Value = serde_json::from_str(answer["claims"].as_str().unwrap()).unwrap();
    assert_eq!(
        claims["sub"], "caller-1",
        "the verified claims, not the forged"
    );

    let response = h2
        .post(format!("{url}/plugin"))
        .bearer_auth(&token)
        .json(&json!({"path": "/fixture/echo", "data": {"n": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["data"]["n"], 2);

    let response = h2
        .post(format!("{url}/fixture/echo"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "a token is asked for on HTTP/2 too");

    // Many requests at once on the one HTTP/2 connection.
    let calls = (0..20).map(|n| {
        h2.post(format!("{url}/fixture/echo"))
            .bearer_auth(&token)
            .json(&json!({ "n": n }))
            .send()
    });
    for (n, response) in futures::future::join_all(calls)
        .await
        .into_iter()
        .enumerate()
    {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap()["n"], n);
    }

    // HTTP/1.1 on the same listener.
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let response = http1
        .post(format!("{url}/fixture/echo"))
        .bearer_auth(&token)
        .json(&json!({"n": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200);
    served.stop().await;
}

#[tokio::test]
async fn over_h2c_bodies_are_bounded_and_silent_connections_are_closed() {
    let config = "[server]\nheader_timeout = \"1s\"\nbody_timeout = \"1s\"\nmax_body = \"1 KiB\"\n";
    let h2 = h2_client(Duration::from_secs(10));
    let served = Fixture::serve(config, &h2).await;
    let (url, address) = (&served.url, &served.address);

    let response = h2
        .post(format!("{url}/fixture/echo"))
        .json(&json!({ "big": "x".repeat(2000) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 413);

    // A body that starts and never ends.
    let trickle = futures::stream::once(async { Ok::<_, std::io::Error>(b"{\"a\":".to_vec()) })
        .chain(futures::stream::pending());
    let started = Instant::now();
    let response = h2
        .post(format!("{url}/fixture/echo"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(trickle))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let silent: Vec<_> = [
        Silent::HalfPreface,
        Silent::AfterPreface,
        Silent::HalfHeaders,
    ]
    .into_iter()
    .map(|how| {
        let address = address.clone();
        (
            how,
            tokio::spawn(silent_client(address, how, Duration::from_secs(8))),
        )
    })
    .collect();
    // Meanwhile the HTTP/2 client keeps its answers.
    let response = h2
        .post(format!("{url}/fixture/echo"))
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for (how, client) in silent {
        let after = client
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{how:?}: still open after 8 s"));
        assert!(
            after < Duration::from_secs(4),
            "{how:?} closed after {after:?}"
        );
    }
    served.stop().await;
}

#[tokio::test]
async fn the_connection_cap_counts_h2c_connections() {
    let config = "[server]\nmax_connections = 3\nheader_timeout = \"1s\"\n";
    let served = Fixture::serve(config, &h2_client(Duration::from_secs(10))).await;
    past_the_cap_a_call_waits_until_one_closes(
        &served,
        3,
        |address| {
            tokio::spawn(silent_client(
                address,
                Silent::AfterPreface,
                Duration::from_secs(8),
            ))
        },
        h2_client,
    )
    .await;
    served.stop().await;
}
