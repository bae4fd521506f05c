//! The allowlist of one plugin: rules of scheme, host (with a leading `*.` wildcard, or an
//! address) and port, written as `"https://api.example.com"`, `"https://*.internal:8443"`,
//! `"http://127.0.0.1:8080"` or `"https://api.example.com:*"`.

use std::fmt;
use std::net::IpAddr;

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The scheme named `name` (lowercase), if plugins may use it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    /// Its port when none is written.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// The host part of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// One name, lowercase.
    Name(String),
    /// Every name ending with `.suffix` (`*.internal`), the suffix lowercase without its dot.
    Subdomains(String),
    /// One address: the only way to reach private, loopback or link-local addresses.
    Address(IpAddr),
}

/// The port part of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortPattern {
    /// One port (the scheme's when none is written).
    One(u16),
    /// Any port (`:*`).
    Any,
}

/// One entry of `[plugins.NAME] http = [...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The scheme requests must use.
    pub scheme: Scheme,
    /// The hosts it covers.
    pub host: HostPattern,
    /// The ports it covers.
    pub port: PortPattern,
}

/// Where one request goes: scheme, host as written (lowercase) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its scheme.
    pub scheme: Scheme,
    /// Its host, lowercase, without brackets around an IPv6 address.
    pub host: String,
    /// Its port, the scheme's when the URI gives none.
    pub port: u16,
}

impl Target {
    /// The host as an address, when it is one.
    pub fn address(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address() {
            Some(IpAddr::V6(v6)) => write!(f, "{}://[{v6}]:{}", self.scheme.as_str(), self.port),
            _ => write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port),
        }
    }
}

impl Rule {
    /// Parses a rule; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = text.escape_debug();
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("`{shown}` is not an allowed host: write scheme://host[:port], e.g. \"https://api.example.com\"")
        })?;
        let scheme = Scheme::parse(&scheme.to_ascii_lowercase())
            .ok_or_else(|| format!("`{shown}`: the scheme must be http or https"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "`{shown}`: give only scheme, host and port, without path, query or user"
            ));
        }
        let (host, port) =
            split_host_port(rest).map_err(|problem| format!("`{shown}`: {problem}"))?;
        let port =
            match port {
                None => PortPattern::One(scheme.default_port()),
                Some("*") => PortPattern::Any,
                Some(port) => {
                    PortPattern::One(port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(
                        || format!("`{shown}`: `{port}` is not a port (1 to 65535, or *)"),
                    )?)
                }
            };
        let host = host.to_ascii_lowercase();
        let host = if let Ok(address) = host.parse::<IpAddr>() {
            HostPattern::Address(address)
        } else if let Some(suffix) = host.strip_prefix("*.") {
            check_name(suffix).map_err(|problem| format!("`{shown}`: {problem}"))?;
            HostPattern::Subdomains(suffix.to_string())
        } else {
            check_name(&host).map_err(|problem| format!("`{shown}`: {problem}"))?;
            HostPattern::Name(host)
        };
        Ok(Self { scheme, host, port })
    }

    /// Whether the rule covers `target`.
    pub fn covers(&self, target: &Target) -> bool {
        if self.scheme != target.scheme {
            return false;
        }
        if let PortPattern::One(port) = self.port {
            if port != target.port {
                return false;
            }
        }
        match &self.host {
            HostPattern::Name(name) => *name == target.host,
            HostPattern::Subdomains(suffix) => target
                .host
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            HostPattern::Address(address) => target.address() == Some(*address),
        }
    }

    /// Whether the rule names an address: requests it covers may reach private addresses.
    pub fn by_address(&self) -> bool {
        matches!(self.host, HostPattern::Address(_))
    }
}

/// Splits `host[:port]` and `[v6][:port]`.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address needs its closing `]`")?;
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, Some(port)))
                .ok_or_else(|| "after `]` comes `:port` or nothing".to_string()),
        };
    }
    Ok(match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    })
}

/// A host name: labels of letters, digits and `-`, separated by dots.
fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a host name (a wildcard is only `*.` before a name)",
            name.escape_debug()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(scheme: Scheme, host: &str, port: u16) -> Target {
        Target {
            scheme,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn rules_cover_scheme_host_and_port() {
        let api = Rule::parse("https://API.example.com").unwrap();
        assert!(api.covers(&target(Scheme::Https, "api.example.com", 443)));
        assert!(!api.covers(&target(Scheme::Http, "api.example.com", 80)));
        assert!(!api.covers(&target(Scheme::Https, "api.example.com", 8443)));
        assert!(!api.covers(&target(Scheme::Https, "evil-api.example.com", 443)));

        let internal = Rule::parse("https://*.internal:8443").unwrap();
        assert!(internal.covers(&target(Scheme::Https, "db.internal", 8443)));
        assert!(internal.covers(&target(Scheme::Https, "a.b.internal", 8443)));
        assert!(!internal.covers(&target(Scheme::Https, "internal", 8443)));
        assert!(!internal.covers(&target(Scheme::Https, "xinternal", 8443)));
        assert!(!internal.covers(&target(Scheme::Https, "db.internal", 443)));

        let any_port = Rule::parse("http://example.com:*").unwrap();
        assert!(any_port.covers(&target(Scheme::Http, "example.com", 9000)));

        let local = Rule::parse("http://127.0.0.1:8080").unwrap();
        assert!(local.by_address());
        assert!(local.covers(&target(Scheme::Http, "127.0.0.1", 8080)));
        assert!(!local.covers(&target(Scheme::Http, "localhost", 8080)));
        let v6 = Rule::parse("http://[::1]:8080").unwrap();
        assert!(v6.covers(&target(Scheme::Http, "::1", 8080)));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (text, says) in [
            ("api.example.com", "write scheme://host"),
            ("ftp://example.com", "http or https"),
            ("https://example.com/path", "without path"),
            ("https://example.com:0", "is not a port"),
            ("https://example.com:99999", "is not a port"),
            ("https://*", "is not a host name"),
            ("https://a.*.com", "is not a host name"),
            ("https://user@example.com", "without path, query or user"),
            ("http://[::1", "closing"),
        ] {
            let error = Rule::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
