//! The classification spec in PostgreSQL: `macrodata_artifact` rows of kind
//! `classification_spec`, name `default`, in the catalog `performance` (the one the synthetic
//! store seeds its version 1 into).
//!
//! - Every version is kept: [`put`] inserts version `max + 1` (phase `active`, `effective_ts` =
//!   now) and marks the active ones `superseded` (with a `Superseded` condition), with its
//!   `audit_event` row, in ONE transaction. It creates the catalog when it is missing.
//! - Concurrent puts are serialized by a transaction-scoped advisory lock, so versions are
//!   gapless and effective times increase with them; a writer bypassing the lock (the resource
//!   API) is caught by the `(catalog_uid, kind, name, artifact_version)` unique key and the
//!   transaction is retried.
//! - Phases: `active` and `superseded` versions were in force; `draft` and `archived` ones (only
//!   the resource API writes those) never count as in force.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_postgres::error::SqlState;
use tokio_postgres::{GenericClient, Row};
use ulid::Ulid;

use super::{ClassificationSpec, InvalidSpec, Phase, SpecVersion, ValidSpec};
use crate::Database;
use crate::audit::{self, AuditAction, AuditContext, AuditError};
use crate::db::{DbError, pg_reason};

/// The catalog (`macrodata_catalog.name`) the spec lives in.
pub const CATALOG_NAME: &str = "performance";
/// `macrodata_artifact.kind` of the spec.
pub const ARTIFACT_KIND: &str = "classification_spec";
/// `macrodata_artifact.name` of the spec.
pub const ARTIFACT_NAME: &str = "default";

const CATALOG_KIND: &str = "team";
const CATALOG_DESCRIPTION: &str = "Ops and Creative: product performance classification";
const UNIQUE_KEY: &str = "macrodata_artifact_catalog_uid_kind_name_artifact_version_key";
const TABLE: &str = "macrodata_artifact";
/// Transaction attempts when a concurrent writer wins a race.
const ATTEMPTS: u32 = 5;

