//! The embedded store: one SQLite database (`workflows.sqlite`) in WAL mode with
//! `synchronous = FULL`, so a step result is on disk before the workflow moves on.
//!
//! **Group commit**, as in the event log: every write goes to one writer thread, which applies all
//! writes queued by then in one transaction (each in its own savepoint, so one failing write does
//! not undo the others) and answers the callers only after the commit's fsync. Many concurrent
//! instances thus share fsyncs. Reads use a second connection on tokio's blocking pool.
//!
//! **Exclusive executor.** [`SqliteStore::open`] also takes an advisory lock on
//! `workflows.lock` when asked to execute: the process holding it is the only one running
//! instances, so after a crash the restarted process takes over the dead one's leases at once
//! instead of waiting for them to lapse. Other processes (the CLI beside a running server) open
//! the store without the lock to read, create and control instances.

use std::{
    fs::File,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc},
    thread::JoinHandle,
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use tokio::sync::oneshot;

use super::{AuditRecord, Created, Store, corrupt};
use crate::{
    error::StoreError,
    model::{
        Consumed, Instance, InstanceId, Lease, ListFilter, StepRecord, StepState, StoredValue,
        WorkflowEvent,
    },
};

/// Whether the opening process will execute instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs instances: takes the executor lock (failing if another process holds it).
    Executor,
    /// Reads, creates and controls instances; a running executor does the work.
    Client,
}

/// [`Store`] in `<dir>/workflows.sqlite`.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    reader: Mutex<Connection>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Held for the life of the store when opened as [`Role::Executor`].
    lock: Option<File>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(handle) = w.take()
            && handle.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "the workflow store writer panicked");
        }
    }
}

type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A queued write: given the connection (or `None` when the batch could not start), it runs and
/// returns whether it succeeded and how to answer its caller once the batch's fate is known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> (bool, Reply) + Send>;

/// Writes taken into one transaction at most.
const MAX_BATCH: usize = 512;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    wake_ms INTEGER,
    lease_owner TEXT,
    lease_until_ms INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_due ON instances (status, wake_ms);
CREATE INDEX IF NOT EXISTS instances_workflow ON instances (workflow, status);
CREATE INDEX IF NOT EXISTS instances_created ON instances (created_ms);
CREATE TABLE IF NOT EXISTS steps (
    instance_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (instance_id, generation, name)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    consumed_generation INTEGER,
    consumed_step TEXT
);
CREATE INDEX IF NOT EXISTS events_inbox ON events (instance_id, event_type, consumed_step);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    revision INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL
);
"#;

impl SqliteStore {
    /// Name of the database file inside the data directory.
    pub const FILE_NAME: &'static str = "workflows.sqlite";
    /// Name of the executor lock file.
    pub const LOCK_NAME: &'static str = "workflows.lock";

    /// Opens (creating if needed) the store in `dir`.
    ///
    /// Blocking: call it at startup or from `spawn_blocking`. As [`Role::Executor`] it fails with
    /// a clear error when another process already executes from this directory.
    pub fn open(dir: &Path, role: Role) -> Result<Self, StoreError> {
        let location = dir.join(Self::FILE_NAME);
        let fail = |reason: String| StoreError::Open {
            location: location.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create the directory: {e}")))?;
        let lock = match role {
            Role::Client => None,
            Role::Executor => {
                let file = File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(dir.join(Self::LOCK_NAME))
                    .map_err(|e| fail(format!("cannot open the lock file: {e}")))?;
                file.try_lock().map_err(|_| StoreError::Locked {
                    location: dir.display().to_string(),
                })?;
                Some(file)
            }
        };
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(&location)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            Ok(conn)
        };
        let writer_conn = open().map_err(|e| fail(e.to_string()))?;
        writer_conn
            .execute_batch(SCHEMA)
            .map_err(|e| fail(format!("cannot create the tables: {e}")))?;
        let reader = open().map_err(|e| fail(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("strata-workflow-store".into())
            .spawn(move || run_writer(writer_conn, &rx))
            .map_err(|e| fail(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: location,
                reader: Mutex::new(reader),
                queue: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                lock,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `op` in the next group commit and returns its result once committed.
    async fn write<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let result = match conn {
                Some(conn) => op(conn),
                None => Err(StoreError::Closed),
            };
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed: Result<(), StoreError>| {
                let _ = tx.send(committed.and(result));
            });
            (ok, reply)
        });
        {
            let queue = self.inner.queue.lock().map_err(|_| StoreError::Closed)?;
            queue
                .as_ref()
                .ok_or(StoreError::Closed)?
                .send(job)
                .map_err(|_| StoreError::Closed)?;
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `op` on the read connection on the blocking pool.
    async fn read<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.reader.lock().map_err(|_| StoreError::Closed)?;
            op(&conn)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

/// The writer thread: takes the first queued job, then every other job queued by then, applies
/// each in a savepoint of one transaction (rolled back alone if it fails), commits, and answers.
fn run_writer(mut conn: Connection, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                for job in batch {
                    let (_, reply) = job(None);
                    reply(Err(StoreError::Sqlite(copy_error(&e))));
                }
                continue;
            }
        };
        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            replies.push(run_in_savepoint(&tx, job));
        }
        let committed = tx.commit();
        for reply in replies {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Sqlite(copy_error(e))),
            });
        }
    }
}

