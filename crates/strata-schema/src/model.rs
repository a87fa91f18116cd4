//! The typed model of the domain schema, built from the DDL by [`crate::parse`].
//!
//! Everything downstream (lint, docs, the resource API, OpenAPI, the seed) reads this model
//! instead of re-describing tables by hand.

use serde::Serialize;

/// The seed's three passes over the 25 modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum Pass {
    /// Modules 01–13 and 15: products, orders, payments, fulfillment, promotions, regions.
    CommerceCore,
    /// Module 14: cross-module join tables.
    Links,
    /// Modules 16–25: publishers, memberships, ledger, invoices, disputes, leads, identity, governance.
    CreatorCommerce,
}

impl Pass {
    /// The pass a module number belongs to, as the seed assigns it.
    pub fn of_module(number: u8) -> Option<Pass> {
        match number {
            1..=13 | 15 => Some(Pass::CommerceCore),
            14 => Some(Pass::Links),
            16..=25 => Some(Pass::CreatorCommerce),
            _ => None,
        }
    }

    /// Modules 24 (Identity) and 25 (Governance) form the Platform sub-pass of Creator Commerce.
    pub fn is_platform(number: u8) -> bool {
        matches!(number, 24 | 25)
    }

    pub fn label(self) -> &'static str {
        match self {
            Pass::CommerceCore => "Commerce Core",
            Pass::Links => "Links",
            Pass::CreatorCommerce => "Creator Commerce",
        }
    }
}

/// The whole schema: modules in apply order.
#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    pub modules: Vec<Module>,
}

/// One `NN_<name>.sql` file.
#[derive(Debug, Clone, Serialize)]
pub struct Module {
    pub number: u8,
    pub name: String,
    pub file: String,
    /// The module's description: the leading `--` comment block of the file.
    pub description: String,
    pub tables: Vec<Table>,
}

impl Module {
    pub fn pass(&self) -> Option<Pass> {
        Pass::of_module(self.number)
    }
}

/// A table with everything the conventions and the API need to know about it.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub name: String,
    pub module: u8,
    pub file: String,
    pub line: u64,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    /// The uid prefix (without the `_`), from the uid format CHECK.
    pub prefix: Option<String>,
    /// Allowed phases of `status.phase`, from the status CHECK, in declaration order.
    pub phases: Vec<String>,
    /// The phase a new row starts in (the DEFAULT of `status`).
    pub initial_phase: Option<String>,
    /// Phases that end the lifecycle (`terminal:` in the status comment); the first is where
    /// a delete moves a row.
    pub terminal_phases: Vec<String>,
    /// Every CHECK expression of the table (column and table constraints) as SQL text.
    pub checks: Vec<Check>,
    /// UNIQUE constraints and unique indexes, as column lists (primary key excluded).
    pub uniques: Vec<Vec<String>>,
    pub indexes: Vec<Index>,
    /// Names of FOREIGN KEY constraints found (the conventions forbid them).
    pub foreign_keys: Vec<(String, u64)>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True for module 14's join tables.
    pub fn is_link(&self) -> bool {
        self.name.starts_with("link_")
    }

    /// Columns that document a reference to another table.
    pub fn references(&self) -> impl Iterator<Item = (&Column, &Reference)> {
        self.columns
            .iter()
            .filter_map(|c| c.reference.as_ref().map(|r| (c, r)))
    }

    /// Money columns: NUMERIC columns with a `raw_<name>` companion.
    pub fn money_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.is_money(self))
    }
}

/// A CHECK expression and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub sql: String,
    pub line: u64,
    /// The column it was declared on, for column-level checks.
    pub column: Option<String>,
}

/// A `CREATE INDEX` (or the index behind a UNIQUE constraint).
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// Access method (`gin`, `btree` when not given).
    pub method: String,
    /// The indexed expressions as SQL text; plain columns are just their names.
    pub keys: Vec<String>,
    pub line: u64,
}

