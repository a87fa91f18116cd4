//! One test per rule: a clean fixture has no findings, and a targeted edit makes exactly that
//! rule fire.

use super::*;
use crate::parse::parse;
use crate::source::SchemaSource;

const STORE: &str = r#"-- Module 01: Store
-- Stores.
CREATE TABLE store (
    uid TEXT PRIMARY KEY CHECK (uid ~ '^sto_[0-9A-HJKMNP-TV-Z]{26}$'),
    name TEXT NOT NULL,
    store_kind TEXT NOT NULL DEFAULT 'online' CHECK (store_kind IN ('online', 'retail')),
    opened_ts TIMESTAMPTZ,
    credit_limit NUMERIC(20, 4),
    raw_credit_limit JSONB CHECK (jsonb_typeof(raw_credit_limit) = 'object'),
    tax_rate NUMERIC(9, 6) NOT NULL DEFAULT 0,
    status JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT store_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX store_labels_idx ON store USING gin (labels);
CREATE INDEX store_phase_idx ON store ((status ->> 'phase'));
COMMENT ON TABLE store IS 'A store.';
COMMENT ON COLUMN store.name IS 'Name.';
COMMENT ON COLUMN store.store_kind IS 'Kind of store.';
COMMENT ON COLUMN store.opened_ts IS 'When it opened.';
COMMENT ON COLUMN store.credit_limit IS 'Credit limit.';
COMMENT ON COLUMN store.tax_rate IS 'Tax rate. unit: percent';
COMMENT ON COLUMN store.status IS 'Lifecycle. terminal: archived';
"#;

const PRODUCT: &str = r#"-- Module 02: Product
CREATE TABLE product (
    uid TEXT PRIMARY KEY CHECK (uid ~ '^prd_[0-9A-HJKMNP-TV-Z]{26}$'),
    store_uid TEXT NOT NULL,
    title TEXT NOT NULL,
    status JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'published', 'archived'), false)
    )
);
CREATE INDEX product_labels_idx ON product USING gin (labels);
CREATE INDEX product_phase_idx ON product ((status ->> 'phase'));
CREATE INDEX product_store_uid_idx ON product (store_uid);
COMMENT ON TABLE product IS 'A product.';
COMMENT ON COLUMN product.store_uid IS 'Store. ref: store.uid';
COMMENT ON COLUMN product.title IS 'Title.';
COMMENT ON COLUMN product.status IS 'Lifecycle. terminal: archived';
"#;

const LINK: &str = r#"-- Module 14: Links
CREATE TABLE link_store_product (
    uid TEXT PRIMARY KEY CHECK (uid ~ '^lsp_[0-9A-HJKMNP-TV-Z]{26}$'),
    store_uid TEXT NOT NULL,
    product_uid TEXT NOT NULL,
    status JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_store_product_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_store_product_key UNIQUE (store_uid, product_uid)
);
CREATE INDEX link_store_product_labels_idx ON link_store_product USING gin (labels);
CREATE INDEX link_store_product_phase_idx ON link_store_product ((status ->> 'phase'));
CREATE INDEX link_store_product_product_uid_idx ON link_store_product (product_uid);
COMMENT ON TABLE link_store_product IS 'Products sold in a store.';
COMMENT ON COLUMN link_store_product.store_uid IS 'ref: store.uid';
COMMENT ON COLUMN link_store_product.product_uid IS 'ref: product.uid';
COMMENT ON COLUMN link_store_product.status IS 'terminal: inactive';
"#;

fn files() -> Vec<(&'static str, String)> {
    vec![
        ("01_store.sql", STORE.to_string()),
        ("02_product.sql", PRODUCT.to_string()),
        ("14_link.sql", LINK.to_string()),
    ]
}

