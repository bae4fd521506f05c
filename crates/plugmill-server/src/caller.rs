//! [`Caller`]: who is calling, derived once per request from the verified token, the admin
//! token or open mode, and carried to every handler (a request extension). Every decision
//! about what a request may see or do is made from it:
//!
//! | caller | records it sees | tasks it creates belong to | per-tenant limits |
//! |---|---|---|---|
//! | operator (no `[auth]`) | all | no tenant | none |
//! | admin token (task routes only) | all | (creates none) | none |
//! | token of the super-admin tenant | all | its tenant | its tenant's |
//! | token with a tenant | its tenant's | its tenant | its tenant's |
//! | token without a tenant | none | no tenant, only with `[auth] allow_tenantless` | one shared bucket |
//!
//! The tenant is read where the authorization capability reads it (`[authorization]
//! tenant_claim`), and the super-admin tenant is the capability's too: plugins and the
//! server agree on who a caller is.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plugmill::capabilities::authorization::{Authorization, Policy};
use plugmill_tasks::Scope;
use serde_json::Value;

use crate::auth::cache::TokenCache;
use crate::auth::{bearer, AuthError, Verifier};
use crate::config::ServerSettings;
use crate::error::ApiError;
use crate::state::AppState;

/// How a request's caller was recognized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// No `[auth]`: every caller is the operator (local use, loopback by default).
    Operator,
    /// The admin token of `[server] admin_token_env` (task routes and admin endpoints).
    Admin,
    /// A verified bearer token.
    Token,
}

/// What a verified token says, derived once and remembered with the token.
#[derive(Debug)]
pub struct Identity {
    /// The claims as a JSON text: what `data.claims` receives, serialized once.
    pub claims_json: Arc<str>,
    /// The member `"claims":"<claims_json as a JSON string>"` spliced into a caller's data,
    /// written once.
    pub claims_member: Arc<str>,
    /// `sub`, for the audit log.
    pub subject: Option<String>,
    /// `name`, else `preferred_username`, else `sub`: the records' `executed_by`.
    pub name: Option<String>,
    /// `name`, else the Hasura user id (`x-hasura-user-id`), else `sub`: `executed_by_user`
    /// of the seed's records, as the seed's API sets it.
    pub seed_name: Option<String>,
    /// The tenant claim, where the authorization capability reads it.
    pub tenant: Option<Arc<str>>,
    /// Whether the tenant is the super-admin tenant.
    pub super_admin: bool,
    /// `exp`, seconds since the epoch.
    pub expires: Option<u64>,
}

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Caller {
    /// How they were recognized.
    pub kind: CallerKind,
    /// What their token says (tokens only).
    pub identity: Option<Arc<Identity>>,
}

impl Caller {
    const OPERATOR: Caller = Caller {
        kind: CallerKind::Operator,
        identity: None,
    };
    const ADMIN: Caller = Caller {
        kind: CallerKind::Admin,
        identity: None,
    };

    /// The records this caller sees: `None` for a token without a tenant (it sees none).
    pub fn scope(&self) -> Option<Scope> {
        match (&self.kind, &self.identity) {
            (CallerKind::Operator | CallerKind::Admin, _) => Some(Scope::All),
            (CallerKind::Token, Some(identity)) if identity.super_admin => Some(Scope::All),
            (CallerKind::Token, Some(identity)) => identity
                .tenant
                .as_ref()
                .map(|tenant| Scope::Tenant(tenant.to_string())),
            (CallerKind::Token, None) => None,
        }
    }

    /// The tenant that work this caller creates belongs to; a token without a tenant may
    /// create work (of no tenant) only when `allow_tenantless` is set.
    pub fn owner(&self, allow_tenantless: bool) -> Result<Option<String>, ApiError> {
        match self.kind {
            CallerKind::Operator => Ok(None),
            CallerKind::Admin => Err(ApiError::Forbidden(
                "the admin token reads and cancels tasks; it does not queue them".into(),
            )),
            CallerKind::Token => match self.tenant() {
                Some(tenant) => Ok(Some(tenant.to_string())),
                None if allow_tenantless => Ok(None),
                None => Err(ApiError::Forbidden(
                    "the token carries no tenant: only a tenant's callers may queue tasks ([auth] allow_tenantless allows others)".into(),
                )),
            },
        }
    }

    /// The bucket of the per-tenant limits: a token's tenant (`""` for none); the operator
    /// and the admin are not limited per tenant.
    pub fn limit_key(&self) -> Option<Arc<str>> {
        match (&self.kind, &self.identity) {
            (CallerKind::Token, Some(identity)) => {
                Some(identity.tenant.clone().unwrap_or_else(|| Arc::from("")))
            }
            _ => None,
        }
    }

    /// The caller's tenant, from their token.
    pub fn tenant(&self) -> Option<&str> {
        self.identity.as_ref()?.tenant.as_deref()
    }

    /// Who the caller is, for the audit log: `operator`, `admin`, or the token's `sub`.
    pub fn subject(&self) -> &str {
        match self.kind {
            CallerKind::Operator => "operator",
            CallerKind::Admin => "admin",
            CallerKind::Token => self
                .identity
                .as_ref()
                .and_then(|identity| identity.subject.as_deref().or(identity.name.as_deref()))
                .unwrap_or("-"),
        }
    }

