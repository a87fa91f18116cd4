//! The engine: a DuckDB database in memory whose views are the lake's tables at chosen snapshots.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex},
};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use iceberg::{TableIdent, table::Table};
use strata_lake::{Lake, StorageConfig};

use crate::{
    error::{QueryError, Result},
    files::FileCache,
    travel::{self, SnapshotSelector},
};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// Where copies of remote data files are kept (they never change, so the cache never goes
    /// stale). The default lake reads its local files in place and only keeps tiny stand-ins
    /// for empty tables here.
    pub cache_dir: PathBuf,
    /// DuckDB worker threads; 0 uses every core.
    pub threads: usize,
}

impl QueryOptions {
    /// Defaults with the cache under `<data-dir>/query-cache`.
    pub fn under(data_dir: &std::path::Path) -> Self {
        Self {
            cache_dir: data_dir.join("query-cache"),
            threads: 0,
        }
    }
}

/// A lake table read by a query, and the snapshot it was read at (`None`: the table had no
/// snapshot yet and read as empty).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableRead {
    /// `namespace.table`.
    pub table: String,
    /// The snapshot.
    pub snapshot_id: Option<i64>,
}

/// A query's answer.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    /// The result's columns.
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// Each lake table the query named, with the snapshot it saw: what makes an answer
    /// reproducible (`AT SNAPSHOT` with these ids gives it again).
    pub tables: Vec<TableRead>,
}

impl QueryOutput {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// DuckDB over the lake. Queries are serialized on one connection; each sees, per table, the
/// snapshot that was current when it started (or the one it asked for).
pub struct QueryEngine {
    lake: Lake,
    cache: FileCache,
    conn: Arc<Mutex<duckdb::Connection>>,
    /// The snapshot each view in DuckDB is defined at, by qualified view name: a table whose
    /// snapshot has not moved keeps its view, without reading its manifests again.
    defined: Mutex<HashMap<String, Option<i64>>>,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("lake", &self.lake)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// One view to (re)define before a query runs.
pub(crate) struct ViewDef {
    /// The quoted DuckDB schema (the table's namespace).
    schema: String,
    /// The quoted `"schema"."name"`.
    qualified: String,
    snapshot: Option<i64>,
    files: Vec<PathBuf>,
}

impl QueryEngine {
    /// Opens DuckDB in memory, sandboxed: it reads files only under the local warehouse and the
    /// cache directory, writes no file, attaches no database, and installs or loads no extension.
    pub async fn open(lake: Lake, options: QueryOptions) -> Result<Self> {
        let cache = FileCache::new(options.cache_dir.clone());
        tokio::fs::create_dir_all(cache.dir())
            .await
            .map_err(|source| QueryError::Io {
                path: cache.dir().display().to_string(),
                source,
            })?;
        let mut allowed = vec![canonical(cache.dir())];
        if let StorageConfig::Local { root } = &lake.config().storage {
            tokio::fs::create_dir_all(root)
                .await
                .map_err(|source| QueryError::Io {
                    path: root.display().to_string(),
                    source,
                })?;
            allowed.push(canonical(root));
        }
        let threads = options.threads;
        let conn = tokio::task::spawn_blocking(move || open_sandboxed(&allowed, threads))
            .await
            .map_err(|e| QueryError::Task(e.to_string()))??;
        Ok(Self {
            lake,
            cache,
            conn: Arc::new(Mutex::new(conn)),
            defined: Mutex::default(),
        })
    }

    /// The lake read.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Runs one SQL statement and returns its whole result.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput> {
        let scan = travel::scan(sql)?;
        let idents = self.lake.list_tables().await?;
        if let Some(unknown) = scan
            .travel
            .iter()
            .find(|r| !idents.iter().any(|i| table_name(i) == r.table))
        {
            return Err(QueryError::Snapshot(format!(
                "`{}` is not a lake table; `strata lake tables` lists them",
                unknown.table
            )));
        }
        let mut views = Vec::new();
        let mut reads = BTreeMap::new();
        let mut replacements = Vec::new();
        for ident in &idents {
            let name = table_name(ident);
            let table = self.lake.load(ident).await?;
            let current = table.metadata().current_snapshot_id();
            let view = qualified(ident, None);
            if !self.is_defined(&view, current) {
                views.push(self.view(&table, ident, view, current).await?);
            }
            if scan.dotted.contains(&name) {
                reads.insert(name.clone(), current);
            }
            for r in scan.travel.iter().filter(|r| r.table == name) {
                let id = resolve(&table, &name, r.selector)?;
                let view = qualified(ident, Some(id));
                if !self.is_defined(&view, Some(id)) {
                    views.push(self.view(&table, ident, view.clone(), Some(id)).await?);
                }
                replacements.push((r.range.clone(), view));
                reads.insert(format!("{name} AT SNAPSHOT {id}"), Some(id));
            }
        }
        let sql = travel::splice(sql, &replacements);
        let conn = self.conn.clone();
        let (schema, batches, views) = tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| QueryError::Task("a previous query panicked".into()))?;
            define_views(&conn, &views)?;
            let mut stmt = conn.prepare(&sql)?;
            let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
            Ok::<_, QueryError>((stmt.schema(), batches, views))
        })
        .await
        .map_err(|e| QueryError::Task(e.to_string()))??;
        if let Ok(mut defined) = self.defined.lock() {
            defined.extend(views.into_iter().map(|v| (v.qualified, v.snapshot)));
        }
        Ok(QueryOutput {
            schema,
            batches,
            tables: reads
                .into_iter()
                .map(|(table, snapshot_id)| TableRead { table, snapshot_id })
                .collect(),
        })
    }

    /// The DuckDB connection (one per engine; statements on it are serialized).
    pub(crate) fn connection(&self) -> Arc<Mutex<duckdb::Connection>> {
        Arc::clone(&self.conn)
    }

    /// Records views now defined in DuckDB.
    pub(crate) fn remember(&self, views: Vec<ViewDef>) {
        if let Ok(mut defined) = self.defined.lock() {
            defined.extend(views.into_iter().map(|v| (v.qualified, v.snapshot)));
        }
    }

    /// True if DuckDB already has `view` at `snapshot`.
    pub(crate) fn is_defined(&self, view: &str, snapshot: Option<i64>) -> bool {
        self.defined
            .lock()
            .is_ok_and(|d| d.get(view) == Some(&snapshot))
    }

    /// The view of `table` at `snapshot` (its files as local paths).
    pub(crate) async fn view(
        &self,
        table: &Table,
        ident: &TableIdent,
        qualified: String,
        snapshot: Option<i64>,
    ) -> Result<ViewDef> {
        let mut files = Vec::new();
        if let Some(id) = snapshot {
            let listed = strata_lake::snapshot_files(table, id).await?;
            if !listed.deletes.is_empty() {
                return Err(QueryError::DeleteFiles {
                    table: table_name(ident),
                    snapshot_id: id,
                    count: listed.deletes.len(),
                });
            }
            for f in &listed.data {
                files.push(self.cache.local_path(table, &f.path).await?);
            }
        }
        if files.is_empty() {
            let metadata = table.metadata();
            let schema = match snapshot.and_then(|id| metadata.snapshot_by_id(id)) {
                Some(s) => s.schema(metadata)?,
                None => metadata.current_schema().clone(),
            };
            let arrow = Arc::new(iceberg::arrow::schema_to_arrow_schema(&schema)?);
            files.push(self.cache.empty_file(&arrow).await?);
        }
        Ok(ViewDef {
            schema: quote(&namespace(ident)),
            qualified,
            snapshot,
            files,
        })
    }
}

