//! Rules that look at one table at a time.

use super::{Finding, Rule, finding};
use crate::model::{Column, SqlType, Table};

/// Names (or `_`-suffixes) that mark a TEXT column as enum-like, needing `CHECK (col IN (...))`.
pub const ENUM_WORDS: [&str; 17] = [
    "kind",
    "type",
    "mode",
    "scope",
    "tier",
    "direction",
    "strategy",
    "interval",
    "scale",
    "method",
    "channel",
    "source",
    "severity",
    "outcome",
    "effect",
    "role",
    "format",
];

/// Columns that need no COMMENT: the conventional ones every table has.
const SELF_EVIDENT: [&str; 5] = ["uid", "labels", "annotations", "create_ts", "update_ts"];

pub fn is_enum_like(name: &str) -> bool {
    ENUM_WORDS
        .iter()
        .any(|w| name == *w || name.ends_with(&format!("_{w}")))
}

/// SQL text with white space removed and lower-cased, for comparing CHECK shapes.
fn squash(sql: &str) -> String {
    sql.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

fn has_check(table: &Table, wanted: &str) -> bool {
    let wanted = squash(wanted);
    table
        .checks
        .iter()
        .any(|c| squash(&c.sql).contains(&wanted))
}

pub fn check_table(t: &Table, out: &mut Vec<Finding>) {
    uid(t, out);
    status(t, out);
    labels_annotations(t, out);
    timestamps(t, out);
    money(t, out);
    enums(t, out);
    foreign_keys(t, out);
    references(t, out);
    indexes(t, out);
    comments(t, out);
}

fn uid(t: &Table, out: &mut Vec<Finding>) {
    let first = t.columns.first();
    let ok_column =
        matches!(first, Some(c) if c.name == "uid" && c.sql_type == SqlType::Text && c.primary_key);
    if !ok_column {
        out.push(finding(
            t,
            first,
            Rule::UidPrimaryKey,
            "the first column must be `uid TEXT PRIMARY KEY`",
            "start the table with `uid TEXT PRIMARY KEY CHECK (uid ~ '^<prefix>_[0-9A-HJKMNP-TV-Z]{26}$')`",
        ));
    }
    if ok_column && t.prefix.is_none() {
        out.push(finding(
            t,
            first,
            Rule::UidPrimaryKey,
            "uid has no CHECK on its prefix and ULID format",
            "add `CHECK (uid ~ '^<prefix>_[0-9A-HJKMNP-TV-Z]{26}$')` with a prefix unique to this table",
        ));
    }
}

fn status(t: &Table, out: &mut Vec<Finding>) {
    let Some(col) = t.column("status") else {
        out.push(finding(
            t,
            None,
            Rule::StatusColumn,
            "table has no `status` column",
            "add `status JSONB NOT NULL DEFAULT '{\"phase\": \"<initial>\", \"conditions\": []}'` and a CHECK listing the phases",
        ));
        return;
    };
    let hint = "declare `status JSONB NOT NULL DEFAULT '{\"phase\": \"<initial>\", \"conditions\": []}'` with \
                `CONSTRAINT <table>_status_check CHECK (jsonb_typeof(status) = 'object' AND \
                COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false) AND \
                COALESCE(status ->> 'phase' IN (...), false))`";
    if col.sql_type != SqlType::Jsonb || !col.not_null {
        out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            "status must be JSONB NOT NULL",
            hint,
        ));
    }
    if t.phases.is_empty() {
        out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            "no CHECK lists the allowed phases (`status ->> 'phase' IN (...)`)",
            hint,
        ));
    } else if !has_check(t, "COALESCE(status ->> 'phase' IN (") {
        out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            "the phase CHECK is not wrapped in COALESCE(..., false): a status without a phase would pass",
            hint,
        ));
    }
    // COALESCE(..., false): a CHECK that evaluates to NULL passes, so a status without
    // `conditions` or `phase` would otherwise be accepted.
    if !has_check(t, "jsonb_typeof(status) = 'object'")
        || !has_check(
            t,
            "COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)",
        )
    {
        out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            "status is not checked to be an object with a `conditions` array",
            hint,
        ));
    }
    match &t.initial_phase {
        None => out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            "status has no DEFAULT naming the initial phase",
            hint,
        )),
        Some(p) if !t.phases.is_empty() && !t.phases.contains(p) => out.push(finding(
            t,
            Some(col),
            Rule::StatusColumn,
            format!(
                "the default phase `{p}` is not one of the allowed phases {:?}",
                t.phases
            ),
            "make the DEFAULT's phase one of the phases in the CHECK",
        )),
        _ => {}
    }
    if t.terminal_phases.is_empty() {
        out.push(finding(
            t,
            Some(col),
            Rule::StatusTerminal,
            "the status comment does not name the terminal phases",
            "end `COMMENT ON COLUMN <table>.status` with `terminal: <phase>[, <phase>]` (the first is where a delete moves a row)",
        ));
    }
    for p in &t.terminal_phases {
        if !t.phases.is_empty() && !t.phases.contains(p) {
            out.push(finding(
                t,
                Some(col),
                Rule::StatusTerminal,
                format!(
                    "terminal phase `{p}` is not one of the allowed phases {:?}",
                    t.phases
                ),
                "name only phases the status CHECK allows",
            ));
        }
    }
}

