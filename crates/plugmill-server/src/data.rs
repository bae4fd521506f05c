//! The fields of a caller's data that belong to the server: `claims` (the verified token's
//! claims, as a JSON string), `task_execution` (the task's record, as a JSON string) and
//! `document_id` (made for a task with `generate_document`). Whatever a caller sends in
//! them is removed on every path (`POST /plugin`, a route at its own path, `POST
//! /tasks/{name}`); the server then sets the ones it owns for this call.
//!
//! The data is handed on as the text the caller sent, not parsed and written again: the
//! top-level members are found in it ([`scan`]), the server's are left out (however their
//! keys are escaped; duplicates too), the caller's others are copied as sent, in their
//! order, and `claims` comes last, written once per token ([`claims_member`]).

pub(crate) mod scan;

use std::borrow::Cow;

use scan::{Member, Top};

use crate::error::ApiError;

/// The fields the server owns in a caller's data.
pub const SERVER_FIELDS: [&str; 3] = ["claims", "task_execution", "document_id"];

/// The member `data.claims` gets for a token whose claims are `claims_json`:
/// `"claims":"<the claims, as a JSON string>"`.
pub(crate) fn claims_member(claims_json: &str) -> String {
    let mut member = String::from("\"claims\":");
    member.push_str(&serde_json::Value::from(claims_json).to_string());
    member
}

/// `text` (checked JSON, see [`scan::check`]) with the server's fields removed and, when the
/// caller has a verified token, `claims` set (`claims`: its [`claims_member`]). Only
/// whitespace is `null`. Data that is not an object passes unchanged without claims; with
/// claims it must be an object or null.
pub(crate) fn callers_data<'a>(
    text: &'a str,
    claims: Option<&str>,
) -> Result<Cow<'a, str>, ApiError> {
    match (scan::top(text).ok_or_else(not_json)?, claims) {
        (Top::Nothing, None) => Ok(Cow::Borrowed("null")),
        (Top::Nothing | Top::Null, Some(claims)) => Ok(Cow::Owned(format!("{{{claims}}}"))),
        (Top::Null | Top::Other, None) => Ok(Cow::Borrowed(text)),
        (Top::Other, Some(_)) => Err(not_an_object()),
        (Top::Object(members), claims) => object(text, &members, claims),
    }
}

/// The seed's `data` (the text of the member, if sent): an object (null or missing: an empty
/// one), with the server's fields set as [`callers_data`] does.
pub(crate) fn seed_data<'a>(
    text: Option<&'a str>,
    claims: Option<&str>,
) -> Result<Cow<'a, str>, ApiError> {
    let text = text.unwrap_or("{}");
    match scan::top(text).ok_or_else(not_json)? {
        Top::Nothing | Top::Null => callers_data("{}", claims),
        Top::Object(members) => object(text, &members, claims),
        Top::Other => Err(not_an_object()),
    }
}

/// The object of `members` without the server's fields, `claims` last.
fn object<'a>(
    text: &'a str,
    members: &[Member],
    claims: Option<&str>,
) -> Result<Cow<'a, str>, ApiError> {
    let mut kept = Vec::with_capacity(members.len());
    for member in members {
        let name = member.name(text).ok_or_else(not_json)?;
        if !SERVER_FIELDS.contains(&&*name) {
            kept.push(member.span());
        }
    }
    if claims.is_none() && kept.len() == members.len() {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len() + claims.map_or(0, str::len) + 2);
    out.push('{');
    for span in kept {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&text[span]);
    }
    if let Some(claims) = claims {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(claims);
    }
    out.push('}');
    Ok(Cow::Owned(out))
}

fn not_json() -> ApiError {
    ApiError::BadRequest("the request body is not JSON".into())
}

