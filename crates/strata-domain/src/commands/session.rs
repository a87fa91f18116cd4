//! A pooled connection with a hand-driven transaction, so `BEGIN` and `COMMIT` travel in the same
//! pipelined round trip as the statements around them (tokio-postgres' `Transaction` waits for
//! each on its own).
//!
//! Safety net: a session dropped while its transaction may still be open (a cancelled command, a
//! failed rollback) takes its connection out of the pool and closes it, so PostgreSQL rolls the
//! transaction back and no later user of the pool inherits it.

use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{ClientWrapper, Object};

use super::CommandError;
use crate::Database;

/// How a command's transaction starts. The commands run a fixed set of key lookups and inserts;
/// PostgreSQL's default (`auto`) re-plans several of them on every execution (each costs more
/// to plan than to run), so the transaction asks for the cached generic plans instead. `LOCAL`:
/// the setting ends with the transaction, and the pooled connection is left as it was.
pub(crate) const BEGIN_COMMAND: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

pub(crate) struct Session {
    client: Option<Object>,
    /// True from the moment `BEGIN` may have been sent until a COMMIT or ROLLBACK is known to
    /// have ended the transaction.
    open: AtomicBool,
}

impl Session {
    pub async fn new(db: &Database) -> Result<Self, CommandError> {
        Ok(Self {
            client: Some(db.client().await?),
            open: AtomicBool::new(false),
        })
    }

    pub fn client(&self) -> &ClientWrapper {
        // `client` is only taken in `drop`.
        self.client
            .as_deref()
            .expect("the session's connection is present until it is dropped")
    }

    /// Marks the transaction open and sends `begin` (e.g. `BEGIN`) when first polled.
    pub async fn begin(&self, begin: &str) -> Result<(), tokio_postgres::Error> {
        self.open.store(true, Ordering::Relaxed);
        self.client().batch_execute(begin).await
    }

    /// Sends `COMMIT` when first polled; call [`Session::committed`] once it succeeded.
    pub async fn commit(&self) -> Result<(), tokio_postgres::Error> {
        self.client().batch_execute("COMMIT").await
    }

    /// The `COMMIT` sent by [`Session::commit`] returned.
    pub fn committed(&self) {
        self.open.store(false, Ordering::Relaxed);
    }

    /// Ends the transaction after a failure. A COMMIT pipelined after a failed statement has
    /// already ended it (PostgreSQL turns it into a rollback); a second ROLLBACK is harmless.
    pub async fn rollback(&self) {
        if !self.open.load(Ordering::Relaxed) {
            return;
        }
        match self.client().batch_execute("ROLLBACK").await {
            Ok(()) => self.open.store(false, Ordering::Relaxed),
            Err(e) => tracing::debug!(error = %e, "ROLLBACK failed; the connection will be closed"),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open.load(Ordering::Relaxed)
            && let Some(object) = self.client.take()
        {
            // Detached from the pool and dropped: the connection closes and PostgreSQL rolls back.
            drop(Object::take(object));
        }
    }
}
