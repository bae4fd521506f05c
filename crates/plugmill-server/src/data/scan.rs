//! The members of a JSON object, found in its text without building it: where each key and
//! value starts and ends. Used on text already checked to be JSON ([`check`]); on anything
//! else a scan ends early with `None`, never a panic.

use std::borrow::Cow;
use std::ops::Range;

/// One member of an object: the byte ranges of its key (quotes included) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) key: Range<usize>,
    pub(crate) value: Range<usize>,
}

impl Member {
    /// The whole member, `"key": value`.
    pub(crate) fn span(&self) -> Range<usize> {
        self.key.start..self.value.end
    }

    /// The key, unescaped (`"cl\u0061ims"` is `claims`).
    pub(crate) fn name<'a>(&self, text: &'a str) -> Option<Cow<'a, str>> {
        let quoted = text.get(self.key.clone())?;
        if quoted.contains('\\') {
            serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
        } else {
            quoted.get(1..quoted.len() - 1).map(Cow::Borrowed)
        }
    }
}

/// What JSON text holds at its top level.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Top {
    /// Only whitespace.
    Nothing,
    /// `null`.
    Null,
    /// An object, and its members in order (duplicates included).
    Object(Vec<Member>),
    /// Anything else.
    Other,
}

/// `text` as JSON (UTF-8, well formed, nothing after the value), or why not.
pub(crate) fn check(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if text.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(text);
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// What `text` (checked JSON) holds at its top level; `None` if it is not JSON after all.
pub(crate) fn top(text: &str) -> Option<Top> {
    let bytes = text.as_bytes();
    let start = skip_space(bytes, 0);
    match bytes.get(start) {
        None => Some(Top::Nothing),
        Some(b'n') => Some(Top::Null),
        Some(b'{') => members(bytes, start).map(Top::Object),
        Some(_) => Some(Top::Other),
    }
}

/// The members of the object whose `{` is at `open`.
fn members(bytes: &[u8], open: usize) -> Option<Vec<Member>> {
    let mut found = Vec::new();
    let mut at = skip_space(bytes, open + 1);
    if *bytes.get(at)? == b'}' {
        return Some(found);
    }
    loop {
        let key_end = skip_string(bytes, at)?;
        let colon = skip_space(bytes, key_end);
        (*bytes.get(colon)? == b':').then_some(())?;
        let value_start = skip_space(bytes, colon + 1);
        let value_end = skip_value(bytes, value_start)?;
        found.push(Member {
            key: at..key_end,
            value: value_start..value_end,
        });
        let next = skip_space(bytes, value_end);
        match *bytes.get(next)? {
            b',' => at = skip_space(bytes, next + 1),
            b'}' => return Some(found),
            _ => return None,
        }
    }
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The end of the string whose `"` is at `at`.
fn skip_string(bytes: &[u8], at: usize) -> Option<usize> {
    (*bytes.get(at)? == b'"').then_some(())?;
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => skip_string(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        let Some(Top::Object(members)) = top(text) else {
            panic!("not an object: {text}")
        };
        members
            .iter()
            .map(|m| {
                (
                    m.name(text).unwrap().into_owned(),
                    text[m.value.clone()].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn members_are_found_at_the_top_level_only() {
        let text = r#" { "a" : 1 ,"b":{"claims":"x","c":[1,{"d":"}"}]},"e\"":"\\\"]}", "f":[ ], "g":-1.5e3,"h":true , "i":null} "#;
        assert_eq!(
            names(text),
            [
                ("a", "1"),
                ("b", r#"{"claims":"x","c":[1,{"d":"}"}]}"#),
                ("e\"", r#""\\\"]}""#),
                ("f", "[ ]"),
                ("g", "-1.5e3"),
                ("h", "true"),
                ("i", "null"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn escaped_keys_are_compared_unescaped() {
        assert_eq!(
            names(r#"{"cl\u0061ims":1}"#),
            [("claims".into(), "1".into())]
        );
    }

    #[test]
    fn top_levels_of_every_kind() {
        assert_eq!(top("  \n"), Some(Top::Nothing));
        assert_eq!(top(" null "), Some(Top::Null));
        assert_eq!(top("{}"), Some(Top::Object(vec![])));
        assert_eq!(top("[1]"), Some(Top::Other));
        assert_eq!(top("\"s\""), Some(Top::Other));
        assert_eq!(top("3"), Some(Top::Other));
    }

    #[test]
    fn text_that_is_not_json_ends_the_scan_without_a_panic() {
        for text in [
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":\"",
            "{\"a\":[}",
            "{\"a\":}",
            "{\"a\\",
            "{1:2}",
        ] {
            assert_eq!(top(text), None, "{text}");
            assert!(check(text.as_bytes()).is_err(), "{text}");
        }
        assert!(check(b"{\"a\":1} x").is_err(), "nothing after the value");
        assert!(check(b"{\"a\":\"\xff\"}").is_err(), "UTF-8 only");
        assert!(check(b" \n ").is_ok(), "whitespace: no value");
    }
}
