//! Keys from a JWKS document (an identity provider's `.../certs`): fetched at start, cached,
//! and fetched again when a token names a key id the cache does not hold (the provider
//! rotated its keys), at most once per interval, so unknown ids cannot make the server hammer
//! the provider.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::RwLock;

use super::{decode, validation, AuthError};
use crate::config::AuthConfig;

/// One usable key: what it verifies with, and the algorithms it is for.
struct Key {
    decoding: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// The cached keys of a JWKS URL.
pub struct JwksKeys {
    url: String,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, Key>>,
    last_fetch: Mutex<Option<Instant>>,
    refetch_interval: Duration,
    auth: AuthConfig,
    leeway: Duration,
    /// Counts changes of the published key set.
    generation: AtomicU64,
}

impl JwksKeys {
    /// Keys to be fetched from `url`.
    pub fn new(
        url: String,
        refetch_interval: Duration,
        auth: AuthConfig,
        leeway: Duration,
    ) -> Result<Self, String> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!("jwks_url: `{url}` is not an http(s) URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("jwks_url: cannot build an HTTP client: {e}"))?;
        Ok(Self {
            url,
            client,
            keys: RwLock::default(),
            last_fetch: Mutex::new(None),
            refetch_interval,
            auth,
            leeway,
            generation: AtomicU64::new(0),
        })
    }

    /// The first fetch; a provider that cannot be reached is logged, and retried when a token
    /// arrives.
    pub async fn refresh_at_start(&self) {
        if let Err(error) = self.fetch().await {
            tracing::warn!(url = %self.url, %error, "the token keys cannot be fetched yet; retried when a token arrives");
        }
    }

    /// Changes whenever the keys are fetched again (at most once per refetch interval), so
    /// that tokens verified with the keys before (a retired key, say) are verified again.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many keys are cached.
    pub async fn len(&self) -> usize {
        self.keys.read().await.len()
    }

    /// Whether no key is cached.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// Verifies `token` with the key its header names.
    pub async fn verify(&self, token: &str) -> Result<Value, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::new("malformed", format!("the token is malformed: {e}")))?;
        let kid = header.kid.clone().unwrap_or_default();
        if !self.keys.read().await.contains_key(&kid) && self.may_fetch() {
            if let Err(error) = self.fetch().await {
                tracing::warn!(url = %self.url, %error, "fetching the token keys failed");
            }
        }
        let keys = self.keys.read().await;
        let key = keys.get(&kid).ok_or_else(|| {
            AuthError::new(
                "unknown_key",
                "the token is signed with a key the identity provider does not publish",
            )
        })?;
        if !key.algorithms.contains(&header.alg) {
            return Err(AuthError::new(
                "algorithm",
                "the token's algorithm is not one its key is for",
            ));
        }
        let validation: Validation = validation(header.alg, &self.auth, self.leeway);
        decode(token, &key.decoding, &validation)
    }

    /// Whether the interval since the last fetch has passed (and marks a fetch if so).
    fn may_fetch(&self) -> bool {
        let mut last = self.last_fetch.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if at.elapsed() < self.refetch_interval => false,
            _ => {
                *last = Some(Instant::now());
                true
            }
        }
    }

    async fn fetch(&self) -> Result<(), String> {
        *self.last_fetch.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        if !response.status().is_success() {
            return Err(format!("GET {}: {}", self.url, response.status()));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| format!("{} is not a JWKS document: {e}", self.url))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(algorithms) = algorithms_of(&jwk.algorithm) else {
                continue;
            };
            let Ok(decoding) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            keys.insert(
                kid,
                Key {
                    decoding,
                    algorithms,
                },
            );
        }
        tracing::info!(url = %self.url, keys = keys.len(), "token keys fetched");
        *self.keys.write().await = keys;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}

/// The signature algorithms a public key is for: RSA keys for RS*/PS*, P-256 for ES256,
/// P-384 for ES384. Secret (`oct`) keys and unknown curves are not used.
fn algorithms_of(parameters: &AlgorithmParameters) -> Option<Vec<Algorithm>> {
    use Algorithm::*;
    match parameters {
        AlgorithmParameters::RSA(_) => Some(vec![RS256, RS384, RS512, PS256, PS384, PS512]),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(vec![ES256]),
            EllipticCurve::P384 => Some(vec![ES384]),
            _ => None,
        },
        _ => None,
    }
}
