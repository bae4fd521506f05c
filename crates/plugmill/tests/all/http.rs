//! The outbound HTTP capability against real servers on loopback ports: a plugin written for
//! `wasi:http` reaches what its allowlist names and nothing else; a name resolving to a
//! loopback address, a redirect to one, an oversized answer and a server that never answers
//! are each refused or cut, with the reason in the log and in the metrics.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use plugmill::config::HostConfig;
use plugmill::PluginManager;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::load_with;
use super::logs::CapturedLogs;

/// The body of the answer `/big` gives: larger than the test's cap.
const BIG: usize = 64 * 1024;
/// The cap the tests set.
const CAP: usize = 8 * 1024;

/// A real HTTP/1.1 server on a loopback port: `/hello` answers, `/echo` echoes the body,
/// `/big` and `/big-stream` answer more than the cap (declared, and streamed without a
/// length), `/to?LOCATION` redirects there, `/loop` redirects to itself.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

type Answer = Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

async fn answer(request: Request<Incoming>) -> Result<Answer, Infallible> {
    let full = |status: u16, text: String| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(text)).boxed())
            .unwrap()
    };
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    Ok(match path.as_str() {
        "/hello" => full(200, "hello from the server".into()),
        "/echo" => {
            let method = request.method().to_string();
            let body = request.into_body().collect().await.unwrap().to_bytes();
            full(200, format!("{method} {}", String::from_utf8_lossy(&body)))
        }
        "/big" => full(200, "x".repeat(BIG)),
        "/big-stream" => {
            let chunks = (0..BIG / 1024)
                .map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'y'; 1024]))));
            Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed())
        }
        "/to" => Response::builder()
            .status(302)
            .header("location", query)
            .body(Full::new(Bytes::new()).boxed())
            .unwrap(),
        "/loop" => Response::builder()
            .status(307)
            .header("location", "/loop")
            .body(Full::new(Bytes::new()).boxed())
            .unwrap(),
        _ => full(404, "no such path".into()),
    })
}

/// A server that accepts connections and never answers.
async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// The metrics every test of this binary records, captured from the first use.
fn metrics() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other metrics recorder in the test binary");
        snapshotter
    })
}

/// The count of requests of `http-client` to `host` that ended with `outcome`, since the
/// binary started. A snapshot drains the recorder's counters, and tests running at once all
/// take snapshots, so every snapshot's counts are added to running totals kept here.
fn counted(host: &str, outcome: &str) -> u64 {
    static TOTALS: OnceLock<Mutex<HashMap<(String, String), u64>>> = OnceLock::new();
    let mut totals = TOTALS.get_or_init(Mutex::default).lock().unwrap();
    for (key, _, _, value) in metrics().snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_string())
        };
        if key.name() != plugmill::capabilities::http::metrics::REQUESTS
            || label("plugin").as_deref() != Some("http-client")
        {
            continue;
        }
        if let (Some(host), Some(outcome), DebugValue::Counter(count)) =
            (label("host"), label("outcome"), value)
        {
            *totals.entry((host, outcome)).or_default() += count;
        }
    }
    totals
        .get(&(host.to_string(), outcome.to_string()))
        .copied()
        .unwrap_or(0)
}

async fn manager(config: &str) -> (PluginManager, plugmill::LoadReport, tempfile::TempDir) {
    let config = HostConfig::parse(config, "plugmill.toml").unwrap();
    let builder = super::builder().config(&config).unwrap();
    let (manager, report, dir) =
        load_with(builder, &[("client.wasm", test_plugins::HTTP_CLIENT)]).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, report, dir)
}

async fn fetch(
    manager: &PluginManager,
    method: &str,
    url: &str,
    body: &str,
) -> Result<String, String> {
    let outcome = manager
        .call_hook_json("fetch", &[json!(method), json!(url), json!(body)])
        .await
        .remove(0);
    let value = outcome.result.expect("the hook runs").remove(0);
    match value {
        Value::Object(result) if result.contains_key("ok") => {
            Ok(result["ok"].as_str().unwrap().to_string())
        }
        // The guest answers the `wasi:http` error code as Rust debug-prints it.
        Value::Object(result) => Err(result["err"]
            .as_str()
            .unwrap()
            .trim_start_matches("ErrorCode::")
            .to_string()),
        other => panic!("not a result: {other}"),
    }
}

fn config(rules: &[String], limits: &str) -> String {
    let rules: Vec<String> = rules.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "[plugins.http-client]\nhttp = [{}]\n\n[http]\n{limits}\n",
        rules.join(", ")
    )
}

#[tokio::test]
async fn an_allowed_host_answers_and_an_unlisted_one_is_denied() {
    let logs = CapturedLogs::global();
    let allowed = serve().await;
    let unlisted = serve().await;
    let (manager, _, _dir) = manager(&config(&[format!("http://{allowed}")], "")).await;

    assert_eq!(
        fetch(&manager, "GET", &format!("http://{allowed}/hello"), "")
            .await
            .unwrap(),
        "200 hello from the server"
    );
    assert_eq!(
        fetch(
            &manager,
            "POST",
            &format!("http://{allowed}/echo"),
            "a body"
        )
        .await
        .unwrap(),
        "200 POST a body"
    );
    let before = counted("127.0.0.1", "denied");
    let denied = fetch(&manager, "GET", &format!("http://{unlisted}/hello"), "")
        .await
        .unwrap_err();
    assert_eq!(denied, "HttpRequestDenied");
    assert!(
        counted("127.0.0.1", "denied") > before,
        "the refusal is counted"
    );
    assert!(
        logs.text().contains(&format!(
            "http://{unlisted} is not in the allowlist of plugin `http-client`"
        )),
        "the log says why"
    );
    let https = fetch(&manager, "GET", &format!("https://{allowed}/hello"), "")
        .await
        .unwrap_err();
    assert_eq!(https, "HttpRequestDenied", "the scheme is part of the rule");
}

