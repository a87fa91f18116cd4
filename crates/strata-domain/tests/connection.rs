//! Connecting: wrong URLs and unreachable servers fail with a message that says what to do, a
//! data directory serves one process, and embedded data survives a restart.

mod common;

use strata_domain::{Database, DbConfig, DbError};

#[tokio::test]
async fn unknown_url_scheme_is_named() {
    let dir = tempfile::tempdir().expect("create a temporary data directory");
    let config = DbConfig::new(Some("mysql://root@localhost/db".to_string()), dir.path());
    let err = Database::connect(&config)
        .await
        .expect_err("a mysql:// URL is refused");
    match &err {
        DbError::UnknownScheme(scheme) => assert_eq!(scheme, "mysql"),
        other => panic!("expected DbError::UnknownScheme, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("postgres://"),
        "the message shows the expected form: {message}"
    );
}

#[tokio::test]
async fn unreachable_server_names_the_target() {
    let dir = tempfile::tempdir().expect("create a temporary data directory");
    let config = DbConfig::new(
        Some("postgres://postgres@127.0.0.1:1/x".to_string()),
        dir.path(),
    );
    let err = Database::connect(&config)
        .await
        .expect_err("nothing listens on port 1");
    match &err {
        DbError::Unavailable { target, .. } => {
            assert!(target.contains("127.0.0.1:1"), "target: {target}")
        }
        other => panic!("expected DbError::Unavailable, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("127.0.0.1:1"),
        "the message names the target: {message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn locked_data_directory_is_refused() {
    let (db, dir) = common::open_embedded().await;
    let err = Database::connect(&DbConfig::new(None, dir.path()))
        .await
        .expect_err("a second open of a data directory in use fails");
    match &err {
        DbError::Locked { path, pid } => {
            assert_eq!(path, &dir.path().display().to_string());
            assert_eq!(
                *pid,
                Some(std::process::id()),
                "the lock file names the holder"
            );
        }
        other => panic!("expected DbError::Locked, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()) && message.contains("--data-dir"),
        "the message names the directory and the way out: {message}"
    );
    db.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_data_survives_a_restart() {
    let (db, dir) = common::open_embedded().await;
    {
        let client = db.client().await.expect("a connection");
        client
            .batch_execute(
                "CREATE TABLE survivor (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
                 INSERT INTO survivor VALUES (1, 'kept across a restart');",
            )
            .await
            .expect("create and fill a table");
    }
    db.shutdown()
        .await
        .expect("shutdown flushes the embedded engine");

    // The lock was released with the first engine, so the directory opens again.
    let db = common::open_embedded_in(&dir).await;
    {
        let client = db.client().await.expect("a connection");
        let rows: Vec<(i32, String)> = client
            .query("SELECT id, note FROM survivor ORDER BY id", &[])
            .await
            .expect("the table is still there")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(rows, vec![(1, "kept across a restart".to_string())]);
    }
    db.shutdown().await.expect("shutdown");
}
