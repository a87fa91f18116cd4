//! `strata schema apply`: versioned, checksummed migrations.
//!
//! Each DDL file is one migration, applied in its own transaction and recorded with its SHA-256
//! in `strata.schema_migrations` (a history table, not pipeline state; it lives outside the
//! `public` schema so `public` holds exactly the domain tables). Re-applying is a no-op; a file
//! edited after it was applied is refused before anything runs.

use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::error::SchemaError;
use crate::source::SchemaSource;

const HISTORY_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS strata;
CREATE TABLE IF NOT EXISTS strata.schema_migrations (
    name        TEXT PRIMARY KEY,
    checksum    TEXT NOT NULL,
    applied_ts  TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms BIGINT NOT NULL
);
COMMENT ON TABLE strata.schema_migrations IS 'Which schema/ files were applied, with their SHA-256 (strata schema apply).';
";

/// Serializes concurrent `apply` runs against one database.
const APPLY_LOCK_KEY: i64 = 0x5354_5241_5441_0001;

/// SHA-256 of a migration's text, hex encoded.
pub fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A migration already recorded in the database.
#[derive(Debug, Clone)]
pub struct AppliedMigration {
    pub name: String,
    pub checksum: String,
}

/// What `apply` did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// Migrations applied by this run, with their duration in milliseconds.
    pub applied: Vec<(String, u128)>,
    /// Migrations that were already applied with the same checksum.
    pub unchanged: usize,
}

/// The migrations recorded in the database (empty when it was never migrated).
pub async fn applied_migrations(client: &Client) -> Result<Vec<AppliedMigration>, SchemaError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('strata.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT name, checksum FROM strata.schema_migrations ORDER BY name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AppliedMigration {
            name: r.get(0),
            checksum: r.get(1),
        })
        .collect())
}

/// Compare the files with the history: edited applied files are an error; returns the names
/// still to apply.
pub fn plan(
    source: &SchemaSource,
    applied: &[AppliedMigration],
) -> Result<Vec<String>, SchemaError> {
    let mut pending = Vec::new();
    for file in &source.files {
        let sum = checksum(&file.text);
        match applied.iter().find(|a| a.name == file.name) {
            Some(a) if a.checksum != sum => {
                return Err(SchemaError::EditedMigration {
                    name: file.name.clone(),
                    applied: a.checksum.clone(),
                    current: sum,
                });
            }
            Some(_) => {}
            None => pending.push(file.name.clone()),
        }
    }
    Ok(pending)
}

/// Apply every pending migration, each in its own transaction.
///
/// `on_progress` is called after each migration with (done, total, name).
pub async fn apply(
    client: &mut Client,
    source: &SchemaSource,
    mut on_progress: impl FnMut(usize, usize, &str),
) -> Result<ApplyReport, SchemaError> {
    // Syntax errors are reported with file and line before anything touches the database.
    crate::parse::parse(source)?;
    // Lock first: two applies racing on `CREATE ... IF NOT EXISTS` can still collide.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&APPLY_LOCK_KEY])
        .await?;
    let result = match client.batch_execute(HISTORY_DDL).await {
        Ok(()) => apply_locked(client, source, &mut on_progress).await,
        Err(e) => Err(e.into()),
    };
    // Unlock even on failure; the session ending would release it too.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&APPLY_LOCK_KEY])
        .await;
    result
}

async fn apply_locked(
    client: &mut Client,
    source: &SchemaSource,
    on_progress: &mut impl FnMut(usize, usize, &str),
) -> Result<ApplyReport, SchemaError> {
    let applied = applied_migrations(client).await?;
    let pending = plan(source, &applied)?;
    let mut report = ApplyReport {
        unchanged: source.files.len() - pending.len(),
        ..Default::default()
    };
    let total = pending.len();
    for (i, name) in pending.iter().enumerate() {
        let Some(file) = source.files.iter().find(|f| &f.name == name) else {
            continue;
        };
        let started = Instant::now();
        let tx = client.transaction().await?;
        let run = async {
            tx.batch_execute(&file.text).await?;
            tx.execute(
                "INSERT INTO strata.schema_migrations (name, checksum, duration_ms) VALUES ($1, $2, $3)",
                &[&file.name, &checksum(&file.text), &(started.elapsed().as_millis() as i64)],
            )
            .await?;
            Ok::<_, tokio_postgres::Error>(())
        };
        match run.await {
            Ok(()) => tx.commit().await?,
            Err(source) => {
                // Dropping `tx` rolls back: nothing of this file stays applied.
                drop(tx);
                let located = locate_error(&file.text, &source);
                tracing::error!(migration = %file.name, "{located}");
                return Err(SchemaError::MigrationFailed {
                    name: match line_of_error(&file.text, &source) {
                        Some(line) => format!("{}:{line}", file.name),
                        None => file.name.clone(),
                    },
                    source,
                });
            }
        }
        let ms = started.elapsed().as_millis();
        tracing::debug!(migration = %file.name, duration_ms = ms as u64, "applied");
        on_progress(i + 1, total, &file.name);
        report.applied.push((file.name.clone(), ms));
    }
    Ok(report)
}

fn line_of_error(text: &str, err: &tokio_postgres::Error) -> Option<usize> {
    let db = err.as_db_error()?;
    match db.position()? {
        tokio_postgres::error::ErrorPosition::Original(pos) => {
            let pos = *pos as usize;
            Some(text.chars().take(pos).filter(|c| *c == '\n').count() + 1)
        }
        _ => None,
    }
}

fn locate_error(text: &str, err: &tokio_postgres::Error) -> String {
    match (err.as_db_error(), line_of_error(text, err)) {
        (Some(db), Some(line)) => format!("line {line}: {}", db.message()),
        (Some(db), None) => db.message().to_string(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_migration_is_refused() {
        let src = SchemaSource::from_files([("01_a.sql", "CREATE TABLE a (x int);")]);
        let applied = vec![AppliedMigration {
            name: "01_a.sql".into(),
            checksum: checksum("CREATE TABLE a (y int);"),
        }];
        let err = plan(&src, &applied).unwrap_err().to_string();
        assert!(
            err.contains("01_a.sql") && err.contains("immutable"),
            "{err}"
        );
    }

    #[test]
    fn plan_skips_applied() {
        let src = SchemaSource::from_files([("01_a.sql", "x"), ("02_b.sql", "y")]);
        let applied = vec![AppliedMigration {
            name: "01_a.sql".into(),
            checksum: checksum("x"),
        }];
        assert_eq!(plan(&src, &applied).unwrap(), vec!["02_b.sql".to_string()]);
    }
}
