//! The embedded backend of [`EventLog`]: one SQLite database in WAL mode under a data directory.
//!
//! Why SQLite: it is durable (a committed transaction survives a crash), needs no server, and
//! appends thousands of events per transaction cheaply. Each stream has its own table whose
//! `AUTOINCREMENT` rowid is the offset (increasing, never reused) and whose `event_id` is unique,
//! which is what makes appends idempotent. Consumer offsets live in one more table.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool. Writes go through one
//! connection and reads through another, so consumers keep reading while a large append commits.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

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

/// [`EventLog`] stored in `<dir>/events.sqlite`.
#[derive(Clone)]
pub struct SqliteLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
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

        tracing::info!(path = %shown, fsync = ?options.fsync, "opened event log");
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
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

impl Inner {
    fn append(&self, stream: StreamName, events: Vec<Event>) -> Result<AppendReceipt, LogError> {
        let started = Instant::now();
        let mut encoded = Vec::with_capacity(events.len());
        for event in events {
            if event.stream() != stream {
                return Err(LogError::StreamMismatch {
                    event_id: event.event_id().clone(),
                    expected: stream,
                    actual: event.stream(),
                });
            }
            let payload = event.to_json().map_err(|source| LogError::Encode {
                event_id: event.event_id().clone(),
                source,
            })?;
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

        let append_ts = rfc3339::format(&Utc::now());
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut entries = Vec::with_capacity(encoded.len());
        {
            // Look the id up before inserting rather than `ON CONFLICT DO NOTHING`: a conflicting
            // insert still advances AUTOINCREMENT's counter, which would leave gaps in the offsets.
            // The IMMEDIATE transaction makes this connection the only writer, so no race.
            let mut stored = tx.prepare_cached(&format!(
                "SELECT seq FROM {} WHERE event_id = ?1",
                table(stream)
            ))?;
            let mut insert = tx.prepare_cached(&format!(
                "INSERT INTO {} (event_id, event_type, occurred_ts, append_ts, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                table(stream)
            ))?;
            for e in encoded {
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
        }
        let head = head_offset(&tx, stream)?;
        tx.commit()?;
        drop(conn);

        let receipt = AppendReceipt {
            stream,
            entries,
            head_offset: head,
        };
        tracing::debug!(
            stream = %stream,
            appended = receipt.appended(),
            duplicates = receipt.duplicates(),
            head,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "appended events"
        );
        Ok(receipt)
    }

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

    fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError> {
        check_consumer_name(consumer)?;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head = head_offset(&tx, stream)?;
        let requested = match i64::try_from(offset) {
            Ok(v) if offset <= head => v,
            _ => {
                return Err(LogError::OffsetBeyondHead {
                    stream,
                    consumer: consumer.to_owned(),
                    offset,
                    head,
                });
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
        let committed = committed_offset(&tx, stream, consumer)?;
        tx.commit()?;
        tracing::debug!(stream = %stream, consumer, requested = offset, committed, "committed offset");
        Ok(to_offset(committed))
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
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.append(stream, events)).await?
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
        let inner = Arc::clone(&self.inner);
        let consumer = consumer.to_owned();
        tokio::task::spawn_blocking(move || inner.commit(stream, &consumer, offset)).await?
    }

    async fn stats(&self, stream: StreamName) -> Result<StreamStats, LogError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.stats(stream)).await?
    }
}
