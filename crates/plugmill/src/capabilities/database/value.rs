//! Values as JSON, and the text formats of dates and times.
//!
//! JSON of a value: `null`, booleans and numbers as themselves (a float that JSON cannot hold,
//! NaN or infinite, as the string `"NaN"`, `"inf"`, `"-inf"`), text as a string, bytes as
//! base64, json as the JSON itself, arrays as JSON arrays; uuid, timestamps, dates, times and
//! numeric as strings (numeric keeps every digit).

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value as Json};

use super::wit::{Column, Rows, Value};

/// Rows as a JSON array of objects, keys in column order.
pub fn rows_to_json(rows: &Rows) -> Json {
    let objects = rows
        .rows
        .iter()
        .map(|row| {
            let object: Map<String, Json> = rows
                .columns
                .iter()
                .zip(row)
                .map(|(column, value)| (column.name.clone(), to_json(value)))
                .collect();
            Json::Object(object)
        })
        .collect();
    Json::Array(objects)
}

/// One value as JSON.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => match Number::from_f64(*f) {
            Some(number) => Json::Number(number),
            None => Json::String(f.to_string()),
        },
        Value::Bytes(bytes) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        // Both hold JSON text made by the host from the database's own value.
        Value::Json(text) | Value::Array(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.clone()))
        }
        Value::Text(s)
        | Value::Uuid(s)
        | Value::Timestamp(s)
        | Value::Timestamptz(s)
        | Value::Date(s)
        | Value::Time(s)
        | Value::Numeric(s) => Json::String(s.clone()),
    }
}

/// Elements of an array column as the `array` case: a JSON array.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn array(elements: impl IntoIterator<Item = Value>) -> Value {
    let json: Vec<Json> = elements.into_iter().map(|v| to_json(&v)).collect();
    Value::Array(Json::Array(json).to_string())
}

/// `2024-05-01T12:30:00.25`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn format_timestamp(value: &NaiveDateTime) -> String {
    value.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

/// `2024-05-01T12:30:00.25Z`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn format_timestamptz(value: &DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `12:30:00.25`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn format_time(value: &NaiveTime) -> String {
    value.format("%H:%M:%S%.f").to_string()
}

/// Parses a timestamp without zone; `T` or a space between date and time.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn parse_timestamp(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN))
        })
        .map_err(|_| format!("`{text}` is not a timestamp like 2024-05-01T12:30:00"))
}

/// Parses an RFC 3339 instant.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn parse_timestamptz(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is not an RFC 3339 instant like 2024-05-01T12:30:00Z"))
}

/// Parses a date.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date like 2024-05-01"))
}

/// Parses a time of day.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(text.trim(), "%H:%M"))
        .map_err(|_| format!("`{text}` is not a time like 12:30:00"))
}

/// The name of a value's case, for messages.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL types only
pub fn case_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
        Value::Json(_) => "json",
        Value::Uuid(_) => "uuid",
        Value::Timestamp(_) => "timestamp",
        Value::Timestamptz(_) => "timestamptz",
        Value::Date(_) => "date",
        Value::Time(_) => "time",
        Value::Numeric(_) => "numeric",
        Value::Array(_) => "array",
    }
}

/// The result columns of a prepared statement: names and lower-case type names.
pub(crate) fn columns_of<S: sqlx::Statement>(statement: &S) -> Vec<Column> {
    use sqlx::{Column as _, TypeInfo as _};
    statement
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::database::Column;

    #[test]
    fn rows_become_objects_in_column_order() {
        let rows = Rows {
            columns: vec![
                Column {
                    name: "z".into(),
                    type_name: "int8".into(),
                },
                Column {
                    name: "a".into(),
                    type_name: "bytea".into(),
                },
            ],
            rows: vec![vec![Value::Int(1), Value::Bytes(vec![0, 255])]],
        };
        assert_eq!(rows_to_json(&rows).to_string(), r#"[{"z":1,"a":"AP8="}]"#);
    }

    #[test]
    fn floats_json_cannot_hold_become_strings() {
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::String("NaN".into()));
        assert_eq!(to_json(&Value::Float(1.5)), serde_json::json!(1.5));
    }

    #[test]
    fn times_round_trip_through_text() {
        let t = parse_timestamp("2024-05-01 12:30:00.25").unwrap();
        assert_eq!(format_timestamp(&t), "2024-05-01T12:30:00.250");
        let tz = parse_timestamptz("2024-05-01T14:30:00+02:00").unwrap();
        assert_eq!(format_timestamptz(&tz), "2024-05-01T12:30:00Z");
        assert!(parse_date("2024-13-01").unwrap_err().contains("2024-13-01"));
    }
}
