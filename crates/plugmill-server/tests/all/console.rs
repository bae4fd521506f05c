//! The operator console in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, Debian's `chromium` and `chromium-driver`; `scripts/test.sh` installs
//! them) against the real server on a loopback port. The tests sign in, read the plugins
//! page (a rejected file's code), watch the live counter and chart move while calls are
//! sent, cancel a queued task and retry a failed one from their record pages, and are
//! refused without a session or with a forged cross-site request.
//!
//! With `PLUGMILL_CONSOLE_SCREENSHOTS=<dir>` they save the pages they see there as PNGs
//! (`docs/console/` holds the ones `docs/console.md` shows).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use plugmill_server::Server;
use serde_json::{json, Value};

use super::{claims, deployment, env_var, hs256, hs256_auth, now, options, start, Api};

const SECRET: &str = "a-console-test-secret-of-32-bytes!!";
const ADMIN_TOKEN: &str = "a-console-admin-token-long-enough";
const ROLE: &str = "plugmill-operator";
const TENANT_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const TENANT_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";

/// A headless Chromium session, and the chromedriver that runs it (killed on drop).
struct Browser {
    client: Option<Client>,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs the browser tests: apt-get install chromium chromium-driver (scripts/test.sh installs them)");
        let mut browser = Browser {
            client: None,
            driver,
        };
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,1000"]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    browser.client = Some(client);
                    return browser;
                }
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver never started a browser: {last:?}");
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn goto(&self, url: &str) {
        self.client().goto(url).await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        match self.client().find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap(),
            Err(error) => {
                let url = self.client().current_url().await.unwrap();
                let page = self.client().source().await.unwrap_or_default();
                panic!("no `{css}` on {url}: {error}\n{page}")
            }
        }
    }

    async fn path(&self) -> String {
        self.client()
            .current_url()
            .await
            .unwrap()
            .path()
            .to_string()
    }

    /// Clicks a button that submits a form, and waits for the page it leads to.
    async fn click(&self, css: &str) {
        let client = self.client();
        client
            .execute("window.__leaving = true;", vec![])
            .await
            .unwrap();
        client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` to click: {e}"))
            .click()
            .await
            .unwrap();
        for _ in 0..200 {
            let arrived = client
                .execute(
                    "return window.__leaving !== true && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if arrived {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking `{css}` led to no new page");
    }

    async fn sign_in(&self, url: &str, token: &str) {
        self.goto(&format!("{url}/console/login")).await;
        self.client()
            .find(Locator::Css("#token"))
            .await
            .unwrap()
            .send_keys(token)
            .await
            .unwrap();
        self.click("#sign-in").await;
    }

    /// Saves the page as `<PLUGMILL_CONSOLE_SCREENSHOTS>/<name>.png` when the variable is set.
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("PLUGMILL_CONSOLE_SCREENSHOTS") else {
            return;
        };
        let png = self.client().screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }

    /// The session cookie the browser holds.
    async fn session_cookie(&self) -> String {
        let cookies = self.client().get_all_cookies().await.unwrap();
        let cookie = cookies
            .iter()
            .find(|c| c.name() == "plugmill_console")
            .expect("a session cookie after sign-in");
        assert_eq!(cookie.http_only(), Some(true), "HttpOnly");
        assert_eq!(
            format!("{:?}", cookie.same_site()),
            "Some(Strict)",
            "SameSite=Strict"
        );
        format!("plugmill_console={}", cookie.value())
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

/// A server with the `fixture` plugin, a file that is not WebAssembly, HS256 tokens, the admin
/// token and the console role; one task runner.
async fn serve() -> (
    Api,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let admin = env_var("PLUGMILL_TEST_CONSOLE_ADMIN", ADMIN_TOKEN);
    let config = format!(
        "{}[server]\nadmin_token_env = \"{admin}\"\n[console]\nrole = \"{ROLE}\"\n[tasks]\nconcurrency = 1\n",
        hs256_auth(SECRET)
    );
    let dir = deployment(&config, &[("fixture.wasm", test_plugins::HTTP_FIXTURE)]);
    std::fs::write(
        dir.path().join("plugins/broken.wasm"),
        b"not a plugin at all",
    )
    .unwrap();
    let server = Server::assemble(options(&dir), None).await.unwrap();
    let (url, stop, task) = start(server).await;
    (Api::ready(&url).await, stop, task, dir)
}

/// Polls `check` on fresh page loads of `url` until it holds (at most ~20 s).
async fn until_page(browser: &Browser, url: &str, css: &str, wanted: &str) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        browser.goto(url).await;
        seen = browser.text(css).await;
        if seen.contains(wanted) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("`{css}` at {url} never showed `{wanted}`; it shows `{seen}`");
}

#[tokio::test]
async fn an_operator_signs_in_reads_plugins_watches_traffic_and_cancels_and_retries_tasks() {
    let (api, stop, task, _dir) = serve().await;
    let url = api.url.clone();
    let browser = Browser::start().await;

    // Nothing answers without a session: a page sends to the sign-in page.
    browser.goto(&format!("{url}/console/tasks")).await;
    assert_eq!(browser.path().await, "/console/login");
    browser.screenshot("sign-in").await;

    // A valid token without the console role is refused, with the reason.
    let plain = hs256(SECRET, &claims(TENANT_A, &["user"]));
    browser.sign_in(&url, &plain).await;
    assert!(
        browser.text("#error").await.contains(ROLE),
        "the refusal names the role"
    );

    // The admin token signs in: the plugins page lists the plugin and the rejected file.
    browser.sign_in(&url, ADMIN_TOKEN).await;
    assert_eq!(browser.path().await, "/console/plugins");
    assert_eq!(browser.text("#who").await, "admin");
    let plugins = browser.text("#plugins").await;
    assert!(
        plugins.contains("fixture") && plugins.contains("/fixture/echo"),
        "{plugins}"
    );
    assert_eq!(browser.text("#plugins .signature").await, "unsigned");
    let rejected = browser.text("#rejected").await;
    assert!(
        rejected.contains("broken.wasm") && rejected.contains("not-wasm"),
        "the rejected file with its code: {rejected}"
    );
    assert!(browser.text("#last-load").await.contains("Last loaded"));
    browser.click("#reload").await;
    let last = browser.text("#last-load").await;
    assert!(
        last.contains("by console") && last.contains("1 unchanged"),
        "{last}"
    );
    browser.screenshot("plugins").await;

    // Live traffic: the counter and the chart move while calls are sent.
    browser.goto(&format!("{url}/console/live")).await;
    let token = hs256(SECRET, &claims(TENANT_A, &["user"]));
    let counter = |browser: &Browser| {
        let client = browser.client().clone();
        async move {
            let value = client
                .execute(
                    "return [document.getElementById('total-calls').textContent, document.getElementById('calls-chart').toDataURL(), document.body.dataset.updated || ''];",
                    vec![],
                )
                .await
                .unwrap();
            let parts: Vec<String> = value
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect();
            (
                parts[0].parse::<u64>().ok(),
                parts[1].clone(),
                parts[2].clone(),
            )
        }
    };
    let mut before = counter(&browser).await;
    for _ in 0..50 {
        if before.0.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        before = counter(&browser).await;
    }
    let calls_before = before.0.expect("the live page shows a call count");
    for i in 0..30 {
        let path = if i % 10 == 0 {
            "/fixture/fail"
        } else {
            "/fixture/echo"
        };
        api.post(path, Some(&token), &json!({"n": i})).await;
    }
    let mut after = counter(&browser).await;
    for _ in 0..100 {
        if after.0.is_some_and(|n| n >= calls_before + 30) && after.1 != before.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = counter(&browser).await;
    }
    assert!(
        after.0.is_some_and(|n| n >= calls_before + 30),
        "the counter moved from {calls_before} by the 30 calls: {:?}",
        after.0
    );
    assert_ne!(
        after.1, before.1,
        "the chart was drawn again with the calls"
    );
    let series = browser.text("#series").await;
    assert!(
        series.contains("echo") && series.contains("fail"),
        "{series}"
    );
    assert!(series.contains("plugin_error"), "errors by kind: {series}");
    browser.screenshot("live").await;

    // Tasks: one holds the only runner, the next stays queued; cancel the queued one.
    let (status, busy, _) = api
        .post("/tasks/wait", Some(&token), &json!({"ms": 3000}))
        .await;
    assert_eq!(status, 202, "{busy}");
    let (_, queued, _) = api.post("/tasks/process", Some(&token), &json!({})).await;
    let queued = queued["id"].as_str().unwrap().to_string();
    browser.goto(&format!("{url}/console/tasks")).await;
    let list = browser.text("#tasks").await;
    assert!(
        list.contains(&queued) && list.contains("IN_PROGRESS"),
        "{list}"
    );
    browser.screenshot("tasks").await;
    browser.goto(&format!("{url}/console/tasks/{queued}")).await;
    assert_eq!(browser.text("#status").await, "IN_PROGRESS");
    browser.click("#cancel").await;
    assert!(browser.text("#message").await.starts_with("Cancelled"));
    assert_eq!(browser.text("#status").await, "CANCELLED");
    let (_, record, _) = api.get(&format!("/tasks/{queued}"), Some(&token)).await;
    assert_eq!(
        record["status"], "CANCELLED",
        "the record changed: {record}"
    );
    browser.screenshot("task-cancelled").await;

    // A failed task is retried from its page.
    let until = (now() as u64) * 1000 + 5000;
    let (_, failing, _) = api
        .post(
            "/tasks/process",
            Some(&token),
            &json!({"refuse_until_ms": until}),
        )
        .await;
    let failing = failing["id"].as_str().unwrap().to_string();
    let page = format!("{url}/console/tasks/{failing}");
    until_page(&browser, &page, "#status", "FAILED").await;
    assert!(browser.text("#outcomes").await.contains("plugin-error"));
    browser.screenshot("task-failed").await;
    let wait_ms = until.saturating_sub(super::now() as u64 * 1000) + 1100;
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    browser.click("#retry").await;
    assert!(
        browser.text("#message").await.starts_with("Queued again"),
        "the retry says what happened"
    );
    until_page(&browser, &page, "#status", "SUCCESS").await;
    assert_eq!(browser.text("#attempts").await, "2");

    // Forged requests: without the session cookie, and with it from another origin or
    // without the form's CSRF token, nothing changes.
    let cookie = browser.session_cookie().await;
    // One task holds the runner, so the victim stays queued (cancellable) throughout.
    let (status, holder, _) = api
        .post("/tasks/wait", Some(&token), &json!({"ms": 4000}))
        .await;
    assert_eq!(status, 202, "{holder}");
    let (_, victim, _) = api.post("/tasks/process", Some(&token), &json!({})).await;
    let victim = victim["id"].as_str().unwrap().to_string();
    let cancel_url = format!("{url}/console/tasks/{victim}/cancel");
    let host = url.trim_start_matches("http://").to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = {
        let page = client
            .get(format!("{url}/console/tasks/{victim}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
        page[at..at + 64].to_string()
    };
    let attempts = [
        (
            None,
            Some(format!("http://{host}")),
            Some(csrf.clone()),
            401,
        ),
        (
            Some(cookie.clone()),
            Some("http://evil.example".to_string()),
            Some(csrf.clone()),
            403,
        ),
        (Some(cookie.clone()), None, Some(csrf.clone()), 403),
        (
            Some(cookie.clone()),
            Some(format!("http://{host}")),
            None,
            403,
        ),
        (
            Some(cookie.clone()),
            Some(format!("http://{host}")),
            Some("0".repeat(64)),
            403,
        ),
    ];
    for (cookie, origin, token, expected) in attempts {
        let mut request = client.post(&cancel_url);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = &origin {
            request = request.header("origin", origin);
        }
        let body = token.map(|t| format!("csrf={t}")).unwrap_or_default();
        let response = request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            expected,
            "cookie {} origin {origin:?}",
            cookie.is_some()
        );
    }
    let (_, record, _) = api.get(&format!("/tasks/{victim}"), Some(&token)).await;
    assert_ne!(
        record["status"], "CANCELLED",
        "no forged request cancelled it"
    );
    // The same request from the console's own page works: the checks are what refused.
    let response = client
        .post(&cancel_url)
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let (_, record, _) = api.get(&format!("/tasks/{victim}"), Some(&token)).await;
    assert_eq!(record["status"], "CANCELLED", "{record}");

    // The JSON of the live page and the pages answer nothing without a session.
    let response = client
        .get(format!("{url}/console/live.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let response = client
        .get(format!("{url}/console/plugins"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);

    browser.close().await;
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn a_tenant_operator_sees_only_its_tenant_records_and_forms_from_another_site_fail() {
    let (api, stop, task, _dir) = serve().await;
    let url = api.url.clone();
    let a = hs256(SECRET, &claims(TENANT_A, &[ROLE]));
    let b = hs256(SECRET, &claims(TENANT_B, &["user"]));
    // B's task holds the only runner; A's stays queued (cancellable) behind it.
    let (_, theirs, _) = api
        .post("/tasks/wait", Some(&b), &json!({"ms": 10000}))
        .await;
    let (_, mine, _) = api.post("/tasks/process", Some(&a), &json!({})).await;
    let [mine, theirs] = [&mine, &theirs].map(|r: &Value| r["id"].as_str().unwrap().to_string());

    let browser = Browser::start().await;
    browser.sign_in(&url, &a).await;
    assert_eq!(browser.path().await, "/console/plugins");
    // The session ends with the token (an hour), not after the default eight hours.
    let cookies = browser.client().get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|c| c.name() == "plugmill_console")
        .expect("a session cookie");
    let ends = session
        .expires_datetime()
        .expect("the session cookie expires")
        .unix_timestamp();
    assert!(
        ends <= now() + 3600 + 5 && ends >= now() + 3600 - 60,
        "the session ends with its token: {ends}"
    );
    browser.goto(&format!("{url}/console/tasks")).await;
    let list = browser.text("#tasks").await;
    assert!(list.contains(&mine), "{list}");
    assert!(!list.contains(&theirs), "another tenant's record: {list}");
    // Asking for the other tenant by filter widens nothing.
    browser
        .goto(&format!("{url}/console/tasks?tenant={TENANT_B}"))
        .await;
    assert!(!browser.text("#tasks").await.contains(&theirs));
    browser.goto(&format!("{url}/console/tasks/{theirs}")).await;
    assert!(browser.text("main").await.contains("No task you may see"));

    // A page of another origin posting a form to the console: the browser sends no
    // SameSite=Strict cookie, and the console refuses it.
    let target = format!("{url}/console/tasks/{mine}/cancel");
    let evil = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let target = target.clone();
            async move {
                axum::response::Html(format!(
                    "<form id=f method=post action=\"{target}\"><input name=csrf value=x></form><script>document.getElementById('f').submit()</script>"
                ))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_url = format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move { axum::serve(listener, evil).await.unwrap() });
    browser.goto(&evil_url).await;
    for _ in 0..50 {
        if browser.path().await.contains("/cancel") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = browser.text("body").await;
    assert!(
        refused.contains("sign in") || refused.contains("refused"),
        "{refused}"
    );
    let (_, record, _) = api.get(&format!("/tasks/{mine}"), Some(&a)).await;
    assert_eq!(record["status"], "IN_PROGRESS", "still queued: {record}");

    browser.close().await;
    let _ = stop.send(());
    task.await.unwrap();
}

#[tokio::test]
async fn a_disabled_console_serves_nothing_and_a_bad_console_section_is_refused() {
    use tower::ServiceExt as _;
    let (server, _dir) = super::loaded("[console]\nenabled = false\n", &[]).await;
    let request = axum::http::Request::get("/console/login")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = server.router().oneshot(request).await.unwrap();
    let request = axum::http::Request::get("/nothing/here")
        .body(axum::body::Body::empty())
        .unwrap();
    let elsewhere = server.router().oneshot(request).await.unwrap();
    assert_eq!(
        response.status(),
        elsewhere.status(),
        "answered as a path nothing is served at"
    );
    assert_ne!(response.status(), 200);

    for (section, expected) in [
        ("session_ttl = \"30 days\"", "[console] session_ttl"),
        ("role = \" \"", "[console] role"),
        ("colour = \"blue\"", "colour"),
    ] {
        let dir = deployment(&format!("[console]\n{section}\n"), &[]);
        let error = match Server::assemble(options(&dir), None).await {
            Ok(_) => panic!("`{section}` was taken"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.contains(expected), "{section}: {error}");
    }
}
