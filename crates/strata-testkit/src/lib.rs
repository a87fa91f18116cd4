//! Test harness: a fresh PostgreSQL database per test on the local server, or an embedded
//! (PGlite) database in a temporary directory.
//!
//! The server tests need a running PostgreSQL reachable at `STRATA_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role allowed to create databases). When it is
//! unreachable, the tests fail with a message saying so: they never skip silently.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use strata_domain::{Database, DbConfig};
use tempfile::TempDir;
use tokio_postgres::NoTls;

/// The maintenance database the tests create their databases from.
pub fn admin_url() -> String {
    std::env::var("STRATA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `url` with its database name replaced by `dbname` (URLs only, not key=value strings).
pub fn url_with_dbname(url: &str, dbname: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        panic!(
            "STRATA_TEST_DATABASE_URL must be a postgres:// URL, got {url:?} \
             (key=value connection strings are not supported by the test harness)"
        );
    };
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_start = scheme_end + 3;
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{dbname}{query}", &base[..authority_end])
}

/// A tokio-postgres error with its cause (its Display alone hides why a connection failed).
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_db_name() -> String {
    let random = RandomState::new().hash_one(std::time::SystemTime::now()) as u32;
    format!(
        "strata_test_{}_{}_{random:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn admin_client(admin: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(admin, NoTls).await?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; an error here shows up on the client.
        let _ = connection.await;
    });
    Ok(client)
}

/// A database created for one test on the local server, dropped when this value is dropped.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub name: String,
}

impl TestDb {
    /// Create a fresh, empty database. Panics with a clear message when PostgreSQL is unreachable.
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let client = admin_client(&admin).await.unwrap_or_else(|e| {
            panic!(
                "these tests need a PostgreSQL server: cannot connect to {admin} ({}); \
                 start PostgreSQL or set STRATA_TEST_DATABASE_URL to a role that may CREATE DATABASE",
                describe_error(&e)
            )
        });
        let name = unique_db_name();
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin} failed: {e:?}"));
        TestDb {
            url: url_with_dbname(&admin, &name),
            name,
        }
    }

    /// A plain tokio-postgres connection to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test database {}: {e:?}", self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop may run inside a tokio runtime (where blocking on another runtime panics), so the
        // DROP DATABASE runs on a thread of its own with its own small runtime.
        let admin = admin_url();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            runtime.block_on(async {
                let client = admin_client(&admin)
                    .await
                    .map_err(|e| format!("cannot connect to {admin}: {e:?}"))?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| format!("DROP DATABASE {name}: {e:?}"))
            })
        })
        .join();
        // Never panic in Drop (it may run while a failed test unwinds): say what was left behind.
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: test database {} not dropped: {e}", self.name),
            Err(_) => eprintln!(
                "warning: test database {} not dropped: the dropping thread panicked",
                self.name
            ),
        }
    }
}

/// A `Database` on the local server, in a fresh database. Keep the `TestDb` alive while it is used.
pub async fn open_server() -> (Database, TestDb, TempDir) {
    let test_db = TestDb::create().await;
    let dir = tempfile::tempdir().expect("create a temporary data directory");
    let db = Database::connect(&DbConfig::new(Some(test_db.url.clone()), dir.path()))
        .await
        .unwrap_or_else(|e| panic!("connect to test database {}: {e}", test_db.name));
    (db, test_db, dir)
}

/// A `Database` on the embedded engine, with its data in a fresh temporary directory.
pub async fn open_embedded() -> (Database, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary data directory");
    let db = open_embedded_in(&dir).await;
    (db, dir)
}

/// A `Database` on the embedded engine with its data under `dir`.
pub async fn open_embedded_in(dir: &TempDir) -> Database {
    Database::connect(&DbConfig::new(None, dir.path()))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "start the embedded database in {}: {e}",
                dir.path().display()
            )
        })
}
