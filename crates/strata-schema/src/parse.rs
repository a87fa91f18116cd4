//! DDL → [`Schema`]: parses every file with a real SQL parser (sqlparser's PostgreSQL dialect)
//! and derives the model's facts (prefixes, phases, enum values, references) from the CHECKs
//! and comments, so the DDL stays the single source of truth.
//!
//! Parsing is lenient about conventions (those are the linter's job) and strict about syntax: a
//! statement PostgreSQL would not accept is an error naming file and line.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, ColumnOption, CommentObject, CreateIndex, CreateTable, Expr, InTarget,
    ObjectName, ObjectNamePart, Spanned, Statement, TableConstraint, Value, visit_expressions,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::error::SchemaError;
use crate::model::{
    Check, Column, ColumnConstraints, Index, Module, Reference, Schema, SqlType, Table,
};
use crate::source::{SchemaSource, SourceFile};

/// A statement the conventions forbid or that this model does not describe, kept for the linter.
#[derive(Debug, Clone)]
pub struct OtherStatement {
    pub file: String,
    pub line: u64,
    /// `function`, `procedure`, `trigger`, `view`, `materialized view`, or the statement kind.
    pub kind: String,
    pub routine: bool,
}

/// A COMMENT or INDEX aimed at a table or column that no file defines.
#[derive(Debug, Clone)]
pub struct Dangling {
    pub file: String,
    pub line: u64,
    pub message: String,
}

/// The parse result: the model plus what the linter needs that the model does not hold.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub schema: Schema,
    pub other_statements: Vec<OtherStatement>,
    pub dangling: Vec<Dangling>,
    /// Files whose name is not `NN_<module>.sql` with NN in 01..=25.
    pub misnamed_files: Vec<String>,
}

/// Parse a set of DDL files into the model.
pub fn parse(source: &SchemaSource) -> Result<Parsed, SchemaError> {
    let mut modules = Vec::new();
    let mut other_statements = Vec::new();
    let mut misnamed_files = Vec::new();
    // Comments and indexes may follow their table anywhere; attach them once all tables exist.
    let mut pending_indexes: Vec<(String, Index, String)> = Vec::new();
    let mut pending_comments: Vec<(String, Option<String>, String, String, u64)> = Vec::new();
    let mut pending_uniques: Vec<(String, Vec<String>)> = Vec::new();

    for file in &source.files {
        let (number, name) = match module_of_file(&file.name) {
            Some(v) => v,
            None => {
                misnamed_files.push(file.name.clone());
                (0, file.name.trim_end_matches(".sql").to_string())
            }
        };
        let statements = parse_file(file)?;
        let mut tables = Vec::new();
        for stmt in statements {
            let line = stmt.span().start.line;
            match stmt {
                Statement::CreateTable(ct) => tables.push(table_of(&ct, number, file, line)?),
                Statement::CreateIndex(ci) => {
                    let (table, index) = index_of(&ci, line);
                    if index.unique {
                        pending_uniques.push((table.clone(), plain_columns(&index.keys)));
                    }
                    pending_indexes.push((table, index, file.name.clone()));
                }
                Statement::Comment {
                    object_type,
                    object_name,
                    comment,
                    ..
                } => {
                    let parts = name_parts(&object_name);
                    let text = comment.unwrap_or_default();
                    match (object_type, parts.as_slice()) {
                        (CommentObject::Table, [.., t]) => {
                            pending_comments.push((t.clone(), None, text, file.name.clone(), line))
                        }
                        (CommentObject::Column, [.., t, c]) => pending_comments.push((
                            t.clone(),
                            Some(c.clone()),
                            text,
                            file.name.clone(),
                            line,
                        )),
                        (other, _) => other_statements.push(OtherStatement {
                            file: file.name.clone(),
                            line,
                            kind: format!("COMMENT ON {other}"),
                            routine: false,
                        }),
                    }
                }
                other => other_statements.push(classify_other(&other, &file.name, line)),
            }
        }
        modules.push(Module {
            number,
            name,
            file: file.name.clone(),
            description: leading_comment(&file.text),
            tables,
        });
    }

    let mut schema = Schema { modules };
    let mut dangling = Vec::new();
    let mut index_of_table: HashMap<String, (usize, usize)> = HashMap::new();
    for (mi, m) in schema.modules.iter().enumerate() {
        for (ti, t) in m.tables.iter().enumerate() {
            index_of_table.insert(t.name.clone(), (mi, ti));
        }
    }
    fn table_in<'a>(
        schema: &'a mut Schema,
        index: &HashMap<String, (usize, usize)>,
        name: &str,
    ) -> Option<&'a mut Table> {
        let (mi, ti) = *index.get(name)?;
        Some(&mut schema.modules[mi].tables[ti])
    }

    for (table, index, file) in pending_indexes {
        match table_in(&mut schema, &index_of_table, &table) {
            Some(t) => t.indexes.push(index),
            None => dangling.push(Dangling {
                file,
                line: index.line,
                message: format!(
                    "index {} is on table {table}, which no file defines",
                    index.name
                ),
            }),
        }
    }
    for (table, cols) in pending_uniques {
        if let Some(t) = table_in(&mut schema, &index_of_table, &table) {
            t.uniques.push(cols);
        }
    }
    for (table, column, text, file, line) in pending_comments {
        let Some(t) = table_in(&mut schema, &index_of_table, &table) else {
            dangling.push(Dangling {
                file,
                line,
                message: format!("comment on table {table}, which no file defines"),
            });
            continue;
        };
        match column {
            None => t.comment = Some(text),
            Some(c) => match t.columns.iter_mut().find(|col| col.name == c) {
                Some(col) => {
                    col.reference = reference_in(&text);
                    col.unit = tagged_value(&text, "unit:");
                    col.comment = Some(text);
                }
                None => dangling.push(Dangling {
                    file,
                    line,
                    message: format!(
                        "comment on column {table}.{c}, which the table does not have"
                    ),
                }),
            },
        }
    }
    for t in schema.modules.iter_mut().flat_map(|m| m.tables.iter_mut()) {
        t.terminal_phases = t
            .column("status")
            .and_then(|c| c.comment.as_deref())
            .and_then(|c| tagged_value(c, "terminal:"))
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
    }

    Ok(Parsed {
        schema,
        other_statements,
        dangling,
        misnamed_files,
    })
}