/// `namespace.table`.
pub(crate) fn table_name(ident: &TableIdent) -> String {
    format!("{}.{}", namespace(ident), ident.name())
}

fn namespace(ident: &TableIdent) -> String {
    ident.namespace().as_ref().join(".")
}

/// The quoted DuckDB name of the view of `ident`: `"ns"."table"` for the current snapshot,
/// `"ns"."table@<id>"` for a pinned one.
pub(crate) fn qualified(ident: &TableIdent, pinned: Option<i64>) -> String {
    let name = match pinned {
        Some(id) => format!("{}@{id}", ident.name()),
        None => ident.name().to_owned(),
    };
    format!("{}.{}", quote(&namespace(ident)), quote(&name))
}

/// The snapshot a selector names.
fn resolve(table: &Table, name: &str, selector: SnapshotSelector) -> Result<i64> {
    let metadata = table.metadata();
    match selector {
        SnapshotSelector::Current => metadata
            .current_snapshot_id()
            .ok_or_else(|| QueryError::Snapshot(format!("{name} has no snapshot yet"))),
        SnapshotSelector::Id(id) => match metadata.snapshot_by_id(id) {
            Some(_) => Ok(id),
            None => Err(QueryError::Snapshot(format!(
                "{name} has no snapshot {id}; `strata lake snapshots {name}` lists them"
            ))),
        },
        SnapshotSelector::AsOf(ts) => as_of(table, name, ts),
    }
}

/// The last snapshot of the table's main history committed at or before `ts`.
fn as_of(table: &Table, name: &str, ts: DateTime<Utc>) -> Result<i64> {
    let metadata = table.metadata();
    let at = ts.timestamp_millis();
    metadata
        .history()
        .iter()
        .filter(|entry| entry.timestamp_ms() <= at)
        .max_by_key(|entry| entry.timestamp_ms())
        .map(|entry| entry.snapshot_id)
        .ok_or_else(|| {
            let first = metadata
                .history()
                .iter()
                .map(|e| e.timestamp_ms())
                .min()
                .and_then(DateTime::<Utc>::from_timestamp_millis);
            QueryError::Snapshot(match first {
                Some(first) => {
                    format!("{name} has no snapshot as of {ts}; its first was committed at {first}")
                }
                None => format!("{name} has no snapshot yet"),
            })
        })
}

fn canonical(path: &std::path::Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut text = path.display().to_string();
    if !text.ends_with('/') {
        text.push('/');
    }
    text
}

/// A DuckDB string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A DuckDB quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn open_sandboxed(allowed: &[String], threads: usize) -> Result<duckdb::Connection> {
    let mut config = duckdb::Config::default()
        .with("autoinstall_known_extensions", "false")?
        .with("autoload_known_extensions", "false")?;
    if threads > 0 {
        config = config.threads(i64::try_from(threads).unwrap_or(i64::MAX))?;
    }
    let conn = duckdb::Connection::open_in_memory_with_flags(config)?;
    let dirs = allowed
        .iter()
        .map(|d| literal(d))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "SET allowed_directories = [{dirs}];
         SET enable_external_access = false;
         SET lock_configuration = true;"
    ))?;
    Ok(conn)
}

pub(crate) fn define_views(conn: &duckdb::Connection, views: &[ViewDef]) -> Result<()> {
    let mut sql = String::new();
    for v in views {
        let files = v
            .files
            .iter()
            .map(|f| literal(&f.display().to_string()))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE OR REPLACE VIEW {qualified} AS SELECT * FROM read_parquet([{files}], union_by_name = true);\n",
            schema = v.schema,
            qualified = v.qualified,
        ));
    }
    conn.execute_batch(&sql)?;
    Ok(())
}