#[tokio::test]
async fn a_plugin_granted_nothing_loads_with_a_warning_and_reaches_nothing() {
    let server = serve().await;
    let (manager, report, _dir) = manager("").await;
    let warning = &report.warnings[0];
    assert_eq!(warning.plugin, "http-client");
    assert!(
        warning.message.contains("may reach no host")
            && warning.message.contains("[plugins.http-client]"),
        "{warning}"
    );
    let denied = fetch(&manager, "GET", &format!("http://{server}/hello"), "")
        .await
        .unwrap_err();
    assert_eq!(denied, "HttpRequestDenied");
}

#[tokio::test]
async fn a_listed_name_resolving_to_loopback_is_refused() {
    let logs = CapturedLogs::global();
    let server = serve().await;
    let port = server.port();
    let (manager, _, _dir) = manager(&config(&[format!("http://localhost:{port}")], "")).await;
    let before = counted("localhost", "address_refused");
    let refused = fetch(
        &manager,
        "GET",
        &format!("http://localhost:{port}/hello"),
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(refused, "DestinationIpProhibited");
    assert!(counted("localhost", "address_refused") > before);
    assert!(
        logs.text().contains("`localhost` resolves to")
            && logs
                .text()
                .contains("a loopback address: only a rule naming the address reaches it"),
        "the log says why"
    );
}

#[tokio::test]
async fn every_redirect_hop_is_checked_and_their_number_is_capped() {
    let server = serve().await;
    let port = server.port();
    let rules = [
        format!("http://{server}"),
        format!("http://localhost:{port}"),
    ];
    let (manager, _, _dir) = manager(&config(&rules, "max_redirects = 3")).await;

    let followed = fetch(&manager, "GET", &format!("http://{server}/to?/hello"), "").await;
    assert_eq!(
        followed.unwrap(),
        "200 hello from the server",
        "an allowed hop is followed"
    );

    let to_private = format!("http://{server}/to?http://localhost:{port}/hello");
    assert_eq!(
        fetch(&manager, "GET", &to_private, "").await.unwrap_err(),
        "DestinationIpProhibited",
        "a redirect to a name resolving to loopback is refused"
    );
    let to_metadata = format!("http://{server}/to?http://169.254.169.254/latest/meta-data/");
    assert_eq!(
        fetch(&manager, "GET", &to_metadata, "").await.unwrap_err(),
        "HttpRequestDenied",
        "a redirect to an unlisted host is refused"
    );
    assert_eq!(
        fetch(&manager, "GET", &format!("http://{server}/loop"), "")
            .await
            .unwrap_err(),
        "LoopDetected",
        "a fourth redirect is one too many"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_cut_and_a_silent_server_times_out() {
    let logs = CapturedLogs::global();
    let server = serve().await;
    let quiet = silent().await;
    let limits = format!("max_response = {CAP}\ntimeout = \"300ms\"");
    let (manager, _, _dir) = manager(&config(
        &[format!("http://{server}"), format!("http://{quiet}")],
        &limits,
    ))
    .await;

    let declared = fetch(&manager, "GET", &format!("http://{server}/big"), "")
        .await
        .unwrap_err();
    assert_eq!(declared, format!("HttpResponseBodySize(Some({BIG}))"));
    let streamed = fetch(&manager, "GET", &format!("http://{server}/big-stream"), "")
        .await
        .unwrap_err();
    // A body cut while the guest streams it reaches the guest as a failed read of the body
    // stream, with wasmtime-wasi-http's own words.
    assert!(
        streamed.starts_with("HttpResponseBodySize(Some(")
            || streamed.contains("HTTP response body size exceeds limit"),
        "{streamed}"
    );
    assert!(logs
        .text()
        .contains(&format!("the answer is over {CAP} bytes, the limit: cut")));

    let timed_out = fetch(&manager, "GET", &format!("http://{quiet}/hello"), "")
        .await
        .unwrap_err();
    assert_eq!(timed_out, "ConnectionReadTimeout");
    assert!(logs
        .text()
        .contains(&format!("http://{quiet}: the request timeout or the call's deadline passed while waiting for the answer")));
}

#[tokio::test]
async fn bad_rules_are_configuration_errors() {
    for (text, says) in [
        (
            "[plugins.p]\nhttp = [\"api.example.com\"]\n",
            "[plugins.p] http: `api.example.com` is not an allowed host",
        ),
        (
            "[plugins.p]\nhttp = [\"https://a.*.com\"]\n",
            "is not a host name",
        ),
        (
            "[http]\nmax_redirects = 99\n",
            "[http] max_redirects: 99 is over 20",
        ),
        ("[http]\nmax_response = 0\n", "[http] max_response:"),
    ] {
        let error = super::config_error(text);
        assert!(error.contains(says), "{text}: {error}");
    }
}
