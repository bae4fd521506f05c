//! [`S3Source`]: plugins from a bucket prefix of any S3-compatible store (AWS, MinIO, ...).
//!
//! Configured the way S3 users expect, from the environment ([`S3Settings::from_env`]):
//! `AWS_ENDPOINT_URL` (or `AWS_S3_ENDPOINT`) for an S3-compatible server, which switches to
//! path-style requests; `AWS_REGION`; `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. The
//! listing follows every page (the seed read only the first), objects download in parallel,
//! `<key>.sig` is the detached signature of `<key>`, and every other object is skipped with
//! the reason.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt as _, RetryConfig};

use bytes::{Bytes, BytesMut};

use super::fetch::{
    FetchLimits, Fetched, PluginArtifact, PluginSource, Skipped, SourceError, Versions,
};

/// Objects downloaded at once.
const PARALLEL_DOWNLOADS: usize = 16;

/// How to reach the store. Unset fields fall back to the `AWS_*` environment.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`; requests are then
    /// path-style. `None` is AWS itself.
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
}

impl S3Settings {
    /// From `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or `AWS_S3_ENDPOINT`, `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. The seed
    /// system's names are understood too, after these: `AWS_S3_PRIVATE_URI` (the endpoint),
    /// `AWS_S3_ACCESS_KEY` and `AWS_S3_ACCESS_SECRET`.
    pub fn from_env() -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        Self {
            endpoint: first(&[
                "AWS_ENDPOINT_URL_S3",
                "AWS_ENDPOINT_URL",
                "AWS_S3_ENDPOINT",
                "AWS_S3_PRIVATE_URI",
            ]),
            region: first(&["AWS_REGION", "AWS_DEFAULT_REGION"]),
            access_key_id: first(&["AWS_ACCESS_KEY_ID", "AWS_S3_ACCESS_KEY"]),
            secret_access_key: first(&["AWS_SECRET_ACCESS_KEY", "AWS_S3_ACCESS_SECRET"]),
        }
    }
}

/// An object downloaded before, kept to skip downloading it again while its ETag stays.
struct Downloaded {
    e_tag: String,
    bytes: Bytes,
}

/// A bucket prefix holding plugins. A fetch downloads only objects whose ETag changed since
/// the previous fetch; the others are served from memory.
pub struct S3Source {
    store: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    endpoint: String,
    /// By key: the bytes last downloaded, and their ETag.
    downloaded: Mutex<HashMap<String, Downloaded>>,
    downloads: AtomicU64,
}

impl S3Source {
    /// The source `s3://BUCKET/PREFIX/`, reached with `settings`.
    pub fn new(url: &str, settings: &S3Settings) -> Result<Self, SourceError> {
        let (bucket, prefix) = parse_url(url)?;
        let region = settings
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".into());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(&region)
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        let endpoint = match &settings.endpoint {
            Some(endpoint) if endpoint_has_user_info(endpoint) => {
                return Err(SourceError::other(format!(
                    "the S3 endpoint `{endpoint}` carries credentials in its URL; give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead"
                )))
            }
            Some(endpoint) => {
                builder = builder
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false)
                    .with_allow_http(endpoint.starts_with("http://"));
                crate::redact_secrets(endpoint)
            }
            None => format!("AWS region {region}"),
        };
        match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
            }
            (None, None) => builder = builder.with_skip_signature(true),
            _ => {
                return Err(SourceError::other(
                    "S3 credentials need both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                ))
            }
        }
        let store = builder
            .build()
            .map_err(|e| SourceError::other(format!("`{url}`: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            bucket,
            prefix,
            endpoint,
            downloaded: Mutex::default(),
            downloads: AtomicU64::new(0),
        })
    }

    /// How many objects this source has downloaded: a fetch skips objects whose ETag is the
    /// one downloaded before.
    pub fn downloads(&self) -> u64 {
        self.downloads.load(Ordering::Relaxed)
    }

    /// The source `s3://BUCKET/PREFIX/`, reached with the `AWS_*` environment.
    pub fn from_env(url: &str) -> Result<Self, SourceError> {
        Self::new(url, &S3Settings::from_env())
    }

    /// The object store, for uploads beside the loads.
    pub fn store(&self) -> &Arc<AmazonS3> {
        &self.store
    }

    /// The key prefix, ending in `/` unless empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Turns a listing failure into a message that says what to check.
    /// Every object under the prefix, all pages.
    async fn list(&self) -> Result<Vec<object_store::ObjectMeta>, SourceError> {
        let prefix = Path::from(self.prefix.trim_end_matches('/'));
        self.store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| self.listing_error(e))
    }

    fn listing_error(&self, error: object_store::Error) -> SourceError {
        let text = error.to_string();
        // Matched on S3 error codes and HTTP status phrases, never on bare numbers: those
        // also occur in ports and timings.
        let hint = if text.contains("NoSuchBucket") {
            format!("bucket `{}` does not exist", self.bucket)
        } else if [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "403 Forbidden",
        ]
        .iter()
        .any(|s| text.contains(s))
        {
            "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string()
        } else if text.contains("404 Not Found") {
            format!("bucket `{}` does not exist", self.bucket)
        } else if [
            "connect",
            "Connect",
            "dns",
            "timed out",
            "error sending request",
        ]
        .iter()
        .any(|s| text.contains(s))
        {
            "the endpoint cannot be reached".to_string()
        } else {
            "the store refused the listing".to_string()
        };
        SourceError::other(format!(
            "cannot list `{}` at {}: {hint} ({text})",
            self.url(),
            self.endpoint
        ))
    }
}

