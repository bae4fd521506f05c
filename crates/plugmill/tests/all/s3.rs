//! Plugins from a real S3-protocol server (`test-s3`: s3s-fs over HTTP on a local port, with
//! signature-checked credentials), reached through `S3Source`.

use object_store::path::Path;
use object_store::ObjectStoreExt as _;
use plugmill::source::{S3Settings, S3Source};
use plugmill::LoadError;

use super::builder;

/// A started server and the settings that reach it.
pub struct Server(test_s3::Server);

impl Server {
    pub async fn start() -> Self {
        Self(test_s3::Server::start().await.expect("start the S3 server"))
    }

    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.0.endpoint()),
            region: Some("us-east-1".into()),
            access_key_id: Some(test_s3::ACCESS_KEY.into()),
            secret_access_key: Some(test_s3::SECRET_KEY.into()),
        }
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.0.create_bucket(bucket).unwrap();
    }

    pub fn source(&self, url: &str) -> S3Source {
        S3Source::new(url, &self.settings()).unwrap()
    }

    /// Uploads `bytes` as `key` over the S3 protocol.
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        let source = self.source(&format!("s3://{bucket}/"));
        source
            .store()
            .put(&Path::from(key), bytes.into())
            .await
            .unwrap_or_else(|e| panic!("upload {key}: {e}"));
    }

    /// Downloads `key` over the S3 protocol.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let source = self.source(&format!("s3://{bucket}/"));
        let result = source
            .store()
            .get(&Path::from(key))
            .await
            .unwrap_or_else(|e| panic!("download {key}: {e}"));
        result.bytes().await.unwrap().to_vec()
    }

    /// Deletes `key` over the S3 protocol.
    pub async fn delete(&self, bucket: &str, key: &str) {
        let source = self.source(&format!("s3://{bucket}/"));
        source
            .store()
            .delete(&Path::from(key))
            .await
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }
}

/// The bytes of a test plugin file.
pub fn plugin(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

async fn load_error(source: &S3Source) -> String {
    let manager = builder().build().unwrap();
    match manager.load(source).await {
        Err(LoadError::Source(error)) => error.to_string(),
        other => panic!("the load should fail on the source: {other:?}"),
    }
}

#[tokio::test]
async fn plugins_uploaded_to_a_bucket_prefix_load_and_other_objects_are_skipped() {
    let server = Server::start().await;
    server.create_bucket("plugmill");
    server
        .put(
            "plugmill",
            "plugins/valid.wasm",
            plugin(test_plugins::VALID),
        )
        .await;
    server
        .put(
            "plugmill",
            "plugins/second.wasm",
            plugin(test_plugins::SECOND_GREETER),
        )
        .await;
    server
        .put("plugmill", "plugins/README.txt", b"not a plugin".to_vec())
        .await;
    server
        .put(
            "plugmill",
            "elsewhere/other.wasm",
            plugin(test_plugins::SPIN),
        )
        .await;

    let manager = builder().build().unwrap();
    let report = manager
        .load(&server.source("s3://plugmill/plugins/"))
        .await
        .unwrap();
    let mut loaded: Vec<&str> = report.loaded.iter().map(|p| p.file.as_str()).collect();
    loaded.sort();
    assert_eq!(
        loaded,
        [
            "s3://plugmill/plugins/second.wasm",
            "s3://plugmill/plugins/valid.wasm"
        ]
    );
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(report.skipped[0].file, "s3://plugmill/plugins/README.txt");
    assert_eq!(report.skipped[0].reason, "not a .wasm object");
}

#[tokio::test]
async fn a_listing_longer_than_one_page_is_read_to_the_end() {
    let server = Server::start().await;
    server.create_bucket("many");
    // 1,098 other objects, written straight into the server's directory, then two plugins:
    // the one sorted last comes only on the second page of 1,000 keys.
    let notes = server.0.root().join("many/plugins/notes");
    std::fs::create_dir_all(&notes).unwrap();
    for i in 0..1_098 {
        std::fs::write(notes.join(format!("n{i:04}.txt")), b"x").unwrap();
    }
    server
        .put("many", "plugins/aa.wasm", plugin(test_plugins::VALID))
        .await;
    server
        .put(
            "many",
            "plugins/zz.wasm",
            plugin(test_plugins::SECOND_GREETER),
        )
        .await;

    let manager = builder().build().unwrap();
    let report = manager
        .load(&server.source("s3://many/plugins/"))
        .await
        .unwrap();
    assert_eq!(report.skipped.len(), 1_098);
    let mut loaded: Vec<&str> = report.loaded.iter().map(|p| p.file.as_str()).collect();
    loaded.sort();
    assert_eq!(
        loaded,
        ["s3://many/plugins/aa.wasm", "s3://many/plugins/zz.wasm"]
    );
}

#[tokio::test]
async fn wrong_credentials_a_missing_bucket_and_an_unreachable_endpoint_are_clear_errors() {
    let server = Server::start().await;
    server.create_bucket("plugmill");

    let mut wrong = server.settings();
    wrong.secret_access_key = Some("not-the-secret".into());
    let source = S3Source::new("s3://plugmill/plugins/", &wrong).unwrap();
    let message = load_error(&source).await;
    assert!(
        message.contains("access denied") && message.contains("AWS_SECRET_ACCESS_KEY"),
        "{message}"
    );
    assert!(
        !message.contains("not-the-secret"),
        "the secret stays out of messages: {message}"
    );

    let message = load_error(&server.source("s3://missing/plugins/")).await;
    assert!(
        message.contains("bucket `missing` does not exist"),
        "{message}"
    );

    // A port bound but not listening refuses connections, and stays ours while the test runs
    // (a released port could be taken by another test's server).
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut unreachable = server.settings();
    unreachable.endpoint = Some(format!("http://{}", closed.local_addr().unwrap()));
    let source = S3Source::new("s3://plugmill/plugins/", &unreachable).unwrap();
    let message = load_error(&source).await;
    assert!(message.contains("cannot be reached"), "{message}");
}
