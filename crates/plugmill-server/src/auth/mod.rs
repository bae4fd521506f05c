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
//! `exp` and `nbf` are always checked (with a small leeway), `iss` and `aud` when configured.
//! A token's algorithm must be one its key is for: `none`, and an HMAC token presented to an
//! RSA or EC key (algorithm confusion), are refused.

pub mod jwks;

use std::time::Duration;

use axum::http::HeaderValue;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::config::AuthConfig;
use jwks::JwksKeys;

/// Why a request's token was refused. The message is safe to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

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
    /// Decoded without verification (behind a gateway that verifies).
    Unverified,
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
                Ok(Verifier::Unverified)
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

    /// The caller's claims from the `Authorization` header: `None` when no token is asked
    /// for, an error when the token is missing, malformed, expired or wrongly signed.
    pub async fn verify(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<Value>, AuthError> {
        if let Verifier::Open = self {
            return Ok(None);
        }
        let token = bearer(authorization)?;
        let claims = match self {
            Verifier::Open => return Ok(None),
            Verifier::Hs256 { key, validation } => decode(token, key, validation)?,
            Verifier::Jwks(keys) => keys.verify(token).await?,
            Verifier::Unverified => jsonwebtoken::dangerous::insecure_decode::<Value>(token)
                .map(|data| data.claims)
                .map_err(|e| AuthError(format!("the token is malformed: {e}")))?,
        };
        if !claims.is_object() {
            return Err(AuthError("the token's claims are not a JSON object".into()));
        }
        Ok(Some(claims))
    }
}

/// The token of a `Bearer` authorization header.
fn bearer(authorization: Option<&HeaderValue>) -> Result<&str, AuthError> {
    let value = authorization
        .ok_or_else(|| AuthError("a bearer token is required: Authorization: Bearer <JWT>".into()))?
        .to_str()
        .map_err(|_| AuthError("the Authorization header is not text".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError("the Authorization header is not `Bearer <JWT>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError(
            "the Authorization header is not `Bearer <JWT>`".into(),
        ));
    }
    Ok(token.trim())
}

/// The checks every verified token gets: its algorithm, `exp` and `nbf`, and `iss`/`aud`
/// when configured.
pub(crate) fn validation(algorithm: Algorithm, auth: &AuthConfig, leeway: Duration) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = leeway.as_secs();
    match &auth.issuer {
        Some(issuer) => validation.set_issuer(&[issuer]),
        None => validation.iss = None,
    }
    match &auth.audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
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
            AuthError(
                match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted here",
                    ErrorKind::InvalidIssuer => "the token's issuer is not the expected one",
                    ErrorKind::InvalidAudience => "the token's audience is not the expected one",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp)",
                    _ => "the token is malformed",
                }
                .to_string(),
            )
        })
}
