//! The `strata` binary end to end: exit codes and what it prints for lint, docs, apply and
//! diff, on the embedded engine and on a PostgreSQL server.

mod common;

use common::{run, show, stderr, stdout, strata_in as strata};

use std::path::{Path, PathBuf};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn repo_path(rel: &str) -> PathBuf {
    Path::new(REPO).join(rel)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// A copy of the repository's schema/*.sql in `dir/schema`.
fn copy_schema(dir: &Path) -> PathBuf {
    let to = dir.join("schema");
    std::fs::create_dir(&to).expect("create the schema copy");
    for entry in std::fs::read_dir(repo_path("schema")).expect("read schema/") {
        let path = entry.expect("a schema/ entry").path();
        if path.extension().is_some_and(|e| e == "sql") {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, to.join(name)).expect("copy a schema file");
        }
    }
    to
}

#[test]
fn lint_passes_on_the_repository_schema() {
    let cwd = tempdir();
    let out = run(strata(cwd.path())
        .args(["schema", "lint", "--schema-dir"])
        .arg(repo_path("schema")));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).trim().is_empty(),
        "no findings expected: {}",
        show(&out)
    );
}

#[test]
fn lint_reports_a_convention_violation() {
    let cwd = tempdir();
    let schema = copy_schema(cwd.path());
    let file = schema.join("02_product.sql");
    let text = std::fs::read_to_string(&file).expect("read 02_product.sql");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("COMMENT ON TABLE product_tag IS"))
        .collect();
    assert_eq!(
        kept.len() + 1,
        text.lines().count(),
        "exactly one line removed"
    );
    std::fs::write(&file, kept.join("\n") + "\n").expect("write the edited copy");

    let out = run(strata(cwd.path())
        .args(["schema", "lint", "--schema-dir"])
        .arg(&schema));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = stdout(&out);
    // Findings are unindented lines, each followed by an indented `fix:` line.
    let findings: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
        .collect();
    assert_eq!(findings.len(), 1, "one finding expected: {}", show(&out));
    let finding = findings[0];
    assert!(
        finding.contains("[table-comment]")
            && finding.contains("02_product.sql")
            && finding.contains("product_tag"),
        "{}",
        show(&out)
    );
}

#[test]
fn lint_reports_malformed_ddl_with_file_and_line() {
    let cwd = tempdir();
    let schema = copy_schema(cwd.path());
    std::fs::write(
        schema.join("03_pricing.sql"),
        "-- Pricing\n\nCREATE TABLE price (uid TEXT PRIMARY KEY,, amount NUMERIC);\n",
    )
    .expect("write a malformed file");

    let out = run(strata(cwd.path())
        .args(["schema", "lint", "--schema-dir"])
        .arg(&schema));
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        show(&out)
    );
    let stderr = stderr(&out);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {}", show(&out));
    assert!(
        errors[0].contains("03_pricing.sql:3"),
        "the error names file and line: {}",
        show(&out)
    );
}

