//! A real S3-protocol server for plugmill's tests: s3s-fs serves a temporary directory over
//! HTTP on a local port, checking request signatures against one key pair. Buckets are the
//! directories of [`Server::root`]. Listings carry each object's ETag (the md5 of its bytes),
//! as S3 and MinIO send them; s3s-fs alone leaves them out.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hyper_util::rt::{TokioExecutor, TokioIo};
use md5::{Digest as _, Md5};
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
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
        let root_path = root.path().to_path_buf();
        let mut service = S3ServiceBuilder::new(WithListingETags {
            fs,
            root: root_path,
        });
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

/// s3s-fs with the ETag of each object in listings. The S3 operations plugmill uses are
/// passed through; the others answer "not implemented".
struct WithListingETags {
    fs: FileSystem,
    root: PathBuf,
}

#[async_trait::async_trait]
impl S3 for WithListingETags {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket = self.root.join(&req.input.bucket);
        let mut response = self.fs.list_objects_v2(req).await?;
        for object in response.output.contents.iter_mut().flatten() {
            let Some(key) = &object.key else { continue };
            if let Ok(bytes) = tokio::fs::read(bucket.join(key)).await {
                object.e_tag = Some(ETag::Strong(hex::encode(Md5::digest(&bytes))));
            }
        }
        Ok(response)
    }
}
