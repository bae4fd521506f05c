//! The fields of a caller's data that belong to the server: `claims` (the verified token's
//! claims, as a JSON string), `task_execution` (the task's record, as a JSON string) and
//! `document_id` (made for a task with `generate_document`). Whatever a caller sends in
//! them is removed on every path (`POST /plugin`, a route at its own path, `POST
//! /tasks/{name}`); the server then sets the ones it owns for this call.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// The fields the server owns in a caller's data.
pub const SERVER_FIELDS: [&str; 3] = ["claims", "task_execution", "document_id"];

/// `data` with the server's fields removed and, when the caller has a verified token,
/// `claims` set to its claims (a JSON string). Data that is not an object passes unchanged
/// without claims; with claims it must be an object or null.
pub(crate) fn callers_data(data: Value, claims: Option<&str>) -> Result<Value, ApiError> {
    let mut map = match (data, claims) {
        (Value::Object(map), _) => map,
        (Value::Null, Some(_)) => Map::new(),
        (other, None) => return Ok(other),
        (_, Some(_)) => return Err(not_an_object()),
    };
    for field in SERVER_FIELDS {
        if map.contains_key(field) {
            map.shift_remove(field);
        }
    }
    if let Some(claims) = claims {
        map.insert("claims".into(), Value::String(claims.to_string()));
    }
    Ok(Value::Object(map))
}

/// The seed's `data`: an object (null or missing: an empty one), with the server's fields
/// set as [`callers_data`] does.
pub(crate) fn seed_data(data: Option<Value>, claims: Option<&str>) -> Result<Value, ApiError> {
    let data = match data {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => return Err(not_an_object()),
    };
    callers_data(data, claims)
}

fn not_an_object() -> ApiError {
    ApiError::BadRequest("`data` must be a JSON object or null".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_server_s_fields_are_removed_or_replaced_and_the_rest_keeps_its_order() {
        let sent =
            json!({"a": 1, "claims": "forged", "task_execution": "{}", "b": 2, "document_id": "d"});
        let data = callers_data(sent.clone(), None).unwrap();
        assert_eq!(data.to_string(), r#"{"a":1,"b":2}"#);
        let data = callers_data(sent, Some(r#"{"sub":"x"}"#)).unwrap();
        assert_eq!(
            data.to_string(),
            r#"{"a":1,"b":2,"claims":"{\"sub\":\"x\"}"}"#
        );
        assert_eq!(callers_data(json!([1]), None).unwrap(), json!([1]));
        assert!(callers_data(json!([1]), Some("{}")).is_err());
        assert_eq!(seed_data(None, None).unwrap(), json!({}));
    }
}
