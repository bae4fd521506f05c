//! Whose records a reader sees ([`Scope`]), and which page of them a listing returns
//! ([`ListFilter`], [`Cursor`]).
//!
//! Every read and change of a record by a caller names a scope, and the store puts it in the
//! statement's `WHERE` (`... AND tenant_id = $n`): a record outside the scope is not found,
//! exactly like a missing one, so nothing tells a caller that another tenant's id exists.

use crate::record::Status;

/// Whose records a reader sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every record, of every tenant and of none: the operator, the admin token, the
    /// super-admin tenant.
    All,
    /// The records of one tenant only.
    Tenant(String),
}

impl Scope {
    /// The `AND tenant_id = $n` clause this scope adds to a statement, and the value to bind
    /// as `$n` (nothing for [`Scope::All`]).
    pub(crate) fn clause(&self, n: usize) -> (String, Option<&str>) {
        match self {
            Scope::All => (String::new(), None),
            Scope::Tenant(tenant) => (format!(" AND tenant_id = ${n}"), Some(tenant.as_str())),
        }
    }
}

/// The columns a listing filters and orders on, as one record layout names them.
pub(crate) struct PageColumns {
    /// The tenant's column.
    pub tenant: &'static str,
    /// The status's column.
    pub status: &'static str,
    /// The task name's column.
    pub task: &'static str,
    /// The creation time's column.
    pub created_at: &'static str,
    /// The id's column.
    pub id: &'static str,
}

impl ListFilter {
    /// The conditions (each starting with ` AND `) and the `ORDER BY ... LIMIT` of one page
    /// in `scope`, their parameters numbered `$1`, `$2`, ... in the order of the values
    /// returned. The scope's tenant comes first, so every listing is filtered by it.
    pub(crate) fn page_sql<'a>(
        &'a self,
        scope: &'a Scope,
        columns: &PageColumns,
    ) -> (String, Vec<&'a str>) {
        let mut sql = String::new();
        let mut values: Vec<&'a str> = Vec::new();
        /// Binds `value` as the next parameter and answers its placeholder.
        fn next<'a>(values: &mut Vec<&'a str>, value: &'a str) -> String {
            values.push(value);
            format!("${}", values.len())
        }
        if let Scope::Tenant(tenant) = scope {
            let n = next(&mut values, tenant);
            sql.push_str(&format!(" AND {} = {n}", columns.tenant));
        }
        if let Some(status) = self.status {
            let n = next(&mut values, status.as_str());
            sql.push_str(&format!(" AND {} = {n}", columns.status));
        }
        if let Some(task) = &self.task {
            let n = next(&mut values, task);
            sql.push_str(&format!(" AND {} = {n}", columns.task));
        }
        if let Some(since) = &self.since {
            let n = next(&mut values, since);
            sql.push_str(&format!(" AND {} >= {n}", columns.created_at));
        }
        if let Some(cursor) = &self.before {
            // One row-value comparison, so that the indexes ending with the creation time
            // and the id serve a later page too.
            let created = next(&mut values, &cursor.created_at);
            let id = next(&mut values, &cursor.id);
            sql.push_str(&format!(
                " AND ({}, {}) < ({created}, {id})",
                columns.created_at, columns.id
            ));
        }
        sql.push_str(&format!(
            " ORDER BY {created} DESC, {id} DESC LIMIT {size}",
            created = columns.created_at,
            id = columns.id,
            size = self.page_size()
        ));
        (sql, values)
    }
}

/// The most records one page of a listing holds.
pub const MAX_PAGE: u32 = 500;

/// Which records a listing returns: newest first, filtered, one page at a time.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only records with this status.
    pub status: Option<Status>,
    /// Only records of this task.
    pub task: Option<String>,
    /// At most this many (1 to [`MAX_PAGE`]; 0 means the default of 50).
    pub limit: u32,
    /// Only records older than this one (the `next` cursor of the previous page).
    pub before: Option<Cursor>,
    /// Only records created at or after this time (`YYYY-MM-DDTHH:MM:SS` UTC, compared with
    /// the records' RFC 3339 `created_at`).
    pub since: Option<String>,
}

impl ListFilter {
    /// The page size: `limit` within 1 and [`MAX_PAGE`], 50 when unset.
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(MAX_PAGE),
        }
    }
}

/// Where a page of a listing ends: the creation time and id of its last record. As text
/// (`next` of a page, `before=` of the next request) it is `<created_at>_<id>`; it names
/// a position only, so a cursor cannot reveal another tenant's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The last record's `created_at`.
    pub created_at: String,
    /// The last record's id.
    pub id: String,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.created_at, self.id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed =
            || "is not a cursor: pass the `next` value of the previous page unchanged".to_string();
        let (created_at, id) = text.split_once('_').ok_or_else(malformed)?;
        let plausible = |part: &str| {
            !part.is_empty()
                && part.len() <= 64
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-:.+".contains(c))
        };
        if !plausible(created_at) || !plausible(id) {
            return Err(malformed());
        }
        Ok(Cursor {
            created_at: created_at.to_string(),
            id: id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let cursor = Cursor {
            created_at: "2026-11-26T10:00:00.123456Z".into(),
            id: "8f6c1c52-6f0e-4b43-9a43-1d3c2f8f1e10".into(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        for bad in ["", "no-separator", "_id", "time_", "a b_c", "x_y'; --"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_tenant_scope_filters_in_the_statement() {
        assert_eq!(Scope::All.clause(3), (String::new(), None));
        assert_eq!(
            Scope::Tenant("t".into()).clause(3),
            (" AND tenant_id = $3".to_string(), Some("t"))
        );
    }
}