fn labels_annotations(t: &Table, out: &mut Vec<Finding>) {
    for name in ["labels", "annotations"] {
        let hint = format!(
            "declare `{name} JSONB NOT NULL DEFAULT '{{}}' CHECK (jsonb_typeof({name}) = 'object')`"
        );
        match t.column(name) {
            None => out.push(finding(
                t,
                None,
                Rule::LabelsAnnotations,
                format!("table has no `{name}` column"),
                hint,
            )),
            Some(c) => {
                let default_ok = c.default.as_deref().map(squash).as_deref() == Some("'{}'");
                if c.sql_type != SqlType::Jsonb || !c.not_null || !default_ok {
                    out.push(finding(
                        t,
                        Some(c),
                        Rule::LabelsAnnotations,
                        format!("`{name}` must be JSONB NOT NULL DEFAULT '{{}}'"),
                        hint.clone(),
                    ));
                }
                if !has_check(t, &format!("jsonb_typeof({name}) = 'object'")) {
                    out.push(finding(
                        t,
                        Some(c),
                        Rule::LabelsAnnotations,
                        format!("`{name}` is not checked to be a JSON object"),
                        hint,
                    ));
                }
            }
        }
    }
}

fn timestamps(t: &Table, out: &mut Vec<Finding>) {
    for name in ["create_ts", "update_ts"] {
        let hint = format!("declare `{name} TIMESTAMPTZ NOT NULL DEFAULT now()`");
        match t.column(name) {
            None => out.push(finding(
                t,
                None,
                Rule::Timestamps,
                format!("table has no `{name}`"),
                hint,
            )),
            Some(c) => {
                let default_ok = c.default.as_deref().map(squash).as_deref() == Some("now()");
                if c.sql_type != SqlType::TimestampTz || !c.not_null || !default_ok {
                    out.push(finding(
                        t,
                        Some(c),
                        Rule::Timestamps,
                        format!("`{name}` must be TIMESTAMPTZ NOT NULL DEFAULT now()"),
                        hint,
                    ));
                }
            }
        }
    }
    for c in &t.columns {
        match (&c.sql_type, c.name.ends_with("_ts")) {
            (SqlType::Timestamp, _) => out.push(finding(
                t,
                Some(c),
                Rule::TsSuffix,
                "TIMESTAMP without time zone",
                "use TIMESTAMPTZ: instants are stored in UTC and shown in the reader's zone",
            )),
            (SqlType::TimestampTz, false) => out.push(finding(
                t,
                Some(c),
                Rule::TsSuffix,
                "timestamp column name does not end in `_ts`",
                format!("rename it to `{}_ts`", c.name.trim_end_matches("_at")),
            )),
            (ty, true) if *ty != SqlType::TimestampTz => out.push(finding(
                t,
                Some(c),
                Rule::TsSuffix,
                format!("`_ts` column has type {}", ty.pg_name()),
                "`_ts` columns are TIMESTAMPTZ; name calendar days `<x>_day` and use DATE",
            )),
            _ => {}
        }
    }
}

fn money(t: &Table, out: &mut Vec<Finding>) {
    for c in &t.columns {
        if matches!(c.sql_type, SqlType::Numeric { .. }) && c.unit.is_none() {
            let raw_name = format!("raw_{}", c.name);
            match t.column(&raw_name) {
                None => out.push(finding(
                    t,
                    Some(c),
                    Rule::MoneyRaw,
                    format!("NUMERIC column without `{raw_name}` and without a declared unit"),
                    format!(
                        "money: add `{raw_name} JSONB{} CHECK (jsonb_typeof({raw_name}) = 'object')`; \
                         not money: add `unit: <unit>` to the column's comment",
                        if c.not_null { " NOT NULL" } else { "" }
                    ),
                )),
                Some(raw) => {
                    if raw.sql_type != SqlType::Jsonb || raw.not_null != c.not_null {
                        out.push(finding(
                            t,
                            Some(raw),
                            Rule::MoneyRaw,
                            format!("`{raw_name}` must be JSONB with the same nullability as `{}`", c.name),
                            format!("declare `{raw_name} JSONB{}`", if c.not_null { " NOT NULL" } else { "" }),
                        ));
                    }
                    if !has_check(t, &format!("jsonb_typeof({raw_name}) = 'object'")) {
                        out.push(finding(
                            t,
                            Some(raw),
                            Rule::MoneyRaw,
                            format!("`{raw_name}` is not checked to be a JSON object"),
                            format!("add `CHECK (jsonb_typeof({raw_name}) = 'object')`"),
                        ));
                    }
                }
            }
        }
        if let Some(base) = c.name.strip_prefix("raw_") {
            let paired = t
                .column(base)
                .is_some_and(|b| matches!(b.sql_type, SqlType::Numeric { .. }) && b.unit.is_none());
            if !paired {
                out.push(finding(
                    t,
                    Some(c),
                    Rule::MoneyRaw,
                    format!("`{}` has no NUMERIC money column `{base}`", c.name),
                    "`raw_*` columns only accompany money columns; rename it or add the NUMERIC amount",
                ));
            }
        }
    }
}

