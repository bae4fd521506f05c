//! A private PostgreSQL that accepts only TLS connections, with a certificate authority the
//! test makes: initdb into a temporary directory, `ssl = on` with a server certificate the
//! CA signs for `localhost`, and `pg_hba.conf` refusing every connection without TLS. Run as
//! the `postgres` user when the tests run as root (initdb refuses root); stopped on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// The running server.
pub struct TlsPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// A certificate authority: its certificate (PEM) and what it signs with.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA's certificate to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.pem()).unwrap();
    }

    /// A server certificate for these names and its key, both PEM.
    fn server(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &*self.issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

impl TlsPostgres {
    /// Starts a server whose certificate `authority` signs for `localhost` only.
    pub fn start(authority: &Authority) -> Self {
        let bin = binaries();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (certificate, key) = authority.server(&["localhost"]);
        std::fs::write(dir.path().join("server.crt"), certificate).unwrap();
        std::fs::write(dir.path().join("server.key"), key).unwrap();
        authority.write(&dir.path().join("ca.crt"));
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.path().join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        give_to_postgres(dir.path());

        run(
            &bin,
            "initdb",
            &[
                "-D",
                path(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let port = free_port();
        let dir_text = path(dir.path());
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir_text}'\nssl = on\nssl_cert_file = '{dir_text}/server.crt'\nssl_key_file = '{dir_text}/server.key'\nssl_ca_file = '{dir_text}/ca.crt'\nfsync = off\n"
        );
        append(&data.join("postgresql.conf"), &settings);
        // Only TLS: a plain connection from 127.0.0.1 is rejected.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        give_to_postgres(dir.path());
        let log = dir.path().join("postgres.log");
        run(
            &bin,
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-l",
                path(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        Self { dir, bin, port }
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(&self.bin, "pg_ctl")
            .args(["-D", path(&data), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory of the installed PostgreSQL programs: the newest `/usr/lib/postgresql/*/bin`,
/// else wherever `pg_config --bindir` says.
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("the test needs PostgreSQL's programs (initdb, pg_ctl)");
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

fn running_as_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// A command running `program` of `bin`, as `postgres` when this process is root.
fn as_postgres(bin: &Path, program: &str) -> Command {
    let program = bin.join(program);
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(bin: &Path, program: &str, args: &[&str]) {
    let output = as_postgres(bin, program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes `dir` and what it holds the `postgres` user's (when this process is root).
fn give_to_postgres(dir: &Path) {
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:", path(dir)])
            .status()
            .unwrap();
        assert!(status.success(), "chown {}", dir.display());
    }
}

fn append(file: &Path, text: &str) {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A loopback port free now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
