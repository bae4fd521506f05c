//! The outbound HTTP capability: `wasi:http/outgoing-handler` (and `wasi:http/types`) from
//! wasmtime-wasi-http, so a plugin written for `wasi:http` in any language makes requests,
//! but only where host configuration lets it.
//!
//! ```toml
//! [plugins.miru]
//! http = ["https://api.example.com", "https://*.internal:8443", "http://127.0.0.1:9000"]
//!
//! [http]                       # limits of every request (these are the defaults)
//! timeout = "30s"              # per request, redirects included; the call's deadline bounds it
//! max_response = "16 MiB"      # a longer answer is cut
//! max_request = "16 MiB"       # a longer request body is refused
//! max_redirects = 5            # the host follows redirects, each hop checked again
//! ```
//!
//! Denied by default: a plugin with no `http` rule reaches nothing. A rule names a scheme, a
//! host (`*.` covers every subdomain) and a port (the scheme's when none is written, `*` for
//! any). A host name is resolved once per hop and the connection goes to the addresses just
//! checked: loopback, private, link-local, metadata and other non-public addresses are
//! refused ([`address`]) unless the rule names the address itself. The host follows
//! redirects up to the limit, each hop checked like the first (scheme, host, port, addresses),
//! and drops credentials when the origin changes. Each refusal is logged with its reason and
//! counted ([`metrics`]); the plugin sees the standard `wasi:http` error code:
//! `HTTP-request-denied` for a host not listed, `destination-IP-prohibited` for a refused
//! address, `HTTP-response-body-size` for an answer over the cap, `connection-read-timeout`
//! for a server that does not answer in time, `loop-detected` for too many redirects.

pub mod address;
mod limits;
pub mod metrics;
pub mod rules;
mod send;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use futures::future::BoxFuture;
use serde::Deserialize;
use wasmtime::component::Linker;
use wasmtime_wasi_http::p2::bindings::{http as wit, LinkOptions};
use wasmtime_wasi_http::{WasiHttp, WasiHttpCtx, WasiHttpCtxView};

pub use limits::HttpLimits;
pub use rules::{Rule, Target};

use crate::capabilities::{Admission, CallScope, Capability, ScopeContext};
use crate::config::values::{ByteSize, HumanDuration};
use crate::config::{ConfigError, HostConfig};
use crate::grants::PluginGrants;
use crate::host::HostState;
use send::Outbound;

/// The most redirects configuration may allow.
const MAX_REDIRECTS: u32 = 20;
/// The largest body cap configuration may set: 1 GiB.
const MAX_BODY: u64 = 1 << 30;

/// `[http]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSection {
    timeout: Option<HumanDuration>,
    max_response: Option<ByteSize>,
    max_request: Option<ByteSize>,
    max_redirects: Option<u32>,
}

/// The outbound HTTP capability: each plugin's allowlist and the limits.
#[derive(Debug, Default)]
pub struct OutboundHttp {
    rules: PluginGrants<Vec<Rule>>,
    limits: HttpLimits,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

impl Clone for OutboundHttp {
    fn clone(&self) -> Self {
        Self {
            rules: self.rules.clone(),
            limits: self.limits,
            tls: OnceLock::new(),
        }
    }
}

impl OutboundHttp {
    /// Lets `plugin` (every plugin, with `*`) reach what `rule` covers.
    pub fn allow(&mut self, plugin: &str, rule: Rule) -> &mut Self {
        self.rules.entry(plugin).push(rule);
        self
    }

