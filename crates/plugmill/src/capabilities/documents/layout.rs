//! The rules of documents' names, ids, tenants and content types.

/// Length of an id: 32 hex digits (128 random bits).
const ID_LEN: usize = 32;

/// A new id: 128 random bits in hex.
pub(super) fn new_id() -> String {
    let mut bytes = [0u8; ID_LEN / 2];
    getrandom::getrandom(&mut bytes).expect("the operating system gives random bytes");
    hex::encode(bytes)
}

/// Whether `id` is an id the host gives.
pub(super) fn check_id(id: &str) -> Result<(), ()> {
    if id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(())
    }
}

/// A tenant id usable as one path segment.
pub(super) fn check_tenant(tenant: &str) -> Result<(), String> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 128
        && !tenant.starts_with('.')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err("the call's tenant id cannot name a document folder: use letters, digits, '-', '_' and '.'".into())
    }
}

/// A base URL for public assets: `http://` or `https://`, a host, no query or fragment;
/// answered without its trailing slashes.
pub(super) fn check_base_url(url: &str) -> Result<String, String> {
    let shown = crate::config::values::shorten(url)
        .escape_debug()
        .to_string();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{shown}` is not an http:// or https:// URL"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || url.contains(['?', '#', ' '])
        || url.chars().any(char::is_control)
        || host.contains('@')
    {
        return Err(format!(
            "`{shown}` is not a base URL: write scheme://host[:port][/path], without credentials, query or fragment"
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The name of a public asset: a relative path of 1 to 1024 characters whose segments are
/// not empty, `.` or `..`, with no backslash, control character, `?` or `#`.
pub(super) fn check_asset_path(path: &str) -> Result<(), String> {
    let valid = !path.is_empty()
        && path.len() <= 1024
        && !path.chars().any(|c| c.is_control() || "\\?#".contains(c))
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an asset path: write a relative path such as logos/seal.png, without empty, `.` or `..` segments",
            crate::config::values::shorten(path).escape_debug()
        ))
    }
}

/// A document name: 1 to 255 characters, no control characters.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err("a document name has 1 to 255 characters and no control characters".into());
    }
    Ok(())
}

/// `type/subtype` of a content type, lowercase, without parameters.
pub(super) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
}

/// A content type: `type/subtype`, parameters allowed, at most 255 characters.
pub(super) fn check_content_type(content_type: &str) -> Result<(), String> {
    let essence = essence(content_type);
    let valid = content_type.len() <= 255
        && !content_type.chars().any(char::is_control)
        && essence
            .split_once('/')
            .is_some_and(|(top, sub)| is_token(top) && is_token(sub));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a content type: write type/subtype, e.g. application/pdf",
            crate::config::values::shorten(content_type).escape_debug()
        ))
    }
}

/// An accepted-type pattern: `type/subtype` or `type/*`.
pub(super) fn check_type_pattern(pattern: &str) -> Result<(), String> {
    match pattern.split_once('/') {
        Some((top, "*")) if is_token(top) => Ok(()),
        Some((top, sub))
            if is_token(top) && is_token(sub) && pattern == pattern.to_ascii_lowercase() =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{}` is not a content type pattern: write type/subtype or type/*, lowercase",
            pattern.escape_debug()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_tenants_names_and_types_follow_their_rules() {
        assert!(check_id(&new_id()).is_ok());
        assert_ne!(new_id(), new_id());
        for bad in ["", "../x", &"A".repeat(32), &"0".repeat(31)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_tenant("90505c8a-23a9-4cdf").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(check_tenant(bad).is_err(), "{bad}");
        }
        assert!(check_name("report 2026.pdf").is_ok());
        assert!(check_name("a\nb").is_err());
        assert!(check_content_type("application/pdf").is_ok());
        assert!(check_content_type("text/plain; charset=utf-8").is_ok());
        for bad in ["pdf", "text/", "/plain", "a b/c"] {
            assert!(check_content_type(bad).is_err(), "{bad}");
        }
        assert_eq!(essence("Text/Plain; charset=utf-8"), "text/plain");
        assert!(check_type_pattern("text/*").is_ok());
        assert!(check_type_pattern("*/*").is_err());
    }

    #[test]
    fn public_asset_paths_stay_under_their_base() {
        assert_eq!(
            check_base_url("https://assets.example.com/public/").unwrap(),
            "https://assets.example.com/public"
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@h/x",
            "https://h/?q",
            "assets",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
        assert!(check_asset_path("logos/seal.png").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "a\\b",
            "a?b",
            "./a",
        ] {
            assert!(check_asset_path(bad).is_err(), "{bad}");
        }
    }
}
