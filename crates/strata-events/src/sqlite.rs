//! The embedded backend of [`EventLog`]: one SQLite database in WAL mode under a data directory.
//!
//! Why SQLite: it is durable (a committed transaction survives a crash), needs no server, and
//! appends thousands of events per transaction cheaply. Each stream has its own table whose
//! `AUTOINCREMENT` rowid is the offset (increasing, never reused) and whose `event_id` is unique,
//! which is what makes appends idempotent. Consumer offsets live in one more table.
//!
//! **Group commit.** Every write (appends and consumer commits) goes to one writer thread that
//! owns the write connection. It takes the first waiting request, opens a transaction, then takes
//! every other request queued by then (up to [`MAX_BATCH_EVENTS`] events), applies them in queue
//! order, commits — one fsync for the whole batch — and only then answers each caller. Many small
//! concurrent appends (one event per placed order) thus share one fsync instead of queueing for one
//! each, and no caller hears "done" before its events are durable. If anything in the batch fails
//! (the storage engine, the commit), the transaction rolls back and every caller in the batch gets
//! the error; nothing of the batch is stored, so a retry (appends are idempotent) is always safe.
//!
//! Reads go through a second connection on tokio's blocking pool, so consumers keep reading while
//! a large append commits.

use std::{
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::{
    Event, StreamName,
    envelope::rfc3339,
    log::{
        AppendEntry, AppendReceipt, ConsumerOffset, Delivery, EventLog, LogError, Offset,
        StreamStats, check_consumer_name,
    },
};

/// When SQLite forces appended data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FsyncPolicy {
    /// `synchronous = FULL`: every append is on disk when it returns, even across power loss.
    /// Concurrent appends share one fsync (group commit), so this costs little under load.
    #[default]
    Always,
    /// `synchronous = NORMAL`: an append survives a crash of the process but the last ones may be
    /// lost on power loss or an OS crash; the database itself is never corrupted. Faster for many
    /// small appends.
    Normal,
}

impl FsyncPolicy {
    fn pragma_value(self) -> &'static str {
        match self {
            Self::Always => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// Settings of [`SqliteLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// When appends reach the disk.
    pub fsync: FsyncPolicy,
    /// How long a call waits for a lock held by another process using the same directory.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            fsync: FsyncPolicy::Always,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The on-disk format version, kept in `PRAGMA user_version`; raised with each incompatible change.
const FORMAT_VERSION: i64 = 1;

/// Events one write transaction takes at most (a single larger append still goes alone).
const MAX_BATCH_EVENTS: usize = 20_000;

/// Appends of at most this many events are encoded on the calling task; larger ones on the
/// blocking pool, so a 5 MiB telemetry batch does not stall the async runtime.
const INLINE_ENCODE_EVENTS: usize = 32;

/// [`EventLog`] stored in `<dir>/events.sqlite`.
#[derive(Clone)]
pub struct SqliteLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    reader: Mutex<Connection>,
    /// The writer thread's queue; `None` only while dropping.
    queue: Option<mpsc::Sender<Job>>,
    /// Requests sent to the writer and not yet taken into a batch.
    queued: Arc<AtomicUsize>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    /// Closes the queue and waits for the writer to finish the batch in progress, so the write
    /// connection is closed when the last handle is dropped.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "the event log writer panicked");
        }
    }
}

