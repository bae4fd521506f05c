//! [`Params`]: the parameters of one statement, typed or (for the seed interface) text.

use super::wit::{error, DatabaseError, ErrorKind, Value};

/// Parameters of a statement.
pub enum Params {
    /// Typed values (`plugmill:database`).
    Typed(Vec<Value>),
    /// Text, converted to the type the statement gives each parameter (the seed interface).
    Text(Vec<String>),
}

impl Params {
    fn len(&self) -> usize {
        match self {
            Params::Typed(values) => values.len(),
            Params::Text(values) => values.len(),
        }
    }

    /// Checks the count against what the statement expects.
    pub(crate) fn check_count(&self, expected: usize) -> Result<(), DatabaseError> {
        if self.len() == expected {
            return Ok(());
        }
        Err(error(
            ErrorKind::Parameters,
            format!(
                "the statement has {expected} parameter{}, {} given",
                if expected == 1 { "" } else { "s" },
                self.len()
            ),
        ))
    }
}
