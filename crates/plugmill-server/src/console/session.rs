//! Console sessions: signing in with the admin token or a bearer token that carries the
//! configured operator role, exchanged for a session cookie (HttpOnly, SameSite=Strict,
//! Secure behind TLS, expiring); the guard every console page goes through; and the
//! cross-site checks of every state-changing request (its `Origin` and its CSRF token).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use crate::caller::{same_secret, Caller, CallerKind};
use crate::state::AppState;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "plugmill_console";

/// The most sessions kept at once; the oldest is dropped for a new one beyond it.
const MAX_SESSIONS: usize = 10_000;

/// The largest form a console action takes.
const MAX_FORM: usize = 16 * 1024;

/// A signed-in operator.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// Who they are, for the tenant rules of the task pages.
    pub(crate) caller: Caller,
    /// What the pages call them.
    pub(crate) who: String,
    /// The token every form of theirs carries.
    pub(crate) csrf: String,
    expires: Instant,
}

/// The sessions of a server.
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    ttl: Duration,
}

/// A random token: 244 bits from the operating system's generator, as hex.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            by_id: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// Opens a session for `caller`; its id (the cookie's value) and how long it lasts:
    /// `[console] session_ttl`, and never past the `exp` of the token it was opened with.
    pub(crate) fn open(&self, caller: Caller, who: String) -> (String, Duration) {
        let id = random_token();
        let now = Instant::now();
        let token_left = caller
            .identity
            .as_ref()
            .and_then(|identity| identity.expires)
            .map(|exp| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Duration::from_secs(exp.saturating_sub(now))
            });
        let ttl = token_left.map_or(self.ttl, |left| left.min(self.ttl));
        let mut sessions = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            id.clone(),
            Session {
                caller,
                who,
                csrf: random_token(),
                expires: now + ttl,
            },
        );
        (id, ttl)
    }

    /// The live session of a request's cookie.
    pub(crate) fn of(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers)?;
        let mut sessions = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get(&id) {
            Some(session) if session.expires > Instant::now() => Some(session.clone()),
            Some(_) => {
                sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Ends the session of a request's cookie.
    pub(crate) fn close(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers) {
            self.by_id
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }
}

/// The session id in a request's cookies.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the request came over TLS (to the server or to a proxy in front of it).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` of a new session (`Max-Age=0` for none).
pub(crate) fn set_cookie(headers: &HeaderMap, id: &str, max_age: Duration) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why a sign-in was refused: shown on the sign-in page.
pub(crate) type Refusal = String;

/// Signs in with `token`: the admin token, or a verified bearer token whose roles claim holds
/// `[console] role`.
pub(crate) async fn sign_in(state: &AppState, token: &str) -> Result<(Caller, String), Refusal> {
    let token = token.trim();
    if token.is_empty() {
        return Err("enter the admin token or a bearer token".into());
    }
    if let Some(admin) = &state.settings.admin_token {
        if same_secret(token.as_bytes(), admin.as_bytes()) {
            let caller = Caller {
                kind: CallerKind::Admin,
                identity: None,
            };
            return Ok((caller, "admin".into()));
        }
    }
    if !state.callers.asks_for_tokens() {
        return Err("this server verifies no bearer tokens (no [auth] section): sign in with the admin token ([server] admin_token_env)".into());
    }
    let Some(role) = &state.console.settings.role else {
        return Err("no [console] role is configured: only the admin token signs in".into());
    };
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token holds characters a token cannot hold".to_string())?;
    headers.insert(header::AUTHORIZATION, bearer);
    let caller = state
        .callers
        .recognize(&headers, false)
        .await
        .map_err(|error| {
            crate::metrics::record_refused(error.reason);
            format!("the token was refused: {}", error.message)
        })?;
    let claims: Value = caller
        .claims_json()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let holds_role = claims
        .pointer(&state.console.roles_claim)
        .and_then(Value::as_array)
        .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(role.as_str())));
    if !holds_role {
        return Err(format!(
            "the token does not carry the console role `{role}` in its roles claim"
        ));
    }
    let who = caller.subject().to_string();
    Ok((caller, who))
}

/// Whether a request's `Origin` (else its `Referer`) is this server's own.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let matches = |origin: &str| {
        ["http://", "https://"].iter().any(|scheme| {
            origin
                .strip_prefix(scheme)
                .is_some_and(|rest| rest == host || rest.starts_with(&format!("{host}/")))
        })
    };
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => matches(origin),
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(matches),
    }
}

/// The answer to a request without a session: the sign-in page for a page, 401 otherwise.
fn not_signed_in(method: &Method, path: &str) -> Response {
    if method == Method::GET && !path.ends_with(".json") && !path.starts_with("/console/assets") {
        Redirect::to("/console/login").into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            "sign in to the console first: /console/login",
        )
            .into_response()
    }
}

/// A cross-site request: refused.
fn forged(what: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        format!("refused: {what} (a request from another site cannot change anything here)"),
    )
        .into_response()
}

/// Every console request but the sign-in: a live session is required (it is handed on as a
/// request extension), and a state-changing one must come from this origin and carry the
/// session's CSRF token in its form (`csrf`).
pub(crate) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(session) = state.console.sessions.of(request.headers()) else {
        return not_signed_in(request.method(), request.uri().path());
    };
    let request = if request.method() == Method::GET || request.method() == Method::HEAD {
        request
    } else {
        if !same_origin(request.headers()) {
            return forged("its Origin is not this server");
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
        };
        let given = form_field(&bytes, "csrf");
        if !given.is_some_and(|given| same_secret(given.as_bytes(), session.csrf.as_bytes())) {
            return forged("the form's CSRF token is missing or wrong");
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    let mut request = request;
    request.extensions_mut().insert(session);
    next.run(request).await
}

/// A field of a URL-encoded form.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
