//! One way to reach PostgreSQL whatever runs it: a pool over `DATABASE_URL`, or PostgreSQL
//! embedded in-process (PGlite) with its data under `--data-dir`.

mod connect;
#[cfg(feature = "embedded")]
mod embedded;
mod error;
mod lock;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};

use connect::Connections;

pub use error::{DbError, pg_reason};
pub use lock::DataDirLock;

/// Where the database is and how big the pool may be.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `postgres://…`; `None` runs the embedded engine under `data_dir`.
    pub database_url: Option<String>,
    /// Strata's local state (embedded database, locks).
    pub data_dir: PathBuf,
    /// Pool size for a server (the embedded engine always uses one connection).
    pub max_connections: usize,
}

impl DbConfig {
    pub fn new(database_url: Option<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            database_url,
            data_dir: data_dir.into(),
            max_connections: 16,
        }
    }
}

/// Which engine serves this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Any PostgreSQL reached by URL (PlanetScale, RDS, a local server).
    Server,
    /// PGlite (PostgreSQL 17 compiled to WebAssembly) in this process.
    Embedded,
}

/// A connected database: the pool, plus the embedded server it owns, if any.
pub struct Database {
    pool: Pool,
    connections: Connections,
    engine: Engine,
    /// Redacted description of where we are connected, for logs and summaries.
    target: String,
    #[cfg(feature = "embedded")]
    embedded: Option<embedded::EmbeddedServer>,
    _lock: Option<DataDirLock>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("engine", &self.engine)
            .field("target", &self.target)
            .finish()
    }
}

impl Database {
    /// Connect (starting the embedded engine when there is no URL) and check the connection.
    pub async fn connect(config: &DbConfig) -> Result<Self, DbError> {
        match &config.database_url {
            Some(url) => Self::connect_url(url, config.max_connections).await,
            None => Self::start_embedded(&config.data_dir).await,
        }
    }

    async fn connect_url(url: &str, max: usize) -> Result<Self, DbError> {
        let pg = parse_url(url)?;
        let target = describe(&pg);
        let connections = Connections::default();
        let pool = build_pool(pg, max, connections.clone())?;
        let db = Self {
            pool,
            connections,
            engine: Engine::Server,
            target,
            #[cfg(feature = "embedded")]
            embedded: None,
            _lock: None,
        };
        db.ping().await?;
        Ok(db)
    }

    #[cfg(feature = "embedded")]
    async fn start_embedded(data_dir: &Path) -> Result<Self, DbError> {
        let lock = DataDirLock::acquire(data_dir)?;
        let server = embedded::EmbeddedServer::start(data_dir.join("postgres")).await?;
        let pg = parse_url(&server.url)?;
        let target = format!(
            "embedded PostgreSQL in {}",
            data_dir.join("postgres").display()
        );
        // PGlite serves one connection at a time: a second one would block, not fail.
        let connections = Connections::default();
        let pool = build_pool(pg, 1, connections.clone())?;
        let db = Self {
            pool,
            connections,
            engine: Engine::Embedded,
            target,
            embedded: Some(server),
            _lock: Some(lock),
        };
        db.ping().await?;
        Ok(db)
    }

    #[cfg(not(feature = "embedded"))]
    async fn start_embedded(_data_dir: &Path) -> Result<Self, DbError> {
        Err(DbError::EmbeddedUnavailable)
    }

    async fn ping(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| DbError::from_pg(&self.target, e))?;
        Ok(())
    }

    /// A pooled connection. Fails with [`DbError::Unavailable`] when PostgreSQL is down.
    pub async fn client(&self) -> Result<Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::from_pool(&self.target, e))
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Where we are connected, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Close the pool and stop the embedded engine (flushing it to disk).
    pub async fn shutdown(self) -> Result<(), DbError> {
        self.pool.close();
        self.connections.drain(Duration::from_secs(5)).await;
        #[cfg(feature = "embedded")]
        if let Some(server) = self.embedded {
            server.stop().await?;
        }
        Ok(())
    }
}

fn build_pool(
    pg: tokio_postgres::Config,
    max: usize,
    connections: Connections,
) -> Result<Pool, DbError> {
    let manager = Manager::from_connect(
        pg,
        connections,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(10)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(|e| DbError::Config(e.to_string()))
}

/// Accept `postgres://` and `postgresql://` URLs (and libpq key=value strings); name anything else.
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, DbError> {
    if let Some((scheme, _)) = url.split_once("://")
        && scheme != "postgres"
        && scheme != "postgresql"
    {
        return Err(DbError::UnknownScheme(scheme.to_string()));
    }
    tokio_postgres::Config::from_str(url).map_err(|e| DbError::BadUrl(e.to_string()))
}

/// `user@host:port/db` without the password.
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{}/{}",
        pg.get_user().unwrap_or("?"),
        host,
        port,
        pg.get_dbname().unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scheme_is_named() {
        let err = parse_url("mysql://root@localhost/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mysql") && err.contains("postgres://"),
            "{err}"
        );
    }

    #[test]
    fn description_has_no_password() {
        let pg = parse_url("postgres://alice:secret@db.example:6543/shop").unwrap();
        let d = describe(&pg);
        assert_eq!(d, "alice@db.example:6543/shop");
    }
}