    /// The name a record keeps as `executed_by`.
    pub fn name(&self) -> Option<String> {
        self.identity.as_ref()?.name.clone()
    }

    /// The name a record in the seed's layout keeps as `executed_by_user`: the claims'
    /// `name`, else the Hasura user id.
    pub fn seed_name(&self) -> Option<String> {
        self.identity.as_ref()?.seed_name.clone()
    }

    /// The verified claims as JSON text, injected as `data.claims`.
    pub fn claims_json(&self) -> Option<&str> {
        self.identity
            .as_ref()
            .map(|identity| &*identity.claims_json)
    }

    /// The member `data.claims` gets: `"claims":"<the claims as a JSON string>"`.
    pub(crate) fn claims_member(&self) -> Option<&str> {
        self.identity
            .as_ref()
            .map(|identity| &*identity.claims_member)
    }
}

/// Recognizes callers: verifies tokens (remembering what verified ones said) and derives
/// their tenant with the authorization capability's policy.
pub struct Callers {
    verifier: Verifier,
    cache: TokenCache<Arc<Identity>>,
    tenant_claim: String,
    super_admin_tenant: Option<String>,
    admin_token: Option<String>,
}

impl Callers {
    /// Callers recognized by `verifier`, with the tenant rules of `authorization` (the
    /// seed's defaults without it).
    pub fn new(
        verifier: Verifier,
        authorization: Option<&Authorization>,
        settings: &ServerSettings,
    ) -> Self {
        let policy = authorization.map_or_else(Policy::default, |a| a.policy().clone());
        let (entries, max_age) = settings.auth.as_ref().map_or((0, 0), |auth| {
            (
                auth.token_cache_entries.unwrap_or(10_000),
                auth.token_cache_max_age.map_or(60, |age| age.0.as_secs()),
            )
        });
        Self {
            verifier,
            cache: TokenCache::new(entries, std::time::Duration::from_secs(max_age)),
            tenant_claim: policy.tenant_claim,
            super_admin_tenant: policy.super_admin_tenant,
            admin_token: settings.admin_token.clone(),
        }
    }

    /// Whether requests need a token.
    pub fn asks_for_tokens(&self) -> bool {
        self.verifier.asks_for_tokens()
    }

    /// The caller of a request with `headers`; the admin token is recognized when `admin`.
    pub async fn recognize(&self, headers: &HeaderMap, admin: bool) -> Result<Caller, AuthError> {
        if !self.verifier.asks_for_tokens() {
            return Ok(Caller::OPERATOR);
        }
        let token = bearer(headers.get(header::AUTHORIZATION))?;
        if admin {
            if let Some(expected) = &self.admin_token {
                if same_secret(token.as_bytes(), expected.as_bytes()) {
                    return Ok(Caller::ADMIN);
                }
            }
        }
        let generation = self.verifier.key_generation();
        if let Some(identity) = self.cache.get(token, generation) {
            return Ok(Caller {
                kind: CallerKind::Token,
                identity: Some(identity),
            });
        }
        let claims = self.verifier.verify_token(token).await?;
        let identity = Arc::new(self.identity(&claims));
        self.cache
            .insert(token, identity.clone(), identity.expires, generation);
        Ok(Caller {
            kind: CallerKind::Token,
            identity: Some(identity),
        })
    }

    fn identity(&self, claims: &Value) -> Identity {
        let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_string);
        let tenant = claims
            .pointer(&self.tenant_claim)
            .and_then(Value::as_str)
            .filter(|tenant| !tenant.is_empty())
            .map(Arc::<str>::from);
        let super_admin = match (&tenant, &self.super_admin_tenant) {
            (Some(tenant), Some(admin)) => &**tenant == admin.as_str(),
            _ => false,
        };
        let claims_json = claims.to_string();
        Identity {
            claims_member: Arc::from(crate::data::claims_member(&claims_json)),
            claims_json: Arc::from(claims_json),
            subject: text("sub"),
            name: text("name")
                .or_else(|| text("preferred_username"))
                .or_else(|| text("sub")),
            seed_name: text("name")
                .or_else(|| {
                    claims
                        .pointer("/https:~1~1hasura.io~1jwt~1claims/x-hasura-user-id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| text("sub")),
            tenant,
            super_admin,
            expires: claims.get("exp").and_then(Value::as_u64),
        }
    }
}

/// Compares two secrets in time that depends on their lengths only.
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// Recognizes the caller of a plugin call or task submission (tokens only, no admin token)
/// and hands it on as a request extension; 401 when the token is refused.
pub(crate) async fn identify(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    identify_with(state, request, next, false).await
}

/// Like [`identify`], the admin token recognized too (reading and cancelling tasks).
pub(crate) async fn identify_or_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    identify_with(state, request, next, true).await
}

async fn identify_with(state: AppState, mut request: Request, next: Next, admin: bool) -> Response {
    match state.callers.recognize(request.headers(), admin).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => {
            crate::metrics::record_refused(error.reason);
            ApiError::Unauthorized(error.message).into_response()
        }
    }
}