fn not_an_object() -> ApiError {
    ApiError::BadRequest("`data` must be a JSON object or null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn data(text: &str, claims: Option<&str>) -> Result<String, ApiError> {
        let text = scan::check(text.as_bytes()).map_err(ApiError::BadRequest)?;
        callers_data(text, claims.map(claims_member).as_deref()).map(Cow::into_owned)
    }

    #[test]
    fn the_server_s_fields_are_removed_or_replaced_and_the_rest_keeps_its_order() {
        let sent = r#"{"a":1,"claims":"forged","task_execution":"{}","b":2,"document_id":"d"}"#;
        assert_eq!(data(sent, None).unwrap(), r#"{"a":1,"b":2}"#);
        assert_eq!(
            data(sent, Some(r#"{"sub":"x"}"#)).unwrap(),
            r#"{"a":1,"b":2,"claims":"{\"sub\":\"x\"}"}"#
        );
        assert_eq!(data("[1]", None).unwrap(), "[1]");
        assert!(data("[1]", Some("{}")).is_err());
        assert!(data("\"text\"", Some("{}")).is_err());
        assert_eq!(seed_data(None, None).unwrap(), "{}");
        assert_eq!(seed_data(Some("null"), None).unwrap(), "{}");
        assert!(seed_data(Some("3"), None).is_err());
    }

    #[test]
    fn data_without_server_fields_passes_as_sent() {
        let sent = "{ \"a\" : [1, 2], \"b\": {\"c\": null} }";
        assert!(matches!(
            callers_data(sent, None).unwrap(),
            Cow::Borrowed(text) if text == sent
        ));
    }

    #[test]
    fn nothing_and_null_become_an_object_of_the_claims() {
        assert_eq!(data("", None).unwrap(), "null");
        assert_eq!(data(" null ", None).unwrap(), " null ");
        assert_eq!(data(" \n ", Some("{}")).unwrap(), r#"{"claims":"{}"}"#);
        assert_eq!(data("null", Some("{}")).unwrap(), r#"{"claims":"{}"}"#);
        assert_eq!(data(" { } ", Some("{}")).unwrap(), r#"{"claims":"{}"}"#);
    }

    #[test]
    fn every_duplicate_of_a_server_field_goes_and_the_caller_s_own_stay() {
        let sent = r#"{"claims":"1","a":1,"claims":"2","a":2,"document_id":3,"document_id":4}"#;
        assert_eq!(
            data(sent, Some("{}")).unwrap(),
            r#"{"a":1,"a":2,"claims":"{}"}"#
        );
        assert_eq!(data(r#"{"claims":1,"claims":2}"#, None).unwrap(), "{}");
    }

    #[test]
    fn escaped_keys_are_the_fields_they_spell() {
        let sent = r#"{"cl\u0061ims":"forged","task\u005fexecution":"x","a":1}"#;
        assert_eq!(data(sent, Some("{}")).unwrap(), r#"{"a":1,"claims":"{}"}"#);
    }

    #[test]
    fn nested_look_alikes_are_the_caller_s() {
        let sent = r#"{"x":{"claims":"keep","document_id":1},"y":["claims",{"claims":2}],"z":"\"claims\":3"}"#;
        let spliced = data(sent, Some("{}")).unwrap();
        let value: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(
            value,
            json!({"x":{"claims":"keep","document_id":1},"y":["claims",{"claims":2}],"z":"\"claims\":3","claims":"{}"})
        );
    }

    #[test]
    fn whitespace_anywhere_is_kept_or_dropped_and_the_result_is_json() {
        let sent = " \t{ \"a\" :\n1 ,\r\n \"claims\" : \"x\" , \"b\":[ 1 , 2 ] }\n";
        let spliced = data(sent, Some(r#"{"sub":"s"}"#)).unwrap();
        let value: Value = serde_json::from_str(&spliced).unwrap();
        assert_eq!(
            value,
            json!({"a": 1, "b": [1, 2], "claims": "{\"sub\":\"s\"}"})
        );
        assert_eq!(
            spliced,
            "{\"a\" :\n1,\"b\":[ 1 , 2 ],\"claims\":\"{\\\"sub\\\":\\\"s\\\"}\"}"
        );
    }

    #[test]
    fn bad_json_is_refused_before_anything_is_spliced() {
        for sent in [
            "{",
            "{\"a\":1,}",
            "{\"claims\":}",
            "{\"a\":1} {\"b\":2}",
            "nul",
            "{'a':1}",
        ] {
            assert!(data(sent, Some("{}")).is_err(), "{sent}");
        }
    }

    #[test]
    fn the_claims_member_is_a_json_string_of_the_claims() {
        let member = claims_member(r#"{"sub":"a\"b"}"#);
        let value: Value = serde_json::from_str(&format!("{{{member}}}")).unwrap();
        assert_eq!(value["claims"], r#"{"sub":"a\"b"}"#);
    }
}