impl fmt::Debug for SqliteLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteLog")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteLog {
    /// Name of the database file inside the log's directory.
    pub const FILE_NAME: &'static str = "events.sqlite";

    /// Opens (creating if needed) the log in `dir`.
    ///
    /// Blocking: call it at startup, or from `spawn_blocking`.
    pub fn open(dir: &Path, options: SqliteOptions) -> Result<Self, LogError> {
        let path = dir.join(Self::FILE_NAME);
        let shown = path.display().to_string();
        let open_error = |reason: String| LogError::Open {
            path: shown.clone(),
            reason,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| open_error(format!("cannot create {}: {e}", dir.display())))?;

        let mut writer = Connection::open(&path).map_err(|e| open_error(e.to_string()))?;
        configure(&writer, &options).map_err(|e| open_error(e.to_string()))?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| open_error(e.to_string()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_error(format!(
                "the file system does not support WAL mode (journal_mode is {mode})"
            )));
        }
        migrate(&mut writer, &shown)?;

        let reader = Connection::open(&path).map_err(|e| open_error(e.to_string()))?;
        configure(&reader, &options).map_err(|e| open_error(e.to_string()))?;

        let (queue, jobs) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let writer = std::thread::Builder::new()
            .name("strata-event-log-writer".to_owned())
            .spawn({
                let queued = Arc::clone(&queued);
                move || run_writer(writer, &jobs, &queued)
            })
            .map_err(|e| open_error(format!("cannot start the writer thread: {e}")))?;

        tracing::info!(path = %shown, fsync = ?options.fsync, "opened event log");
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                reader: Mutex::new(reader),
                queue: Some(queue),
                queued,
                writer: Some(writer),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Writes (appends and commits) waiting for the writer to take them into a transaction: a
    /// gauge of write pressure.
    pub fn queued_writes(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    /// Hands `job` to the writer thread.
    fn submit(&self, job: Job) -> Result<(), LogError> {
        let queue = self.inner.queue.as_ref().ok_or_else(writer_stopped)?;
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        queue.send(job).map_err(|_| {
            self.inner.queued.fetch_sub(1, Ordering::Relaxed);
            writer_stopped()
        })
    }
}

fn writer_stopped() -> LogError {
    LogError::WriterStopped
}

fn configure(conn: &Connection, options: &SqliteOptions) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", options.fsync.pragma_value())?;
    // A page cache big enough for a whole large batch (negative = KiB): with the default 2 MiB,
    // a 10,000-event append spills pages mid-transaction and runs markedly slower.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(())
}

/// Page cache per connection, in KiB.
const CACHE_KIB: i64 = 32 * 1024;

/// Creates the tables of a new database, or checks that an existing one is of a format we read.
fn migrate(conn: &mut Connection, shown: &str) -> Result<(), LogError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > FORMAT_VERSION {
        return Err(LogError::UnsupportedFormat {
            path: shown.to_owned(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    if found == FORMAT_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for stream in StreamName::ALL {
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                 seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                 event_id     TEXT NOT NULL UNIQUE,
                 event_type   TEXT NOT NULL,
                 occurred_ts  TEXT NOT NULL,
                 append_ts    TEXT NOT NULL,
                 payload      TEXT NOT NULL
             ) STRICT;",
            table = table(stream)
        ))?;
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS consumer_offset (
             stream     TEXT NOT NULL,
             consumer   TEXT NOT NULL,
             committed  INTEGER NOT NULL CHECK (committed >= 0),
             update_ts  TEXT NOT NULL,
             PRIMARY KEY (stream, consumer)
         ) STRICT, WITHOUT ROWID;",
    )?;
    tx.pragma_update(None, "user_version", FORMAT_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// The table holding `stream`'s events (a fixed name, never built from input).
fn table(stream: StreamName) -> &'static str {
    match stream {
        StreamName::Commerce => "commerce_events",
        StreamName::Publication => "publication_events",
        StreamName::Sync => "sync_events",
    }
}

/// The last offset ever assigned in `stream` (AUTOINCREMENT's counter), 0 if none.
fn head_offset(conn: &Connection, stream: StreamName) -> rusqlite::Result<Offset> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [table(stream)],
            |row| row.get(0),
        )
        .optional()?;
    Ok(to_offset(seq.unwrap_or(0)))
}

fn to_offset(value: i64) -> Offset {
    Offset::try_from(value).unwrap_or(0)
}

/// Locks a connection. A panic while a connection was locked rolled its transaction back (rusqlite
/// rolls back on drop), so the connection is consistent and the poison can be ignored.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An event ready to be stored.
struct Encoded {
    event_id: crate::EventId,
    event_type: &'static str,
    occurred_ts: String,
    payload: String,
}

