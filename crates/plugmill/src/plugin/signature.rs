//! Export signatures: rendering component types as WIT-like text (for `plugmill inspect` and
//! error messages) and deciding whether plugmill can call an export as a hook, a route
//! handler or a task.

use wasmtime::component::types::{ComponentFunc, ComponentItem};
use wasmtime::component::Type;
use wasmtime::Engine;

/// Renders a function type, e.g. `func(name: string) -> result<string, string>`.
pub fn describe_func(func: &ComponentFunc) -> String {
    let params: Vec<String> = func
        .params()
        .map(|(name, ty)| format!("{name}: {}", describe_type(&ty)))
        .collect();
    let results: Vec<String> = func.results().map(|ty| describe_type(&ty)).collect();
    let prefix = if func.async_() { "async func" } else { "func" };
    match results.as_slice() {
        [] => format!("{prefix}({})", params.join(", ")),
        [one] => format!("{prefix}({}) -> {one}", params.join(", ")),
        many => format!("{prefix}({}) -> ({})", params.join(", "), many.join(", ")),
    }
}

/// Renders a value type structurally (component types carry no names for records and the
/// like), e.g. `record { x: f64, y: f64 }`.
pub fn describe_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", describe_type(&list.ty())),
        Type::FixedLengthList(list) => {
            format!("list<{}, {}>", describe_type(&list.ty()), list.len())
        }
        Type::Map(map) => format!(
            "map<{}, {}>",
            describe_type(&map.key()),
            describe_type(&map.value())
        ),
        Type::Record(record) => {
            let fields: Vec<String> = record
                .fields()
                .map(|f| format!("{}: {}", f.name, describe_type(&f.ty)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        Type::Tuple(tuple) => {
            let types: Vec<String> = tuple.types().map(|t| describe_type(&t)).collect();
            format!("tuple<{}>", types.join(", "))
        }
        Type::Variant(variant) => {
            let cases: Vec<String> = variant
                .cases()
                .map(|c| match &c.ty {
                    Some(ty) => format!("{}({})", c.name, describe_type(ty)),
                    None => c.name.to_string(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        Type::Enum(en) => format!("enum {{ {} }}", en.names().collect::<Vec<_>>().join(", ")),
        Type::Flags(flags) => format!(
            "flags {{ {} }}",
            flags.names().collect::<Vec<_>>().join(", ")
        ),
        Type::Option(option) => format!("option<{}>", describe_type(&option.ty())),
        Type::Result(result) => {
            let ok = result.ok().map(|t| describe_type(&t));
            let err = result.err().map(|t| describe_type(&t));
            match (ok, err) {
                (None, None) => "result".into(),
                (Some(ok), None) => format!("result<{ok}>"),
                (None, Some(err)) => format!("result<_, {err}>"),
                (Some(ok), Some(err)) => format!("result<{ok}, {err}>"),
            }
        }
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// Renders any import or export item.
pub fn describe_item(engine: &Engine, item: &ComponentItem) -> String {
    match item {
        ComponentItem::ComponentFunc(func) => describe_func(func),
        ComponentItem::ComponentInstance(instance) => {
            let names: Vec<String> = instance
                .exports(engine)
                .map(|(name, export)| match &export.ty {
                    ComponentItem::ComponentFunc(f) => format!("{name}: {}", describe_func(f)),
                    ComponentItem::Resource(_) => format!("{name}: resource"),
                    ComponentItem::Type(_) => format!("{name}: type"),
                    _ => name.to_string(),
                })
                .collect();
            format!("instance {{ {} }}", names.join("; "))
        }
        ComponentItem::CoreFunc(_) => "core func".into(),
        ComponentItem::Module(_) => "core module".into(),
        ComponentItem::Component(_) => "component".into(),
        ComponentItem::Type(ty) => format!("type {}", describe_type(ty)),
        ComponentItem::Resource(_) => "resource".into(),
    }
}

/// Why a hook export cannot be called by plugmill, if it cannot: hooks may take and return
/// any value type, but not resources, futures or streams, which have no JSON or dynamic form.
pub fn hook_problem(func: &ComponentFunc) -> Option<String> {
    if func.async_() {
        return Some("it is an `async` function, which plugmill does not call yet".into());
    }
    let uncallable = func
        .params()
        .map(|(_, ty)| ty)
        .chain(func.results())
        .find(|ty| !is_plain_value(ty));
    uncallable.map(|ty| {
        format!(
            "it uses `{}`, which plugmill cannot pass to or from a plugin",
            describe_type(&ty)
        )
    })
}

/// Why a route or task handler export cannot be called, if it cannot. Handlers take one
/// `string` and return `result<string, string>`, `result<_, string>` or nothing.
pub fn handler_problem(func: &ComponentFunc) -> Option<String> {
    let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
    let results: Vec<Type> = func.results().collect();
    let params_ok = matches!(params.as_slice(), [Type::String]);
    let results_ok = match results.as_slice() {
        [] => true,
        [Type::Result(result)] => {
            matches!(result.ok(), None | Some(Type::String))
                && matches!(result.err(), Some(Type::String))
        }
        _ => false,
    };
    if params_ok && results_ok && !func.async_() {
        None
    } else {
        Some(format!(
            "its signature is `{}`; handlers must be `func(data: string)` returning `result<string, string>`, `result<_, string>` or nothing",
            describe_func(func)
        ))
    }
}

fn is_plain_value(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            false
        }
        Type::List(list) => is_plain_value(&list.ty()),
        Type::FixedLengthList(list) => is_plain_value(&list.ty()),
        Type::Map(map) => is_plain_value(&map.key()) && is_plain_value(&map.value()),
        Type::Record(record) => record.fields().all(|f| is_plain_value(&f.ty)),
        Type::Tuple(tuple) => tuple.types().all(|t| is_plain_value(&t)),
        Type::Variant(variant) => variant
            .cases()
            .all(|c| c.ty.as_ref().is_none_or(is_plain_value)),
        Type::Option(option) => is_plain_value(&option.ty()),
        Type::Result(result) => {
            result.ok().as_ref().is_none_or(is_plain_value)
                && result.err().as_ref().is_none_or(is_plain_value)
        }
        _ => true,
    }
}
