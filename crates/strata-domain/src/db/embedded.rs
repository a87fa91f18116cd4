//! PostgreSQL embedded in-process through PGlite (PostgreSQL 17 compiled to WebAssembly),
//! speaking the normal wire protocol on a loopback port.

use std::path::PathBuf;

use pglite_oxide::PgliteServer;

use super::DbError;

pub(crate) struct EmbeddedServer {
    server: PgliteServer,
    pub url: String,
    path: PathBuf,
}

impl EmbeddedServer {
    /// Start (initialising on first use) the cluster under `path`. PGlite's calls block, so
    /// they run on the blocking pool.
    pub async fn start(path: PathBuf) -> Result<Self, DbError> {
        let p = path.clone();
        let started = std::time::Instant::now();
        let server = tokio::task::spawn_blocking(move || PgliteServer::builder().path(p).start())
            .await
            .map_err(|e| DbError::EmbeddedStart {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?
            .map_err(|e| DbError::EmbeddedStart {
                path: path.display().to_string(),
                reason: format!("{e:#}"),
            })?;
        let url = server.database_url();
        tracing::info!(
            path = %path.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded PostgreSQL started"
        );
        Ok(Self { server, url, path })
    }

    pub async fn stop(self) -> Result<(), DbError> {
        let path = self.path.display().to_string();
        tokio::task::spawn_blocking(move || self.server.shutdown())
            .await
            .map_err(|e| DbError::EmbeddedStop {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .map_err(|e| DbError::EmbeddedStop {
                path,
                reason: format!("{e:#}"),
            })
    }
}
