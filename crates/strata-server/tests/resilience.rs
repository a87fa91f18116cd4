//! The API when things go wrong around it, through real HTTP against the real PostgreSQL server:
//! PostgreSQL going away and coming back (503, then recovery without a restart), callers over
//! their rate (429), and list pages that stay stable while rows are inserted.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

mod common;

use common::{Options, start_with};

/// A TCP relay in front of the PostgreSQL server that can be "unplugged": while down it closes
/// every relayed connection and refuses new ones, as a crashed or restarting server does.
struct Plug {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every unplug; relays watching it close their connections.
    generation: watch::Sender<u64>,
}

impl Plug {
    async fn start(upstream: SocketAddr) -> Plug {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay addr");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let plug = Plug {
            addr,
            up: up.clone(),
            generation: generation.clone(),
        };
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        plug
    }

    fn unplug(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn plug_in(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn content_type(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn tag(name: &str) -> Value {
    json!({"category_name": "resilience", "tag_name": name})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_503_and_the_server_recovers_without_restart() {
    let upstream: SocketAddr = {
        let admin: url::Url = strata_testkit::admin_url().parse().expect("admin url");
        let host = admin.host_str().unwrap_or("127.0.0.1");
        let port = admin.port().unwrap_or(5432);
        tokio::net::lookup_host((host, port))
            .await
            .expect("resolve PostgreSQL")
            .next()
            .expect("an address for PostgreSQL")
    };
    let plug = Plug::start(upstream).await;
    let s = start_with(Options {
        postgres_via: Some(plug.addr),
        ..Options::default()
    })
    .await;

    let (status, _, created) = s.post("/v1/tags", tag("before")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    plug.unplug();
    // Reads and writes both answer 503 problem+json while PostgreSQL is away (the key check
    // itself needs PostgreSQL: it must not turn into a 401).
    let (status, headers, body) = s.get("/v1/tags").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(content_type(&headers).starts_with("application/problem+json"));
    assert!(
        headers.contains_key("retry-after"),
        "503 says when to retry"
    );
    let (status, _, body) = s.post("/v1/tags", tag("during")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The health check says so, without a key: 503, `failing`, the database named.
    let (status, _, health) = s.req(reqwest::Method::GET, "/api/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["status"], "failing", "{health}");
    assert_eq!(health["database"], false, "{health}");
    assert_eq!(health["event_log"], true, "{health}");
    assert!(
        health["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("database")),
        "{health}"
    );
    common::Schemas::of(&s.openapi().await).assert_valid("ApiHealth", &health);

    plug.plug_in();
    // The same process serves again; the pool replaces its dead connections.
    let mut recovered = false;
    for _ in 0..50 {
        let (status, _, _) = s.get("/v1/tags").await;
        if status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the API did not recover after PostgreSQL came back"
    );
    let (status, _, body) = s.post("/v1/tags", tag("after")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Nothing was half-written: the write refused during the outage is not there.
    let (_, _, list) = s.get("/v1/tags?limit=100").await;
    let names: HashSet<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["tag_name"].as_str())
        .collect();
    assert_eq!(names, HashSet::from(["before", "after"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_over_its_rate_gets_429_with_retry_after() {
    // One request per second with a burst of two.
    let s = start_with(Options {
        rate_limit: 1.0,
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..6 {
        let (status, headers, body) = s.get("/v1/tags").await;
        statuses.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((headers, body));
        }
    }
    assert_eq!(statuses[0], StatusCode::OK);
    let (headers, body) = limited.unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert!(content_type(&headers).starts_with("application/problem+json"));
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["status"], 429);
    // The bucket refills: after waiting, the caller is served again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, _) = s.get("/v1/tags").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stay_stable_while_rows_are_inserted() {
    let s = Arc::new(start_with(Options::default()).await);
    for i in 0..120 {
        let (status, _, body) = s.post("/v1/tags", tag(&format!("t{i:03}"))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let original: HashSet<String> = (0..120).map(|i| format!("t{i:03}")).collect();

    // A writer keeps inserting while a reader walks the pages.
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                let (status, _, body) = s.post("/v1/tags", tag(&format!("new{i:03}"))).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        })
    };
    let mut seen = Vec::new();
    let mut path = "/v1/tags?limit=7".to_string();
    loop {
        let (status, _, page) = s.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["uid"].as_str().expect("uid").to_string());
            let name = item["tag_name"].as_str().expect("tag_name").to_string();
            if !name.starts_with("new") {
                assert!(original.contains(&name));
            }
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tags?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    writer.await.expect("writer");

    // No row twice, every row that existed before the walk seen, and in uid order.
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row appeared on two pages");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "pages are in uid order");
    let (_, _, all) = s.get("/v1/tags?limit=500").await;
    let names_seen: HashSet<String> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|t| seen.contains(&t["uid"].as_str().unwrap_or_default().to_string()))
        .filter_map(|t| t["tag_name"].as_str().map(str::to_string))
        .collect();
    assert!(
        original.is_subset(&names_seen),
        "rows that existed before the walk were skipped"
    );
}
