//! Keeping credentials out of errors and logs: a password in a URL's user-info
//! (`postgres://app:PASSWORD@db/x`, whatever the scheme, a misspelled one included) or in a
//! query string (`?password=...`, `sslpassword`, `secret`, `token`, `key`...) is replaced by
//! `***` wherever it appears in a text.

/// Query parameters whose values are credentials (matched without regard to case, and as
/// suffixes: `sslpassword`, `api_key`, `access_token`).
const SECRET_PARAMETERS: &[&str] = &["password", "passwd", "pwd", "secret", "token", "key"];

/// `text` with every password of a URL's user-info and every credential query parameter
/// replaced by `***`.
pub fn redact_secrets(text: &str) -> String {
    redact_parameters(&redact_user_info(text))
}

/// `scheme://user:password@host` -> `scheme://user:***@host`, for every URL in `text`.
fn redact_user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| {
                c == '/' || c == '?' || c == '#' || c.is_whitespace() || "`\"'<>".contains(c)
            })
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user_info = &authority[..at];
                match user_info.find(':') {
                    Some(colon) => {
                        out.push_str(&user_info[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(user_info),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// `...password=VALUE...` -> `...password=***...` for every credential parameter in `text`.
fn redact_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(equals) = rest.find('=') {
        let (head, tail) = rest.split_at(equals);
        let name_start = head
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = head[name_start..].to_ascii_lowercase();
        out.push_str(head);
        out.push('=');
        let value = &tail[1..];
        let value_end = value
            .find(|c: char| c == '&' || c == ';' || c.is_whitespace() || "`\"',)".contains(c))
            .unwrap_or(value.len());
        let secret = !name.is_empty() && SECRET_PARAMETERS.iter().any(|s| name.ends_with(s));
        if secret && value_end > 0 {
            out.push_str("***");
        } else {
            out.push_str(&value[..value_end]);
        }
        rest = &value[value_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_secrets;

    #[test]
    fn passwords_in_user_info_are_hidden_whatever_the_scheme() {
        for (text, expected) in [
            (
                "postgres://app:s3cret@db:5432/x",
                "postgres://app:***@db:5432/x",
            ),
            (
                "`postgress://app:s3cret@db/x` is not",
                "`postgress://app:***@db/x` is not",
            ),
            (
                "at http://minio:minio-s3cret@127.0.0.1:9000 (x)",
                "at http://minio:***@127.0.0.1:9000 (x)",
            ),
            (
                "two a://u:p1@h and b://v:p2@k",
                "two a://u:***@h and b://v:***@k",
            ),
            (
                "no password: postgres://app@db/x",
                "no password: postgres://app@db/x",
            ),
            ("sqlite://data/a.db", "sqlite://data/a.db"),
        ] {
            assert_eq!(redact_secrets(text), expected);
        }
    }

    #[test]
    fn credential_parameters_are_hidden() {
        let text = "postgres://db/x?user=app&password=s3cret&sslmode=require&sslpassword=k3y";
        let redacted = redact_secrets(text);
        assert_eq!(
            redacted,
            "postgres://db/x?user=app&password=***&sslmode=require&sslpassword=***"
        );
        assert_eq!(redact_secrets("api_key=abc123 rest"), "api_key=*** rest");
        assert_eq!(redact_secrets("a == b"), "a == b");
    }

    /// Found by the `config` fuzz target: a multi-byte character before `=`.
    #[test]
    fn multi_byte_text_before_an_equals_sign_is_kept_whole() {
        let text = "unknown section `55\u{534}55`, x\u{534}=1 password\u{534}=2";
        assert_eq!(redact_secrets(text), text);
        assert_eq!(
            redact_secrets("\u{534}password=s3cret"),
            "\u{534}password=***"
        );
    }
}