/// Checks that every event belongs to `stream` and encodes it; nothing is queued on failure.
fn encode(stream: StreamName, events: Vec<Event>) -> Result<Vec<Encoded>, LogError> {
    let mut encoded = Vec::with_capacity(events.len());
    for event in events {
        let payload = crate::log::encode_for(stream, &event)?;
        encoded.push(Encoded {
            event_type: event.event_type(),
            occurred_ts: rfc3339::format(&event.occurred_ts()),
            event_id: match event {
                Event::Commerce(e) => e.event_id,
                Event::Publication(e) => e.event_id,
                Event::Sync(e) => e.event_id,
            },
            payload,
        });
    }
    Ok(encoded)
}

/// A write request for the writer thread.
enum Job {
    Append {
        stream: StreamName,
        events: Vec<Encoded>,
        reply: oneshot::Sender<Result<AppendReceipt, LogError>>,
    },
    Commit {
        stream: StreamName,
        consumer: String,
        offset: Offset,
        reply: oneshot::Sender<Result<Offset, LogError>>,
    },
}

impl Job {
    /// Its share of a batch's [`MAX_BATCH_EVENTS`].
    fn weight(&self) -> usize {
        match self {
            Self::Append { events, .. } => events.len().max(1),
            Self::Commit { .. } => 1,
        }
    }

    fn into_reply(self) -> Reply {
        match self {
            Self::Append { reply, .. } => Reply::Append(reply),
            Self::Commit { reply, .. } => Reply::Commit(reply),
        }
    }
}

/// Where a job's answer goes.
enum Reply {
    Append(oneshot::Sender<Result<AppendReceipt, LogError>>),
    Commit(oneshot::Sender<Result<Offset, LogError>>),
}

impl Reply {
    // A caller that gave up (dropped its future) no longer listens: sending is best effort.
    fn fail(self, error: LogError) {
        match self {
            Self::Append(reply) => {
                let _ = reply.send(Err(error));
            }
            Self::Commit(reply) => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

/// A job applied inside the open transaction; its answer is held back until the commit.
enum Done {
    Append(
        oneshot::Sender<Result<AppendReceipt, LogError>>,
        AppendReceipt,
    ),
    Commit(
        oneshot::Sender<Result<Offset, LogError>>,
        Result<Offset, LogError>,
    ),
}

impl Done {
    fn send(self) {
        match self {
            Self::Append(reply, receipt) => {
                let _ = reply.send(Ok(receipt));
            }
            Self::Commit(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    fn into_reply(self) -> Reply {
        match self {
            Self::Append(reply, _) => Reply::Append(reply),
            Self::Commit(reply, _) => Reply::Commit(reply),
        }
    }
}

/// The writer thread: group commits until every handle of the log is gone.
fn run_writer(mut conn: Connection, jobs: &mpsc::Receiver<Job>, queued: &AtomicUsize) {
    let mut next: Option<Job> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => {
                    queued.fetch_sub(1, Ordering::Relaxed);
                    job
                }
                Err(mpsc::RecvError) => break,
            },
        };
        // A panic (a bug) loses only the batch in progress: its transaction rolls back, its
        // callers hear `WriterStopped` from their dropped replies, and the writer goes on.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            write_batch(&mut conn, first, jobs, queued, &mut next);
        }));
        if outcome.is_err() {
            tracing::error!("the event log writer panicked; the batch in progress was rolled back");
        }
    }
    tracing::debug!("event log writer stopped");
}

