//! The read-only check: whether a SQL text is one query that only reads lake tables, decided on
//! its syntax tree before DuckDB sees it, and which lake tables it reads (for authorization).
//!
//! Allowed: one `SELECT` / `WITH` / `VALUES` / `TABLE` query, `EXPLAIN [ANALYZE]` or
//! `DESCRIBE` of one, and `DESCRIBE <namespace>.<table>`. Relations must be lake tables named
//! `namespace.table` (with `AT SNAPSHOT` / `AS OF` if wanted), names the query itself defines
//! (CTEs), subqueries, or the generating table functions `range`, `generate_series` and
//! `unnest`. Everything else is refused: statements that write, attach, install, load, copy or
//! change settings, and any table function or file name that would read something other than the
//! lake (`read_csv('/etc/passwd')`, `'data.parquet'`, `query('…')`).
//!
//! The check is the first line of defence; the engine's DuckDB sandbox (no external access
//! beyond the lake's files, configuration locked) is the second. A text that sqlparser cannot
//! parse is refused even if DuckDB would accept it.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use crate::error::{QueryError, Result};
use crate::travel;

/// Table functions that generate rows without reading anything.
const GENERATORS: [&str; 3] = ["range", "generate_series", "unnest"];

/// What the statement kinds a caller may send are, for messages.
const ALLOWED: &str =
    "SELECT, WITH, VALUES, TABLE, EXPLAIN or DESCRIBE of a query, DESCRIBE <namespace>.<table>";

/// A lake table a query reads, as DuckDB resolves its name: lower-cased (DuckDB matches names
/// case-insensitively, quoted or not).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableRef {
    /// The namespace (`commerce`).
    pub namespace: String,
    /// The table (`telemetry`).
    pub table: String,
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace, self.table)
    }
}

/// A statement [`check`] found read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    /// Each `namespace.table` the statement reads, once, sorted (time-travel references
    /// included). Whether they are lake tables is for the caller to decide.
    pub tables: Vec<TableRef>,
}

/// Refuses `sql` unless it is one read-only query over lake tables (see the module docs);
/// otherwise lists the tables it reads.
pub fn check(sql: &str) -> Result<ReadOnly> {
    // `t AT SNAPSHOT 42` / `t AS OF '…'` are Strata's syntax: reduce each to its table name.
    let scan = travel::scan(sql)?;
    let replacements: Vec<_> = scan
        .travel
        .iter()
        .map(|r| {
            let (ns, table) = &r.parts;
            (r.range.clone(), format!("{}.{} ", quote(ns), quote(table)))
        })
        .collect();
    let text = travel::splice(sql, &replacements);
    let statements = match Parser::parse_sql(&DuckDbDialect {}, &text) {
        Ok(s) => s,
        Err(e) => {
            return Err(match first_word(&text) {
                Some(w) if !is_query_start(&w) => refused_kind(&w),
                _ => QueryError::Sql(format!("cannot parse the SQL: {e}")),
            });
        }
    };
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err(QueryError::Sql("the SQL holds no statement".to_owned())),
        many => {
            return Err(QueryError::Refused(format!(
                "send one statement at a time; this text holds {}",
                many.len()
            )));
        }
    };
    let mut found = Check::default();
    match statement {
        Statement::Query(_) => {}
        Statement::Explain { statement, .. } if matches!(**statement, Statement::Query(_)) => {}
        Statement::ExplainTable { table_name, .. } => found.relation(table_name)?,
        other => return Err(refused_kind(&kind(other))),
    }
    if let ControlFlow::Break(e) = statement.visit(&mut found) {
        return Err(e);
    }
    Ok(ReadOnly {
        tables: found.tables.into_iter().collect(),
    })
}

/// The tables found and the names the query defines.
#[derive(Default)]
struct Check {
    tables: BTreeSet<TableRef>,
    ctes: BTreeSet<String>,
}

impl Check {
    /// A relation named in `FROM`, `JOIN` or `DESCRIBE`.
    fn relation(&mut self, name: &ObjectName) -> Result<()> {
        let parts = parts(name)?;
        match parts.as_slice() {
            [one] if self.ctes.contains(one) => Ok(()),
            [namespace, table] => {
                self.tables.insert(TableRef {
                    namespace: namespace.clone(),
                    table: table.clone(),
                });
                Ok(())
            }
            _ => Err(QueryError::NotLakeTable(format!(
                "`{name}` is not a lake table: name lake tables as <namespace>.<table>, e.g. commerce.telemetry"
            ))),
        }
    }

