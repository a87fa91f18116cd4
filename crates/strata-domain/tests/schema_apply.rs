//! `strata_schema::migrate::apply` against a real PostgreSQL server and against the embedded
//! engine, with the same assertions: the schema installs, re-applies as a no-op, matches the
//! model, is enforced by PostgreSQL itself, refuses edited migrations and never half-applies.
//!
//! The embedded engine serves one connection at a time, so every check holds at most one client.

mod common;

use serde_json::{Value, json};
use strata_domain::Database;
use strata_schema::{SchemaError, SchemaSource, diff, introspect, migrate};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

const FILES: usize = 25;
const TABLES: usize = 153;

async fn apply_embedded_schema(client: &mut Client) -> migrate::ApplyReport {
    migrate::apply(client, &SchemaSource::embedded(), |_, _, _| {})
        .await
        .expect("applying the embedded schema succeeds")
}

/// (name, checksum, applied_ts) of every recorded migration, in name order.
async fn history(client: &Client) -> Vec<(String, String, String)> {
    client
        .query(
            "SELECT name, checksum, applied_ts::text FROM strata.schema_migrations ORDER BY name",
            &[],
        )
        .await
        .expect("read strata.schema_migrations")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn public_table_count(client: &Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
            &[],
        )
        .await
        .expect("count public tables")
        .get(0)
}

// ---------------------------------------------------------------------------------------------
// The checks, shared by the server and the embedded tests.
// ---------------------------------------------------------------------------------------------

async fn check_apply_is_idempotent_and_matches_model(db: &Database) {
    let mut client = db.client().await.expect("a connection");
    let source = SchemaSource::embedded();
    assert_eq!(
        source.files.len(),
        FILES,
        "the binary embeds every schema/*.sql file"
    );

    let first = apply_embedded_schema(&mut client).await;
    let applied: Vec<&str> = first.applied.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = source.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        applied, expected,
        "a fresh database gets every migration, in file order"
    );
    assert_eq!(first.unchanged, 0);

    let second = apply_embedded_schema(&mut client).await;
    assert!(
        second.applied.is_empty(),
        "re-applying applies nothing, got {:?}",
        second.applied
    );
    assert_eq!(second.unchanged, FILES);

    let live = introspect::introspect(&client)
        .await
        .expect("introspect the live schema");
    assert_eq!(live.tables.len(), TABLES, "tables in public");
    assert_eq!(live.foreign_keys, 0, "no foreign keys (ADR-004)");
    assert_eq!(live.routines, 0, "no routines (ADR-003)");
    assert_eq!(live.triggers, 0, "no triggers (ADR-003)");
    assert_eq!(live.views, 0, "no views (ADR-003)");
    assert_eq!(
        live.materialized_views, 0,
        "no materialized views (ADR-003)"
    );
    assert!(
        live.check_constraints >= (TABLES * 4) as i64,
        "every table checks uid, status, labels and annotations: {} check constraints",
        live.check_constraints
    );

    let schema = strata_schema::parse(&source)
        .expect("the embedded schema parses")
        .schema;
    assert_eq!(schema.table_count(), TABLES);
    let recorded = migrate::applied_migrations(&client)
        .await
        .expect("read the history");
    assert_eq!(recorded.len(), FILES);
    let drift = diff::diff(&schema, &source, &recorded, &live);
    assert!(
        drift.is_empty(),
        "the database matches the model after apply, but:\n{}",
        drift
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const TAG_UID: &str = "ptag_01HZY3K5V6W7X8Y9Z0ABCDEFGH";

/// A product_tag row; every field valid unless a case changes it.
struct Tag {
    uid: String,
    category: &'static str,
    tag: &'static str,
    status: Value,
    labels: Value,
    annotations: Value,
}

impl Tag {
    fn valid(uid: &str, tag: &'static str) -> Self {
        Tag {
            uid: uid.to_string(),
            category: "style",
            tag,
            status: json!({"phase": "active", "conditions": []}),
            labels: json!({"team": "merch"}),
            annotations: json!({}),
        }
    }

    async fn insert(&self, client: &Client) -> Result<u64, tokio_postgres::Error> {
        client
            .execute(
                "INSERT INTO product_tag (uid, category_name, tag_name, status, labels, annotations)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &self.uid,
                    &self.category,
                    &self.tag,
                    &self.status,
                    &self.labels,
                    &self.annotations,
                ],
            )
            .await
    }
}