fn enums(t: &Table, out: &mut Vec<Finding>) {
    for c in &t.columns {
        if c.sql_type == SqlType::Text && is_enum_like(&c.name) && c.enum_values.is_none() {
            out.push(finding(
                t,
                Some(c),
                Rule::EnumCheck,
                "enum-like column without a CHECK on its values",
                format!(
                    "add `CHECK ({} IN ('a', 'b', ...))` listing every allowed value",
                    c.name
                ),
            ));
        }
    }
}

fn foreign_keys(t: &Table, out: &mut Vec<Finding>) {
    for (name, line) in &t.foreign_keys {
        let mut f = finding(
            t,
            None,
            Rule::NoForeignKeys,
            format!("foreign key constraint {name}"),
            "remove the REFERENCES/FOREIGN KEY and document it in the column comment as `ref: <table>.uid` (ADR-004)",
        );
        f.line = *line;
        out.push(f);
    }
}

fn references(t: &Table, out: &mut Vec<Finding>) {
    for c in &t.columns {
        if c.name.ends_with("_uid") && c.reference.is_none() {
            out.push(finding(
                t,
                Some(c),
                Rule::ReferenceComment,
                "reference column does not document its target",
                format!(
                    "end `COMMENT ON COLUMN {}.{}` with `ref: <table>.uid`",
                    t.name, c.name
                ),
            ));
        }
    }
}

fn leads_index(t: &Table, column: &str) -> bool {
    t.indexes
        .iter()
        .any(|i| i.keys.first().map(|k| k.trim()) == Some(column))
        || t.uniques
            .iter()
            .any(|u| u.first().map(|k| k.trim()) == Some(column))
}

fn indexes(t: &Table, out: &mut Vec<Finding>) {
    for (c, _) in t.references() {
        if !leads_index(t, &c.name) {
            out.push(finding(
                t,
                Some(c),
                Rule::ReferenceIndex,
                "documented reference has no index",
                format!(
                    "add `CREATE INDEX {0}_{1}_idx ON {0} ({1});`",
                    t.name, c.name
                ),
            ));
        }
    }
    let gin = t
        .indexes
        .iter()
        .any(|i| i.method == "gin" && i.keys.len() == 1 && i.keys[0] == "labels");
    if !gin {
        out.push(finding(
            t,
            None,
            Rule::LabelsIndex,
            "no GIN index on labels (label selectors would scan the table)",
            format!(
                "add `CREATE INDEX {0}_labels_idx ON {0} USING gin (labels);`",
                t.name
            ),
        ));
    }
    let phase = t
        .indexes
        .iter()
        .any(|i| i.keys.first().map(|k| squash(k)).as_deref() == Some("status->>'phase'"));
    if !phase {
        out.push(finding(
            t,
            None,
            Rule::PhaseIndex,
            "no index on the phase",
            format!(
                "add `CREATE INDEX {0}_phase_idx ON {0} ((status ->> 'phase'));`",
                t.name
            ),
        ));
    }
}

fn comments(t: &Table, out: &mut Vec<Finding>) {
    if t.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        out.push(finding(
            t,
            None,
            Rule::TableComment,
            "table has no COMMENT",
            format!("add `COMMENT ON TABLE {} IS '<what one row is>';`", t.name),
        ));
    }
    for c in &t.columns {
        if needs_comment(c) && c.comment.as_deref().is_none_or(|s| s.trim().is_empty()) {
            out.push(finding(
                t,
                Some(c),
                Rule::ColumnComment,
                "column has no COMMENT",
                format!(
                    "add `COMMENT ON COLUMN {}.{} IS '<what it holds>';`",
                    t.name, c.name
                ),
            ));
        }
    }
}

fn needs_comment(c: &Column) -> bool {
    !SELF_EVIDENT.contains(&c.name.as_str()) && !c.name.starts_with("raw_")
}
