//! Bearer tokens: how a request's `Authorization: Bearer <JWT>` becomes the caller's claims.
//!
//! - no `[auth]`: no token is asked for and no claims are injected (local use);
//! - `hs256_secret_env`: HS256 with a shared secret;
//! - `jwks_url`: RS256/ES256 (and the other RSA and EC algorithms) with the keys of a JWKS
//!   document, cached and refetched on an unknown key id at most once per interval, as an
//!   identity provider rotates its keys ([`jwks`]);
//! - `trust_unverified`: decoded without verification, the seed's behaviour behind a gateway
//!   that verifies (a warning says so at start).
//!
//! `exp` and `nbf` are always checked (with a small leeway), in every mode, `trust_unverified`
//! included; when `issuer` or `audience` is configured, a token must carry it (a token
//! without `iss` or `aud` is refused like one with the wrong value). A token's algorithm must
//! be one its key is for: `none`, and an HMAC token presented to an RSA or EC key (algorithm
//! confusion), are refused.
//!
//! [`cache`] remembers what verified tokens said, so a token is verified once and reused
//! until it expires (never longer than `token_cache_max_age`, nor past a change of the
//! identity provider's keys).

pub mod cache;
pub mod jwks;

use std::time::Duration;

use axum::http::HeaderValue;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::AuthConfig;
use jwks::JwksKeys;

/// Why a request's token was refused. The message is safe to answer with; the reason is a
/// short fixed label (`missing`, `malformed`, `expired`, `not_yet_valid`, `signature`,
/// `algorithm`, `issuer`, `audience`, `unknown_key`, `claims`), for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    /// The label counted in `plugmill_auth_refused_total{reason}`.
    pub reason: &'static str,
    /// What was wrong, for the answer.
    pub message: String,
}

impl AuthError {
    /// A refusal for `reason`, saying `message`.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// A problem with the `[auth]` configuration.
#[derive(Debug, thiserror::Error)]
#[error("[auth] {0}")]
pub struct AuthConfigError(pub String);

/// How tokens are verified.
pub enum Verifier {
    /// No token is asked for.
    Open,
    /// HS256 with a shared secret.
    Hs256 {
        /// The secret.
        key: DecodingKey,
        /// exp, nbf, iss, aud.
        validation: Validation,
    },
    /// Keys from a JWKS document.
    Jwks(JwksKeys),
    /// Decoded without verification (behind a gateway that verifies); `exp` and `nbf`, and
    /// `iss` and `aud` when configured, are still checked.
    Unverified(Validation),
}

impl Verifier {
    /// The verifier `[auth]` describes (`None`: no `[auth]` section).
    pub async fn from_config(auth: Option<&AuthConfig>) -> Result<Self, AuthConfigError> {
        let Some(auth) = auth else {
            return Ok(Verifier::Open);
        };
        let leeway = auth.leeway.map_or(Duration::from_secs(30), |d| d.0);
        let chosen = [
            auth.hs256_secret_env.is_some(),
            auth.jwks_url.is_some(),
            auth.trust_unverified,
        ];
        match chosen {
            [true, false, false] => {
                let variable = auth.hs256_secret_env.as_deref().unwrap_or_default();
                let secret = std::env::var(variable).ok().filter(|s| !s.is_empty()).ok_or_else(|| {
                    AuthConfigError(format!(
                        "hs256_secret_env: the environment variable `{variable}` is not set"
                    ))
                })?;
                if secret.len() < 32 {
                    tracing::warn!(variable, "the HS256 secret is shorter than 32 bytes: use a longer random secret");
                }
                Ok(Verifier::Hs256 {
                    key: DecodingKey::from_secret(secret.as_bytes()),
                    validation: validation(Algorithm::HS256, auth, leeway),
                })
            }
            [false, true, false] => {
                let url = auth.jwks_url.clone().unwrap_or_default();
                let refetch = auth.jwks_refetch_interval.map_or(Duration::from_secs(30), |d| d.0);
                let keys = JwksKeys::new(url, refetch, auth.clone(), leeway)
                    .map_err(AuthConfigError)?;
                keys.refresh_at_start().await;
                Ok(Verifier::Jwks(keys))
            }
            [false, false, true] => {
                tracing::warn!("[auth] trust_unverified: tokens are decoded without verifying their signature; only safe behind a gateway that verifies them");
                Ok(Verifier::Unverified(validation(Algorithm::HS256, auth, leeway)))
            }
            _ => Err(AuthConfigError(
                "choose one way to verify tokens: hs256_secret_env, jwks_url or trust_unverified = true".into(),
            )),
        }
    }

    /// Whether requests need a token.
    pub fn asks_for_tokens(&self) -> bool {
        !matches!(self, Verifier::Open)
    }

    /// The identity provider's key generation: it changes whenever the keys do, so that
    /// what was verified with the old keys is verified again (always 0 without a JWKS).
    pub fn key_generation(&self) -> u64 {
        match self {
            Verifier::Jwks(keys) => keys.generation(),
            _ => 0,
        }
    }

