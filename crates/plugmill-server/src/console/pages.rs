//! The console's pages: sign-in, plugins (with the reload button) and live traffic, and the
//! templates every page is rendered from (built into the binary, HTML escaped).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Extension, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use minijinja::{context, Environment, Value};
use serde::{Deserialize, Serialize};

use super::session::{self, Session};
use crate::audit::{self, Action};
use crate::state::AppState;

/// Plugins shown on one page of the plugins list.
const PLUGINS_PER_PAGE: usize = 100;

/// The templates, built into the binary.
pub(super) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("assets/base.html")),
        ("login.html", include_str!("assets/login.html")),
        ("plugins.html", include_str!("assets/plugins.html")),
        ("live.html", include_str!("assets/live.html")),
        ("tasks.html", include_str!("assets/tasks.html")),
        ("task.html", include_str!("assets/task.html")),
    ] {
        env.add_template(name, source)
            .expect("the console's templates are checked by its tests");
    }
    env
}

/// Renders `template` with `context`; a template error is the server's fault (500).
pub(super) fn render(state: &AppState, template: &str, context: Value) -> Response {
    let rendered = state
        .console
        .templates
        .get_template(template)
        .and_then(|t| t.render(context));
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, template, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// What every signed-in page shows: who is signed in, their form token, the page.
pub(super) fn frame(session: &Session, page: &str) -> Value {
    context! { who => &session.who, csrf => &session.csrf, page => page }
}

/// `GET /console`: the plugins page.
pub(super) async fn home() -> Redirect {
    Redirect::to("/console/plugins")
}

/// `GET /console/login`.
pub(super) async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.console.sessions.of(&headers).is_some() {
        return Redirect::to("/console/plugins").into_response();
    }
    render(&state, "login.html", context! { error => () })
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    token: String,
}

/// `POST /console/login`: a token exchanged for a session cookie; from this origin only.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    if !session::same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "refused: the sign-in must come from this server's own page",
        )
            .into_response();
    }
    let token = form.map(|Form(f)| f.token).unwrap_or_default();
    match session::sign_in(&state, &token).await {
        Ok((caller, who)) => {
            audit::record(Action::SignIn, &caller, "console", "ok");
            let (id, ttl) = state.console.sessions.open(caller, who);
            let cookie = session::set_cookie(&headers, &id, ttl);
            let mut response = Redirect::to("/console/plugins").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => {
            let mut response = render(&state, "login.html", context! { error => error });
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    }
}

/// `POST /console/logout`.
pub(super) async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.console.sessions.close(&headers);
    let mut response = Redirect::to("/console/login").into_response();
    let cookie = session::set_cookie(&headers, "", std::time::Duration::ZERO);
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[derive(Default, Deserialize)]
pub(super) struct PluginsQuery {
    q: Option<String>,
    page: Option<usize>,
}

#[derive(Serialize)]
struct PluginRow {
    name: String,
    file: String,
    sha256: String,
    hooks: Vec<String>,
    routes: Vec<String>,
    tasks: Vec<String>,
    warnings: Vec<String>,
    stocked: Option<usize>,
    signature: &'static str,
    capabilities: Vec<String>,
}

/// `GET /console/plugins?q=&page=`: the plugins loaded (a page of 100, filtered by name), the
/// files rejected with their codes, the warnings, and the last load.
pub(super) async fn plugins(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    query: Result<Query<PluginsQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let registry = state.host.manager().registry();
    let filter = query.q.as_deref().map(str::trim).unwrap_or_default();
    let matching: Vec<_> = registry
        .plugins()
        .iter()
        .filter(|p| filter.is_empty() || p.name().contains(filter))
        .collect();
    let pages = matching.len().div_ceil(PLUGINS_PER_PAGE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<PluginRow> = matching
        .iter()
        .skip((page - 1) * PLUGINS_PER_PAGE)
        .take(PLUGINS_PER_PAGE)
        .map(|plugin| {
            let summary = plugin.summary();
            PluginRow {
                name: summary.name,
                file: summary.file,
                sha256: summary.sha256,
                hooks: summary.hooks,
                routes: summary
                    .routes
                    .iter()
                    .map(|r| {
                        let task = if r.process_as_task {
                            " (also a task)"
                        } else {
                            ""
                        };
                        format!("{} → {}{task}", r.path, r.handler)
                    })
                    .collect(),
                tasks: summary.tasks,
                warnings: plugin.warnings().to_vec(),
                stocked: plugin.stocked_instances(),
                signature: plugin.signature_state().as_str(),
                capabilities: plugin.capabilities().to_vec(),
            }
        })
        .collect();
    let (last, failed) = state.console.loads.last();
    let last = last.map(|load| {
        context! {
            at => load.at,
            trigger => load.trigger,
            rejected => load.report.rejected,
            warnings => load.report.warnings,
            changes => load.report.changes,
        }
    });
    let failed = failed.map(|f| context! { at => f.at, error => f.error });
    let context = context! {
        total => registry.plugins().len(),
        generation => registry.generation(),
        matching => matching.len(),
        q => filter,
        page => page,
        pages => pages,
        plugins => rows,
        last => last,
        failed => failed,
        ..frame(&session, "plugins")
    };
    render(&state, "plugins.html", context)
}

/// `POST /console/reload`: reloads the plugins; the plugins page then shows what changed.
pub(super) async fn reload(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    match state.host.reload().await {
        Ok(report) => {
            audit::record(Action::Reload, &session.caller, "plugins", "ok");
            state.console.loads.record("console", Ok(&report));
        }
        Err(error) => {
            audit::record(Action::Reload, &session.caller, "plugins", "failed");
            tracing::error!(error = format!("{error:#}"), "the reload failed");
            state
                .console
                .loads
                .record("console", Err(format!("{error:#}")));
        }
    }
    Redirect::to("/console/plugins?reloaded=1").into_response()
}

/// `GET /console/live`: the live traffic page (its script polls `live.json`).
pub(super) async fn live(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    render(&state, "live.html", frame(&session, "live"))
}

#[derive(Default, Deserialize)]
pub(super) struct LiveQuery {
    seconds: Option<u64>,
}

/// `GET /console/live.json?seconds=`: the window's last seconds (default 300, at most 600).
pub(super) async fn live_json(
    State(state): State<AppState>,
    query: Result<Query<LiveQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let snapshot = state.console.live.snapshot(query.seconds.unwrap_or(300));
    let mut response = Json(snapshot).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("a header"));
    response
}

/// `GET /console/assets/console.js`: the live page's script.
pub(super) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/console.js"),
    )
        .into_response()
}