/// One group commit: begin, take what is queued, apply it in queue order, commit (one fsync),
/// then answer every caller. Any storage failure fails the whole batch, which is rolled back.
fn write_batch(
    conn: &mut Connection,
    first: Job,
    jobs: &mpsc::Receiver<Job>,
    queued: &AtomicUsize,
    next: &mut Option<Job>,
) {
    let started = Instant::now();
    // Take the write lock first: requests that arrive while it is awaited join this batch.
    let began = conn.transaction_with_behavior(TransactionBehavior::Immediate);
    let mut batch = vec![first];
    let mut weight = batch[0].weight();
    while weight < MAX_BATCH_EVENTS {
        let Ok(job) = jobs.try_recv() else { break };
        queued.fetch_sub(1, Ordering::Relaxed);
        if weight + job.weight() > MAX_BATCH_EVENTS {
            *next = Some(job);
            break;
        }
        weight += job.weight();
        batch.push(job);
    }
    let size = batch.len();
    let tx = match began {
        Ok(tx) => tx,
        Err(e) => return fail_all(&e, batch.into_iter().map(Job::into_reply)),
    };

    let append_ts = rfc3339::format(&Utc::now());
    let mut done = Vec::with_capacity(size);
    let mut pending = batch.into_iter();
    while let Some(job) = pending.next() {
        match apply(&tx, job, &append_ts) {
            Ok(d) => done.push(d),
            Err((e, reply)) => {
                drop(tx); // rolls back
                let replies = done.into_iter().map(Done::into_reply);
                let replies = replies
                    .chain(std::iter::once(reply))
                    .chain(pending.map(Job::into_reply));
                return fail_all(&e, replies);
            }
        }
    }
    if let Err(e) = tx.commit() {
        return fail_all(&e, done.into_iter().map(Done::into_reply));
    }
    for d in done {
        d.send();
    }
    tracing::debug!(
        requests = size,
        events = weight,
        elapsed_us = started.elapsed().as_micros() as u64,
        "event log batch committed"
    );
}

/// Reports `error` to every caller of a failed batch.
fn fail_all(error: &rusqlite::Error, replies: impl Iterator<Item = Reply>) {
    tracing::warn!(error = %error, "event log batch failed and was rolled back");
    for reply in replies {
        reply.fail(LogError::Storage(copy_error(error)));
    }
}

/// A copy of a storage error for each caller of a failed batch (`rusqlite::Error` is not
/// `Clone`). SQLite's own failures, the ones a write meets, are copied exactly; anything else
/// keeps its message.
fn copy_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// Applies one job inside the batch's transaction. `Err` is a storage failure, which fails the
/// batch; a refused commit is the job's own answer.
fn apply(
    tx: &Transaction<'_>,
    job: Job,
    append_ts: &str,
) -> Result<Done, (rusqlite::Error, Reply)> {
    match job {
        Job::Append {
            stream,
            events,
            reply,
        } => match append_in(tx, stream, events, append_ts) {
            Ok(receipt) => Ok(Done::Append(reply, receipt)),
            Err(e) => Err((e, Reply::Append(reply))),
        },
        Job::Commit {
            stream,
            consumer,
            offset,
            reply,
        } => match commit_in(tx, stream, &consumer, offset) {
            Ok(result) => Ok(Done::Commit(reply, result)),
            Err(e) => Err((e, Reply::Commit(reply))),
        },
    }
}

/// Stores the events not stored yet, in order, and says where each one is.
fn append_in(
    tx: &Transaction<'_>,
    stream: StreamName,
    events: Vec<Encoded>,
    append_ts: &str,
) -> rusqlite::Result<AppendReceipt> {
    // Look the id up before inserting rather than `ON CONFLICT DO NOTHING`: a conflicting insert
    // still advances AUTOINCREMENT's counter, which would leave gaps in the offsets. The IMMEDIATE
    // transaction makes this connection the only writer, and it sees the batch's earlier inserts,
    // so a duplicate within a batch is found as well.
    let mut stored = tx.prepare_cached(&format!(
        "SELECT seq FROM {} WHERE event_id = ?1",
        table(stream)
    ))?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO {} (event_id, event_type, occurred_ts, append_ts, payload)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        table(stream)
    ))?;
    let mut entries = Vec::with_capacity(events.len());
    for e in events {
        let existing: Option<i64> = stored
            .query_row([e.event_id.as_str()], |row| row.get(0))
            .optional()?;
        let (offset, duplicate) = match existing {
            Some(offset) => (offset, true),
            None => {
                insert.execute(params![
                    e.event_id.as_str(),
                    e.event_type,
                    e.occurred_ts,
                    append_ts,
                    e.payload
                ])?;
                (tx.last_insert_rowid(), false)
            }
        };
        entries.push(AppendEntry {
            event_id: e.event_id,
            offset: to_offset(offset),
            duplicate,
        });
    }
    Ok(AppendReceipt {
        stream,
        entries,
        head_offset: head_offset(tx, stream)?,
    })
}

