//! The lake on an S3-compatible endpoint: moto's S3 server (PyPI `moto[server]`), started by the
//! test on a free port. `scripts/test` puts a pinned `moto_server` on PATH (scripts/python-tools);
//! without one the test fails saying so: it never skips.

mod common;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{commerce_deliveries, total_of};
use strata_events::StreamName;
use strata_lake::{
    AppendOutcome, CatalogConfig, ColumnSum, DEFAULT_LANE, Lake, LakeConfig, LakeTable, S3Config,
    StorageConfig, WriteOptions,
};

/// A moto S3 server, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Sends one bodiless HTTP request and returns the status line.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response.lines().next().unwrap_or_default().to_owned())
}

fn start_moto() -> Moto {
    let port = free_port();
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "this test needs moto's S3 server and could not start `moto_server` ({e}): run it \
             through scripts/test, which installs it, or `pip install 'moto[server]'`"
        ),
    };
    let moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if http(port, "GET", "/").is_ok() {
            return moto;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto_server did not answer on port {port} within 30 s");
}

#[tokio::test]
async fn the_lake_writes_commits_and_scans_on_an_s3_endpoint() {
    let moto = start_moto();
    let status = http(moto.port, "PUT", "/strata-lake").expect("create bucket");
    assert!(status.contains(" 200"), "create bucket: {status}");

    let dir = tempfile::tempdir().expect("tempdir");
    let config = LakeConfig {
        catalog: CatalogConfig::Embedded {
            path: dir.path().join("catalog.db"),
        },
        storage: StorageConfig::S3(S3Config {
            warehouse: "s3://strata-lake/warehouse".to_owned(),
            endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
            region: Some("us-east-1".to_owned()),
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some("testing".into()),
            session_token: None,
            path_style_access: true,
        }),
        write: WriteOptions::default(),
    };
    let lake = Lake::open(config.clone()).await.expect("open");
    assert_eq!(lake.ensure_tables().await.expect("tables").len(), 6);

    let deliveries = commerce_deliveries(1, 120, 3);
    let outcome = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &deliveries)
        .await
        .expect("write");
    let report = outcome.committed().expect("committed");
    assert_eq!(report.rows, 120);
    assert_eq!(report.files.len(), 3);
    assert!(
        report.files.iter().all(|f| f
            .path
            .starts_with("s3://strata-lake/warehouse/commerce/telemetry/data/")),
        "{:?}",
        report.files
    );
    // Exactly once holds on object storage too.
    let again = lake
        .write_deliveries(StreamName::Commerce, DEFAULT_LANE, &deliveries)
        .await
        .expect("again");
    assert!(matches!(again, AppendOutcome::AlreadyCommitted { .. }));

    // A fresh process reads it back through the scan and resumes from the lake's offsets.
    drop(lake);
    let lake = Lake::open(config).await.expect("reopen");
    let ident = LakeTable::Telemetry(StreamName::Commerce).ident();
    let stats = lake.scan_stats(&ident, Some("total")).await.expect("scan");
    assert_eq!(stats.rows, 120);
    assert_eq!(stats.sum, Some(ColumnSum::Decimal(total_of(&deliveries))));
    assert_eq!(
        lake.committed_offset(StreamName::Commerce, DEFAULT_LANE)
            .await
            .expect("offset"),
        120
    );
    let described = lake.describe(&ident).await.expect("describe");
    assert_eq!(described.files.len(), 3);
    assert!(described.location.starts_with("s3://strata-lake/"));
}
