//! The engine: a DuckDB database in memory whose views are the lake's tables at chosen snapshots.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
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
    /// Held from planning to the last batch, so the views a query planned are the ones it reads.
    session: Arc<tokio::sync::Mutex<Session>>,
    /// Stops the statement running on the session's connection.
    interrupt: Arc<duckdb::InterruptHandle>,
}

/// The DuckDB connection and what its views are defined at.
struct Session {
    conn: duckdb::Connection,
    /// The snapshot each view in DuckDB is defined at, by qualified view name: a table whose
    /// snapshot has not moved keeps its view, without reading its manifests again.
    defined: HashMap<String, Option<i64>>,
}

/// Bounds on one query ([`QueryEngine::stream`]); the default has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryLimits {
    /// Rows handed over at most; past them the stream ends and says it was truncated.
    pub max_rows: Option<usize>,
    /// Time from the call until the last batch is handed over, waiting for the engine
    /// included; past it DuckDB is interrupted and the query fails with
    /// [`QueryError::Timeout`].
    pub timeout: Option<Duration>,
}

/// A running query's result, batch by batch ([`QueryEngine::stream`]).
pub struct QueryStream {
    schema: SchemaRef,
    tables: Vec<TableRead>,
    batches: tokio::sync::mpsc::Receiver<Result<RecordBatch>>,
    limits: QueryLimits,
    cancel: Cancel,
    /// An error was handed over: nothing follows it.
    ended: bool,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("schema", &self.schema)
            .field("tables", &self.tables)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl QueryStream {
    /// The result's columns.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Each lake table the query named, with the snapshot it reads (as [`QueryOutput::tables`]).
    pub fn tables(&self) -> &[TableRead] {
        &self.tables
    }

    /// The next batch; `None` once the result is complete, or cut at the row limit
    /// ([`QueryStream::truncated`]). An error (the time limit, a failure while running) ends
    /// the stream.
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        if self.ended {
            return None;
        }
        match self.batches.recv().await {
            Some(Err(e)) => {
                self.ended = true;
                Some(Err(e))
            }
            Some(ok) => Some(ok),
            None => {
                self.ended = true;
                // The producer gave up handing over batches no one took in time.
                let timed_out = self.cancel.progress.lock().is_ok_and(|p| p.timed_out);
                timed_out.then(|| Err(QueryError::Timeout(self.limits.timeout.unwrap_or_default())))
            }
        }
    }

    /// Whether rows were left out at [`QueryLimits::max_rows`] (known once
    /// [`QueryStream::next_batch`] returned `None`).
    pub fn truncated(&self) -> bool {
        self.cancel.progress.lock().is_ok_and(|p| p.truncated)
    }
}

/// How a query's producer is doing, shared with its timer and its stream.
#[derive(Debug, Default)]
struct Progress {
    /// The producer is done with the connection: interrupting it now would hit another query.
    finished: bool,
    /// The time limit passed (DuckDB was interrupted, or batches were not taken in time).
    timed_out: bool,
    /// Rows were left out at the row limit.
    truncated: bool,
}

/// Interrupts the query when its stream (or the call waiting for it) is dropped early.
struct Cancel {
    progress: Arc<Mutex<Progress>>,
    interrupt: Arc<duckdb::InterruptHandle>,
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if let Ok(p) = self.progress.lock()
            && !p.finished
        {
            self.interrupt.interrupt();
        }
    }
}

/// A planned query: its text for DuckDB, the views to define first, the snapshots it reads.
struct Plan {
    sql: String,
    views: Vec<ViewDef>,
    reads: Vec<TableRead>,
}

/// The blocking side of a query: runs it on the connection and hands over its batches.
struct Producer {
    runtime: tokio::runtime::Handle,
    deadline: Option<tokio::time::Instant>,
    limits: QueryLimits,
    progress: Arc<Mutex<Progress>>,
    started: Option<tokio::sync::oneshot::Sender<Result<SchemaRef>>>,
    batches: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
}

impl Producer {
    fn run(mut self, session: &mut Session, views: Vec<ViewDef>, sql: &str) {
        let truncated = self.produce(session, views, sql);
        if let Ok(mut p) = self.progress.lock() {
            p.finished = true;
            p.truncated = truncated;
        }
    }