fn expect_sqlstate(result: Result<u64, tokio_postgres::Error>, state: &SqlState, case: &str) {
    match result {
        Ok(n) => panic!(
            "{case}: PostgreSQL accepted the row ({n} inserted), expected SQLSTATE {}",
            state.code()
        ),
        Err(e) => assert_eq!(
            e.code(),
            Some(state),
            "{case}: expected SQLSTATE {}, got {e:?}",
            state.code()
        ),
    }
}

async fn check_conventions_are_enforced(db: &Database) {
    let mut client = db.client().await.expect("a connection");
    apply_embedded_schema(&mut client).await;

    let inserted = Tag::valid(TAG_UID, "minimal")
        .insert(&client)
        .await
        .expect("a row that follows every convention is accepted");
    assert_eq!(inserted, 1);

    // Each case breaks exactly one rule, with a tag name of its own so that only the rule under
    // test can reject it.
    let ulid = "01HZY3K5V6W7X8Y9Z0ABCDEFGJ";
    let cases: Vec<(&str, Tag)> = vec![
        (
            "uid with another table's prefix",
            Tag::valid(&format!("prd_{ulid}"), "t1"),
        ),
        (
            "uid with a lower-case ULID",
            Tag::valid(&format!("ptag_{}", ulid.to_lowercase()), "t2"),
        ),
        (
            "uid with a ULID of 25 characters",
            Tag::valid(&format!("ptag_{}", &ulid[1..]), "t3"),
        ),
        (
            "uid with U, outside Crockford base32",
            Tag::valid("ptag_01HZY3K5V6W7X8Y9Z0ABCDEFGU", "t4"),
        ),
        ("uid without a prefix", Tag::valid(ulid, "t5")),
        (
            "status with an unknown phase",
            Tag {
                status: json!({"phase": "bogus", "conditions": []}),
                ..Tag::valid(&format!("ptag_{ulid}"), "t6")
            },
        ),
        (
            "status.conditions not an array",
            Tag {
                status: json!({"phase": "active", "conditions": {}}),
                ..Tag::valid(&format!("ptag_{ulid}"), "t7")
            },
        ),
        (
            "status without a phase",
            Tag {
                status: json!({"conditions": []}),
                ..Tag::valid(&format!("ptag_{ulid}"), "t7a")
            },
        ),
        (
            "status without conditions",
            Tag {
                status: json!({"phase": "active"}),
                ..Tag::valid(&format!("ptag_{ulid}"), "t7b")
            },
        ),
        (
            "status an empty object",
            Tag {
                status: json!({}),
                ..Tag::valid(&format!("ptag_{ulid}"), "t7c")
            },
        ),
        (
            "status not an object",
            Tag {
                status: json!(["active"]),
                ..Tag::valid(&format!("ptag_{ulid}"), "t8")
            },
        ),
        (
            "labels a JSON array",
            Tag {
                labels: json!(["team", "merch"]),
                ..Tag::valid(&format!("ptag_{ulid}"), "t9")
            },
        ),
        (
            "annotations a string",
            Tag {
                annotations: json!("note"),
                ..Tag::valid(&format!("ptag_{ulid}"), "t10")
            },
        ),
    ];
    for (case, tag) in &cases {
        expect_sqlstate(tag.insert(&client).await, &SqlState::CHECK_VIOLATION, case);
    }

    let same_pair = Tag::valid(&format!("ptag_{ulid}"), "minimal");
    expect_sqlstate(
        same_pair.insert(&client).await,
        &SqlState::UNIQUE_VIOLATION,
        "duplicate (category_name, tag_name)",
    );
    expect_sqlstate(
        Tag::valid(TAG_UID, "other").insert(&client).await,
        &SqlState::UNIQUE_VIOLATION,
        "duplicate uid",
    );

    // Enum-like columns.
    let catalog = |uid: &str, name: &str, kind: &str| {
        let (uid, name, kind) = (uid.to_string(), name.to_string(), kind.to_string());
        let client = &client;
        async move {
            client
                .execute(
                    "INSERT INTO macrodata_catalog (uid, name, catalog_kind) VALUES ($1, $2, $3)",
                    &[&uid, &name, &kind],
                )
                .await
        }
    };
    assert_eq!(
        catalog("mdc_01HZY3K5V6W7X8Y9Z0ABCDEFGH", "creative", "team")
            .await
            .expect("a valid macrodata_catalog row is accepted"),
        1
    );
    expect_sqlstate(
        catalog("mdc_01HZY3K5V6W7X8Y9Z0ABCDEFGJ", "operations", "bogus").await,
        &SqlState::CHECK_VIOLATION,
        "macrodata_catalog.catalog_kind outside its values",
    );
    let artifact = |uid: &str, kind: &str| {
        let (uid, kind) = (uid.to_string(), kind.to_string());
        let client = &client;
        async move {
            client
                .execute(
                    "INSERT INTO macrodata_artifact (uid, catalog_uid, kind, name) VALUES ($1, $2, $3, 'brief')",
                    &[&uid, &"mdc_01HZY3K5V6W7X8Y9Z0ABCDEFGH", &kind],
                )
                .await
        }
    };
    assert_eq!(
        artifact("mda_01HZY3K5V6W7X8Y9Z0ABCDEFGH", "design_asset")
            .await
            .expect("a valid macrodata_artifact row is accepted"),
        1
    );
    expect_sqlstate(
        artifact("mda_01HZY3K5V6W7X8Y9Z0ABCDEFGJ", "bogus").await,
        &SqlState::CHECK_VIOLATION,
        "macrodata_artifact.kind outside its values",
    );

    let rows: i64 = client
        .query_one("SELECT count(*) FROM product_tag", &[])
        .await
        .expect("count product_tag")
        .get(0);
    assert_eq!(rows, 1, "only the valid product_tag row was stored");
}