fn run(files: Vec<(&'static str, String)>) -> Vec<Finding> {
    let parsed = parse(&SchemaSource::from_files(files)).expect("fixture parses");
    lint(
        &parsed,
        LintOptions {
            check_counts: false,
        },
    )
}

/// Apply `edit` to `file` of the clean fixture and return the rules that fire.
fn fire(file: &str, from: &str, to: &str) -> Vec<Rule> {
    let mut fs = files();
    let entry = fs
        .iter_mut()
        .find(|(n, _)| *n == file)
        .expect("fixture file");
    assert!(entry.1.contains(from), "fixture {file} lacks {from:?}");
    entry.1 = entry.1.replacen(from, to, 1);
    run(fs).into_iter().map(|f| f.rule).collect()
}

fn assert_fires(rule: Rule, file: &str, from: &str, to: &str) {
    let rules = fire(file, from, to);
    assert!(rules.contains(&rule), "{rule} did not fire; got {rules:?}");
}

#[test]
fn clean_fixture_has_no_findings() {
    let findings = run(files());
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn uid_primary_key() {
    assert_fires(
        Rule::UidPrimaryKey,
        "01_store.sql",
        "uid TEXT PRIMARY KEY",
        "uid TEXT NOT NULL",
    );
    assert_fires(
        Rule::UidPrimaryKey,
        "01_store.sql",
        "[0-9A-HJKMNP-TV-Z]{26}",
        "[0-9a-z]+",
    );
}

#[test]
fn uid_prefix_unique() {
    assert_fires(Rule::UidPrefixUnique, "02_product.sql", "^prd_", "^sto_");
}

#[test]
fn status_column() {
    let phase = "AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)";
    let conditions = "AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)";
    assert_fires(Rule::StatusColumn, "01_store.sql", phase, "");
    // Without COALESCE a status missing its phase makes the CHECK NULL, which PostgreSQL accepts.
    assert_fires(
        Rule::StatusColumn,
        "01_store.sql",
        phase,
        "AND status ->> 'phase' IN ('active', 'archived')",
    );
    assert_fires(
        Rule::StatusColumn,
        "01_store.sql",
        r#""phase": "active""#,
        r#""phase": "open""#,
    );
    assert_fires(Rule::StatusColumn, "01_store.sql", conditions, "");
    assert_fires(
        Rule::StatusColumn,
        "01_store.sql",
        conditions,
        "AND jsonb_typeof(status -> 'conditions') = 'array'",
    );
}

#[test]
fn status_terminal() {
    assert_fires(
        Rule::StatusTerminal,
        "01_store.sql",
        "Lifecycle. terminal: archived",
        "Lifecycle.",
    );
    assert_fires(
        Rule::StatusTerminal,
        "01_store.sql",
        "terminal: archived",
        "terminal: closed",
    );
}

#[test]
fn labels_annotations() {
    assert_fires(
        Rule::LabelsAnnotations,
        "01_store.sql",
        "labels JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object')",
        "labels JSONB",
    );
    assert_fires(
        Rule::LabelsAnnotations,
        "01_store.sql",
        "CHECK (jsonb_typeof(annotations) = 'object')",
        "",
    );
}

#[test]
fn timestamps() {
    assert_fires(
        Rule::Timestamps,
        "01_store.sql",
        "update_ts TIMESTAMPTZ NOT NULL DEFAULT now()",
        "update_ts TIMESTAMPTZ",
    );
}

#[test]
fn ts_suffix() {
    assert_fires(
        Rule::TsSuffix,
        "01_store.sql",
        "opened_ts TIMESTAMPTZ",
        "opened_ts TIMESTAMP",
    );
    assert_fires(
        Rule::TsSuffix,
        "01_store.sql",
        "opened_ts TIMESTAMPTZ,",
        "opened_at TIMESTAMPTZ,",
    );
    assert_fires(
        Rule::TsSuffix,
        "01_store.sql",
        "opened_ts TIMESTAMPTZ,",
        "opened_ts DATE,",
    );
}

#[test]
fn money_raw() {
    assert_fires(
        Rule::MoneyRaw,
        "01_store.sql",
        "raw_credit_limit JSONB CHECK (jsonb_typeof(raw_credit_limit) = 'object'),",
        "",
    );
    assert_fires(
        Rule::MoneyRaw,
        "01_store.sql",
        "Tax rate. unit: percent",
        "Tax rate.",
    );
    assert_fires(
        Rule::MoneyRaw,
        "01_store.sql",
        "raw_credit_limit JSONB CHECK",
        "raw_credit_limit JSONB NOT NULL CHECK",
    );
}

#[test]
fn enum_check() {
    assert_fires(
        Rule::EnumCheck,
        "01_store.sql",
        " CHECK (store_kind IN ('online', 'retail'))",
        "",
    );
}

#[test]
fn no_foreign_keys() {
    assert_fires(
        Rule::NoForeignKeys,
        "02_product.sql",
        "store_uid TEXT NOT NULL,",
        "store_uid TEXT NOT NULL REFERENCES store (uid),",
    );
}

#[test]
fn reference_comment() {
    assert_fires(
        Rule::ReferenceComment,
        "02_product.sql",
        "'Store. ref: store.uid'",
        "'Store.'",
    );
}

#[test]
fn reference_target() {
    assert_fires(
        Rule::ReferenceTarget,
        "02_product.sql",
        "ref: store.uid",
        "ref: shop.uid",
    );
    assert_fires(
        Rule::ReferenceTarget,
        "02_product.sql",
        "ref: store.uid",
        "ref: store.id",
    );
}

#[test]
fn reference_index() {
    assert_fires(
        Rule::ReferenceIndex,
        "02_product.sql",
        "CREATE INDEX product_store_uid_idx ON product (store_uid);",
        "",
    );
}

#[test]
fn labels_index() {
    assert_fires(
        Rule::LabelsIndex,
        "01_store.sql",
        "USING gin (labels)",
        "(labels)",
    );
}

#[test]
fn phase_index() {
    assert_fires(
        Rule::PhaseIndex,
        "01_store.sql",
        "CREATE INDEX store_phase_idx ON store ((status ->> 'phase'));",
        "",
    );
}

#[test]
fn table_comment() {
    assert_fires(
        Rule::TableComment,
        "01_store.sql",
        "COMMENT ON TABLE store IS 'A store.';",
        "",
    );
}

#[test]
fn column_comment() {
    assert_fires(
        Rule::ColumnComment,
        "01_store.sql",
        "COMMENT ON COLUMN store.name IS 'Name.';",
        "",
    );
}

#[test]
fn no_routines() {
    let mut fs = files();
    fs[0]
        .1
        .push_str("CREATE FUNCTION f() RETURNS integer AS $$ SELECT 1 $$ LANGUAGE sql;\n");
    assert!(run(fs.clone()).iter().any(|f| f.rule == Rule::NoRoutines));
    fs[0].1 = STORE.to_string() + "CREATE MATERIALIZED VIEW mv AS SELECT 1;\n";
    assert!(run(fs).iter().any(|f| f.rule == Rule::NoRoutines));
}

#[test]
fn plain_ddl() {
    let mut fs = files();
    fs[0].1.push_str("INSERT INTO store (uid) VALUES ('x');\n");
    assert!(run(fs).iter().any(|f| f.rule == Rule::PlainDdl));
}

#[test]
fn unknown_object() {
    assert_fires(
        Rule::UnknownObject,
        "01_store.sql",
        "COMMENT ON COLUMN store.name",
        "COMMENT ON COLUMN store.nam",
    );
}

#[test]
fn link_table() {
    assert_fires(
        Rule::LinkTable,
        "14_link.sql",
        "'ref: store.uid'",
        "'ref: product.uid'",
    );
    let mut fs = files();
    fs[2].1 = fs[2].1.replace("link_store_product", "store_product");
    assert!(run(fs).iter().any(|f| f.rule == Rule::LinkTable));
}

#[test]
fn module_counts() {
    let parsed = parse(&SchemaSource::from_files(files())).expect("fixture parses");
    let findings = lint(&parsed, LintOptions::default());
    assert!(findings.iter().any(|f| f.rule == Rule::ModuleCounts));
}

#[test]
fn file_name() {
    let mut fs = files();
    fs[0].0 = "1_store.sql";
    assert!(run(fs).iter().any(|f| f.rule == Rule::FileName));
}

#[test]
fn findings_name_file_line_table_column_and_fix() {
    let mut fs = files();
    fs[0].1 = fs[0]
        .1
        .replace("COMMENT ON COLUMN store.name IS 'Name.';", "");
    let f = run(fs)
        .into_iter()
        .find(|f| f.rule == Rule::ColumnComment)
        .expect("finding");
    assert_eq!(f.file, "01_store.sql");
    assert_eq!(f.line, 5);
    let text = f.to_string();
    assert!(
        text.starts_with("01_store.sql:5: [column-comment] store.name:"),
        "{text}"
    );
    assert!(
        text.contains("fix: add `COMMENT ON COLUMN store.name"),
        "{text}"
    );
}

#[test]
fn every_rule_has_a_test() {
    // Keeps this file honest when a rule is added: list the rules the tests above cover.
    let covered = [
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
    for r in Rule::ALL {
        assert!(covered.contains(&r), "rule {r} has no test");
    }
}