    /// Returns whether rows were left out at the limit.
    fn produce(&mut self, session: &mut Session, views: Vec<ViewDef>, sql: &str) -> bool {
        if let Err(e) = define_views(&session.conn, &views) {
            self.fail(e);
            return false;
        }
        session
            .defined
            .extend(views.into_iter().map(|v| (v.qualified, v.snapshot)));
        let stmt = session.conn.prepare(sql).and_then(|mut stmt| {
            // Executes lazily: chunks are computed as they are stepped through below.
            let _ = stmt.stream_arrow([])?;
            Ok(stmt)
        });
        let stmt = match stmt {
            Ok(stmt) => stmt,
            Err(e) => {
                self.fail(e.into());
                return false;
            }
        };
        if let Some(started) = self.started.take()
            && started.send(Ok(stmt.schema())).is_err()
        {
            return false;
        }
        let mut left = self.limits.max_rows.unwrap_or(usize::MAX);
        loop {
            let batch = match stmt.step() {
                Ok(Some(array)) => RecordBatch::from(&array),
                Ok(None) => return false,
                Err(e) => {
                    self.fail(e.into());
                    return false;
                }
            };
            if batch.num_rows() == 0 {
                continue;
            }
            if left == 0 {
                return true;
            }
            let cut = batch.num_rows() > left;
            let batch = if cut { batch.slice(0, left) } else { batch };
            left -= batch.num_rows();
            if !self.send(Ok(batch)) || cut {
                return cut;
            }
        }
    }

    /// Hands `item` over, waiting for room until the deadline; false if no one will take it.
    fn send(&self, item: Result<RecordBatch>) -> bool {
        let send = self.batches.send(item);
        let sent = match self.deadline {
            Some(deadline) => match self
                .runtime
                .block_on(tokio::time::timeout_at(deadline, send))
            {
                Ok(sent) => sent,
                Err(_) => {
                    if let Ok(mut p) = self.progress.lock() {
                        p.timed_out = true;
                    }
                    return false;
                }
            },
            None => self.runtime.block_on(send),
        };
        sent.is_ok()
    }

    /// Reports `e` (as the time limit, if that is why DuckDB stopped) to whoever waits.
    fn fail(&mut self, e: QueryError) {
        let e = if self.progress.lock().is_ok_and(|p| p.timed_out) {
            QueryError::Timeout(self.limits.timeout.unwrap_or_default())
        } else {
            e
        };
        match self.started.take() {
            Some(started) => {
                let _ = started.send(Err(e));
            }
            None => {
                self.send(Err(e));
            }
        }
    }
}