async fn check_edited_migration_is_refused(db: &Database) {
    let mut client = db.client().await.expect("a connection");
    apply_embedded_schema(&mut client).await;
    let before = history(&client).await;
    assert_eq!(before.len(), FILES);

    let original = SchemaSource::embedded();
    let edited_name = "07_cart.sql";
    let edited = SchemaSource::from_files(original.files.iter().map(|f| {
        let text = if f.name == edited_name {
            format!("{}\n-- an edit after the file was applied\n", f.text)
        } else {
            f.text.clone()
        };
        (f.name.clone(), text)
    }));
    let err = migrate::apply(&mut client, &edited, |_, _, _| {})
        .await
        .expect_err("an edited, already-applied migration is refused");
    let edited_text = &edited
        .files
        .iter()
        .find(|f| f.name == edited_name)
        .expect("the edited file is in the source")
        .text;
    let original_text = &original
        .files
        .iter()
        .find(|f| f.name == edited_name)
        .expect("the file is embedded")
        .text;
    match &err {
        SchemaError::EditedMigration {
            name,
            applied,
            current,
        } => {
            assert_eq!(name, edited_name);
            assert_eq!(applied, &migrate::checksum(original_text));
            assert_eq!(current, &migrate::checksum(edited_text));
        }
        other => panic!("expected SchemaError::EditedMigration, got {other:?}"),
    }

    let after = history(&client).await;
    assert_eq!(
        after, before,
        "the refused apply changed the migration history"
    );
    for (file, (name, sum, _)) in original.files.iter().zip(&after) {
        assert_eq!(&file.name, name);
        assert_eq!(sum, &migrate::checksum(&file.text), "checksum of {name}");
    }
    assert_eq!(public_table_count(&client).await, TABLES as i64);
}