/// The SQL types the conventions care about; anything else is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SqlType {
    Text,
    Integer,
    SmallInt,
    BigInt,
    Boolean,
    Numeric {
        precision: Option<u64>,
        scale: Option<u64>,
    },
    DoublePrecision,
    Jsonb,
    Json,
    TimestampTz,
    /// Timestamp without time zone: forbidden by the conventions.
    Timestamp,
    Date,
    Other(String),
}

impl SqlType {
    /// The type as PostgreSQL's `format_type` prints it (used by drift detection).
    pub fn pg_name(&self) -> String {
        match self {
            SqlType::Text => "text".into(),
            SqlType::Integer => "integer".into(),
            SqlType::SmallInt => "smallint".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Boolean => "boolean".into(),
            SqlType::Numeric {
                precision: Some(p),
                scale: Some(s),
            } => format!("numeric({p},{s})"),
            SqlType::Numeric {
                precision: Some(p),
                scale: None,
            } => format!("numeric({p},0)"),
            SqlType::Numeric { .. } => "numeric".into(),
            SqlType::DoublePrecision => "double precision".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::Json => "json".into(),
            SqlType::TimestampTz => "timestamp with time zone".into(),
            SqlType::Timestamp => "timestamp without time zone".into(),
            SqlType::Date => "date".into(),
            SqlType::Other(s) => s.to_lowercase(),
        }
    }
}

/// A documented (never enforced) reference: `ref: <table>.<column>` in a column comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub table: String,
    pub column: String,
}

/// A column with the facts the conventions derive from its DDL and comment.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub line: u64,
    pub sql_type: SqlType,
    pub not_null: bool,
    pub primary_key: bool,
    pub default: Option<String>,
    pub comment: Option<String>,
    /// Closed value set, from `CHECK (<col> IN (...))`.
    pub enum_values: Option<Vec<String>>,
    /// Documented reference, from `ref: table.column` in the comment.
    pub reference: Option<Reference>,
    /// Declared unit of a non-money NUMERIC, from `unit: ...` in the comment.
    pub unit: Option<String>,
    /// Single-column CHECK facts a client can be told up front (`~` patterns, numeric bounds).
    pub constraints: ColumnConstraints,
}

/// What a column's CHECKs require of one value, when they say it plainly: a regular expression
/// (`col ~ '...'`) and inclusive or exclusive numeric bounds (`col >= 0`, `col > 0`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColumnConstraints {
    pub patterns: Vec<String>,
    pub minimum: Option<f64>,
    pub exclusive_minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: Option<f64>,
}

/// Columns every table carries, maintained by Strata rather than by clients.
pub const STANDARD_COLUMNS: [&str; 6] = [
    "uid",
    "status",
    "labels",
    "annotations",
    "create_ts",
    "update_ts",
];

impl Column {
    /// NUMERIC without a declared unit, i.e. an amount of money.
    pub fn is_money(&self, table: &Table) -> bool {
        matches!(self.sql_type, SqlType::Numeric { .. })
            && self.unit.is_none()
            && table.column(&format!("raw_{}", self.name)).is_some()
    }

    pub fn is_standard(&self) -> bool {
        STANDARD_COLUMNS.contains(&self.name.as_str())
    }

    /// The `raw_*` JSON companion of a money column.
    pub fn is_raw_money(&self) -> bool {
        self.name.starts_with("raw_") && self.sql_type == SqlType::Jsonb
    }
}

impl Schema {
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.modules.iter().flat_map(|m| m.tables.iter())
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables().find(|t| t.name == name)
    }

    pub fn table_count(&self) -> usize {
        self.modules.iter().map(|m| m.tables.len()).sum()
    }

    /// The table owning a uid prefix (`ord` → `order_header`).
    pub fn table_by_prefix(&self, prefix: &str) -> Option<&Table> {
        self.tables().find(|t| t.prefix.as_deref() == Some(prefix))
    }
}
