//! The JSON bridge: `serde_json` values to and from component values, driven by the export's
//! types. Used by the CLI and the HTTP front end.
//!
//! | component type | JSON |
//! |---|---|
//! | bool, integers, floats, string | the same (floats that are not finite: `"NaN"`, `"Infinity"`, `"-Infinity"`) |
//! | char | a one-character string |
//! | list, tuple, fixed-length list | an array |
//! | record | an object (fields of `option` type may be left out) |
//! | option | the value, or `null` |
//! | result | `{"ok": V}` or `{"err": E}` (`null` for no payload) |
//! | variant | `{"case": V}` (`{"case": null}` or `"case"` for a case without payload) |
//! | enum | the case name |
//! | flags | an array of the flags that are set |
//! | map | an object when keys are strings, else an array of `[key, value]` pairs |

use serde_json::{Map, Number, Value};
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use crate::plugin::check::kind;
use crate::plugin::signature::describe_type;

/// Converts JSON arguments for `func`, one array element per parameter.
pub fn json_to_args(func: &ComponentFunc, args: &[Value]) -> Result<Vec<Val>, String> {
    let params: Vec<(&str, Type)> = func.params().collect();
    if params.len() != args.len() {
        return Err(format!(
            "expected {} argument(s), got {}",
            params.len(),
            args.len()
        ));
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, ((name, ty), arg))| {
            json_to_val(arg, ty).map_err(|e| format!("argument {} (`{name}`){e}", i + 1))
        })
        .collect()
}

