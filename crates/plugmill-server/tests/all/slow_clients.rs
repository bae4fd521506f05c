//! Slow clients over raw TCP against the real listening server: half-sent headers, headers
//! without their body, bodies trickled a byte at a time, and silence. Each is closed by a
//! timeout, none holds a plugin call, and a normal client keeps getting its answers.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{past_the_cap_a_call_waits_until_one_closes, raw_client, Api, Fixture};

/// What a slow client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slow {
    /// The first lines of a request's headers, then nothing.
    HalfHeaders,
    /// Whole headers announcing a body, then nothing.
    HeadersWithoutBody,
    /// Whole headers, then the announced 100 000 bytes one every 500 ms.
    TrickledBody,
    /// Nothing at all.
    Silence,
}

/// Opens a connection that behaves as `how`; resolves to what the server sent back before
/// it closed the connection, and how long that took (or `None` if it was still open after
/// `patience`).
async fn slow_client(address: String, how: Slow, patience: Duration) -> Option<(String, Duration)> {
    let headers = "POST /fixture/echo HTTP/1.1\r\nHost: plugmill\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    let (first, trickle): (&[u8], _) = match how {
        Slow::HalfHeaders => (b"POST /fixture/echo HTTP/1.1\r\nHost: plug", None),
        Slow::HeadersWithoutBody => (headers.as_bytes(), None),
        Slow::TrickledBody => (headers.as_bytes(), Some(Duration::from_millis(500))),
        Slow::Silence => (b"", None),
    };
    raw_client(address, first.to_vec(), trickle, patience).await
}

#[tokio::test]
async fn slow_clients_are_closed_by_timeouts_and_a_normal_client_keeps_its_answers() {
    // Four plugin calls at once: if a trickled body held one, normal calls would get 503.
    let config = "[server]\nheader_timeout = \"1s\"\nbody_timeout = \"2s\"\nmax_concurrency = 4\n";
    let served = Fixture::serve(config, &Api::ready_client()).await;
    let (url, address) = (&served.url, &served.address);

    let patience = Duration::from_secs(8);
    let mut slow = Vec::new();
    for (how, count) in [
        (Slow::TrickledBody, 200),
        (Slow::HalfHeaders, 30),
        (Slow::HeadersWithoutBody, 30),
        (Slow::Silence, 30),
    ] {
        for _ in 0..count {
            slow.push((
                how,
                tokio::spawn(slow_client(address.clone(), how, patience)),
            ));
        }
    }

    // Meanwhile a normal client: every answer 200, each within a second.
    let normal = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let response = normal
            .post(format!("{url}/fixture/echo"))
            .json(&json!({"n": answered}))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("request {answered} while slow clients hold connections: {e}")
            });
        assert_eq!(response.status(), 200, "request {answered}");
        answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered >= 10, "{answered}");

    for (how, client) in slow {
        let outcome = client.await.unwrap();
        let (answer, after) =
            outcome.unwrap_or_else(|| panic!("a {how:?} client was still open after {patience:?}"));
        match how {
            Slow::TrickledBody | Slow::HeadersWithoutBody => {
                assert!(answer.starts_with("HTTP/1.1 408"), "{how:?}: {answer}");
                assert!(
                    answer.contains("did not arrive within"),
                    "{how:?}: {answer}"
                );
                assert!(
                    after < Duration::from_secs(5),
                    "{how:?} closed after {after:?}"
                );
            }
            Slow::HalfHeaders | Slow::Silence => {
                assert!(!answer.contains("200 OK"), "{how:?}: {answer}");
                assert!(
                    after < Duration::from_secs(4),
                    "{how:?} closed after {after:?}"
                );
            }
        }
    }
    served.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_clients_wait_until_a_timeout_frees_a_place() {
    let config = "[server]\nmax_connections = 5\nheader_timeout = \"1s\"\n";
    let served = Fixture::serve(config, &Api::ready_client()).await;
    past_the_cap_a_call_waits_until_one_closes(
        &served,
        5,
        |address| tokio::spawn(slow_client(address, Slow::Silence, Duration::from_secs(5))),
        |timeout| {
            reqwest::Client::builder()
                .timeout(timeout)
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        },
    )
    .await;
    served.stop().await;
}