/// `fut`, unless `deadline` passes first.
async fn within<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    limits: QueryLimits,
    fut: F,
) -> Result<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| QueryError::Timeout(limits.timeout.unwrap_or_default())),
        None => Ok(fut.await),
    }
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
        let interrupt = conn.interrupt_handle();
        Ok(Self {
            lake,
            cache,
            session: Arc::new(tokio::sync::Mutex::new(Session {
                conn,
                defined: HashMap::new(),
            })),
            interrupt,
        })
    }

    /// The lake read.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Runs one SQL statement and returns its whole result.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput> {
        let mut stream = self.stream(sql, QueryLimits::default()).await?;
        let mut batches = Vec::new();
        while let Some(batch) = stream.next_batch().await {
            batches.push(batch?);
        }
        Ok(QueryOutput {
            schema: stream.schema().clone(),
            batches,
            tables: stream.tables().to_vec(),
        })
    }

    /// Runs one SQL statement and hands its result over batch by batch as DuckDB produces it,
    /// within `limits`. Returns once the statement has started (so errors in the SQL come back
    /// here, not from the stream). Queries run one at a time: the wait for the engine counts
    /// against the time limit. Dropping the stream stops the query.
    pub async fn stream(&self, sql: &str, limits: QueryLimits) -> Result<QueryStream> {
        let deadline = limits.timeout.map(|t| tokio::time::Instant::now() + t);
        let scan = travel::scan(sql)?;
        let mut session = within(deadline, limits, self.session.clone().lock_owned()).await?;
        let plan = within(deadline, limits, self.plan(sql, &scan, &session.defined)).await??;
        let progress = Arc::new(Mutex::new(Progress::default()));
        let cancel = Cancel {
            progress: progress.clone(),
            interrupt: self.interrupt.clone(),
        };
        if let Some(deadline) = deadline {
            let progress = progress.clone();
            let interrupt = self.interrupt.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline).await;
                if let Ok(mut p) = progress.lock()
                    && !p.finished
                {
                    p.timed_out = true;
                    interrupt.interrupt();
                }
            });
        }
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (batches_tx, batches_rx) = tokio::sync::mpsc::channel(2);
        let producer = Producer {
            runtime: tokio::runtime::Handle::current(),
            deadline,
            limits,
            progress: progress.clone(),
            started: Some(started_tx),
            batches: batches_tx,
        };
        tokio::task::spawn_blocking(move || {
            let session = &mut *session;
            producer.run(session, plan.views, &plan.sql);
            // The session (and its connection) is released only after `finished` is set, so a
            // late timer or cancel never interrupts the next query.
        });
        let schema = match started_rx.await {
            Ok(started) => started?,
            Err(_) => return Err(QueryError::Task("the query task ended early".to_owned())),
        };
        Ok(QueryStream {
            schema,
            tables: plan.reads,
            batches: batches_rx,
            limits,
            cancel,
            ended: false,
        })
    }

    /// Which views the query needs (defining those DuckDB lacks) and its text with the
    /// time-travel references replaced by their views' names.
    async fn plan(
        &self,
        sql: &str,
        scan: &travel::Scan,
        defined: &HashMap<String, Option<i64>>,
    ) -> Result<Plan> {
        let is_defined = |view: &str, snapshot: Option<i64>| defined.get(view) == Some(&snapshot);
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
            if !is_defined(&view, current) {
                views.push(self.view(&table, ident, view, current).await?);
            }
            // Read at its current snapshot only if named without a selector somewhere.
            let named = scan.dotted.iter().filter(|d| **d == name).count();
            let pinned = scan.travel.iter().filter(|r| r.table == name).count();
            if named > pinned {
                reads.insert(name.clone(), current);
            }
            for r in scan.travel.iter().filter(|r| r.table == name) {
                let id = resolve(&table, &name, r.selector)?;
                let view = qualified(ident, Some(id));
                if !is_defined(&view, Some(id)) && !views.iter().any(|v| v.qualified == view) {
                    views.push(self.view(&table, ident, view.clone(), Some(id)).await?);
                }
                replacements.push((r.range.clone(), view));
                reads.insert(format!("{name} AT SNAPSHOT {id}"), Some(id));
            }
        }
        Ok(Plan {
            sql: travel::splice(sql, &replacements),
            views,
            reads: reads
                .into_iter()
                .map(|(table, snapshot_id)| TableRead { table, snapshot_id })
                .collect(),
        })
    }

    /// Runs `job` on the engine's DuckDB connection once the views of `tables` are defined at
    /// their current snapshots (named `"namespace"."table"`, as in [`QueryEngine::query`]).
    /// Returns the job's result and the snapshot each table was read at. The job runs on a
    /// blocking thread and holds the engine until it returns, so long jobs want an engine of
    /// their own.
    pub async fn run_job<T, F>(&self, tables: &[TableIdent], job: F) -> Result<(T, Vec<TableRead>)>
    where
        F: FnOnce(&duckdb::Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let mut session = self.session.clone().lock_owned().await;
        let mut views: Vec<ViewDef> = Vec::new();
        let mut reads = BTreeMap::new();
        for ident in tables {
            let table = self.lake.load(ident).await?;
            let current = table.metadata().current_snapshot_id();
            let view = qualified(ident, None);
            if session.defined.get(&view) != Some(&current) {
                views.push(self.view(&table, ident, view, current).await?);
            }
            reads.insert(table_name(ident), current);
        }
        let out = tokio::task::spawn_blocking(move || {
            let session = &mut *session;
            define_views(&session.conn, &views)?;
            session
                .defined
                .extend(views.into_iter().map(|v| (v.qualified, v.snapshot)));
            job(&session.conn)
        })
        .await
        .map_err(|e| QueryError::Task(e.to_string()))??;
        Ok((
            out,
            reads
                .into_iter()
                .map(|(table, snapshot_id)| TableRead { table, snapshot_id })
                .collect(),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn engine(dir: &std::path::Path) -> QueryEngine {
        let lake = Lake::open(strata_lake::LakeConfig::embedded(dir))
            .await
            .expect("lake");
        QueryEngine::open(lake, QueryOptions::under(dir))
            .await
            .expect("engine")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn limits_cut_rows_and_stop_slow_queries_and_leave_the_engine_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path()).await;
        let limits = QueryLimits {
            max_rows: Some(3000),
            timeout: Some(Duration::from_secs(20)),
        };
        let mut s = engine
            .stream("SELECT * FROM range(10000)", limits)
            .await
            .expect("stream");
        let mut rows = 0;
        while let Some(b) = s.next_batch().await {
            rows += b.expect("batch").num_rows();
        }
        assert_eq!(rows, 3000);
        assert!(s.truncated());

        let started = std::time::Instant::now();
        let slow = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b";
        let limits = QueryLimits {
            max_rows: None,
            timeout: Some(Duration::from_millis(200)),
        };
        let e = match engine.stream(slow, limits).await {
            Ok(mut s) => s.next_batch().await.expect("an answer").unwrap_err(),
            Err(e) => e,
        };
        assert!(matches!(e, QueryError::Timeout(_)), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(5));

        // An interrupt that arrives while nothing runs does not fail the next query.
        engine.interrupt.interrupt();
        let out = engine
            .query("SELECT 42 AS x")
            .await
            .expect("after an idle interrupt");
        assert_eq!(out.rows(), 1);

        // A stream dropped early frees the engine at once.
        let mut s = engine
            .stream(
                "SELECT a.range FROM range(1000000) a, range(1000000) b",
                QueryLimits::default(),
            )
            .await
            .expect("stream");
        assert!(s.next_batch().await.is_some());
        drop(s);
        let started = std::time::Instant::now();
        engine
            .query("SELECT 1")
            .await
            .expect("after a dropped stream");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