/// Whether a URL has user-info (`scheme://user[:password]@host`).
fn endpoint_has_user_info(url: &str) -> bool {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

/// Splits `s3://bucket/prefix/` into the bucket and the prefix (ending in `/` unless empty).
fn parse_url(url: &str) -> Result<(String, String), SourceError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| SourceError::other(format!("`{url}` is not an s3:// URL")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(SourceError::other(format!(
            "`{url}` names no bucket: use s3://BUCKET/PREFIX/"
        )));
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Ok((bucket.to_string(), prefix))
}

impl PluginSource for S3Source {
    fn describe(&self) -> String {
        self.url()
    }

    fn fetch(&self, limits: FetchLimits) -> BoxFuture<'_, Result<Fetched, SourceError>> {
        Box::pin(async move {
            let listing = self.list().await?;
            let mut plugins = Vec::new();
            let mut signatures = BTreeMap::new();
            let mut fetched = Fetched::default();
            let e_tags: HashMap<String, Option<String>> = listing
                .iter()
                .map(|meta| (meta.location.to_string(), meta.e_tag.clone()))
                .collect();
            let sizes: HashMap<String, u64> = listing
                .iter()
                .map(|meta| (meta.location.to_string(), meta.size))
                .collect();
            self.lock_downloaded()
                .retain(|key, _| e_tags.contains_key(key));
            for meta in listing {
                let key = meta.location.to_string();
                if key.ends_with(".wasm") {
                    plugins.push(key);
                } else if let Some(plugin) =
                    key.strip_suffix(".sig").filter(|k| k.ends_with(".wasm"))
                {
                    signatures.insert(plugin.to_string(), key);
                } else {
                    fetched.skipped.push(Skipped {
                        file: format!("s3://{}/{}", self.bucket, key.escape_debug()),
                        reason: "not a .wasm object".into(),
                    });
                }
            }
            plugins.sort();
            // Objects the listing says are too large are never downloaded.
            plugins.retain(|key| {
                let signature = signatures.get(key);
                let oversized = [
                    (Some(key), limits.max_plugin_size, "the object"),
                    (signature, limits.max_signature_size, "its signature"),
                ]
                .into_iter()
                .find_map(|(object, max, what)| {
                    let size = *sizes.get(object?)?;
                    (size > max).then(|| {
                        format!("{what} is {size} bytes, more than the {max} bytes allowed")
                    })
                });
                match oversized {
                    Some(reason) => {
                        fetched.too_large.push(Skipped {
                            file: format!("s3://{}/{}", self.bucket, key.escape_debug()),
                            reason,
                        });
                        false
                    }
                    None => true,
                }
            });
            let downloads = futures::stream::iter(plugins)
                .map(|key| {
                    let signature = signatures.get(&key).cloned();
                    let e_tags = &e_tags;
                    async move {
                        let listed = |key: &str| e_tags.get(key).cloned().flatten();
                        let bytes = self
                            .download(&key, listed(&key), limits.max_plugin_size)
                            .await;
                        let signature = match signature {
                            Some(sig) => Some(
                                self.download(&sig, listed(&sig), limits.max_signature_size)
                                    .await,
                            ),
                            None => None,
                        };
                        (key, bytes, signature)
                    }
                })
                .buffered(PARALLEL_DOWNLOADS)
                .collect::<Vec<_>>()
                .await;
            for (key, bytes, signature) in downloads {
                let file = format!("s3://{}/{}", self.bucket, key.escape_debug());
                match (bytes, signature.transpose()) {
                    (Ok(bytes), Ok(signature)) => fetched.artifacts.push(PluginArtifact {
                        file,
                        bytes,
                        signature: signature.map(Vec::from),
                    }),
                    (Err(Download::TooLarge(reason)), _) | (_, Err(Download::TooLarge(reason))) => {
                        fetched.too_large.push(Skipped { file, reason })
                    }
                    (Err(Download::Failed(e)), _) | (_, Err(Download::Failed(e))) => {
                        fetched.unreadable.push(Skipped {
                            file,
                            reason: format!("cannot download: {e}"),
                        })
                    }
                }
            }
            Ok(fetched)
        })
    }

    fn versions(&self) -> BoxFuture<'_, Result<Versions, SourceError>> {
        Box::pin(async move {
            let listing = self.list().await?;
            let versions = listing
                .into_iter()
                .filter_map(|meta| {
                    let key = meta.location.to_string();
                    let plugin_file = key.ends_with(".wasm") || key.ends_with(".wasm.sig");
                    let token = meta.e_tag.clone().unwrap_or_else(|| {
                        format!("{}:{}", meta.size, meta.last_modified.to_rfc3339())
                    });
                    plugin_file.then(|| {
                        (
                            format!("s3://{}/{}", self.bucket, key.escape_debug()),
                            token,
                        )
                    })
                })
                .collect();
            Ok(versions)
        })
    }
}