    /// Sets the limits of every request.
    pub fn set_limits(&mut self, limits: HttpLimits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The limits of every request.
    pub fn limits(&self) -> HttpLimits {
        self.limits
    }

    /// The rules of `plugin`: its own and those given to every plugin.
    pub fn rules_of(&self, plugin: &str) -> Vec<Rule> {
        self.rules.resolve(plugin)
    }

    /// Sends one request for `plugin` from the host (for host interfaces built on outbound
    /// HTTP), under the same allowlist, address checks and limits as the plugin's own
    /// requests, by `deadline`. The answer's status and body, or why it failed.
    pub async fn send_for(
        &self,
        plugin: &str,
        deadline: std::time::Instant,
        request: http::Request<bytes::Bytes>,
    ) -> Result<(http::StatusCode, bytes::Bytes), String> {
        use http_body_util::BodyExt as _;
        let outbound = Outbound {
            plugin: Arc::from(plugin),
            rules: self.rules_of(plugin).into(),
            limits: self.limits,
            deadline,
            tls: self.tls(),
        };
        let request = request.map(|body| {
            http_body_util::Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync()
        });
        let (response, _io) = outbound
            .send(request, None)
            .await
            .map_err(|e| send::describe(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| send::describe(&e))?
            .to_bytes();
        Ok((status, body))
    }

    /// Client TLS: the Mozilla roots of `webpki-roots`, built on first use.
    fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls
            .get_or_init(|| {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.into(),
                };
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("the default protocol versions are supported")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Arc::new(config)
            })
            .clone()
    }
}

impl Capability for OutboundHttp {
    fn name(&self) -> &'static str {
        "http"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        &["wasi:http/outgoing-handler", "wasi:http/types"]
    }

    fn config_sections(&self) -> &'static [&'static str] {
        &["http"]
    }

    fn plugin_keys(&self) -> &'static [&'static str] {
        &["http"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let entries: BTreeMap<String, Vec<String>> = config.plugin_entries("http")?;
        for (plugin, texts) in entries {
            for text in texts {
                let rule = Rule::parse(&text).map_err(|problem| {
                    config.error(format!("[plugins.{plugin}] http: {problem}"))
                })?;
                self.allow(&plugin, rule);
            }
        }
        let Some(section) = config.section::<HttpSection>(&["http"])? else {
            return Ok(());
        };
        if let Some(timeout) = section.timeout {
            self.limits.timeout = timeout.0;
        }
        for (key, size, slot) in [
            (
                "max_response",
                section.max_response,
                &mut self.limits.max_response,
            ),
            (
                "max_request",
                section.max_request,
                &mut self.limits.max_request,
            ),
        ] {
            if let Some(size) = size {
                *slot = size
                    .within(1, MAX_BODY)
                    .map_err(|e| config.error(format!("[http] {key}: {e}")))?;
            }
        }
        if let Some(redirects) = section.max_redirects {
            if redirects > MAX_REDIRECTS {
                return Err(config.error(format!(
                    "[http] max_redirects: {redirects} is over {MAX_REDIRECTS}, the most allowed"
                )));
            }
            self.limits.max_redirects = redirects;
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        fn view(state: &mut HostState) -> WasiHttpCtxView<'_> {
            let (scope, table) = state.call_scope_and_table(HttpScope::new);
            WasiHttpCtxView {
                ctx: &mut scope.ctx,
                hooks: &mut scope.outbound,
                table,
            }
        }
        wit::outgoing_handler::add_to_linker::<HostState, WasiHttp>(linker, view)?;
        wit::types::add_to_linker::<HostState, WasiHttp>(
            linker,
            &LinkOptions::default().into(),
            view,
        )?;
        Ok(())
    }

    fn admit(&self, plugin: &str, interface: &str) -> Admission {
        if !interface.starts_with("wasi:http/outgoing-handler")
            || !self.rules.resolve(plugin).is_empty()
        {
            return Admission::Admitted;
        }
        Admission::Warn(format!(
            "imports `{interface}` but may reach no host: its requests are refused until host configuration lists some (`http = [...]` under [plugins.{plugin}])"
        ))
    }
}

/// What one call holds for `wasi:http`: the context and the sender of its requests.
struct HttpScope {
    ctx: WasiHttpCtx,
    outbound: Outbound,
}

impl HttpScope {
    fn new(context: ScopeContext<'_>) -> Self {
        let (rules, limits, tls) = match context.shared.get::<OutboundHttp>() {
            Some(http) => (http.rules_of(context.plugin), http.limits, http.tls()),
            None => (
                Vec::new(),
                HttpLimits::default(),
                OutboundHttp::default().tls(),
            ),
        };
        Self {
            ctx: WasiHttpCtx::new(),
            outbound: Outbound {
                plugin: context.plugin.clone(),
                rules: rules.into(),
                limits,
                deadline: context.deadline,
                tls,
            },
        }
    }
}

impl CallScope for HttpScope {
    fn end_call(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