/// `06_order.sql` → (6, "order").
pub fn module_of_file(file: &str) -> Option<(u8, String)> {
    let stem = file.strip_suffix(".sql")?;
    let (num, name) = stem.split_once('_')?;
    if num.len() != 2 || name.is_empty() {
        return None;
    }
    let n: u8 = num.parse().ok()?;
    if !(1..=25).contains(&n) {
        return None;
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    {
        return None;
    }
    Some((n, name.to_string()))
}

fn parse_file(file: &SourceFile) -> Result<Vec<Statement>, SchemaError> {
    Parser::parse_sql(&PostgreSqlDialect {}, &file.text).map_err(|e| {
        let message = e.to_string();
        SchemaError::Parse {
            file: file.path.display().to_string(),
            line: line_in_message(&message).unwrap_or(0),
            message: message.trim_start_matches("sql parser error: ").to_string(),
        }
    })
}

/// sqlparser reports positions as "... at Line: 12, Column: 5".
fn line_in_message(message: &str) -> Option<u64> {
    let rest = &message[message.find("Line: ")? + 6..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn leading_comment(text: &str) -> String {
    text.lines()
        .skip_while(|l| l.trim().is_empty())
        .map_while(|l| l.trim_start().strip_prefix("--"))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn last_name(name: &ObjectName) -> String {
    name_parts(name).pop().unwrap_or_default()
}

fn classify_other(stmt: &Statement, file: &str, line: u64) -> OtherStatement {
    let (kind, routine) = match stmt {
        Statement::CreateFunction(_) => ("function".to_string(), true),
        Statement::CreateProcedure { .. } => ("procedure".to_string(), true),
        Statement::CreateTrigger(_) => ("trigger".to_string(), true),
        Statement::CreateView(v) if v.materialized => ("materialized view".to_string(), true),
        Statement::CreateView(_) => ("view".to_string(), true),
        other => {
            let sql = other.to_string();
            let words: Vec<&str> = sql.split_whitespace().take(2).collect();
            (words.join(" "), false)
        }
    };
    OtherStatement {
        file: file.to_string(),
        line,
        kind,
        routine,
    }
}

fn sql_type(data_type: &sqlparser::ast::DataType) -> SqlType {
    let text = data_type.to_string().to_lowercase();
    let base = text.split('(').next().unwrap_or("").trim();
    match base {
        "text" | "varchar" | "character varying" => SqlType::Text,
        "int" | "integer" | "int4" => SqlType::Integer,
        "smallint" | "int2" => SqlType::SmallInt,
        "bigint" | "int8" => SqlType::BigInt,
        "bool" | "boolean" => SqlType::Boolean,
        "numeric" | "decimal" => {
            let args: Vec<u64> = text
                .split_once('(')
                .map(|(_, rest)| {
                    rest.trim_end_matches(')')
                        .split(',')
                        .filter_map(|n| n.trim().parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            SqlType::Numeric {
                precision: args.first().copied(),
                scale: args.get(1).copied(),
            }
        }
        "double precision" | "float8" => SqlType::DoublePrecision,
        "jsonb" => SqlType::Jsonb,
        "json" => SqlType::Json,
        "timestamptz" | "timestamp with time zone" => SqlType::TimestampTz,
        "timestamp" | "timestamp without time zone" => SqlType::Timestamp,
        "date" => SqlType::Date,
        _ => SqlType::Other(text),
    }
}

fn table_of(
    ct: &CreateTable,
    module: u8,
    file: &SourceFile,
    line: u64,
) -> Result<Table, SchemaError> {
    let name = last_name(&ct.name);
    let mut table = Table {
        name: name.clone(),
        module,
        file: file.name.clone(),
        line,
        comment: None,
        columns: Vec::new(),
        prefix: None,
        phases: Vec::new(),
        initial_phase: None,
        terminal_phases: Vec::new(),
        checks: Vec::new(),
        uniques: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
    };
    for col in &ct.columns {
        let col_line = nonzero(col.name.span.start.line, line);
        let mut column = Column {
            name: col.name.value.clone(),
            line: col_line,
            sql_type: sql_type(&col.data_type),
            not_null: false,
            primary_key: false,
            default: None,
            comment: None,
            enum_values: None,
            reference: None,
            unit: None,
            constraints: ColumnConstraints::default(),
        };
        for opt in &col.options {
            match &opt.option {
                ColumnOption::NotNull => column.not_null = true,
                ColumnOption::Default(e) => column.default = Some(e.to_string()),
                ColumnOption::PrimaryKey(_) => {
                    column.primary_key = true;
                    column.not_null = true;
                }
                ColumnOption::Unique(_) => table.uniques.push(vec![column.name.clone()]),
                ColumnOption::ForeignKey(_) => table
                    .foreign_keys
                    .push((format!("{}.{}", name, column.name), col_line)),
                ColumnOption::Check(c) => table.checks.push(Check {
                    sql: c.expr.to_string(),
                    line: nonzero(c.expr.span().start.line, col_line),
                    column: Some(column.name.clone()),
                }),
                ColumnOption::Comment(text) => column.comment = Some(text.clone()),
                _ => {}
            }
        }
        table.columns.push(column);
    }
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::Check(c) => table.checks.push(Check {
                sql: c.expr.to_string(),
                line: nonzero(c.expr.span().start.line, line),
                column: None,
            }),
            TableConstraint::Unique(u) => table.uniques.push(
                u.columns
                    .iter()
                    .map(|c| c.column.expr.to_string())
                    .collect(),
            ),
            TableConstraint::PrimaryKey(pk) => {
                for c in &pk.columns {
                    let cname = c.column.expr.to_string();
                    if let Some(col) = table.columns.iter_mut().find(|x| x.name == cname) {
                        col.primary_key = true;
                        col.not_null = true;
                    }
                }
            }
            TableConstraint::ForeignKey(fk) => table.foreign_keys.push((
                fk.name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| format!("{name} foreign key")),
                line,
            )),
            _ => {}
        }
    }
    derive_from_checks(ct, &mut table);
    table.initial_phase = table
        .column("status")
        .and(ct.columns.iter().find(|c| c.name.value == "status"))
        .and_then(|c| {
            c.options.iter().find_map(|o| match &o.option {
                ColumnOption::Default(e) => string_literal(e),
                _ => None,
            })
        })
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("phase").and_then(|p| p.as_str()).map(String::from));
    Ok(table)
}

fn nonzero(line: u64, fallback: u64) -> u64 {
    if line == 0 { fallback } else { line }
}

/// Walk every CHECK expression for the facts the model needs: the uid prefix, the phases and
/// the closed value sets of enum-like columns.
fn derive_from_checks(ct: &CreateTable, table: &mut Table) {
    let mut exprs: Vec<&Expr> = Vec::new();
    for col in &ct.columns {
        for opt in &col.options {
            if let ColumnOption::Check(c) = &opt.option {
                exprs.push(&c.expr);
            }
        }
    }
    for constraint in &ct.constraints {
        if let TableConstraint::Check(c) = constraint {
            exprs.push(&c.expr);
        }
    }
    let mut enums: Vec<(String, Vec<String>)> = Vec::new();
    for expr in exprs {
        let _ = visit_expressions(expr, |e| {
            match e {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::PGRegexMatch,
                    right,
                } if ident(left).as_deref() == Some("uid") => {
                    if let Some(pattern) = string_literal(right) {
                        table.prefix = prefix_of_pattern(&pattern);
                    }
                }
                Expr::In {
                    expr,
                    target: InTarget::List(list),
                    negated: false,
                    ..
                } => {
                    let values: Option<Vec<String>> = list.iter().map(string_literal).collect();
                    if let Some(values) = values {
                        if is_phase_expr(expr) {
                            table.phases = values;
                        } else if let Some(col) = ident(expr) {
                            enums.push((col, values));
                        }
                    }
                }
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
    }
    for (col, values) in enums {
        if let Some(c) = table.columns.iter_mut().find(|c| c.name == col) {
            c.enum_values = Some(values);
        }
    }
    // Plain single-column facts, only from top-level conjuncts (a fact under OR or NOT is not
    // a requirement).
    let mut all: Vec<&Expr> = Vec::new();
    for col in &ct.columns {
        for opt in &col.options {
            if let ColumnOption::Check(c) = &opt.option {
                all.push(&c.expr);
            }
        }
    }
    for constraint in &ct.constraints {
        if let TableConstraint::Check(c) = constraint {
            all.push(&c.expr);
        }
    }
    let mut conj = Vec::new();
    for e in all {
        conjuncts(e, &mut conj);
    }
    for e in conj {
        // `col BETWEEN a AND b`: both bounds inclusive.
        if let Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } = e
        {
            let (Some(col), Some(lo), Some(hi)) =
                (ident(expr), number_literal(low), number_literal(high))
            else {
                continue;
            };
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == col) {
                let k = &mut c.constraints;
                k.minimum = Some(k.minimum.map_or(lo, |m| m.max(lo)));
                k.maximum = Some(k.maximum.map_or(hi, |m| m.min(hi)));
            }
            continue;
        }
        let Expr::BinaryOp { left, op, right } = e else {
            continue;
        };
        let Some(col) = ident(left) else { continue };
        if col == "uid" {
            continue;
        }
        let Some(c) = table.columns.iter_mut().find(|c| c.name == col) else {
            continue;
        };
        let k = &mut c.constraints;
        match op {
            BinaryOperator::PGRegexMatch => {
                if let Some(p) = string_literal(right) {
                    k.patterns.push(p);
                }
            }
            BinaryOperator::GtEq
            | BinaryOperator::Gt
            | BinaryOperator::LtEq
            | BinaryOperator::Lt => {
                let Some(n) = number_literal(right) else {
                    continue;
                };
                match op {
                    BinaryOperator::GtEq => k.minimum = Some(k.minimum.map_or(n, |m| m.max(n))),
                    BinaryOperator::Gt => {
                        k.exclusive_minimum = Some(k.exclusive_minimum.map_or(n, |m| m.max(n)))
                    }
                    BinaryOperator::LtEq => k.maximum = Some(k.maximum.map_or(n, |m| m.min(n))),
                    _ => k.exclusive_maximum = Some(k.exclusive_maximum.map_or(n, |m| m.min(n))),
                }
            }
            _ => {}
        }
    }
}

/// Split `a AND (b AND c)` into its conjuncts.
fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Nested(inner) => conjuncts(inner, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        other => out.push(other),
    }
}

fn number_literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => number_literal(expr).map(|n| -n),
        Expr::Nested(inner) => number_literal(inner),
        _ => None,
    }
}