    /// A table function in `FROM`: only the generators.
    fn function(&self, name: &ObjectName) -> Result<()> {
        match parts(name)?.as_slice() {
            [one] if GENERATORS.contains(&one.as_str()) => Ok(()),
            _ => Err(QueryError::Refused(format!(
                "the table function `{name}` is not allowed: queries read lake tables by name \
                 (e.g. FROM commerce.telemetry) and may generate rows with {}",
                GENERATORS.join(", ")
            ))),
        }
    }

    /// `TABLE <name>` as a query body, and writes hidden in one (`WITH … INSERT`).
    fn body(&mut self, body: &SetExpr) -> Result<()> {
        match body {
            SetExpr::SetOperation { left, right, .. } => {
                self.body(left)?;
                self.body(right)
            }
            SetExpr::Table(t) => match (&t.schema_name, &t.table_name) {
                (Some(ns), Some(table)) => {
                    self.tables.insert(TableRef {
                        namespace: ns.value.to_lowercase(),
                        table: table.value.to_lowercase(),
                    });
                    Ok(())
                }
                (None, Some(one)) if self.ctes.contains(&one.value.to_lowercase()) => Ok(()),
                _ => Err(QueryError::NotLakeTable(format!(
                    "`{t}` does not name a lake table: name lake tables as <namespace>.<table>"
                ))),
            },
            SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => Ok(()),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                Err(QueryError::Refused(format!(
                    "statements that write are refused; allowed: {ALLOWED}"
                )))
            }
        }
    }
}

impl Visitor for Check {
    type Break = QueryError;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<QueryError> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        into_flow(self.body(&query.body))
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<QueryError> {
        if select.into.is_some() {
            return ControlFlow::Break(QueryError::Refused(
                "SELECT … INTO writes a table and is refused".to_owned(),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<QueryError> {
        into_flow(match factor {
            TableFactor::Table {
                name, args: None, ..
            } => self.relation(name),
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.function(name),
            TableFactor::Derived { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. }
            | TableFactor::UnpivotExpr { .. }
            | TableFactor::MatchRecognize { .. } => Ok(()),
            other => Err(QueryError::Refused(format!(
                "`{other}` is not allowed in FROM: queries read lake tables by name"
            ))),
        })
    }
}

fn into_flow(r: Result<()>) -> ControlFlow<QueryError> {
    match r {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    }
}

/// The parts of a name, lower-cased; names computed by functions are refused.
fn parts(name: &ObjectName) -> Result<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Ok(i.value.to_lowercase()),
            ObjectNamePart::Function(_) => Err(QueryError::Refused(format!(
                "`{name}`: computed names are not allowed"
            ))),
        })
        .collect()
}

/// The statement's kind as its leading keywords (`COPY`, `CREATE TABLE`, `SET`).
fn kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let mut words = text.split_whitespace();
    let first = words.next().unwrap_or_default().to_uppercase();
    match (first.as_str(), words.next()) {
        ("CREATE" | "DROP" | "ALTER", Some(second)) => {
            format!("{first} {}", second.to_uppercase())
        }
        _ => first,
    }
}

fn refused_kind(kind: &str) -> QueryError {
    QueryError::Refused(format!(
        "`{kind}` statements are refused: only read-only queries run here ({ALLOWED})"
    ))
}

/// The first keyword of the text (skipping comments and parentheses are not words).
fn first_word(sql: &str) -> Option<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&DuckDbDialect {}, sql).tokenize().ok()?;
    tokens.into_iter().find_map(|t| match t {
        Token::Whitespace(_) => None,
        Token::Word(w) => Some(w.value.to_uppercase()),
        other => Some(other.to_string()),
    })
}