/// Moves `consumer`'s committed offset forward (never back); past the head is refused.
fn commit_in(
    tx: &Transaction<'_>,
    stream: StreamName,
    consumer: &str,
    offset: Offset,
) -> rusqlite::Result<Result<Offset, LogError>> {
    let head = head_offset(tx, stream)?;
    let requested = match i64::try_from(offset) {
        Ok(v) if offset <= head => v,
        _ => {
            return Ok(Err(LogError::OffsetBeyondHead {
                stream,
                consumer: consumer.to_owned(),
                offset,
                head,
            }));
        }
    };
    tx.execute(
        "INSERT INTO consumer_offset (stream, consumer, committed, update_ts)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (stream, consumer) DO UPDATE SET
             committed = max(committed, excluded.committed),
             update_ts = CASE WHEN excluded.committed > committed
                              THEN excluded.update_ts ELSE update_ts END",
        params![
            stream.slug(),
            consumer,
            requested,
            rfc3339::format(&Utc::now())
        ],
    )?;
    let committed = to_offset(committed_offset(tx, stream, consumer)?);
    tracing::debug!(stream = %stream, consumer, requested = offset, committed, "committed offset");
    Ok(Ok(committed))
}

impl Inner {
    fn read(
        &self,
        stream: StreamName,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError> {
        check_consumer_name(consumer)?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let conn = lock(&self.reader);
        let committed = committed_offset(&conn, stream, consumer)?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut select = conn.prepare_cached(&format!(
            "SELECT seq, payload FROM {} WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            table(stream)
        ))?;
        let mut rows = select.query(params![committed, limit])?;
        let mut deliveries = Vec::new();
        while let Some(row) = rows.next()? {
            let offset = to_offset(row.get(0)?);
            let corrupt = |reason: String| LogError::Corrupt {
                stream,
                offset,
                reason,
            };
            let payload = row
                .get_ref(1)?
                .as_bytes()
                .map_err(|e| corrupt(e.to_string()))?;
            let event = Event::from_json(stream, payload).map_err(|e| corrupt(e.to_string()))?;
            deliveries.push(Delivery { offset, event });
        }
        Ok(deliveries)
    }

    fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError> {
        let conn = lock(&self.reader);
        let head_offset = head_offset(&conn, stream)?;
        let mut select = conn.prepare_cached(
            "SELECT consumer, committed FROM consumer_offset WHERE stream = ?1 ORDER BY consumer",
        )?;
        let consumers = select
            .query_map([stream.slug()], |row| {
                Ok(ConsumerOffset {
                    name: row.get(0)?,
                    committed: to_offset(row.get(1)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(StreamStats {
            stream,
            head_offset,
            consumers,
        })
    }
}

fn committed_offset(
    conn: &Connection,
    stream: StreamName,
    consumer: &str,
) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT committed FROM consumer_offset WHERE stream = ?1 AND consumer = ?2",
            params![stream.slug(), consumer],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

#[async_trait]
impl EventLog for SqliteLog {
    async fn append(
        &self,
        stream: StreamName,
        events: Vec<Event>,
    ) -> Result<AppendReceipt, LogError> {
        let started = Instant::now();
        let events = if events.len() <= INLINE_ENCODE_EVENTS {
            encode(stream, events)?
        } else {
            tokio::task::spawn_blocking(move || encode(stream, events)).await??
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Append {
            stream,
            events,
            reply,
        })?;
        let receipt = answer.await.map_err(|_| writer_stopped())??;
        tracing::debug!(
            stream = %stream,
            appended = receipt.appended(),
            duplicates = receipt.duplicates(),
            head = receipt.head_offset,
            elapsed_us = started.elapsed().as_micros() as u64,
            "appended events"
        );
        Ok(receipt)
    }

    async fn read(
        &self,
        stream: StreamName,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<Delivery>, LogError> {
        let inner = Arc::clone(&self.inner);
        let consumer = consumer.to_owned();
        tokio::task::spawn_blocking(move || inner.read(stream, &consumer, max)).await?
    }

    async fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError> {
        check_consumer_name(consumer)?;
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Commit {
            stream,
            consumer: consumer.to_owned(),
            offset,
            reply,
        })?;
        answer.await.map_err(|_| writer_stopped())?
    }

    async fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.stats(stream)).await?
    }
}