#[test]
fn docs_are_current() {
    let cwd = tempdir();
    let out = run(strata(cwd.path())
        .args(["schema", "docs", "--check", "--schema-dir"])
        .arg(repo_path("schema"))
        .arg("--out")
        .arg(repo_path("docs/schema.md")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "docs/schema.md is stale: run `strata schema docs` and commit it\n{}",
        show(&out)
    );
}

#[test]
fn docs_check_fails_on_a_stale_file() {
    let cwd = tempdir();
    let stale = cwd.path().join("schema.md");
    std::fs::write(&stale, "# out of date\n").expect("write a stale file");
    let out = run(strata(cwd.path())
        .args(["schema", "docs", "--check", "--schema-dir"])
        .arg(repo_path("schema"))
        .arg("--out")
        .arg(&stale));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

#[test]
fn unknown_database_url_scheme_exits_2() {
    let cwd = tempdir();
    let out = run(strata(cwd.path()).args(["--database-url", "mysql://x@y/z", "schema", "apply"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("error: unknown database URL scheme"),
        "{}",
        show(&out)
    );
}

#[test]
fn unreachable_server_exits_2_naming_it() {
    let cwd = tempdir();
    let out = run(strata(cwd.path()).args([
        "--database-url",
        "postgres://postgres@127.0.0.1:1/x",
        "schema",
        "apply",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("127.0.0.1:1"), "{}", show(&out));
}

#[test]
fn embedded_apply_then_diff() {
    let cwd = tempdir();
    let data = cwd.path().join("data");
    let out = run(strata(cwd.path())
        .arg("--data-dir")
        .arg(&data)
        .args(["schema", "apply"]));
    assert_eq!(out.status.code(), Some(0), "apply: {}", show(&out));
    let out = run(strata(cwd.path())
        .arg("--data-dir")
        .arg(&data)
        .args(["schema", "diff"]));
    assert_eq!(out.status.code(), Some(0), "diff: {}", show(&out));
    assert!(
        stdout(&out).trim().is_empty(),
        "no drift expected: {}",
        show(&out)
    );
}

#[test]
fn help_lists_the_commands() {
    let cwd = tempdir();
    let out = run(strata(cwd.path()).arg("--help"));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("demo") && text.contains("lint"),
        "{}",
        show(&out)
    );

    let out = run(strata(cwd.path()).args(["schema", "--help"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    for cmd in ["lint", "apply", "docs", "diff"] {
        assert!(
            text.contains(cmd),
            "schema --help lists {cmd}: {}",
            show(&out)
        );
    }
}

#[tokio::test]
async fn server_apply_then_diff() {
    let test_db = common::TestDb::create().await;
    let cwd = tempdir();
    let out = run(strata(cwd.path())
        .env("DATABASE_URL", &test_db.url)
        .args(["schema", "apply"]));
    assert_eq!(out.status.code(), Some(0), "apply: {}", show(&out));
    let out = run(strata(cwd.path())
        .env("DATABASE_URL", &test_db.url)
        .args(["schema", "diff"]));
    assert_eq!(out.status.code(), Some(0), "diff: {}", show(&out));
    assert!(
        stdout(&out).trim().is_empty(),
        "no drift expected: {}",
        show(&out)
    );
    assert!(
        !cwd.path().join("strata-data").exists(),
        "a server run leaves no local data directory"
    );
}

#[tokio::test]
async fn apikey_create_list_revoke() {
    let test_db = common::TestDb::create().await;
    let cwd = tempdir();
    let strata_db = || {
        let mut cmd = strata(cwd.path());
        cmd.env("DATABASE_URL", &test_db.url);
        cmd
    };

    // Scopes are checked before anything connects; the message lists the modules.
    let out = run(strata_db().args(["apikey", "create", "--name", "x", "--scopes", "orders:read"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("did you mean `order`?") && stderr(&out).contains("publisher"),
        "{}",
        show(&out)
    );
    // Without the schema, the commands say what to run (and apply nothing themselves).
    let out = run(strata_db().args(["apikey", "list"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr(&out).contains("strata schema apply"),
        "{}",
        show(&out)
    );

    let out = run(strata_db().args(["schema", "apply"]));
    assert_eq!(out.status.code(), Some(0), "apply: {}", show(&out));
    let out = run(strata_db().args([
        "apikey",
        "create",
        "--name",
        "shopify-sync",
        "--scopes",
        "order:read,product:write",
        "--expires-in-days",
        "30",
    ]));
    assert_eq!(out.status.code(), Some(0), "create: {}", show(&out));
    let secret = stdout(&out).trim().to_string();
    assert!(
        secret.starts_with("sk_") && !secret.contains(char::is_whitespace),
        "stdout is just the key: {}",
        show(&out)
    );
    assert!(
        stderr(&out).contains("cannot be shown again"),
        "{}",
        show(&out)
    );
    let prefix = secret
        .split('_')
        .nth(1)
        .expect("sk_<prefix>_<secret>")
        .to_string();

    let out = run(strata_db().args(["apikey", "list"]));
    assert_eq!(out.status.code(), Some(0), "list: {}", show(&out));
    let text = stdout(&out);
    assert!(text.starts_with("PREFIX"), "{}", show(&out));
    let row = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("the key is listed: {}", show(&out)));
    assert!(
        row.contains("shopify-sync")
            && row.contains("order:read,product:write")
            && row.contains("active")
            && row.contains("never"),
        "{row}"
    );
    assert!(!text.contains(&secret), "list never shows the secret");

    let out = run(strata_db().args(["apikey", "revoke", &prefix]));
    assert_eq!(out.status.code(), Some(0), "revoke: {}", show(&out));
    assert!(stdout(&out).contains("revoked"), "{}", show(&out));
    let out = run(strata_db().args(["apikey", "revoke", &prefix]));
    assert_eq!(out.status.code(), Some(0), "revoke again: {}", show(&out));
    assert!(stdout(&out).contains("already revoked"), "{}", show(&out));
    let out = run(strata_db().args(["apikey", "revoke", "no-such-key"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("no API key"), "{}", show(&out));

    let out = run(strata_db().args(["apikey", "list"]));
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains("revoked")),
        "{}",
        show(&out)
    );
}
