//! The operator console at `/console` (`[console]`, on by default): server-rendered pages
//! built into the binary, behind a session that the admin token or a bearer token with the
//! operator role signs in to.
//!
//! - `config`: `[console]`;
//! - `session`: sign-in, the session cookie, the guard of every page and the cross-site
//!   checks (Origin and CSRF token) of every state-changing request;
//! - `live`: the rolling window of plugin calls the live page draws, fed by the call
//!   observer beside the Prometheus metrics;
//! - `loads`: when the plugins were last loaded and what changed;
//! - `pages`: the sign-in, plugins and live traffic pages, and the templates;
//! - `tasks`: the task records the operator may see, and their cancel and retry buttons;
//! - `assets/`: the templates, the style sheet and the chart script.

pub mod config;
pub mod live;

mod loads;
mod pages;
mod session;
mod tasks;

use std::sync::Arc;

use axum::middleware::{from_fn_with_state, map_response};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use plugmill::capabilities::authorization::{Authorization, Policy};

pub use config::ConsoleSettings;
pub use live::LiveStats;
pub(crate) use loads::LoadLog;

use crate::middleware::RouteLabel;
use crate::state::AppState;

/// What the console is made of: its settings and the live window the call observer feeds.
pub(crate) type ConsoleParts = (ConsoleSettings, Arc<LiveStats>);

/// What the console keeps: its settings, sessions, the live window and the templates.
pub(crate) struct Console {
    pub(crate) settings: ConsoleSettings,
    pub(crate) sessions: session::Sessions,
    pub(crate) live: Arc<LiveStats>,
    pub(crate) loads: LoadLog,
    /// Where a token's roles are (the authorization capability's roles claim).
    pub(crate) roles_claim: String,
    pub(crate) templates: minijinja::Environment<'static>,
}

impl Console {
    pub(crate) fn new(
        settings: ConsoleSettings,
        live: Arc<LiveStats>,
        authorization: Option<&Authorization>,
    ) -> Self {
        let policy = authorization.map_or_else(Policy::default, |a| a.policy().clone());
        Self {
            sessions: session::Sessions::new(settings.session_ttl),
            settings,
            live,
            loads: LoadLog::default(),
            roles_claim: policy.roles_claim,
            templates: pages::templates(),
        }
    }
}

/// The console's routes (none when `[console] enabled = false`).
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    if !state.console.settings.enabled {
        return Router::new();
    }
    let guarded = Router::new()
        .route("/console", get(pages::home))
        .route("/console/plugins", get(pages::plugins))
        .route("/console/reload", post(pages::reload))
        .route("/console/live", get(pages::live))
        .route("/console/live.json", get(pages::live_json))
        .route("/console/assets/console.js", get(pages::script))
        .route("/console/tasks", get(tasks::list))
        .route("/console/tasks/{id}", get(tasks::show))
        .route("/console/tasks/{id}/cancel", post(tasks::cancel))
        .route("/console/tasks/{id}/retry", post(tasks::retry))
        .route("/console/logout", post(pages::sign_out))
        .route_layer(from_fn_with_state(state.clone(), session::guard));
    Router::new()
        .route(
            "/console/login",
            get(pages::sign_in_page).post(pages::sign_in),
        )
        .merge(guarded)
        .layer(map_response(label))
}

/// Every console answer is counted under one route label.
async fn label(mut response: Response) -> Response {
    response
        .extensions_mut()
        .insert(RouteLabel("/console".into()));
    response
}