fn is_query_start(word: &str) -> bool {
    matches!(
        word,
        "SELECT" | "WITH" | "VALUES" | "FROM" | "TABLE" | "EXPLAIN" | "DESCRIBE" | "DESC" | "("
    )
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(sql: &str) -> Vec<String> {
        check(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .tables
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn refused(sql: &str) -> String {
        match check(sql) {
            Ok(r) => panic!("{sql} was allowed: {r:?}"),
            Err(e) => {
                assert!(e.is_client_error(), "{sql}: {e:?}");
                e.to_string()
            }
        }
    }

    #[test]
    fn queries_pass_and_name_their_tables() {
        assert_eq!(
            tables("SELECT event_type, count(*) FROM commerce.telemetry GROUP BY ALL"),
            ["commerce.telemetry"]
        );
        assert_eq!(
            tables(
                "WITH c AS (SELECT * FROM Commerce.\"Telemetry\") \
                 SELECT * FROM c JOIN sync.telemetry s ON true \
                 WHERE EXISTS (SELECT 1 FROM publication.telemetry)"
            ),
            [
                "commerce.telemetry",
                "publication.telemetry",
                "sync.telemetry"
            ]
        );
        assert!(tables("SELECT 1").is_empty());
        assert!(tables("VALUES (1), (2)").is_empty());
        assert!(tables("SELECT * FROM range(10) r, generate_series(1, 3)").is_empty());
        assert_eq!(
            tables("EXPLAIN SELECT * FROM commerce.telemetry"),
            ["commerce.telemetry"]
        );
        assert_eq!(
            tables("DESCRIBE commerce.telemetry"),
            ["commerce.telemetry"]
        );
        assert_eq!(
            tables("SELECT * EXCLUDE (payload) FROM commerce.telemetry LIMIT 3"),
            ["commerce.telemetry"]
        );
    }

    #[test]
    fn time_travel_references_are_checked_as_their_tables() {
        assert_eq!(
            tables(
                "SELECT count(*) FROM commerce.telemetry AT SNAPSHOT 4263171953447851193 a \
                 JOIN sync.telemetry AS OF '2026-11-28T12:00:00Z' b ON true"
            ),
            ["commerce.telemetry", "sync.telemetry"]
        );
        assert!(refused("SELECT * FROM commerce.telemetry AT SNAPSHOT x").contains("snapshot id"));
    }

    #[test]
    fn statements_that_are_not_queries_are_refused_by_kind() {
        for (sql, kind) in [
            ("COPY (SELECT 1) TO '/tmp/x.csv'", "`COPY`"),
            ("ATTACH '/tmp/x.db' AS x", "`ATTACH`"),
            ("INSTALL httpfs", "`INSTALL`"),
            ("LOAD httpfs", "`LOAD`"),
            ("CREATE TABLE t AS SELECT 1", "`CREATE TABLE`"),
            ("CREATE MACRO m(a) AS a + 1", "`CREATE"),
            ("INSERT INTO t VALUES (1)", "`INSERT`"),
            ("DELETE FROM commerce.telemetry", "`DELETE`"),
            ("DROP VIEW commerce.telemetry", "`DROP VIEW`"),
            ("PRAGMA enable_profiling", "`PRAGMA`"),
            ("SET enable_external_access = true", "`SET`"),
            ("RESET allowed_directories", "`RESET`"),
            ("EXPORT DATABASE '/tmp/x'", "`EXPORT`"),
            ("CHECKPOINT", "`CHECKPOINT`"),
            ("USE commerce", "`USE`"),
        ] {
            let e = refused(sql);
            assert!(e.contains(kind), "{sql}: {e}");
        }
        assert!(refused("SELECT 1; SELECT 2").contains("one statement"));
        assert!(refused("SELECT 1; ATTACH 'x' AS y").contains("one statement"));
        assert!(refused("SELECT 1 INTO t").contains("INTO"));
    }

    #[test]
    fn files_and_other_sources_are_refused() {
        for sql in [
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM read_text('/etc/passwd')",
            "SELECT * FROM commerce.telemetry, read_parquet('/tmp/*.parquet')",
            "SELECT * FROM query('ATTACH ''x'' AS y')",
            "SELECT * FROM (SELECT * FROM glob('/etc/*'))",
            "SELECT * FROM '/etc/passwd'",
            "SELECT * FROM \"/etc/passwd.csv\"",
            "SELECT * FROM secrets",
            "SELECT * FROM memory.commerce.telemetry",
            "SELECT * FROM duckdb_settings()",
            "SELECT (SELECT count(*) FROM read_json('/etc/x.json'))",
        ] {
            refused(sql);
        }
    }
}
