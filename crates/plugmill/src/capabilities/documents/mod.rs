//! The documents capability: `plugmill:documents/documents@0.1.0` (WIT in `wit/documents`). A
//! plugin stores, reads, lists and deletes the documents of the call's tenant on object
//! storage through the `object_store` crate: a local directory by default, or S3 (the same
//! client and settings as the S3 plugin source).
//!
//! ```toml
//! [documents]
//! dir = "documents"                       # a local directory (relative to plugmill.toml), the default
//! # url = "s3://bucket/documents/"        # or S3, reached with the AWS_* settings of the source
//! max_size = "16 MiB"                     # the largest document (the default)
//! content_types = ["application/pdf", "text/*"]   # the types accepted (default: any)
//! public_assets_url = "https://assets.example.com/public"   # where public assets are served
//! ```
//!
//! Layout: `PREFIX/TENANT/ID` holds the bytes and `PREFIX/TENANT/ID.json` what the host
//! knows of them (name, content type, size). Ids are 128 random bits the host gives; the
//! tenant is the call's ([`with_tenant`](crate::with_tenant)), never a parameter, so a plugin
//! reaches only its tenant's documents. Every operation ends by the call's deadline.

mod layout;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};
use wasmtime::component::{HasSelf, Linker};

use crate::capabilities::{Admission, Capability};
use crate::config::values::ByteSize;
use crate::config::{ConfigError, HostConfig};
use crate::host::{current_tenant, HostState};
use crate::source::{S3Settings, S3Source};

/// Bindings generated from the WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit/documents",
        world: "plugmill:documents/documents-client",
        imports: { default: async },
    });
}
pub(crate) use generated::plugmill::documents::documents::{self as wit, DocumentInfo, Error};

/// The default largest document: 16 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 16 << 20;
/// The largest document configuration may allow: 1 GiB.
const MAX_MAX_SIZE: u64 = 1 << 30;
/// The most documents `list-documents` returns.
const MAX_LISTED: usize = 1000;

/// `[documents]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsSection {
    dir: Option<PathBuf>,
    url: Option<String>,
    max_size: Option<ByteSize>,
    content_types: Option<Vec<String>>,
    public_assets_url: Option<String>,
}

/// Where documents are kept.
#[derive(Clone, Debug)]
enum Place {
    /// A local directory, created on first use.
    Dir(PathBuf),
    /// An `s3://` URL.
    S3(String),
    /// A store the embedder gives, with a prefix.
    Store(Arc<dyn ObjectStore>, String),
}

/// The opened store and the prefix of every tenant's folder, or why it cannot be opened.
type Opened = Result<(Arc<dyn ObjectStore>, ObjectPath), String>;

/// What the host records beside a document's bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    name: String,
    content_type: String,
    size: u64,
}

/// The documents capability.
#[derive(Debug)]
pub struct Documents {
    place: Place,
    max_size: u64,
    content_types: Vec<String>,
    public_assets_url: Option<String>,
    opened: std::sync::OnceLock<Opened>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            place: Place::Dir(PathBuf::from("documents")),
            max_size: DEFAULT_MAX_SIZE,
            content_types: Vec::new(),
            public_assets_url: None,
            opened: std::sync::OnceLock::new(),
        }
    }
}

impl Documents {
    /// Keeps documents in `store` under `prefix` (an S3 bucket, say).
    pub fn use_store(&mut self, store: Arc<dyn ObjectStore>, prefix: &str) -> &mut Self {
        self.place = Place::Store(store, prefix.to_string());
        self
    }

    /// Keeps documents in the local directory `dir`.
    pub fn use_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.place = Place::Dir(dir.into());
        self
    }

    /// Sets the largest document.
    pub fn set_max_size(&mut self, bytes: u64) -> &mut Self {
        self.max_size = bytes;
        self
    }

    /// Accepts only these content types (`type/subtype` or `type/*`); empty: any.
    pub fn set_content_types(&mut self, types: Vec<String>) -> &mut Self {
        self.content_types = types;
        self
    }

    /// Serves public assets under `url` (`http://` or `https://`): the base of the paths
    /// [`public_asset_url`](Self::public_asset_url) answers.
    pub fn set_public_assets_url(&mut self, url: &str) -> Result<&mut Self, String> {
        self.public_assets_url = Some(layout::check_base_url(url)?);
        Ok(self)
    }

    /// The URL of the public asset `file_name` (a relative path of plain segments) under
    /// `public_assets_url`.
    pub fn public_asset_url(&self, file_name: &str) -> Result<String, String> {
        let base = self
            .public_assets_url
            .as_deref()
            .ok_or("the host serves no public assets: set [documents] public_assets_url")?;
        layout::check_asset_path(file_name)?;
        Ok(format!("{base}/{file_name}"))
    }

    /// The store and the prefix, opened on first use.
    fn opened(&self) -> Result<(Arc<dyn ObjectStore>, ObjectPath), Error> {
        self.opened
            .get_or_init(|| match &self.place {
                Place::Dir(dir) => {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("`{}` cannot be created: {e}", dir.display()))?;
                    let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| format!("`{}`: {e}", dir.display()))?;
                    Ok((
                        Arc::new(store) as Arc<dyn ObjectStore>,
                        ObjectPath::default(),
                    ))
                }
                Place::S3(url) => {
                    let source =
                        S3Source::new(url, &S3Settings::from_env()).map_err(|e| e.to_string())?;
                    let store: Arc<dyn ObjectStore> = source.store().clone();
                    Ok((store, ObjectPath::from(source.prefix())))
                }
                Place::Store(store, prefix) => {
                    Ok((store.clone(), ObjectPath::from(prefix.as_str())))
                }
            })
            .clone()
            .map_err(|problem| {
                Error::Unavailable(format!("the document storage cannot be opened: {problem}"))
            })
    }

    fn accepts(&self, content_type: &str) -> bool {
        let essence = layout::essence(content_type);
        self.content_types.is_empty()
            || self.content_types.iter().any(|allowed| {
                allowed == &essence
                    || allowed
                        .strip_suffix("/*")
                        .is_some_and(|top| essence.split('/').next() == Some(top))
            })
    }
}

