//! SQL written once for both databases: rows written together in one trip,
//! JSON rows bound as one value, and `WHERE` clauses built from filters.

/// About how many values a statement that writes many rows at once binds.
/// sqlx binds each SQLite value by its name (`$n`), which SQLite finds by
/// scanning the statement's list of names from the start, so binding n values
/// costs n² steps: 2,500 values made binding 40 % of the expiry sweep's time
/// (docs/benchmarks.md), while a few hundred cost next to nothing and still
/// spare most round trips.
pub const VALUES_PER_STATEMENT: usize = 250;

/// The rows of a JSON array of arrays bound as `param`, for `FROM`: each row
/// is `value`, its fields `value ->> 0`, `value ->> 1`, … (as text). Writing
/// many rows this way binds one value instead of one per field, and costs
/// SQLite one hand-off between threads instead of one per few hundred values.
pub fn json_rows(connection: &sqlx::AnyConnection, param: &str) -> String {
    if connection.backend_name().eq_ignore_ascii_case("postgresql") {
        format!("json_array_elements(CAST({param} AS json)) AS json_row (value)")
    } else {
        format!("json_each({param})")
    }
}

/// Writes that go to the database in one trip: `parts`, each an INSERT,
/// UPDATE or DELETE, their numbered parameters (`$n`) shared, run in order.
/// On SQLite that is one query of several statements (one hand-off to the
/// connection's thread instead of one per statement; sqlx binds each
/// statement's `$n` by its number); on PostgreSQL one statement whose parts
/// but the last are data-modifying `WITH` clauses,
/// which run whether or not anything reads them. There the parts all see the
/// database as it was before the statement, so a part must not read what an
/// earlier one wrote (a foreign key to it is fine: it is checked at the end).
/// What the parts changed is not told; the last part may return rows
/// (`RETURNING`), which come back (the others' must not).
pub fn together<S: AsRef<str>>(connection: &sqlx::AnyConnection, parts: &[S]) -> String {
    let parts: Vec<&str> = parts.iter().map(AsRef::as_ref).collect();
    if connection.backend_name().eq_ignore_ascii_case("postgresql") {
        let Some((last, first)) = parts.split_last() else {
            return String::new();
        };
        let clauses: Vec<String> = first
            .iter()
            .enumerate()
            .map(|(n, part)| format!("part_{n} AS ({part})"))
            .collect();
        if clauses.is_empty() {
            return (*last).to_owned();
        }
        format!("WITH {} {last}", clauses.join(", "))
    } else {
        parts.join(";\n")
    }
}

/// [`together`] for parts that each return rows of the same columns
/// (`RETURNING`), all of which come back: on PostgreSQL every part is a
/// data-modifying `WITH` clause (seeing the database as [`together`] says)
/// and their rows are read as one `UNION ALL`.
pub fn together_returning<S: AsRef<str>>(connection: &sqlx::AnyConnection, parts: &[S]) -> String {
    if !connection.backend_name().eq_ignore_ascii_case("postgresql") || parts.len() < 2 {
        return together(connection, parts);
    }
    let clauses: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(n, part)| format!("part_{n} AS ({})", part.as_ref()))
        .collect();
    let reads: Vec<String> = (0..parts.len())
        .map(|n| format!("SELECT * FROM part_{n}"))
        .collect();
    format!("WITH {} {}", clauses.join(", "), reads.join(" UNION ALL "))
}

/// A value of a [`Conditions`] clause.
#[derive(Debug, Clone)]
pub enum SqlValue {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause built from optional filters: each clause's values are
/// numbered `$1`, `$2`, … in the order they are added, and bound in the same
/// order. One builder for every dynamically filtered list.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    values: Vec<SqlValue>,
}

impl Conditions {
    /// The next parameter for `value`, as `$n` to write into a clause.
    pub fn param(&mut self, value: SqlValue) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// A clause; its parameters come from [`Conditions::param`].
    pub fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// `column = $n`.
    pub fn equals(&mut self, column: &str, value: SqlValue) {
        let param = self.param(value);
        self.push(format!("{column} = {param}"));
    }

    /// The clauses joined with `AND` (`1 = 1` when there are none).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// Binds the values to `query`, in order.
    pub fn bind<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for value in &self.values {
            query = match value {
                SqlValue::Text(text) => query.bind(text.as_str()),
                SqlValue::Int(number) => query.bind(*number),
            };
        }
        query
    }

    /// [`Conditions::bind`] for a query read into typed rows.
    pub fn bind_as<'q, O>(
        &'q self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for value in &self.values {
            query = match value {
                SqlValue::Text(text) => query.bind(text.as_str()),
                SqlValue::Int(number) => query.bind(*number),
            };
        }
        query
    }
}