/// Why the spec could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// [`put_if_current`] was told a version that is no longer the current one.
    #[error(
        "the current classification spec is version {current}, not {expected}: reload it and retry"
    )]
    VersionMismatch { expected: i32, current: i32 },
    /// A stored version does not hold a valid spec (written around Strata, e.g. through the
    /// resource API).
    #[error("stored classification spec version {version} ({uid}) is invalid: {reason}")]
    Corrupt {
        version: i32,
        uid: String,
        reason: String,
    },
    /// Concurrent writers kept winning; nothing was written.
    #[error("the classification spec changed concurrently {0} times in a row; retry")]
    Conflict(u32),
    /// PostgreSQL could not be reached; nothing was written.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the macrodata tables are missing ({0}); run `strata schema apply` first")]
    NotInstalled(String),
    #[error("database: {0}")]
    Postgres(String),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl StoreError {
    /// A serialization failure, a deadlock, or another writer's row holding our version number.
    fn retryable(e: &tokio_postgres::Error) -> bool {
        e.as_db_error().is_some_and(|db| {
            matches!(db.code().code(), "40001" | "40P01")
                || (db.code() == &SqlState::UNIQUE_VIOLATION && db.constraint() == Some(UNIQUE_KEY))
        })
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            None => StoreError::Unavailable(pg_reason(&e)),
            Some(c) if *c == SqlState::UNDEFINED_TABLE => StoreError::NotInstalled(pg_reason(&e)),
            Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => {
                StoreError::Unavailable(pg_reason(&e))
            }
            Some(_) => StoreError::Postgres(pg_reason(&e)),
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Query { reason, .. } => StoreError::Postgres(reason),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// The columns [`version_of`] reads, over `macrodata_artifact a` joined to its catalog `c`.
const SELECT: &str = "SELECT a.uid, a.artifact_version, a.status ->> 'phase', \
       COALESCE(a.effective_ts, a.create_ts), a.spec, a.owner_principal_uid \
     FROM macrodata_artifact a JOIN macrodata_catalog c ON c.uid = a.catalog_uid \
     WHERE c.name = $1 AND a.kind = $2 AND a.name = $3";

fn version_of(row: &Row) -> Result<SpecVersion, StoreError> {
    let uid: String = row.try_get(0)?;
    let version: i32 = row.try_get(1)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        version,
        uid: uid.clone(),
        reason,
    };
    let phase: Option<String> = row.try_get(2)?;
    let phase = phase
        .as_deref()
        .and_then(Phase::from_name)
        .ok_or_else(|| corrupt(format!("unknown phase {phase:?}")))?;
    let spec: Value = row.try_get(4)?;
    let spec =
        ClassificationSpec::from_json(&spec).map_err(|e: InvalidSpec| corrupt(e.to_string()))?;
    Ok(SpecVersion {
        version,
        uid: Some(uid.clone()),
        phase,
        effective_ts: row.try_get(3)?,
        spec,
        owner_principal_uid: row.try_get(5)?,
    })
}

async fn one<C: GenericClient>(
    client: &C,
    filter: &str,
    ts: Option<DateTime<Utc>>,
) -> Result<Option<SpecVersion>, StoreError> {
    let sql = format!("{SELECT} {filter}");
    let row = match ts {
        Some(ts) => {
            client
                .query_opt(&sql, &[&CATALOG_NAME, &ARTIFACT_KIND, &ARTIFACT_NAME, &ts])
                .await?
        }
        None => {
            client
                .query_opt(&sql, &[&CATALOG_NAME, &ARTIFACT_KIND, &ARTIFACT_NAME])
                .await?
        }
    };
    row.as_ref().map(version_of).transpose()
}

const CURRENT_FILTER: &str = "AND a.status ->> 'phase' = 'active' \
     ORDER BY a.artifact_version DESC LIMIT 1";

/// The version in force now: the highest `active` one, else the defaults as version 0.
pub async fn current(db: &Database) -> Result<SpecVersion, StoreError> {
    let client = db.client().await?;
    Ok(one(&**client, CURRENT_FILTER, None)
        .await?
        .unwrap_or_else(|| SpecVersion::builtin(Phase::Active)))
}

/// Every version, newest first, ending with version 0 (the defaults; phase `active` while no
/// stored version is, `superseded` after). This is what the lake's `configuration.objective_spec`
/// replicates.
pub async fn versions(db: &Database) -> Result<Vec<SpecVersion>, StoreError> {
    let client = db.client().await?;
    let sql = format!("{SELECT} ORDER BY a.artifact_version DESC");
    let rows = client
        .query(&sql, &[&CATALOG_NAME, &ARTIFACT_KIND, &ARTIFACT_NAME])
        .await?;
    let mut out = rows.iter().map(version_of).collect::<Result<Vec<_>, _>>()?;
    let builtin_phase = if out.iter().any(|v| v.phase == Phase::Active) {
        Phase::Superseded
    } else {
        Phase::Active
    };
    out.push(SpecVersion::builtin(builtin_phase));
    Ok(out)
}

/// The version in force at `ts`: the `active` or `superseded` one with the latest effective time
/// at or before `ts` (the highest version on a tie), else version 0. The measurement job uses it
/// to classify a past day with the settings of that day.
pub async fn spec_at(db: &Database, ts: DateTime<Utc>) -> Result<SpecVersion, StoreError> {
    let client = db.client().await?;
    let filter = "AND a.status ->> 'phase' IN ('active', 'superseded') \
         AND COALESCE(a.effective_ts, a.create_ts) <= $4 \
         ORDER BY COALESCE(a.effective_ts, a.create_ts) DESC, a.artifact_version DESC LIMIT 1";
    let found = one(&**client, filter, Some(ts)).await?;
    Ok(found.unwrap_or_else(|| {
        // Version 0 is superseded once any version is in force, but it is what applied at `ts`.
        SpecVersion::builtin(Phase::Superseded)
    }))
}

/// Stores `spec` as the new current version (see the module notes) and returns it.
/// `audit` names who put it: its principal becomes `owner_principal_uid`, and the
/// `audit_event` row is written with the version.
pub async fn put(
    db: &Database,
    spec: &ValidSpec,
    audit: Option<&AuditContext>,
) -> Result<SpecVersion, StoreError> {
    put_checked(db, spec, audit, None).await
}

/// [`put`], only if `expected` is still the current version (0 for the defaults): an editor that
/// read version `expected` does not overwrite a change it has not seen
/// ([`StoreError::VersionMismatch`] otherwise).
pub async fn put_if_current(
    db: &Database,
    spec: &ValidSpec,
    audit: Option<&AuditContext>,
    expected: i32,
) -> Result<SpecVersion, StoreError> {
    put_checked(db, spec, audit, Some(expected)).await
}

async fn put_checked(
    db: &Database,
    spec: &ValidSpec,
    audit: Option<&AuditContext>,
    expected: Option<i32>,
) -> Result<SpecVersion, StoreError> {
    let mut client = db.client().await?;
    let mut attempt = 1;
    loop {
        match put_once(&mut client, spec, audit, expected).await {
            Ok(v) => {
                tracing::info!(
                    version = v.version,
                    uid = v.uid.as_deref().unwrap_or_default(),
                    "classification spec stored"
                );
                return Ok(v);
            }
            Err(Attempt::Pg(e)) if StoreError::retryable(&e) => {
                if attempt == ATTEMPTS {
                    return Err(StoreError::Conflict(attempt));
                }
                tracing::debug!(attempt, error = %pg_reason(&e), "classification spec: retrying");
                attempt += 1;
            }
            Err(Attempt::Pg(e)) => return Err(e.into()),
            Err(Attempt::Store(e)) => return Err(e),
        }
    }
}

/// A failure of one transaction attempt: PostgreSQL's (maybe worth a retry) or final.
enum Attempt {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Self {
        Attempt::Pg(e)
    }
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Store(e)
    }
}

