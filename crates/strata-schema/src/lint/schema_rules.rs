//! Rules that need the whole schema: prefixes, references, link tables, counts, files.

use std::collections::{BTreeMap, HashMap};

use super::{Finding, LintOptions, Rule, finding};
use crate::model::{Pass, Schema, Table};
use crate::parse::Parsed;

/// What the seed says about table counts: (module, tables).
pub const SEED_MODULE_COUNTS: [(u8, usize); 5] = [(2, 10), (6, 12), (9, 10), (16, 15), (23, 2)];
pub const SEED_TOTAL: usize = 153;
pub const SEED_PASS_COUNTS: [(Pass, usize); 3] = [
    (Pass::CommerceCore, 77),
    (Pass::Links, 24),
    (Pass::CreatorCommerce, 52),
];
pub const SEED_PLATFORM: usize = 7;

pub fn check_schema(parsed: &Parsed, options: LintOptions, out: &mut Vec<Finding>) {
    let schema = &parsed.schema;
    prefixes(schema, out);
    reference_targets(schema, out);
    links(schema, out);
    statements(parsed, out);
    files(parsed, out);
    if options.check_counts {
        counts(schema, out);
    }
}

fn prefixes(schema: &Schema, out: &mut Vec<Finding>) {
    let mut seen: HashMap<&str, &Table> = HashMap::new();
    for t in schema.tables() {
        let Some(p) = t.prefix.as_deref() else {
            continue;
        };
        if let Some(first) = seen.get(p) {
            out.push(finding(
                t,
                t.column("uid"),
                Rule::UidPrefixUnique,
                format!("prefix `{p}_` is already used by table {}", first.name),
                "choose a prefix no other table uses, so a uid names its table",
            ));
        } else {
            seen.insert(p, t);
        }
    }
}

fn reference_targets(schema: &Schema, out: &mut Vec<Finding>) {
    for t in schema.tables() {
        for (c, r) in t.references() {
            match schema.table(&r.table) {
                None => out.push(finding(
                    t,
                    Some(c),
                    Rule::ReferenceTarget,
                    format!(
                        "documented reference names table `{}`, which does not exist",
                        r.table
                    ),
                    "fix the table name after `ref:` (see docs/schema.md for the table list)",
                )),
                Some(target) if target.column(&r.column).is_none() => out.push(finding(
                    t,
                    Some(c),
                    Rule::ReferenceTarget,
                    format!(
                        "documented reference names column `{}.{}`, which does not exist",
                        r.table, r.column
                    ),
                    format!("reference a column of {} (usually `uid`)", r.table),
                )),
                _ => {}
            }
        }
    }
}

/// `order` in link-table names stands for the `order_header` table (the seed's rename).
fn resolve_link_part<'a>(schema: &'a Schema, part: &str) -> Option<&'a Table> {
    schema.table(part).or_else(|| {
        (part == "order")
            .then(|| schema.table("order_header"))
            .flatten()
    })
}

fn links(schema: &Schema, out: &mut Vec<Finding>) {
    for t in schema.tables() {
        let in_links_module = t.module == 14;
        match (in_links_module, t.is_link()) {
            (true, false) => out.push(finding(
                t,
                None,
                Rule::LinkTable,
                "module 14 holds only link tables",
                "name it `link_<a>_<b>` after the two tables it joins, or move it to its own module",
            )),
            (false, true) => out.push(finding(
                t,
                None,
                Rule::LinkTable,
                "link tables belong to module 14",
                "move the table to schema/14_link.sql",
            )),
            (true, true) => {
                let rest = &t.name["link_".len()..];
                let parts: Vec<&str> = rest.split('_').collect();
                let referenced: Vec<&str> = t.references().map(|(_, r)| r.table.as_str()).collect();
                let ok = (1..parts.len()).any(|i| {
                    let a = parts[..i].join("_");
                    let b = parts[i..].join("_");
                    match (resolve_link_part(schema, &a), resolve_link_part(schema, &b)) {
                        (Some(ta), Some(tb)) => {
                            referenced.contains(&ta.name.as_str()) && referenced.contains(&tb.name.as_str())
                        }
                        _ => false,
                    }
                });
                if !ok {
                    out.push(finding(
                        t,
                        None,
                        Rule::LinkTable,
                        "the name does not split into two existing tables that the link's `ref:` columns point at",
                        "name it `link_<table a>_<table b>` and give it `<a>_uid ... ref: <a>.uid` and `<b>_uid ... ref: <b>.uid`",
                    ));
                }
            }
            (false, false) => {}
        }
    }
}

