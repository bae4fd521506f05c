//! `plugmill keygen` and `plugmill sign`: ed25519 keys and detached plugin signatures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use plugmill::signing as integrity;
use plugmill::source::signature_path;

pub fn keygen(prefix: &Path) -> anyhow::Result<ExitCode> {
    let secret_path = with_suffix(prefix, ".secret");
    let public_path = with_suffix(prefix, ".pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            bail!(
                "`{}` already exists; choose another --out or remove it",
                path.display()
            );
        }
    }
    let (secret, public) = integrity::generate_key_pair().map_err(anyhow::Error::msg)?;
    write_secret(&secret_path, &secret)?;
    std::fs::write(&public_path, format!("{public}\n"))
        .with_context(|| format!("cannot write `{}`", public_path.display()))?;
    println!("secret key: {} (keep it private)", secret_path.display());
    println!(
        "public key: {} (trust it with --trusted-key or [trust] public_keys)",
        public_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn sign(key: &Path, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let secret = integrity::read_key_file(key)?;
    let public = integrity::public_key_of(&secret)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", key.display()))?;
    for file in files {
        let limits = plugmill::source::FetchLimits::default();
        let bytes = plugmill::source::read_plugin_file(file, limits)
            .with_context(|| format!("`{}`", file.display()))?
            .bytes;
        let signature = integrity::sign(&secret, &bytes).map_err(anyhow::Error::msg)?;
        let sig_path = signature_path(file);
        std::fs::write(&sig_path, format!("{signature}\n"))
            .with_context(|| format!("cannot write `{}`", sig_path.display()))?;
        println!(
            "signed {} (sha256 {}) -> {}",
            file.display(),
            integrity::sha256_hex(&bytes),
            sig_path.display()
        );
    }
    println!("public key: {public}");
    Ok(ExitCode::SUCCESS)
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut path = prefix.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

#[cfg(unix)]
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    writeln!(file, "{secret}").with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(not(unix))]
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{secret}\n"))
        .with_context(|| format!("cannot write `{}`", path.display()))
}