/// Why an object was not downloaded.
enum Download {
    /// It is over the size limit.
    TooLarge(String),
    /// The store failed.
    Failed(object_store::Error),
}

/// What an upload did with one object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Uploaded {
    /// The object was written.
    Written,
    /// The object already held these bytes.
    Unchanged,
}

impl S3Source {
    /// The object's bytes: from memory when `listed` (the ETag of the listing) is the ETag
    /// of the bytes downloaded before, else downloaded, but never more than `max` bytes (the
    /// object may have grown since it was listed). One copy is kept, shared with the caller.
    async fn download(
        &self,
        key: &str,
        listed: Option<String>,
        max: u64,
    ) -> Result<Bytes, Download> {
        if let Some(listed) = &listed {
            let known = self.lock_downloaded().get(key).and_then(|d| {
                let unchanged = &d.e_tag == listed;
                unchanged.then(|| d.bytes.clone())
            });
            if let Some(bytes) = known {
                return Ok(bytes);
            }
        }
        let result = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(Download::Failed)?;
        let too_large = |size: u64| {
            Download::TooLarge(format!(
                "the object is {size} bytes or more, more than the {max} bytes allowed"
            ))
        };
        if result.meta.size > max {
            return Err(too_large(result.meta.size));
        }
        let e_tag = result.meta.e_tag.clone();
        let capacity = usize::try_from(result.meta.size).unwrap_or(0);
        let mut buffer = BytesMut::with_capacity(capacity);
        let mut chunks = result.into_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(Download::Failed)?;
            if (buffer.len() + chunk.len()) as u64 > max {
                return Err(too_large((buffer.len() + chunk.len()) as u64));
            }
            buffer.extend_from_slice(&chunk);
        }
        let bytes = buffer.freeze();
        self.downloads.fetch_add(1, Ordering::Relaxed);
        if let Some(e_tag) = e_tag {
            let kept = Downloaded {
                e_tag,
                bytes: bytes.clone(),
            };
            self.lock_downloaded().insert(key.to_string(), kept);
        }
        Ok(bytes)
    }

    fn lock_downloaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Downloaded>> {
        self.downloaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The URL of the object `name` under the prefix.
    pub fn object_url(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket, self.prefix)
    }

    /// Writes `bytes` as `name` under the prefix, unless the object already holds exactly
    /// these bytes (same size, then same content).
    pub async fn upload(&self, name: &str, bytes: Vec<u8>) -> Result<Uploaded, SourceError> {
        let key = Path::from(format!("{}{name}", self.prefix));
        let failed = |e: object_store::Error| {
            SourceError::other(format!(
                "cannot upload `{}` to {}: {e}",
                self.object_url(name),
                self.endpoint
            ))
        };
        match self.store.head(&key).await {
            Ok(meta) if meta.size == bytes.len() as u64 => {
                let current = self
                    .store
                    .get(&key)
                    .await
                    .map_err(failed)?
                    .bytes()
                    .await
                    .map_err(failed)?;
                if current.as_ref() == bytes.as_slice() {
                    return Ok(Uploaded::Unchanged);
                }
            }
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.listing_error(e)),
        }
        self.store.put(&key, bytes.into()).await.map_err(failed)?;
        Ok(Uploaded::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_url, S3Settings, S3Source};

    #[test]
    fn listing_errors_are_classified_by_error_code_not_by_numbers_in_ports() {
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:44033".into()),
            ..S3Settings::default()
        };
        let source = S3Source::new("s3://b/p/", &settings).unwrap();
        let classify = |text: &str| {
            let error = object_store::Error::Generic {
                store: "S3",
                source: format!("GET http://127.0.0.1:44033/b in 403.2ms: {text}").into(),
            };
            source.listing_error(error).to_string()
        };
        let missing = classify("404 Not Found: <Code>NoSuchBucket</Code>");
        assert!(missing.contains("bucket `b` does not exist"), "{missing}");
        let denied = classify("403 Forbidden: <Code>SignatureDoesNotMatch</Code>");
        assert!(denied.contains("access denied"), "{denied}");
        let other = classify("500 Internal Server Error");
        assert!(other.contains("the store refused the listing"), "{other}");
    }

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        assert_eq!(
            parse_url("s3://b/plugins/").unwrap(),
            ("b".into(), "plugins/".into())
        );
        assert_eq!(
            parse_url("s3://b/a/b").unwrap(),
            ("b".into(), "a/b/".into())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("s3:///plugins").is_err());
        assert!(parse_url("http://b/p").is_err());
    }
}
