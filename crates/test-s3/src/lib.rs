//! A real S3-protocol server for plugmill's tests: s3s-fs serves a temporary directory over
//! HTTP on a local port, checking request signatures against one key pair. Buckets are the
//! directories of [`Server::root`].

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tempfile::TempDir;

/// The access key id the server accepts.
pub const ACCESS_KEY: &str = "plugmill-test";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "plugmill-test-secret";

/// A running server; it stops with the tokio runtime that started it.
pub struct Server {
    root: TempDir,
    address: SocketAddr,
}

impl Server {
    /// Starts a server on a free local port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let root = tempfile::tempdir()?;
        let fs = s3s_fs::FileSystem::new(root.path())
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut service = S3ServiceBuilder::new(fs);
        service.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = service.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = http.serve_connection(TokioIo::new(socket), service).await;
                });
            }
        });
        Ok(Self { root, address })
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The directory holding the buckets.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Creates an empty bucket.
    pub fn create_bucket(&self, bucket: &str) -> std::io::Result<()> {
        std::fs::create_dir(self.root.path().join(bucket))
    }
}