impl Capability for Documents {
    fn name(&self) -> &'static str {
        "documents"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        &["plugmill:documents/documents"]
    }

    fn config_sections(&self) -> &'static [&'static str] {
        &["documents"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let section = config
            .section::<DocumentsSection>(&["documents"])?
            .unwrap_or_default();
        self.place = match (section.dir, section.url) {
            (Some(_), Some(_)) => {
                return Err(config.error("[documents]: give `dir` or `url`, not both"))
            }
            (_, Some(url)) if url.starts_with("s3://") => Place::S3(url),
            (_, Some(url)) => {
                return Err(config.error(format!(
                    "[documents] url: `{}` is not an s3:// URL",
                    crate::redact_secrets(&url)
                )))
            }
            (dir, None) => {
                Place::Dir(config.relative_path(&dir.unwrap_or_else(|| PathBuf::from("documents"))))
            }
        };
        if let Some(size) = section.max_size {
            self.max_size = size
                .within(1, MAX_MAX_SIZE)
                .map_err(|e| config.error(format!("[documents] max_size: {e}")))?;
        }
        if let Some(types) = section.content_types {
            for content_type in &types {
                layout::check_type_pattern(content_type)
                    .map_err(|p| config.error(format!("[documents] content_types: {p}")))?;
            }
            self.content_types = types;
        }
        if let Some(url) = section.public_assets_url {
            self.set_public_assets_url(&url)
                .map_err(|p| config.error(format!("[documents] public_assets_url: {p}")))?;
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
        Ok(())
    }

    fn admit(&self, _plugin: &str, _interface: &str) -> Admission {
        Admission::Admitted
    }
}

/// What one documents call works with: the documents of the call's tenant.
pub(crate) struct TenantDocuments {
    documents: Arc<Documents>,
    store: Arc<dyn ObjectStore>,
    tenant_dir: ObjectPath,
    plugin: Arc<str>,
    tenant: Arc<str>,
    deadline: Instant,
}

impl TenantDocuments {
    /// The documents of the call's tenant.
    pub(crate) fn of(state: &HostState) -> Result<Self, Error> {
        let plugin: Arc<str> = Arc::from(state.plugin_name());
        let documents = state
            .capability::<Documents>()
            .ok_or_else(|| Error::Unavailable("the host has no documents capability".into()))?;
        let tenant = current_tenant().ok_or_else(|| {
            Error::NoTenant(format!(
                "plugin `{plugin}` was called for no tenant: documents are kept per tenant"
            ))
        })?;
        layout::check_tenant(&tenant).map_err(Error::Invalid)?;
        let (store, prefix) = documents.opened()?;
        let tenant_dir = prefix.clone().join(tenant.as_ref());
        Ok(Self {
            documents,
            store,
            tenant_dir,
            plugin,
            tenant,
            deadline: state.deadline(),
        })
    }

    fn content(&self, id: &str) -> ObjectPath {
        self.tenant_dir.clone().join(id)
    }

    fn info(&self, id: &str) -> ObjectPath {
        self.tenant_dir.clone().join(format!("{id}.json").as_str())
    }

    /// Runs `operation` by the call's deadline; storage failures are logged and answered
    /// without the store's details.
    async fn run<T>(
        &self,
        doing: &str,
        operation: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> Result<Option<T>, Error> {
        match tokio::time::timeout_at(self.deadline.into(), operation).await {
            Ok(Ok(value)) => Ok(Some(value)),
            Ok(Err(object_store::Error::NotFound { .. })) => Ok(None),
            Ok(Err(error)) => {
                tracing::warn!(plugin = %self.plugin, tenant = %self.tenant, "document storage: {doing}: {error}");
                Err(Error::Unavailable(format!(
                    "the document storage failed while {doing} (the host's log has the details)"
                )))
            }
            Err(_) => Err(Error::Unavailable(format!(
                "{doing} did not finish before the call's deadline"
            ))),
        }
    }

    async fn read_info(&self, id: &str) -> Result<Option<Stored>, Error> {
        let Some(result) = self.run("reading", self.store.get(&self.info(id))).await? else {
            return Ok(None);
        };
        let Some(bytes) = self.run("reading", result.bytes()).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| Error::Unavailable(format!("the record of document `{id}` is damaged")))
    }
}

fn info(id: &str, stored: Stored) -> DocumentInfo {
    DocumentInfo {
        id: id.to_string(),
        name: stored.name,
        content_type: stored.content_type,
        size: stored.size,
    }
}

impl TenantDocuments {
    pub(crate) async fn put(
        &self,
        name: String,
        content_type: String,
        bytes: Vec<u8>,
    ) -> Result<DocumentInfo, Error> {
        let caller = self;
        layout::check_name(&name).map_err(Error::Invalid)?;
        layout::check_content_type(&content_type).map_err(Error::Invalid)?;
        if !caller.documents.accepts(&content_type) {
            return Err(Error::Invalid(format!(
                "the host does not accept documents of type `{content_type}` (accepted: {})",
                caller.documents.content_types.join(", ")
            )));
        }
        let size = bytes.len() as u64;
        if size > caller.documents.max_size {
            return Err(Error::TooLarge(format!(
                "a document of {size} bytes is over {} bytes, the largest the host keeps",
                caller.documents.max_size
            )));
        }
        let id = layout::new_id();
        let stored = Stored {
            name,
            content_type,
            size,
        };
        let record = serde_json::to_vec(&stored).expect("a record serializes");
        let content = caller.content(&id);
        caller
            .run(
                "storing",
                caller.store.put(&content, PutPayload::from(bytes)),
            )
            .await?;
        caller
            .run(
                "storing",
                caller
                    .store
                    .put(&caller.info(&id), PutPayload::from(record)),
            )
            .await?;
        tracing::debug!(plugin = %caller.plugin, tenant = %caller.tenant, document = %id, size, "document stored");
        Ok(info(&id, stored))
    }

    pub(crate) async fn get(&self, id: String) -> Result<(DocumentInfo, Vec<u8>), Error> {
        let caller = self;
        let not_found = || {
            Error::NotFound(format!(
                "the tenant has no document `{}`",
                id.escape_debug()
            ))
        };
        layout::check_id(&id).map_err(|_| not_found())?;
        let stored = caller.read_info(&id).await?.ok_or_else(not_found)?;
        let result = caller
            .run("reading", caller.store.get(&caller.content(&id)))
            .await?
            .ok_or_else(not_found)?;
        let bytes = caller
            .run("reading", result.bytes())
            .await?
            .ok_or_else(not_found)?;
        Ok((info(&id, stored), bytes.to_vec()))
    }

    pub(crate) async fn delete(&self, id: String) -> Result<bool, Error> {
        let caller = self;
        if layout::check_id(&id).is_err() {
            return Ok(false);
        }
        let existed = caller.read_info(&id).await?.is_some();
        caller
            .run("deleting", caller.store.delete(&caller.content(&id)))
            .await?;
        caller
            .run("deleting", caller.store.delete(&caller.info(&id)))
            .await?;
        tracing::debug!(plugin = %caller.plugin, tenant = %caller.tenant, document = %id, existed, "document deleted");
        Ok(existed)
    }

    pub(crate) async fn list_documents(&self) -> Result<Vec<DocumentInfo>, Error> {
        use futures::TryStreamExt as _;
        let caller = self;
        let listing = caller.store.list(Some(&caller.tenant_dir));
        let metas = caller
            .run("listing", listing.try_collect::<Vec<_>>())
            .await?
            .unwrap_or_default();
        let mut ids: Vec<String> = metas
            .iter()
            .filter_map(|meta| meta.location.filename())
            .filter_map(|file| file.strip_suffix(".json"))
            .filter(|id| layout::check_id(id).is_ok())
            .map(str::to_string)
            .collect();
        ids.sort();
        ids.truncate(MAX_LISTED);
        let mut infos = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(stored) = caller.read_info(&id).await? {
                infos.push(info(&id, stored));
            }
        }
        Ok(infos)
    }
}

impl wit::Host for HostState {
    async fn put(
        &mut self,
        name: String,
        content_type: String,
        bytes: Vec<u8>,
    ) -> Result<DocumentInfo, Error> {
        TenantDocuments::of(self)?
            .put(name, content_type, bytes)
            .await
    }

    async fn get(&mut self, id: String) -> Result<(DocumentInfo, Vec<u8>), Error> {
        TenantDocuments::of(self)?.get(id).await
    }

    async fn delete(&mut self, id: String) -> Result<bool, Error> {
        TenantDocuments::of(self)?.delete(id).await
    }

    async fn list_documents(&mut self) -> Result<Vec<DocumentInfo>, Error> {
        TenantDocuments::of(self)?.list_documents().await
    }
}