const BROKEN: &str = "CREATE TABLE broken_first (x INTEGER);
CREATE TABLE broken_second (x nosuchtype);
";

async fn check_failed_migration_is_rolled_back(db: &Database) {
    let mut client = db.client().await.expect("a connection");
    let embedded = SchemaSource::embedded();
    let store = embedded.files.first().expect("the schema has files");
    assert_eq!(store.name, "01_store.sql");
    let source = SchemaSource::from_files([
        (store.name.clone(), store.text.clone()),
        ("02_broken.sql".to_string(), BROKEN.to_string()),
    ]);

    let err = migrate::apply(&mut client, &source, |_, _, _| {})
        .await
        .expect_err("a migration PostgreSQL rejects fails the apply");
    let message = err.to_string();
    assert!(
        message.contains("02_broken.sql"),
        "the error names the file: {message}"
    );
    match &err {
        SchemaError::MigrationFailed { name, source } => {
            assert_eq!(
                name, "02_broken.sql:2",
                "file and line of the failing statement"
            );
            assert_eq!(
                source.code(),
                Some(&SqlState::UNDEFINED_OBJECT),
                "type nosuchtype does not exist: {source:?}"
            );
        }
        other => panic!("expected SchemaError::MigrationFailed, got {other:?}"),
    }

    let first_table_exists: bool = client
        .query_one("SELECT to_regclass('public.broken_first') IS NOT NULL", &[])
        .await
        .expect("look up broken_first")
        .get(0);
    assert!(
        !first_table_exists,
        "the failed file's first table was rolled back"
    );
    let recorded: Vec<String> = history(&client)
        .await
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(
        recorded,
        vec!["01_store.sql".to_string()],
        "only 01 is recorded"
    );
    let store_tables = strata_schema::parse(&SchemaSource::from_files([(
        store.name.clone(),
        store.text.clone(),
    )]))
    .expect("01_store.sql parses")
    .schema
    .table_count();
    assert_eq!(
        public_table_count(&client).await,
        store_tables as i64,
        "01's tables stay applied, none of 02's"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL server (STRATA_TEST_DATABASE_URL), a fresh database per test.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_apply_is_idempotent_and_matches_model() {
    let (db, _test_db, _dir) = common::open_server().await;
    check_apply_is_idempotent_and_matches_model(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn server_conventions_are_enforced() {
    let (db, _test_db, _dir) = common::open_server().await;
    check_conventions_are_enforced(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn server_edited_migration_is_refused() {
    let (db, _test_db, _dir) = common::open_server().await;
    check_edited_migration_is_refused(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn server_failed_migration_is_rolled_back() {
    let (db, _test_db, _dir) = common::open_server().await;
    check_failed_migration_is_rolled_back(&db).await;
    db.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------------------------------------
// Embedded engine (PGlite), a fresh data directory per test.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn embedded_apply_is_idempotent_and_matches_model() {
    let (db, _dir) = common::open_embedded().await;
    check_apply_is_idempotent_and_matches_model(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_conventions_are_enforced() {
    let (db, _dir) = common::open_embedded().await;
    check_conventions_are_enforced(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_edited_migration_is_refused() {
    let (db, _dir) = common::open_embedded().await;
    check_edited_migration_is_refused(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_failed_migration_is_rolled_back() {
    let (db, _dir) = common::open_embedded().await;
    check_failed_migration_is_rolled_back(&db).await;
    db.shutdown().await.expect("shutdown");
}
