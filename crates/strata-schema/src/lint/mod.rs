//! `strata schema lint`: the seed's conventions, checked on the parsed model.
//!
//! Every finding names the file, line, table, column, the rule and how to fix it. The rules are
//! documented in `schema/README.md`; each has a test that proves it fires on a bad fixture.

mod schema_rules;
mod table_rules;

use std::fmt;

use serde::Serialize;

use crate::parse::Parsed;

/// The conventions, by the names `strata schema lint` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    UidPrimaryKey,
    UidPrefixUnique,
    StatusColumn,
    StatusTerminal,
    LabelsAnnotations,
    Timestamps,
    TsSuffix,
    MoneyRaw,
    EnumCheck,
    NoForeignKeys,
    ReferenceComment,
    ReferenceTarget,
    ReferenceIndex,
    LabelsIndex,
    PhaseIndex,
    TableComment,
    ColumnComment,
    NoRoutines,
    PlainDdl,
    UnknownObject,
    LinkTable,
    ModuleCounts,
    FileName,
}

impl Rule {
    pub const ALL: [Rule; 23] = [
        Rule::UidPrimaryKey,
        Rule::UidPrefixUnique,
        Rule::StatusColumn,
        Rule::StatusTerminal,
        Rule::LabelsAnnotations,
        Rule::Timestamps,
        Rule::TsSuffix,
        Rule::MoneyRaw,
        Rule::EnumCheck,
        Rule::NoForeignKeys,
        Rule::ReferenceComment,
        Rule::ReferenceTarget,
        Rule::ReferenceIndex,
        Rule::LabelsIndex,
        Rule::PhaseIndex,
        Rule::TableComment,
        Rule::ColumnComment,
        Rule::NoRoutines,
        Rule::PlainDdl,
        Rule::UnknownObject,
        Rule::LinkTable,
        Rule::ModuleCounts,
        Rule::FileName,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::UidPrimaryKey => "uid-primary-key",
            Rule::UidPrefixUnique => "uid-prefix-unique",
            Rule::StatusColumn => "status-column",
            Rule::StatusTerminal => "status-terminal",
            Rule::LabelsAnnotations => "labels-annotations",
            Rule::Timestamps => "timestamps",
            Rule::TsSuffix => "ts-suffix",
            Rule::MoneyRaw => "money-raw",
            Rule::EnumCheck => "enum-check",
            Rule::NoForeignKeys => "no-foreign-keys",
            Rule::ReferenceComment => "reference-comment",
            Rule::ReferenceTarget => "reference-target",
            Rule::ReferenceIndex => "reference-index",
            Rule::LabelsIndex => "labels-index",
            Rule::PhaseIndex => "phase-index",
            Rule::TableComment => "table-comment",
            Rule::ColumnComment => "column-comment",
            Rule::NoRoutines => "no-routines",
            Rule::PlainDdl => "plain-ddl",
            Rule::UnknownObject => "unknown-object",
            Rule::LinkTable => "link-table",
            Rule::ModuleCounts => "module-counts",
            Rule::FileName => "file-name",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One convention violation, located precisely enough to fix without searching.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: u64,
    pub table: Option<String>,
    pub column: Option<String>,
    pub rule: Rule,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: [{}]", self.file, self.line, self.rule)?;
        match (&self.table, &self.column) {
            (Some(t), Some(c)) => write!(f, " {t}.{c}:")?,
            (Some(t), None) => write!(f, " {t}:")?,
            _ => {}
        }
        write!(f, " {}\n    fix: {}", self.message, self.hint)
    }
}

/// Which whole-schema checks apply. Fixture schemas used in tests are not the full 153 tables,
/// so the count rules can be switched off there.
#[derive(Debug, Clone, Copy)]
pub struct LintOptions {
    pub check_counts: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self { check_counts: true }
    }
}

/// Run every rule over a parsed schema. Findings come sorted by file and line.
pub fn lint(parsed: &Parsed, options: LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    for table in parsed.schema.tables() {
        table_rules::check_table(table, &mut findings);
    }
    schema_rules::check_schema(parsed, options, &mut findings);
    findings
        .sort_by(|a, b| (a.file.as_str(), a.line, a.rule).cmp(&(b.file.as_str(), b.line, b.rule)));
    findings
}

/// Builder-ish helper the rule modules share.
pub(crate) fn finding(
    table: &crate::model::Table,
    column: Option<&crate::model::Column>,
    rule: Rule,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Finding {
    Finding {
        file: table.file.clone(),
        line: column.map(|c| c.line).unwrap_or(table.line),
        table: Some(table.name.clone()),
        column: column.map(|c| c.name.clone()),
        rule,
        message: message.into(),
        hint: hint.into(),
    }
}

#[cfg(test)]
mod tests;
