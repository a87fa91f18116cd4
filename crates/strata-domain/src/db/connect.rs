//! How pooled connections are opened and closed.
//!
//! deadpool-postgres aborts a connection's task when the pooled client is dropped, so the
//! server never sees PostgreSQL's Terminate message. A real server shrugs that off; the
//! embedded engine treats it as a crash of its one backend. Here the connection task runs
//! detached: dropping the client lets it send Terminate and finish, and [`Connections::drain`]
//! waits for that before the embedded engine is stopped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::Connect;
use futures_util::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

/// Tracks the connection tasks so shutdown can wait for them.
#[derive(Clone, Default)]
pub struct Connections {
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Connections {
    /// Wait (bounded) for every closed client's connection to say goodbye to the server.
    pub async fn drain(&self, timeout: Duration) {
        let tasks: Vec<JoinHandle<()>> = match self.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => return,
        };
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!("database connections did not close in time");
        }
    }
}

impl Connect for Connections {
    fn connect(
        &self,
        pg_config: &Config,
    ) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let (client, connection) = pg_config.connect(NoTls).await?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "database connection closed with an error");
                }
            });
            // Timestamps leave PostgreSQL in UTC whatever the server's default zone.
            client.batch_execute("SET TIME ZONE 'UTC'").await?;
            if let Ok(mut tasks) = self.tasks.lock() {
                tasks.retain(|t| !t.is_finished());
                tasks.push(task);
            }
            // The pool aborts this handle when it drops the client; it is already done.
            Ok((client, tokio::spawn(async {})))
        })
    }
}