/// Runs a job inside a savepoint, undoing its own changes if it failed.
fn run_in_savepoint(tx: &rusqlite::Transaction<'_>, job: Job) -> Reply {
    if let Err(e) = tx.execute_batch("SAVEPOINT job") {
        let (_, reply) = job(None);
        return Box::new(move |_| reply(Err(StoreError::Sqlite(e))));
    }
    let (ok, reply) = job(Some(tx));
    let end = if ok {
        tx.execute_batch("RELEASE job")
    } else {
        tx.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    match end {
        Ok(()) => reply,
        Err(e) => Box::new(move |_| reply(Err(StoreError::Sqlite(e)))),
    }
}

fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(e.to_string()),
    )
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn json<T: serde::Serialize>(key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(key, e))
}

const INSTANCE_COLUMNS: &str = "body, version, lease_owner, lease_until_ms";

/// Reads an instance row: the body, with the columns that change without a body rewrite (version,
/// lease) taken from their columns.
fn instance_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, i64, Option<String>, Option<i64>)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn decode_instance(
    (body, version, owner, until): (String, i64, Option<String>, Option<i64>),
) -> Result<Instance, StoreError> {
    let mut instance: Instance = serde_json::from_str(&body).map_err(|e| corrupt("instance", e))?;
    instance.version = u64::try_from(version).unwrap_or(0);
    instance.lease = match (owner, until) {
        (Some(owner), Some(until)) => Some(Lease {
            owner,
            until: from_ms(until),
        }),
        _ => None,
    };
    Ok(instance)
}

fn insert_audit(conn: &Connection, audit: &[AuditRecord]) -> Result<(), StoreError> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO audit_outbox (event_id, json) VALUES (?1, ?2)")?;
    for record in audit {
        stmt.execute(params![record.event_id, record.json])?;
    }
    Ok(())
}

fn write_instance(
    conn: &Connection,
    instance: &Instance,
    insert: bool,
) -> Result<usize, StoreError> {
    let body = json(instance.id.as_str(), instance)?;
    let (owner, until) = match &instance.lease {
        Some(l) => (Some(l.owner.as_str()), Some(ms(l.until))),
        None => (None, None),
    };
    let wake = instance.wake_at.map(ms);
    let version = i64::try_from(instance.version).unwrap_or(i64::MAX);
    let changed = if insert {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO instances (id, workflow, status, version, created_ms, wake_ms, lease_owner, lease_until_ms, body)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            instance.id.as_str(),
            instance.workflow,
            instance.status.as_str(),
            ms(instance.created_at),
            wake,
            owner,
            until,
            body
        ])?
    } else {
        conn.prepare_cached(
            "UPDATE instances SET status = ?2, version = version + 1, wake_ms = ?3, lease_owner = ?4,
                 lease_until_ms = ?5, body = ?6
             WHERE id = ?1 AND version = ?7",
        )?
        .execute(params![
            instance.id.as_str(),
            instance.status.as_str(),
            wake,
            owner,
            until,
            body,
            version
        ])?
    };
    Ok(changed)
}