/// Converts one JSON value to a value of type `ty`. The error starts with the path inside the
/// value, e.g. `.origin.x: expected f64, got "a"`.
pub fn json_to_val(value: &Value, ty: &Type) -> Result<Val, String> {
    let mismatch = || format!(": expected {}, got {}", describe_type(ty), short(value));
    macro_rules! integer {
        ($variant:ident, $t:ty) => {{
            let n = value
                .as_i64()
                .map(i128::from)
                .or_else(|| value.as_u64().map(i128::from))
                .ok_or_else(mismatch)?;
            <$t>::try_from(n)
                .map(Val::$variant)
                .map_err(|_| format!(": {n} is out of range for {}", describe_type(ty)))
        }};
    }
    match ty {
        Type::Bool => value.as_bool().map(Val::Bool).ok_or_else(mismatch),
        Type::S8 => integer!(S8, i8),
        Type::U8 => integer!(U8, u8),
        Type::S16 => integer!(S16, i16),
        Type::U16 => integer!(U16, u16),
        Type::S32 => integer!(S32, i32),
        Type::U32 => integer!(U32, u32),
        Type::S64 => integer!(S64, i64),
        Type::U64 => integer!(U64, u64),
        Type::Float32 => float(value)
            .map(|f| Val::Float32(f as f32))
            .ok_or_else(mismatch),
        Type::Float64 => float(value).map(Val::Float64).ok_or_else(mismatch),
        Type::Char => {
            let s = value.as_str().ok_or_else(mismatch)?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Val::Char(c)),
                _ => Err(format!(": expected one character, got {s:?}")),
            }
        }
        Type::String => value
            .as_str()
            .map(|s| Val::String(s.to_string()))
            .ok_or_else(mismatch),
        Type::List(list) => {
            let inner = list.ty();
            Ok(Val::List(elements(value, &inner).ok_or_else(mismatch)??))
        }
        Type::FixedLengthList(list) => {
            let items = elements(value, &list.ty()).ok_or_else(mismatch)??;
            if items.len() != list.len() as usize {
                return Err(format!(
                    ": expected {} element(s), got {}",
                    list.len(),
                    items.len()
                ));
            }
            Ok(Val::FixedLengthList(items))
        }
        Type::Map(map) => {
            let (key_ty, value_ty) = (map.key(), map.value());
            let pairs = match value {
                Value::Object(object) if key_ty == Type::String => object
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            Val::String(k.clone()),
                            json_to_val(v, &value_ty).map_err(|e| format!(".{k}{e}"))?,
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?,
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, pair)| match pair.as_array().map(Vec::as_slice) {
                        Some([k, v]) => Ok((
                            json_to_val(k, &key_ty).map_err(|e| format!("[{i}].key{e}"))?,
                            json_to_val(v, &value_ty).map_err(|e| format!("[{i}].value{e}"))?,
                        )),
                        _ => Err(format!("[{i}]: expected a [key, value] pair")),
                    })
                    .collect::<Result<Vec<_>, String>>()?,
                _ => return Err(mismatch()),
            };
            Ok(Val::Map(pairs))
        }
        Type::Record(record) => {
            let object = value.as_object().ok_or_else(mismatch)?;
            let mut fields = Vec::new();
            for field in record.fields() {
                let val = match (object.get(field.name), &field.ty) {
                    (Some(v), ty) => {
                        json_to_val(v, ty).map_err(|e| format!(".{}{e}", field.name))?
                    }
                    (None, Type::Option(_)) => Val::Option(None),
                    (None, _) => return Err(format!(": missing field `{}`", field.name)),
                };
                fields.push((field.name.to_string(), val));
            }
            if let Some(unknown) = object
                .keys()
                .find(|k| !record.fields().any(|f| f.name == k.as_str()))
            {
                return Err(format!(
                    ": unknown field `{unknown}`; expected {}",
                    describe_type(ty)
                ));
            }
            Ok(Val::Record(fields))
        }
        Type::Tuple(tuple) => {
            let items = value.as_array().ok_or_else(mismatch)?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(format!(
                    ": expected a tuple of {}, got {} element(s)",
                    types.len(),
                    items.len()
                ));
            }
            let vals = items
                .iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (item, ty))| json_to_val(item, ty).map_err(|e| format!("[{i}]{e}")))
                .collect::<Result<_, _>>()?;
            Ok(Val::Tuple(vals))
        }
        Type::Variant(variant) => {
            let (case, payload) = single_key(value).ok_or_else(mismatch)?;
            let Some(expected) = variant.cases().find(|c| c.name == case) else {
                return Err(format!(": `{case}` is not a case of {}", describe_type(ty)));
            };
            let payload = match (&expected.ty, payload) {
                (None, None | Some(Value::Null)) => None,
                (None, Some(_)) => return Err(format!(": case `{case}` takes no payload")),
                (Some(ty), Some(v)) => Some(Box::new(
                    json_to_val(v, ty).map_err(|e| format!(".{case}{e}"))?,
                )),
                (Some(_), None) => return Err(format!(": case `{case}` needs a payload")),
            };
            Ok(Val::Variant(case.to_string(), payload))
        }
        Type::Enum(en) => {
            let name = value.as_str().ok_or_else(mismatch)?;
            if en.names().any(|n| n == name) {
                Ok(Val::Enum(name.to_string()))
            } else {
                Err(format!(": `{name}` is not a case of {}", describe_type(ty)))
            }
        }
        Type::Flags(flags) => {
            let items = value.as_array().ok_or_else(mismatch)?;
            let mut set = Vec::new();
            for item in items {
                let name = item.as_str().ok_or_else(mismatch)?;
                if !flags.names().any(|f| f == name) {
                    return Err(format!(": `{name}` is not a flag of {}", describe_type(ty)));
                }
                set.push(name.to_string());
            }
            Ok(Val::Flags(set))
        }
        Type::Option(option) => match value {
            Value::Null => Ok(Val::Option(None)),
            v => Ok(Val::Option(Some(Box::new(json_to_val(v, &option.ty())?)))),
        },
        Type::Result(result) => {
            let (case, payload) = single_key(value).ok_or_else(mismatch)?;
            let (ty, ok) = match case {
                "ok" => (result.ok(), true),
                "err" => (result.err(), false),
                other => return Err(format!(": expected `ok` or `err`, got `{other}`")),
            };
            let payload = match (ty, payload) {
                (None, None | Some(Value::Null)) => None,
                (None, Some(_)) => return Err(format!(": `{case}` takes no payload")),
                (Some(ty), Some(v)) => Some(Box::new(
                    json_to_val(v, &ty).map_err(|e| format!(".{case}{e}"))?,
                )),
                (Some(_), None) => return Err(format!(": `{case}` needs a payload")),
            };
            Ok(Val::Result(if ok { Ok(payload) } else { Err(payload) }))
        }
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            Err(format!(": {} has no JSON form", describe_type(ty)))
        }
    }
}

/// The deepest nesting of a handler's answer parsed as JSON: deeper answers stay text.
pub const MAX_ANSWER_DEPTH: usize = 1_000;