/// `status ->> 'phase'`
fn is_phase_expr(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_phase_expr(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::LongArrow,
            right,
        } => {
            ident(left).as_deref() == Some("status")
                && string_literal(right).as_deref() == Some("phase")
        }
        _ => false,
    }
}

/// `^ord_[0-9A-HJKMNP-TV-Z]{26}$` → `ord`.
pub fn prefix_of_pattern(pattern: &str) -> Option<String> {
    let rest = pattern.strip_prefix('^')?;
    let (prefix, tail) = rest.split_once('_')?;
    (tail == "[0-9A-HJKMNP-TV-Z]{26}$"
        && !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
    .then(|| prefix.to_string())
}

fn ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::Nested(inner) => ident(inner),
        _ => None,
    }
}

fn string_literal(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Some(s.clone()),
            _ => None,
        },
        Expr::Cast { expr, .. } => string_literal(expr),
        Expr::Nested(inner) => string_literal(inner),
        _ => None,
    }
}

fn index_of(ci: &CreateIndex, line: u64) -> (String, Index) {
    let table = last_name(&ci.table_name);
    let keys = ci
        .columns
        .iter()
        .map(|c| {
            let mut e = &c.column.expr;
            while let Expr::Nested(inner) = e {
                e = inner;
            }
            e.to_string()
        })
        .collect();
    let index = Index {
        name: ci.name.as_ref().map(last_name).unwrap_or_default(),
        unique: ci.unique,
        method: ci
            .using
            .as_ref()
            .map(|u| u.to_string().to_lowercase())
            .unwrap_or_else(|| "btree".to_string()),
        keys,
        line,
    };
    (table, index)
}