fn read_instance(conn: &Connection, id: &str) -> Result<Option<Instance>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1"
        ))?
        .query_row([id], instance_row)
        .optional()?;
    row.map(decode_instance).transpose()
}

fn read_step(
    conn: &Connection,
    id: &str,
    generation: u32,
    name: &str,
) -> Result<Option<StepRecord>, StoreError> {
    let row: Option<(String, i64)> = conn
        .prepare_cached(
            "SELECT state, updated_ms FROM steps WHERE instance_id = ?1 AND generation = ?2 AND name = ?3",
        )?
        .query_row(params![id, generation, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(state, updated)| {
        Ok(StepRecord {
            name: name.to_owned(),
            state: serde_json::from_str(&state)
                .map_err(|e| corrupt(format!("step {id}/{name}"), e))?,
            updated_at: from_ms(updated),
        })
    })
    .transpose()
}

fn write_step(
    conn: &Connection,
    id: &str,
    generation: u32,
    record: &StepRecord,
) -> Result<(), StoreError> {
    let state = json(&record.name, &record.state)?;
    conn.prepare_cached(
        "INSERT INTO steps (instance_id, generation, name, seq, updated_ms, state)
         VALUES (?1, ?2, ?3, (SELECT count(*) FROM steps WHERE instance_id = ?1 AND generation = ?2), ?4, ?5)
         ON CONFLICT (instance_id, generation, name) DO UPDATE SET updated_ms = excluded.updated_ms, state = excluded.state",
    )?
    .execute(params![id, generation, record.name, ms(record.updated_at), state])?;
    Ok(())
}

fn event_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn decode_event(
    (seq, event_type, payload, received): (i64, String, String, i64),
) -> Result<WorkflowEvent, StoreError> {
    Ok(WorkflowEvent {
        seq: u64::try_from(seq).unwrap_or(0),
        event_type,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(format!("event {seq}"), e))?,
        received_at: from_ms(received),
    })
}