    /// The caller's claims from the `Authorization` header: `None` when no token is asked
    /// for, an error when the token is missing, malformed, expired or wrongly signed.
    pub async fn verify(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<Value>, AuthError> {
        if let Verifier::Open = self {
            return Ok(None);
        }
        self.verify_token(bearer(authorization)?).await.map(Some)
    }

    /// The claims of `token`, verified as `[auth]` says (an open verifier refuses it).
    pub async fn verify_token(&self, token: &str) -> Result<Value, AuthError> {
        let claims = match self {
            Verifier::Open => {
                return Err(AuthError::new("malformed", "no token is asked for here"))
            }
            Verifier::Hs256 { key, validation } => decode(token, key, validation)?,
            Verifier::Jwks(keys) => keys.verify(token).await?,
            Verifier::Unverified(validation) => {
                let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
                    .map(|data| data.claims)
                    .map_err(|e| {
                        AuthError::new("malformed", format!("the token is malformed: {e}"))
                    })?;
                check_unverified(&claims, validation)?;
                claims
            }
        };
        if !claims.is_object() {
            return Err(AuthError::new(
                "claims",
                "the token's claims are not a JSON object",
            ));
        }
        Ok(claims)
    }
}

/// The token of a `Bearer` authorization header.
pub fn bearer(authorization: Option<&HeaderValue>) -> Result<&str, AuthError> {
    let value = authorization
        .ok_or_else(|| {
            AuthError::new(
                "missing",
                "a bearer token is required: Authorization: Bearer <JWT>",
            )
        })?
        .to_str()
        .map_err(|_| AuthError::new("malformed", "the Authorization header is not text"))?;
    let not_bearer = || {
        AuthError::new(
            "malformed",
            "the Authorization header is not `Bearer <JWT>`",
        )
    };
    let (scheme, token) = value.split_once(' ').ok_or_else(not_bearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(not_bearer());
    }
    Ok(token.trim())
}

/// The checks of a verified token applied to an unverified one's claims: `exp` (required)
/// and `nbf` within the leeway, and `iss` and `aud` when configured (required then).
fn check_unverified(claims: &Value, validation: &Validation) -> Result<(), AuthError> {
    let now = jsonwebtoken::get_current_timestamp();
    let leeway = validation.leeway;
    let time = |name: &str| claims.get(name).and_then(Value::as_u64);
    match time("exp") {
        None => {
            return Err(AuthError::new(
                "claims",
                "the token lacks a required claim (exp)",
            ))
        }
        Some(exp) if exp.saturating_add(leeway) < now => {
            return Err(AuthError::new("expired", "the token has expired"))
        }
        Some(_) => {}
    }
    if claims.get("nbf").is_some_and(|nbf| !nbf.is_u64()) {
        return Err(AuthError::new("malformed", "the token is malformed (nbf)"));
    }
    if time("nbf").is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(AuthError::new(
            "not_yet_valid",
            "the token is not valid yet (nbf)",
        ));
    }
    if let Some(issuers) = &validation.iss {
        match claims.get("iss").and_then(Value::as_str) {
            None => return Err(missing_claim("iss")),
            Some(iss) if !issuers.contains(iss) => {
                return Err(AuthError::new(
                    "issuer",
                    "the token's issuer is not the expected one",
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(audiences) = &validation.aud {
        let given: Vec<&str> = match claims.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => return Err(missing_claim("aud")),
        };
        if !given.iter().any(|aud| audiences.contains(*aud)) {
            return Err(AuthError::new(
                "audience",
                "the token's audience is not the expected one",
            ));
        }
    }
    Ok(())
}

fn missing_claim(claim: &str) -> AuthError {
    AuthError::new(
        "claims",
        format!("the token lacks a required claim ({claim})"),
    )
}

/// The checks every verified token gets: its algorithm, `exp` and `nbf`, and `iss`/`aud`
/// when configured.
pub(crate) fn validation(algorithm: Algorithm, auth: &AuthConfig, leeway: Duration) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = leeway.as_secs();
    // A configured issuer or audience is required, not only checked when present.
    let mut required = vec!["exp"];
    match &auth.issuer {
        Some(issuer) => {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        None => validation.iss = None,
    }
    match &auth.audience {
        Some(audience) => {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

/// Verifies and decodes a token; the error says what was wrong without echoing it.
pub(crate) fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Value, AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    jsonwebtoken::decode::<Value>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|error| {
            let (reason, message) = match error.kind() {
                ErrorKind::ExpiredSignature => ("expired", "the token has expired".to_string()),
                ErrorKind::ImmatureSignature => (
                    "not_yet_valid",
                    "the token is not valid yet (nbf)".to_string(),
                ),
                ErrorKind::InvalidSignature => (
                    "signature",
                    "the token's signature does not verify".to_string(),
                ),
                ErrorKind::InvalidAlgorithm => (
                    "algorithm",
                    "the token's algorithm is not accepted here".to_string(),
                ),
                ErrorKind::InvalidIssuer => (
                    "issuer",
                    "the token's issuer is not the expected one".to_string(),
                ),
                ErrorKind::InvalidAudience => (
                    "audience",
                    "the token's audience is not the expected one".to_string(),
                ),
                ErrorKind::MissingRequiredClaim(claim) => (
                    "claims",
                    format!("the token lacks a required claim ({claim})"),
                ),
                _ => ("malformed", "the token is malformed".to_string()),
            };
            AuthError::new(reason, message)
        })
}
