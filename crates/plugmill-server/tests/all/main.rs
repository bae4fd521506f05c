//! plugmill-server's tests: the router in-process (`oneshot`) for every status, and the real
//! server on a loopback port with a real HTTP client (tokens signed here with HS256, and with
//! RS256 keys served from a local JWKS endpoint).

mod config_sections;
mod console;
mod h2c;
mod live;
mod router;
mod seed_records;
mod slow_clients;
mod tenants;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use plugmill_host::{CacheChoice, HostOptions};
use plugmill_server::Server;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;

/// The tenant the `miru` test plugin hard-codes.
pub const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";

/// A directory with `plugmill.toml` (`config`) and `plugins/` holding `plugins`.
pub fn deployment(config: &str, plugins: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugin_dir).unwrap();
    for (name, source) in plugins {
        std::fs::copy(source, plugin_dir.join(name)).unwrap();
    }
    std::fs::write(dir.path().join("plugmill.toml"), config).unwrap();
    dir
}

/// The host options of a deployment made by [`deployment`].
pub fn options(dir: &TempDir) -> HostOptions {
    HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        plugins: Some(dir.path().join("plugins").display().to_string()),
        cache: CacheChoice::Disabled,
        ..HostOptions::default()
    }
}

/// A server for `config` and `plugins`, with its plugins loaded.
pub async fn loaded(config: &str, plugins: &[(&str, &str)]) -> (Server, TempDir) {
    let dir = deployment(config, plugins);
    let server = Server::assemble(options(&dir), Some("127.0.0.1:0"))
        .await
        .unwrap();
    let report = server.load().await.unwrap();
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (server, dir)
}

/// A fresh environment variable name holding `secret`, and the `[auth]` section using it.
pub fn hs256_auth(secret: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let variable = format!(
        "PLUGMILL_TEST_JWT_SECRET_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    std::env::set_var(&variable, secret);
    format!("[auth]\nhs256_secret_env = \"{variable}\"\n")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims in the seed's Hasura layout, valid for an hour.
pub fn claims(tenant: &str, roles: &[&str]) -> Value {
    json!({
        "sub": "caller-1",
        "name": "Ada Caller",
        "exp": now() + 3600,
        "https://hasura.io/jwt/claims": {
            "x-hasura-tenant-id": tenant,
            "x-hasura-allowed-roles": roles,
        }
    })
}

/// An HS256 token of `claims`.
pub fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A server serving on a free loopback port until the returned sender is dropped or used.
pub async fn start(server: Server) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (url, stop, task)
}

/// The `fixture` test plugin served under `config` on a free loopback port, until
/// [`Fixture::stop`].
pub struct Fixture {
    /// The server's base URL.
    pub url: String,
    /// The server's address, for raw connections.
    pub address: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

impl Fixture {
    /// Serves the `fixture` plugin under `config`, once `client` finds the server ready.
    pub async fn serve(config: &str, client: &reqwest::Client) -> Self {
        let dir = deployment(config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
        let server = Server::assemble(options(&dir), None).await.unwrap();
        let (url, stop, task) = start(server).await;
        wait_ready(client, &url).await;
        let address = url.trim_start_matches("http://").to_string();
        Self {
            url,
            address,
            stop,
            task,
            _dir: dir,
        }
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
    }
}

/// Opens a raw TCP connection to `address`, sends `first`, then (with `trickle`) a space
/// every period, and holds it open; resolves to what the server sent before it closed the
/// connection and how long that took, or `None` if it was still open after `patience`.
pub async fn raw_client(
    address: String,
    first: Vec<u8>,
    trickle: Option<Duration>,
    patience: Duration,
) -> Option<(String, Duration)> {
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let opened = std::time::Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        if writer.write_all(&first).await.is_ok() {
            while let Some(period) = trickle {
                tokio::time::sleep(period).await;
                if writer.write_all(b" ").await.is_err() {
                    break;
                }
            }
        }
        // Keep the writing half open until the test ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(writer);
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(patience, reader.read_to_end(&mut answer)).await;
    writing.abort();
    closed.ok().map(|_| {
        (
            String::from_utf8_lossy(&answer).into_owned(),
            opened.elapsed(),
        )
    })
}

/// Past the connection cap: with `cap` connections opened by `hold` (each resolving once the
/// server closed it), a call from a `client` waits (no answer within 400 ms), then is served
/// once the server closed the held ones, and each was closed.
pub async fn past_the_cap_a_call_waits_until_one_closes<T: std::fmt::Debug + Send + 'static>(
    served: &Fixture,
    cap: usize,
    hold: impl Fn(String) -> tokio::task::JoinHandle<Option<T>>,
    client: impl Fn(Duration) -> reqwest::Client,
) {
    // Let the readiness client's connection go idle and be closed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let held: Vec<_> = (0..cap).map(|_| hold(served.address.clone())).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = &served.url;
    let waited = client(Duration::from_millis(400))
        .post(format!("{url}/fixture/echo"))
        .json(&json!({}))
        .send()
        .await;
    assert!(
        waited.is_err(),
        "{cap} connections open: one more waits: {waited:?}"
    );
    let answer = client(Duration::from_secs(8))
        .post(format!("{url}/fixture/echo"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "served once the held ones were closed"
    );
    for connection in held {
        assert!(
            connection.await.unwrap().is_some(),
            "each held connection was closed"
        );
    }
}

/// Waits until the server at `url` answers `/readyz` with 200.
pub async fn wait_ready(client: &reqwest::Client, url: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{url}/readyz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server at {url} never became ready");
}

/// An RSA key pair: what signs tokens, and the JWK that publishes it.
pub struct RsaKey {
    /// What signs tokens.
    pub encoding: EncodingKey,
    /// The public key, as a JWKS entry.
    pub jwk: Value,
    /// The public key, PEM.
    pub public_pem: String,
}

/// A fresh RSA key with key id `kid`.
pub fn rsa_key(kid: &str) -> RsaKey {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = private.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
    let public = private.to_public_key();
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let public_pem =
        rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(&public, rsa::pkcs1::LineEnding::LF).unwrap();
    RsaKey {
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
        }),
        public_pem,
    }
}

/// An RS256 token of `claims`, signed by `key` under key id `kid`.
pub fn rs256(key: &RsaKey, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// Serves a JWKS document of `keys` on a free loopback port; its URL.
pub async fn jwks_endpoint(keys: Vec<Value>) -> String {
    let document = json!({ "keys": keys });
    let router = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// A fresh environment variable holding `value`; its name.
pub fn env_var(prefix: &str, value: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let variable = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    std::env::set_var(&variable, value);
    variable
}

/// A real HTTP client of a listening server.
#[derive(Clone)]
pub struct Api {
    /// The client.
    pub client: reqwest::Client,
    /// The server's base URL.
    pub url: String,
}

impl Api {
    /// The client [`Api::ready`] uses.
    pub fn ready_client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A client of the server at `url`, once it is ready.
    pub async fn ready(url: &str) -> Self {
        let client = Self::ready_client();
        wait_ready(&client, url).await;
        Self {
            client,
            url: url.to_string(),
        }
    }

    /// `GET path` with `token`: the status, the JSON body and the headers.
    pub async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }

    /// `POST path` with `token` and a JSON `body`: the status, the JSON body and the headers.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self.client.post(format!("{}{path}", self.url)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.unwrap()).await
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value, reqwest::header::HeaderMap) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, headers)
}