const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1::bigint)";

const CATALOG_SQL: &str = "INSERT INTO macrodata_catalog (uid, name, catalog_kind, description) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING";

/// The latest version (any phase), the current one (0: none active) and the new version's
/// effective time: now, but always after every earlier version's.
const STATE_SQL: &str = "SELECT COALESCE(max(artifact_version), 0), \
       COALESCE(max(artifact_version) FILTER (WHERE status ->> 'phase' = 'active'), 0), \
       GREATEST(clock_timestamp(), \
                max(COALESCE(effective_ts, create_ts)) + interval '1 microsecond') \
     FROM macrodata_artifact WHERE catalog_uid = $1 AND kind = $2 AND name = $3";

const SUPERSEDE_SQL: &str = "UPDATE macrodata_artifact SET status = status || jsonb_build_object( \
       'phase', 'superseded', \
       'conditions', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(status -> 'conditions') c \
                                WHERE c ->> 'type' <> 'Superseded'), '[]'::jsonb) \
         || jsonb_build_array(jsonb_build_object('type', 'Superseded', 'status', 'True', \
              'reason', 'NewVersion', 'message', $5::text, 'last_transition_ts', $4::timestamptz))), \
       update_ts = $4::timestamptz \
     WHERE catalog_uid = $1 AND kind = $2 AND name = $3 AND status ->> 'phase' = 'active' \
     RETURNING uid";

const INSERT_SQL: &str = "INSERT INTO macrodata_artifact \
       (uid, catalog_uid, kind, name, artifact_version, spec, owner_principal_uid, effective_ts, \
        status, create_ts, update_ts) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{\"phase\": \"active\", \"conditions\": []}', $8, $8)";

async fn put_once(
    client: &mut deadpool_postgres::Object,
    spec: &ValidSpec,
    audit: Option<&AuditContext>,
    expected: Option<i32>,
) -> Result<SpecVersion, Attempt> {
    let tx = client.transaction().await?;
    let key = crate::commands::lock_key(&format!(
        "{TABLE}:{CATALOG_NAME}/{ARTIFACT_KIND}/{ARTIFACT_NAME}"
    ));
    tx.execute(LOCK_SQL, &[&key]).await?;
    let catalog_uid = format!("mdc_{}", Ulid::new());
    tx.execute(
        CATALOG_SQL,
        &[
            &catalog_uid,
            &CATALOG_NAME,
            &CATALOG_KIND,
            &CATALOG_DESCRIPTION,
        ],
    )
    .await?;
    let catalog_uid: String = tx
        .query_one(
            "SELECT uid FROM macrodata_catalog WHERE name = $1",
            &[&CATALOG_NAME],
        )
        .await?
        .try_get(0)?;
    let state = tx
        .query_one(STATE_SQL, &[&catalog_uid, &ARTIFACT_KIND, &ARTIFACT_NAME])
        .await?;
    let latest: i32 = state.try_get(0)?;
    let current: i32 = state.try_get(1)?;
    let effective_ts: DateTime<Utc> = state.try_get(2)?;
    if let Some(expected) = expected
        && expected != current
    {
        return Err(StoreError::VersionMismatch { expected, current }.into());
    }
    let version = latest
        .checked_add(1)
        .ok_or_else(|| StoreError::Postgres("artifact_version is at its maximum".into()))?;
    let message = format!("Superseded by version {version}.");
    let superseded: Vec<String> = tx
        .query(
            SUPERSEDE_SQL,
            &[
                &catalog_uid,
                &ARTIFACT_KIND,
                &ARTIFACT_NAME,
                &effective_ts,
                &message,
            ],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let uid = format!("mda_{}", Ulid::new());
    let owner = audit.and_then(|a| a.actor_principal_uid.clone());
    let body = spec.to_json();
    tx.execute(
        INSERT_SQL,
        &[
            &uid,
            &catalog_uid,
            &ARTIFACT_KIND,
            &ARTIFACT_NAME,
            &version,
            &body,
            &owner,
            &effective_ts,
        ],
    )
    .await?;
    if let Some(context) = audit {
        let change = json!({
            "after": {"artifact_version": version, "spec": body, "effective_ts": effective_ts},
            "superseded": superseded,
        });
        let record = context.record(AuditAction::Create, TABLE, &uid, change);
        audit::record(&*tx, record)
            .await
            .map_err(StoreError::from)?;
    }
    tx.commit().await?;
    Ok(SpecVersion {
        version,
        uid: Some(uid),
        phase: Phase::Active,
        effective_ts,
        spec: spec.clone(),
        owner_principal_uid: owner,
    })
}
