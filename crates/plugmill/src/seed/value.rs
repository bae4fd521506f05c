//! [`HookValue`]: the seed's values for hook arguments and results, as its host code names
//! them, converted to and from wasmtime's component values.

use serde_json::Value;
use wasmtime::component::Val;

use super::error::SeedError;

/// A value passed to or returned from a plugin's function, with the seed's variants: the
/// scalar types its hooks use, and `result` and `option` of them.
#[derive(Debug, Clone, PartialEq)]
pub enum HookValue {
    /// `s32`.
    S32(i32),
    /// `u32`.
    U32(u32),
    /// `string`.
    String(String),
    /// `bool`.
    Bool(bool),
    /// `result<T, E>`, each side with or without a value.
    Result(Result<Option<Box<HookValue>>, Option<Box<HookValue>>>),
    /// `option<T>`.
    Option(Option<Box<HookValue>>),
}

impl From<i32> for HookValue {
    fn from(value: i32) -> Self {
        HookValue::S32(value)
    }
}

impl From<u32> for HookValue {
    fn from(value: u32) -> Self {
        HookValue::U32(value)
    }
}

impl From<&str> for HookValue {
    fn from(value: &str) -> Self {
        HookValue::String(value.to_string())
    }
}

impl From<String> for HookValue {
    fn from(value: String) -> Self {
        HookValue::String(value)
    }
}

impl From<bool> for HookValue {
    fn from(value: bool) -> Self {
        HookValue::Bool(value)
    }
}

impl HookValue {
    /// The component value.
    pub fn to_val(&self) -> Val {
        let boxed = |side: &Option<Box<HookValue>>| side.as_ref().map(|v| Box::new(v.to_val()));
        match self {
            HookValue::S32(v) => Val::S32(*v),
            HookValue::U32(v) => Val::U32(*v),
            HookValue::String(v) => Val::String(v.clone()),
            HookValue::Bool(v) => Val::Bool(*v),
            HookValue::Result(Ok(value)) => Val::Result(Ok(boxed(value))),
            HookValue::Result(Err(value)) => Val::Result(Err(boxed(value))),
            HookValue::Option(value) => Val::Option(boxed(value)),
        }
    }

    /// The hook value of a component value; any type beyond the seed's variants is an error
    /// (`Unsupported Val type: ...`), as in the seed.
    pub fn from_val(val: Val) -> anyhow::Result<Self> {
        Ok(Self::try_from_val(val)?)
    }

    pub(crate) fn try_from_val(val: Val) -> Result<Self, SeedError> {
        let boxed = |side: Option<Box<Val>>| -> Result<_, SeedError> {
            side.map(|v| Self::try_from_val(*v).map(Box::new))
                .transpose()
        };
        Ok(match val {
            Val::S32(v) => HookValue::S32(v),
            Val::U32(v) => HookValue::U32(v),
            Val::String(v) => HookValue::String(v),
            Val::Bool(v) => HookValue::Bool(v),
            Val::Result(Ok(value)) => HookValue::Result(Ok(boxed(value)?)),
            Val::Result(Err(value)) => HookValue::Result(Err(boxed(value)?)),
            Val::Option(value) => HookValue::Option(boxed(value)?),
            other => return Err(SeedError::UnsupportedValue(format!("{other:?}"))),
        })
    }

    /// The number of an `S32` or `U32` (a `U32` above `i32::MAX` wraps, as in the seed).
    pub fn as_i32(&self) -> Option<i32> {
        match self {
            HookValue::S32(v) => Some(*v),
            HookValue::U32(v) => Some(*v as i32),
            _ => None,
        }
    }

    /// The text of a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HookValue::String(v) => Some(v),
            _ => None,
        }
    }

    /// A route handler's answer (`result<string, string>`) as JSON: the `Ok` string parsed;
    /// the plugin's `Err` string, a missing value or any other shape is an error.
    pub fn as_results_json(&self) -> anyhow::Result<Value> {
        Ok(self.answer_json()?)
    }

    pub(crate) fn answer_json(&self) -> Result<Value, SeedError> {
        let problem = |text: String| Err(SeedError::Answer(text));
        match self {
            HookValue::Result(Ok(Some(value))) => match value.as_ref() {
                HookValue::String(text) => serde_json::from_str(text)
                    .or_else(|e| problem(format!("Failed to parse string as JSON: {e}"))),
                _ => problem("Unexpected boxed hook value type".into()),
            },
            HookValue::Result(Ok(None)) => problem("No value returned from plugin hook".into()),
            HookValue::Result(Err(Some(error))) => match error.as_ref() {
                HookValue::String(message) => problem(format!("Plugin hook error: {message}")),
                _ => problem("Error executing plugin hook".into()),
            },
            _ => problem("Unexpected hook value type".into()),
        }
    }
}
