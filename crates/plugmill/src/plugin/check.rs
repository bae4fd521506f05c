//! Checking dynamically typed arguments against an export's signature before the call, so a
//! mismatch is reported with the parameter and the path to the offending value.

use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use super::signature::describe_type;

/// Checks `args` against the parameters of `func`.
pub fn check_args(func: &ComponentFunc, args: &[Val]) -> Result<(), String> {
    let params: Vec<(&str, Type)> = func.params().collect();
    if params.len() != args.len() {
        return Err(format!(
            "expected {} argument(s), got {}",
            params.len(),
            args.len()
        ));
    }
    for (i, ((name, ty), arg)) in params.iter().zip(args).enumerate() {
        conforms(arg, ty).map_err(|e| format!("argument {} (`{name}`){e}", i + 1))?;
    }
    Ok(())
}

/// Checks that `val` is a value of type `ty`; the error starts with the path inside the value.
pub fn conforms(val: &Val, ty: &Type) -> Result<(), String> {
    let mismatch = || {
        Err(format!(
            ": expected {}, got {}",
            describe_type(ty),
            kind(val)
        ))
    };
    match (val, ty) {
        (Val::Bool(_), Type::Bool)
        | (Val::S8(_), Type::S8)
        | (Val::U8(_), Type::U8)
        | (Val::S16(_), Type::S16)
        | (Val::U16(_), Type::U16)
        | (Val::S32(_), Type::S32)
        | (Val::U32(_), Type::U32)
        | (Val::S64(_), Type::S64)
        | (Val::U64(_), Type::U64)
        | (Val::Float32(_), Type::Float32)
        | (Val::Float64(_), Type::Float64)
        | (Val::Char(_), Type::Char)
        | (Val::String(_), Type::String) => Ok(()),
        (Val::List(items), Type::List(list)) => {
            let inner = list.ty();
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| conforms(item, &inner).map_err(|e| format!("[{i}]{e}")))
        }
        (Val::Record(fields), Type::Record(record)) => {
            let expected: Vec<_> = record.fields().collect();
            if fields.len() != expected.len() {
                return Err(format!(
                    ": expected {} field(s), got {}",
                    expected.len(),
                    fields.len()
                ));
            }
            for ((name, value), field) in fields.iter().zip(&expected) {
                if name != field.name {
                    return Err(format!(": expected field `{}`, got `{name}`", field.name));
                }
                conforms(value, &field.ty).map_err(|e| format!(".{name}{e}"))?;
            }
            Ok(())
        }
        (Val::Tuple(items), Type::Tuple(tuple)) => {
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(format!(
                    ": expected a tuple of {}, got {}",
                    types.len(),
                    items.len()
                ));
            }
            items
                .iter()
                .zip(&types)
                .enumerate()
                .try_for_each(|(i, (item, ty))| conforms(item, ty).map_err(|e| format!(".{i}{e}")))
        }
        (Val::Variant(case, payload), Type::Variant(variant)) => {
            let Some(expected) = variant.cases().find(|c| c.name == case) else {
                return Err(format!(": `{case}` is not a case of {}", describe_type(ty)));
            };
            match (payload, &expected.ty) {
                (None, None) => Ok(()),
                (Some(value), Some(ty)) => conforms(value, ty).map_err(|e| format!(".{case}{e}")),
                (None, Some(_)) => Err(format!(": case `{case}` needs a payload")),
                (Some(_), None) => Err(format!(": case `{case}` takes no payload")),
            }
        }
        (Val::Enum(name), Type::Enum(en)) => {
            if en.names().any(|n| n == name) {
                Ok(())
            } else {
                Err(format!(": `{name}` is not a case of {}", describe_type(ty)))
            }
        }
        (Val::Flags(names), Type::Flags(flags)) => match names
            .iter()
            .find(|n| !flags.names().any(|f| f == n.as_str()))
        {
            Some(unknown) => Err(format!(
                ": `{unknown}` is not a flag of {}",
                describe_type(ty)
            )),
            None => Ok(()),
        },
        (Val::Option(value), Type::Option(option)) => match value {
            None => Ok(()),
            Some(value) => conforms(value, &option.ty()).map_err(|e| format!("?{e}")),
        },
        (Val::Result(value), Type::Result(result)) => {
            let (payload, ty, label) = match value {
                Ok(payload) => (payload, result.ok(), "ok"),
                Err(payload) => (payload, result.err(), "err"),
            };
            match (payload, ty) {
                (None, None) => Ok(()),
                (Some(value), Some(ty)) => conforms(value, &ty).map_err(|e| format!(".{label}{e}")),
                (None, Some(_)) => Err(format!(": `{label}` needs a payload")),
                (Some(_), None) => Err(format!(": `{label}` takes no payload")),
            }
        }
        _ => mismatch(),
    }
}

/// A short name for the kind of a value, for error messages.
pub fn kind(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "bool",
        Val::S8(_) => "s8",
        Val::U8(_) => "u8",
        Val::S16(_) => "s16",
        Val::U16(_) => "u16",
        Val::S32(_) => "s32",
        Val::U32(_) => "u32",
        Val::S64(_) => "s64",
        Val::U64(_) => "u64",
        Val::Float32(_) => "f32",
        Val::Float64(_) => "f64",
        Val::Char(_) => "char",
        Val::String(_) => "string",
        Val::List(_) | Val::FixedLengthList(_) => "list",
        Val::Map(_) => "map",
        Val::Record(_) => "record",
        Val::Tuple(_) => "tuple",
        Val::Variant(..) => "variant",
        Val::Enum(_) => "enum",
        Val::Option(_) => "option",
        Val::Result(_) => "result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "resource",
        Val::Future(_) => "future",
        Val::Stream(_) => "stream",
        Val::ErrorContext(_) => "error-context",
    }
}