/// A handler's `Ok` string: the JSON it holds (nested up to [`MAX_ANSWER_DEPTH`] levels,
/// well past serde_json's default of 128), else the string itself.
pub fn answer_to_json(text: String) -> Value {
    if nesting_depth(&text) > MAX_ANSWER_DEPTH {
        tracing::debug!(
            max = MAX_ANSWER_DEPTH,
            "a handler's answer nests too deep to be parsed; kept as text"
        );
        return Value::String(text);
    }
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    // Bounded by the scan above, so parsing cannot exhaust the stack.
    deserializer.disable_recursion_limit();
    let parsed = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|value: Value| deserializer.end().map(|()| value));
    parsed.unwrap_or(Value::String(text))
}

/// The deepest nesting of arrays and objects in `text`, strings skipped (an upper bound for
/// text that is not JSON).
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in text.bytes() {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Converts a component value to JSON.
pub fn val_to_json(val: &Val) -> Value {
    match val {
        Val::Bool(b) => Value::Bool(*b),
        Val::S8(n) => Value::from(*n),
        Val::U8(n) => Value::from(*n),
        Val::S16(n) => Value::from(*n),
        Val::U16(n) => Value::from(*n),
        Val::S32(n) => Value::from(*n),
        Val::U32(n) => Value::from(*n),
        Val::S64(n) => Value::from(*n),
        Val::U64(n) => Value::from(*n),
        Val::Float32(f) => float_json(f.to_string().parse().unwrap_or(f64::from(*f))),
        Val::Float64(f) => float_json(*f),
        Val::Char(c) => Value::String(c.to_string()),
        Val::String(s) => Value::String(s.clone()),
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(val_to_json).collect())
        }
        Val::Map(pairs) => {
            let object: Option<Map<String, Value>> = pairs
                .iter()
                .map(|(k, v)| match k {
                    Val::String(k) => Some((k.clone(), val_to_json(v))),
                    _ => None,
                })
                .collect();
            object.map(Value::Object).unwrap_or_else(|| {
                Value::Array(
                    pairs
                        .iter()
                        .map(|(k, v)| Value::Array(vec![val_to_json(k), val_to_json(v)]))
                        .collect(),
                )
            })
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), val_to_json(v)))
                .collect(),
        ),
        Val::Variant(case, payload) => tagged(case, payload.as_deref()),
        Val::Enum(case) => Value::String(case.clone()),
        Val::Option(value) => value.as_deref().map(val_to_json).unwrap_or(Value::Null),
        Val::Result(Ok(payload)) => tagged("ok", payload.as_deref()),
        Val::Result(Err(payload)) => tagged("err", payload.as_deref()),
        Val::Flags(names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            Value::String(format!("<{}>", kind(val)))
        }
    }
}

fn tagged(key: &str, payload: Option<&Val>) -> Value {
    let mut object = Map::new();
    object.insert(
        key.to_string(),
        payload.map(val_to_json).unwrap_or(Value::Null),
    );
    Value::Object(object)
}

fn elements(value: &Value, ty: &Type) -> Option<Result<Vec<Val>, String>> {
    let items = value.as_array()?;
    Some(
        items
            .iter()
            .enumerate()
            .map(|(i, item)| json_to_val(item, ty).map_err(|e| format!("[{i}]{e}")))
            .collect(),
    )
}

fn single_key(value: &Value) -> Option<(&str, Option<&Value>)> {
    match value {
        Value::String(case) => Some((case.as_str(), None)),
        Value::Object(object) if object.len() == 1 => {
            object.iter().next().map(|(k, v)| (k.as_str(), Some(v)))
        }
        _ => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn float_json(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 60 {
        format!(
            "{}...",
            &text[..text
                .char_indices()
                .nth(57)
                .map(|(i, _)| i)
                .unwrap_or(text.len())]
        )
    } else {
        text
    }
}

#[cfg(test)]
mod answer_tests {
    use super::*;

    #[test]
    fn an_answer_nested_past_serde_s_default_limit_is_json() {
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        assert!(answer_to_json(deep).is_array());
        let too_deep = "[".repeat(MAX_ANSWER_DEPTH + 1);
        assert!(answer_to_json(too_deep).is_string());
        assert_eq!(
            answer_to_json("not json".into()),
            Value::String("not json".into())
        );
        assert_eq!(answer_to_json(r#"{"a": "[[["}"#.into())["a"], "[[[");
    }
}