fn statements(parsed: &Parsed, out: &mut Vec<Finding>) {
    for s in &parsed.other_statements {
        let (rule, message, hint) = if s.routine {
            (
                Rule::NoRoutines,
                format!(
                    "CREATE {}: the schema has no stored logic",
                    s.kind.to_uppercase()
                ),
                "move the logic into application code (ADR-003); views belong in the lake's query layer",
            )
        } else {
            (
                Rule::PlainDdl,
                format!("`{}` statement in a schema file", s.kind),
                "schema files hold only CREATE TABLE, CREATE INDEX and COMMENT ON statements",
            )
        };
        out.push(Finding {
            file: s.file.clone(),
            line: s.line,
            table: None,
            column: None,
            rule,
            message,
            hint: hint.to_string(),
        });
    }
    for d in &parsed.dangling {
        out.push(Finding {
            file: d.file.clone(),
            line: d.line,
            table: None,
            column: None,
            rule: Rule::UnknownObject,
            message: d.message.clone(),
            hint: "fix the name, or define the table before commenting on or indexing it".into(),
        });
    }
}

fn files(parsed: &Parsed, out: &mut Vec<Finding>) {
    for f in &parsed.misnamed_files {
        out.push(Finding {
            file: f.clone(),
            line: 1,
            table: None,
            column: None,
            rule: Rule::FileName,
            message: "file name is not `NN_<module>.sql` with NN from 01 to 25".into(),
            hint: "rename it, e.g. `06_order.sql`; lower-case letters, digits and `_` only".into(),
        });
    }
    let mut by_number: BTreeMap<u8, Vec<&str>> = BTreeMap::new();
    for m in &parsed.schema.modules {
        if m.number != 0 {
            by_number.entry(m.number).or_default().push(&m.file);
        }
    }
    for (n, files) in &by_number {
        if files.len() > 1 {
            out.push(Finding {
                file: files[1].to_string(),
                line: 1,
                table: None,
                column: None,
                rule: Rule::FileName,
                message: format!(
                    "module {n:02} is defined by several files: {}",
                    files.join(", ")
                ),
                hint: "keep one file per module".into(),
            });
        }
    }
}

fn counts(schema: &Schema, out: &mut Vec<Finding>) {
    let mut push = |message: String, hint: String| {
        out.push(Finding {
            file: "schema/".into(),
            line: 0,
            table: None,
            column: None,
            rule: Rule::ModuleCounts,
            message,
            hint,
        })
    };
    let numbers: Vec<u8> = schema.modules.iter().map(|m| m.number).collect();
    let missing: Vec<String> = (1..=25u8)
        .filter(|n| !numbers.contains(n))
        .map(|n| format!("{n:02}"))
        .collect();
    if !missing.is_empty() {
        push(
            format!("modules missing: {}", missing.join(", ")),
            "the seed defines 25 modules, one file each".into(),
        );
    }
    let total = schema.table_count();
    if total != SEED_TOTAL {
        push(
            format!("{total} tables; the seed has {SEED_TOTAL}"),
            "add or remove tables so the schema matches the seed's module table".into(),
        );
    }
    for (pass, expected) in SEED_PASS_COUNTS {
        let n: usize = schema
            .modules
            .iter()
            .filter(|m| m.pass() == Some(pass))
            .map(|m| m.tables.len())
            .sum();
        if n != expected {
            push(
                format!(
                    "pass {} has {n} tables; the seed says {expected}",
                    pass.label()
                ),
                "move or add tables so each pass matches the seed".into(),
            );
        }
    }
    let platform: usize = schema
        .modules
        .iter()
        .filter(|m| Pass::is_platform(m.number))
        .map(|m| m.tables.len())
        .sum();
    if platform != SEED_PLATFORM {
        push(
            format!(
                "Platform (modules 24–25) has {platform} tables; the seed says {SEED_PLATFORM}"
            ),
            "Identity and Governance together hold 7 tables".into(),
        );
    }
    for (module, expected) in SEED_MODULE_COUNTS {
        let n = schema
            .modules
            .iter()
            .filter(|m| m.number == module)
            .map(|m| m.tables.len())
            .sum::<usize>();
        if n != expected {
            push(
                format!("module {module:02} has {n} tables; the seed says {expected}"),
                "the seed fixes this module's table count".into(),
            );
        }
    }
}
