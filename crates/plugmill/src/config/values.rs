//! Values of the configuration that need more than a type: durations and sizes, each with
//! bounds, so that no setting from any source (the file, the environment, the command line,
//! code) overflows later into a panic or sizes memory beyond reason.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

/// A value that cannot be used; the message says what is wrong and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(String);

impl InvalidValue {
    /// What is wrong, as a message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl From<String> for InvalidValue {
    fn from(message: String) -> Self {
        InvalidValue(message)
    }
}

impl From<InvalidValue> for String {
    fn from(invalid: InvalidValue) -> Self {
        invalid.0
    }
}

/// The longest duration plugmill takes for any setting: 365 days.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Checks a duration setting: more than zero, at most [`MAX_DURATION`].
pub fn check_duration(duration: Duration) -> Result<Duration, InvalidValue> {
    if duration.is_zero() {
        return Err(InvalidValue(
            "a duration of zero is not usable here: give one of at least 1ms".into(),
        ));
    }
    if duration > MAX_DURATION {
        return Err(InvalidValue(
            "longer than the longest duration plugmill takes (365 days)".into(),
        ));
    }
    Ok(duration)
}

/// Parses a duration written as text (`"250ms"`, `"30s"`, `"2h 30m"`), bounded as
/// [`check_duration`] says.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidValue> {
    let duration = humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "`{}` is not a duration ({e}); write e.g. \"250ms\", \"30s\", \"5m\"",
            shorten(text)
        )
    })?;
    check_duration(duration).map_err(|e| InvalidValue(format!("`{}`: {e}", shorten(text))))
}

/// Parses a number of seconds (`"2"`, `"0.5"`), bounded as [`check_duration`] says: for
/// command-line options and environment variables.
pub fn parse_seconds(text: &str) -> Result<Duration, InvalidValue> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number of seconds", shorten(text)))?;
    let duration = Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("`{}` seconds is not a usable duration", shorten(text)))?;
    check_duration(duration).map_err(|e| InvalidValue(format!("`{}` seconds: {e}", shorten(text))))
}

/// A bounded duration written as text in the configuration, e.g. `"250ms"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(HumanDuration)
            .map_err(de::Error::custom)
    }
}

/// `#[serde(default, with = "crate::config::values::duration")]` for `Option<Duration>`.
pub mod duration {
    use super::*;

    /// Deserializes an optional bounded duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<HumanDuration>::deserialize(deserializer)?.map(|d| d.0))
    }
}

/// A size in bytes: an integer, or text with a unit (`"64 MiB"`, `"512KB"`, `"1GiB"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses a size; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{}` is not a size: write e.g. 64 MiB", shorten(text)))?;
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            other => {
                return Err(InvalidValue(format!(
                    "`{}` is not a unit of size: use B, KiB, MiB, GiB (or KB, MB, GB)",
                    shorten(other)
                )))
            }
        };
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| InvalidValue(format!("`{}` is too large a size", shorten(text))))
    }

    /// Checks the size against `min..=max`, naming them.
    pub fn within(self, min: u64, max: u64) -> Result<u64, InvalidValue> {
        if self.0 < min || self.0 > max {
            return Err(InvalidValue(format!(
                "{} bytes is outside {min} to {max} bytes",
                self.0
            )));
        }
        Ok(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes, or text such as \"64 MiB\"")
            }
            fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(bytes))
            }
            fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<ByteSize, E> {
                u64::try_from(bytes)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ByteSize, E> {
                ByteSize::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Checks that a count that sizes memory is at most `max`, naming the setting.
pub fn check_count(setting: &str, value: u64, max: u64) -> Result<(), InvalidValue> {
    if value > max {
        return Err(InvalidValue(format!(
            "{setting}: {value} is more than the {max} plugmill allows"
        )));
    }
    Ok(())
}

/// `text` cut to a length fit for an error message.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() <= MAX {
        return escaped;
    }
    let head: String = escaped.chars().take(MAX).collect();
    format!("{head}... ({} bytes in all)", text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_any_size_are_accepted_or_refused_never_overflowed() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("365days"), Ok(MAX_DURATION));
        for refused in ["0s", "366days", "100000000000years", "soon", "1e19"] {
            assert!(parse_duration(refused).is_err(), "{refused}");
        }
        assert!(check_duration(Duration::MAX)
            .unwrap_err()
            .message()
            .contains("365 days"));
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        for refused in ["1e19", "-1", "0", "NaN", "inf", "x"] {
            assert!(parse_seconds(refused).is_err(), "{refused}");
        }
        assert!(check_duration(Duration::ZERO).is_err());
    }

    #[test]
    fn sizes_take_units_and_refuse_overflow() {
        assert_eq!(ByteSize::parse("64 MiB"), Ok(ByteSize(64 << 20)));
        assert_eq!(ByteSize::parse("512KB"), Ok(ByteSize(512_000)));
        assert_eq!(ByteSize::parse("1_024"), Ok(ByteSize(1024)));
        assert!(ByteSize::parse("99999999999999 GiB").is_err());
        assert!(ByteSize::parse("12 parsecs").is_err());
        assert!(ByteSize::parse("lots").is_err());
        assert!(ByteSize(10).within(1, 5).is_err());
    }

    #[test]
    fn long_input_is_quoted_shortened_and_escaped() {
        let long = "x".repeat(10_000);
        let quoted = shorten(&long);
        assert!(
            quoted.len() < 120 && quoted.ends_with("(10000 bytes in all)"),
            "{quoted}"
        );
        assert_eq!(shorten("a\nb"), "a\\nb");
    }
}
