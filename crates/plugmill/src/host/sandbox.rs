//! What a plugin may reach through WASI. Nothing by default: no preopened directories, no
//! environment, no arguments, no sockets, no inherited stdio. Host configuration (never the
//! plugin's own manifest) grants a plugin directories, named environment variables, or
//! outbound connections to listed addresses.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::output::CapturedOutput;

/// A host directory a plugin may open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it, e.g. `/data`.
    pub guest: String,
    /// Whether the plugin may create, change and delete files in it.
    pub writable: bool,
}

/// Everything one plugin is granted through WASI. The default grants nothing.
#[derive(Clone, Debug, Default)]
pub struct WasiGrants {
    /// Directories.
    pub dirs: Vec<DirGrant>,
    /// Environment variables, with their values as resolved at load.
    pub env: Vec<(String, String)>,
    /// Addresses the plugin may connect to (TCP) or send to (UDP).
    pub network: HashSet<SocketAddr>,
}

impl WasiGrants {
    /// Adds `more` to these grants.
    pub fn merge_grants(&mut self, more: &WasiGrants) {
        self.dirs.extend(more.dirs.iter().cloned());
        self.env.extend(more.env.iter().cloned());
        self.network.extend(more.network.iter().copied());
    }

    /// The host path of `guest_path` (absolute, as the plugin sees it) inside a granted
    /// directory, with whether that directory is writable; `None` outside every grant or with
    /// a `..`, `.` or empty component.
    pub fn host_path(&self, guest_path: &str) -> Option<(PathBuf, bool)> {
        let relative_parts = |rest: &str| -> Option<Vec<String>> {
            let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
            if parts
                .iter()
                .any(|p| *p == "." || *p == ".." || p.contains('\\'))
            {
                return None;
            }
            Some(parts.into_iter().map(str::to_string).collect())
        };
        self.dirs.iter().find_map(|grant| {
            let base = grant.guest.trim_end_matches('/');
            let rest = guest_path.strip_prefix(base)?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            let parts = relative_parts(rest)?;
            let mut path = grant.host.clone();
            path.extend(parts);
            Some((path, grant.writable))
        })
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty() && self.env.is_empty() && self.network.is_empty()
    }

    /// The WASI context of one store of a plugin with these grants; stdout and stderr go to
    /// the captures.
    pub(crate) fn context(
        self: &Arc<Self>,
        plugin: &str,
        stdout: &CapturedOutput,
        stderr: &CapturedOutput,
    ) -> WasiCtx {
        let mut builder = WasiCtxBuilder::new();
        builder.stdout(stdout.clone()).stderr(stderr.clone());
        for (name, value) in &self.env {
            builder.env(name, value);
        }
        for dir in &self.dirs {
            let perms = if dir.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            if let Err(error) = builder.preopened_dir(&dir.host, &dir.guest, perms) {
                tracing::error!(plugin, host = %dir.host.display(), %error, "a granted directory cannot be opened; the plugin runs without it");
            }
        }
        if !self.network.is_empty() {
            let grants = self.clone();
            builder
                .allow_tcp(true)
                .allow_udp(true)
                .socket_addr_check(move |addr, usage| {
                    let allowed = grants.allows(addr, usage);
                    Box::pin(async move { allowed })
                });
        }
        builder.build()
    }

    /// Outbound use of listed addresses only: connecting or sending to one, and the implicit
    /// bind to an ephemeral port that precedes it. Listening and accepting are never allowed.
    fn allows(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        match usage {
            SocketAddrUse::TcpConnect | SocketAddrUse::UdpSend => self.network.contains(&addr),
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                addr.ip().is_unspecified() && addr.port() == 0
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outbound_use_of_listed_addresses_is_allowed() {
        let listed: SocketAddr = "10.0.0.5:5432".parse().unwrap();
        let grants = WasiGrants {
            network: HashSet::from([listed]),
            ..WasiGrants::default()
        };
        assert!(grants.allows(listed, SocketAddrUse::TcpConnect));
        assert!(grants.allows(listed, SocketAddrUse::UdpSend));
        assert!(!grants.allows("10.0.0.5:5433".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(!grants.allows("10.0.0.6:5432".parse().unwrap(), SocketAddrUse::TcpConnect));
        assert!(
            grants.allows("0.0.0.0:0".parse().unwrap(), SocketAddrUse::TcpBind),
            "the implicit bind before connect"
        );
        assert!(!grants.allows("0.0.0.0:8080".parse().unwrap(), SocketAddrUse::TcpBind));
        assert!(!grants.allows(listed, SocketAddrUse::TcpListen));
        assert!(!grants.allows(listed, SocketAddrUse::TcpAccept));
    }
}