#[async_trait]
impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("SQLite {}", self.inner.path.display())
    }

    fn exclusive(&self) -> bool {
        self.inner.lock.is_some()
    }

    async fn create(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Created, StoreError> {
        self.write(move |conn| {
            if write_instance(conn, &instance, true)? == 0 {
                let existing = read_instance(conn, instance.id.as_str())?
                    .ok_or_else(|| corrupt(instance.id.as_str(), "vanished during create"))?;
                return Ok(Created::Existing(existing));
            }
            insert_audit(conn, &audit)?;
            let mut created = instance;
            created.version = 1;
            Ok(Created::New(created))
        })
        .await
    }

    async fn get(&self, id: &InstanceId) -> Result<Option<Instance>, StoreError> {
        let id = id.clone();
        self.read(move |conn| read_instance(conn, id.as_str()))
            .await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| {
            let mut sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(w) = &filter.workflow {
                args.push(w.clone().into());
                sql.push_str(&format!(" AND workflow = ?{}", args.len()));
            }
            if !filter.statuses.is_empty() {
                let marks: Vec<String> = filter
                    .statuses
                    .iter()
                    .map(|s| {
                        args.push(s.as_str().to_owned().into());
                        format!("?{}", args.len())
                    })
                    .collect();
                sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
            }
            if let Some(after) = filter.created_after {
                args.push(ms(after).into());
                sql.push_str(&format!(" AND created_ms >= ?{}", args.len()));
            }
            let limit = if filter.limit == 0 { 100 } else { filter.limit };
            sql.push_str(&format!(" ORDER BY created_ms DESC, id DESC LIMIT {limit}"));
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), instance_row)?;
            rows.map(|r| decode_instance(r?)).collect()
        })
        .await
    }

    async fn update(
        &self,
        instance: Instance,
        audit: Vec<AuditRecord>,
    ) -> Result<Option<Instance>, StoreError> {
        self.write(move |conn| {
            if write_instance(conn, &instance, false)? == 0 {
                return Ok(None);
            }
            insert_audit(conn, &audit)?;
            let mut updated = instance;
            updated.version += 1;
            Ok(Some(updated))
        })
        .await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Instance>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances
                 WHERE status = 'queued'
                    OR (status = 'waiting' AND wake_ms <= ?1)
                    OR (status = 'running' AND (lease_until_ms IS NULL OR lease_until_ms <= ?1))
                 ORDER BY created_ms LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![ms(now), limit as i64], instance_row)?;
            rows.map(|r| decode_instance(r?)).collect()
        })
        .await
    }

    async fn count_leased(&self, workflow: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let workflow = workflow.to_owned();
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM instances WHERE workflow = ?1 AND status = 'running' AND lease_until_ms > ?2",
                )?
                .query_row(params![workflow, ms(now)], |r| r.get(0))?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn renew(
        &self,
        owner: &str,
        ids: &[InstanceId],
        until: DateTime<Utc>,
    ) -> Result<Vec<InstanceId>, StoreError> {
        let owner = owner.to_owned();
        let ids = ids.to_vec();
        self.write(move |conn| {
            let mut stmt = conn.prepare_cached(
                "UPDATE instances SET lease_until_ms = ?3 WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
            )?;
            let mut lost = Vec::new();
            for id in ids {
                if stmt.execute(params![id.as_str(), owner, ms(until)])? == 0 {
                    lost.push(id);
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn step(
        &self,
        id: &InstanceId,
        generation: u32,
        name: &str,
    ) -> Result<Option<StepRecord>, StoreError> {
        let id = id.clone();
        let name = name.to_owned();
        self.read(move |conn| read_step(conn, id.as_str(), generation, &name))
            .await
    }

    async fn put_step(
        &self,
        id: &InstanceId,
        generation: u32,
        record: StepRecord,
        audit: Vec<AuditRecord>,
    ) -> Result<(), StoreError> {
        let id = id.clone();
        self.write(move |conn| {
            write_step(conn, id.as_str(), generation, &record)?;
            insert_audit(conn, &audit)
        })
        .await
    }

    async fn steps(&self, id: &InstanceId, generation: u32) -> Result<Vec<StepRecord>, StoreError> {
        let id = id.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, state, updated_ms FROM steps WHERE instance_id = ?1 AND generation = ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![id.as_str(), generation], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })?;
            rows.map(|r| {
                let (name, state, updated) = r?;
                let state: StepState =
                    serde_json::from_str(&state).map_err(|e| corrupt(format!("step {id}/{name}"), e))?;
                Ok(StepRecord {
                    name,
                    state,
                    updated_at: from_ms(updated),
                })
            })
            .collect()
        })
        .await
    }

    async fn insert_event(
        &self,
        id: &InstanceId,
        event_type: &str,
        payload: Value,
        now: DateTime<Utc>,
    ) -> Result<WorkflowEvent, StoreError> {
        let id = id.clone();
        let event_type = event_type.to_owned();
        self.write(move |conn| {
            let text = json("event", &payload)?;
            conn.prepare_cached(
                "INSERT INTO events (instance_id, event_type, payload, received_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id.as_str(), event_type, text, ms(now)])?;
            Ok(WorkflowEvent {
                seq: u64::try_from(conn.last_insert_rowid()).unwrap_or(0),
                event_type,
                payload,
                received_at: from_ms(ms(now)),
            })
        })
        .await
    }

    async fn consume_event(
        &self,
        id: &InstanceId,
        generation: u32,
        step: &str,
        event_type: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<Consumed, StoreError> {
        let id = id.clone();
        let step = step.to_owned();
        let event_type = event_type.to_owned();
        self.write(move |conn| {
            match read_step(conn, id.as_str(), generation, &step)?.map(|r| r.state) {
                Some(StepState::Done { result, .. }) => {
                    let event = serde_json::from_value(result).map_err(|e| corrupt(format!("step {id}/{step}"), e))?;
                    return Ok(Consumed::Event(event));
                }
                Some(StepState::TimedOut { .. }) => return Ok(Consumed::TimedOut),
                _ => {}
            }
            let next = conn
                .prepare_cached(
                    "SELECT seq, event_type, payload, received_ms FROM events
                     WHERE instance_id = ?1 AND event_type = ?2 AND consumed_step IS NULL ORDER BY seq LIMIT 1",
                )?
                .query_row(params![id.as_str(), event_type], event_row)
                .optional()?;
            if let Some(row) = next {
                let event = decode_event(row)?;
                conn.prepare_cached("UPDATE events SET consumed_generation = ?2, consumed_step = ?3 WHERE seq = ?1")?
                    .execute(params![event.seq as i64, generation, step])?;
                let record = StepRecord {
                    name: step.clone(),
                    state: StepState::Done {
                        result: serde_json::to_value(&event).map_err(|e| corrupt("event", e))?,
                        attempts: 1,
                    },
                    updated_at: now,
                };
                write_step(conn, id.as_str(), generation, &record)?;
                return Ok(Consumed::Event(event));
            }
            if now >= deadline {
                let record = StepRecord {
                    name: step.clone(),
                    state: StepState::TimedOut { event_type },
                    updated_at: now,
                };
                write_step(conn, id.as_str(), generation, &record)?;
                return Ok(Consumed::TimedOut);
            }
            Ok(Consumed::Pending)
        })
        .await
    }

    async fn has_unconsumed(&self, id: &InstanceId, event_type: &str) -> Result<bool, StoreError> {
        let id = id.clone();
        let event_type = event_type.to_owned();
        self.read(move |conn| {
            let found: Option<i64> = conn
                .prepare_cached(
                    "SELECT seq FROM events WHERE instance_id = ?1 AND event_type = ?2 AND consumed_step IS NULL LIMIT 1",
                )?
                .query_row(params![id.as_str(), event_type], |r| r.get(0))
                .optional()?;
            Ok(found.is_some())
        })
        .await
    }

    async fn events(&self, id: &InstanceId) -> Result<Vec<WorkflowEvent>, StoreError> {
        let id = id.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, event_type, payload, received_ms FROM events WHERE instance_id = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([id.as_str()], event_row)?;
            rows.map(|r| decode_event(r?)).collect()
        })
        .await
    }

    async fn get_value(&self, key: &str) -> Result<Option<StoredValue>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| read_value(conn, &key)).await
    }

    async fn put_value(
        &self,
        key: &str,
        value: Value,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredValue, Option<u64>>, StoreError> {
        let key = key.to_owned();
        self.write(move |conn| {
            let current = read_value(conn, &key)?.map(|v| v.revision);
            if let Some(expected) = expected
                && current.unwrap_or(0) != expected
            {
                return Ok(Err(current));
            }
            let revision = current.unwrap_or(0) + 1;
            conn.prepare_cached(
                "INSERT INTO kv (key, value, revision, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision, updated_ms = excluded.updated_ms",
            )?
            .execute(params![key, json(&key, &value)?, revision as i64, ms(now)])?;
            Ok(Ok(StoredValue {
                value,
                revision,
                updated_at: from_ms(ms(now)),
            }))
        })
        .await
    }

    async fn audit_pending(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT event_id, json FROM audit_outbox ORDER BY seq LIMIT ?1")?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(AuditRecord {
                    event_id: r.get(0)?,
                    json: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn audit_delivered(&self, event_ids: &[String]) -> Result<(), StoreError> {
        let ids = event_ids.to_vec();
        self.write(move |conn| {
            let mut stmt = conn.prepare_cached("DELETE FROM audit_outbox WHERE event_id = ?1")?;
            for id in ids {
                stmt.execute([id])?;
            }
            Ok(())
        })
        .await
    }
}

fn read_value(conn: &Connection, key: &str) -> Result<Option<StoredValue>, StoreError> {
    let row: Option<(String, i64, i64)> = conn
        .prepare_cached("SELECT value, revision, updated_ms FROM kv WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(value, revision, updated)| {
        Ok(StoredValue {
            value: serde_json::from_str(&value).map_err(|e| corrupt(key, e))?,
            revision: u64::try_from(revision).unwrap_or(0),
            updated_at: from_ms(updated),
        })
    })
    .transpose()
}