fn plain_columns(keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| k.trim().to_string()).collect()
}

/// `... ref: order_header.uid` → Reference.
fn reference_in(comment: &str) -> Option<Reference> {
    let value = tagged_value(comment, "ref:")?;
    let token = value.split_whitespace().next()?;
    let token = token.trim_end_matches(['.', ',', ';', ')']);
    let (table, column) = token.split_once('.')?;
    Some(Reference {
        table: table.to_string(),
        column: column.to_string(),
    })
}

/// The text after `tag` up to the end of its sentence (`;`, a newline or the end).
fn tagged_value(comment: &str, tag: &str) -> Option<String> {
    let start = comment.find(tag)? + tag.len();
    let rest = comment[start..].trim_start();
    let end = rest.find([';', '\n']).unwrap_or(rest.len());
    let value = rest[..end].trim().trim_end_matches('.').trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_file_names() {
        assert_eq!(module_of_file("06_order.sql"), Some((6, "order".into())));
        assert_eq!(module_of_file("6_order.sql"), None);
        assert_eq!(module_of_file("26_x.sql"), None);
        assert_eq!(module_of_file("00_x.sql"), None);
    }

    #[test]
    fn tags_in_comments() {
        assert_eq!(
            reference_in("The order. ref: order_header.uid"),
            Some(Reference {
                table: "order_header".into(),
                column: "uid".into()
            })
        );
        assert_eq!(
            tagged_value("Rate. unit: percent", "unit:").as_deref(),
            Some("percent")
        );
        assert_eq!(
            tagged_value("x terminal: archived, canceled", "terminal:").as_deref(),
            Some("archived, canceled")
        );
        assert_eq!(
            prefix_of_pattern("^ord_[0-9A-HJKMNP-TV-Z]{26}$").as_deref(),
            Some("ord")
        );
        assert_eq!(prefix_of_pattern("^ord_[0-9a-z]{26}$"), None);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let src = SchemaSource::from_files([(
            "01_store.sql",
            "-- x\nCREATE TABLE store (\n uid TEXT PRIMARY KEY,\n name TEXT NOT NULL,,\n);",
        )]);
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.starts_with("01_store.sql:4:"), "{err}");
    }
}
