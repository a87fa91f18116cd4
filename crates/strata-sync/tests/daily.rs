//! `daily_shopify_sync` end to end: the Shopify stand-in, a real PostgreSQL (a fresh database per
//! world), the event log and the lake in a temporary data directory with the pipelines running
//! (the refresh step waits for them), and the workflow engine on its SQLite store there.
//!
//! What is compared is what a sync must get right: the rows in PostgreSQL (counts and a checksum
//! of every order and line item column but `update_ts`), the watermark, the archive; against the
//! stand-in's own summary, and between a run that was disturbed (faults, a crash) and one that
//! was not.
//!
//! `cargo test -p strata-sync --test daily` (needs PostgreSQL at STRATA_TEST_DATABASE_URL,
//! default postgres://postgres@127.0.0.1:5432/postgres).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};
use strata_domain::Database;
use strata_events::{Event, EventLog, FsyncPolicy, SqliteLog, SqliteOptions, StreamName};
use strata_lake::{Lake, LakeConfig};
use strata_pipeline::{Definitions, PipelineConfig, PipelineSet};
use strata_shopify::stand_in::{StandIn, StandInOptions, Truncation};
use strata_sync::daily::{StepHook, WATERMARK_KEY};
use strata_sync::{BulkSignals, DAILY_SHOPIFY_SYNC, DailyShopifySync, DailySyncOptions, SyncEnv};
use strata_testkit::TestDb;
use strata_workflow::{
    Backoff, CreateInstance, Engine, EngineOptions, EventLogSink, Instance, InstanceId,
    InstanceStatus, RetryPolicy, StepState,
    store::{Role, SqliteStore},
};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// The steps of a run without faults, in order.
const STEPS: [&str; 7] = [
    "read-watermark",
    "start-bulk-query",
    "await-bulk-query",
    "archive-jsonl",
    "ingest-orders",
    "refresh-measurements",
    "advance-watermark",
];

/// One data directory (event log, lake, workflow store), one database, the pipelines.
struct World {
    db: Arc<Database>,
    log: Arc<SqliteLog>,
    lake: Lake,
    pipelines: Option<PipelineSet>,
    dir: TempDir,
    /// What the webhook route would notify.
    signals: BulkSignals,
    _test_db: TestDb,
    _db_dir: TempDir,
}

impl World {
    async fn new() -> World {
        let (db, test_db, db_dir) = strata_testkit::open_server().await;
        {
            let mut client = db.client().await.expect("client");
            strata_schema::migrate::apply(
                &mut client,
                &strata_schema::SchemaSource::embedded(),
                |_, _, _| {},
            )
            .await
            .expect("apply the schema");
        }
        let dir = tempfile::tempdir().expect("data dir");
        let streams = dir.path().join("streams");
        std::fs::create_dir_all(&streams).expect("streams dir");
        let log = Arc::new(
            SqliteLog::open(
                &streams,
                SqliteOptions {
                    fsync: FsyncPolicy::Normal,
                    ..SqliteOptions::default()
                },
            )
            .expect("event log"),
        );
        let lake = Lake::open(LakeConfig::embedded(dir.path()))
            .await
            .expect("lake");
        let mut config = PipelineConfig::default();
        config.batch.roll_interval = Duration::from_millis(200);
        config.poll_interval = Duration::from_millis(50);
        let pipelines = PipelineSet::start(
            log.clone(),
            lake.clone(),
            &Definitions::BuiltIn,
            config,
            CancellationToken::new(),
        )
        .await
        .expect("pipelines");
        World {
            db: Arc::new(db),
            log,
            lake,
            pipelines: Some(pipelines),
            dir,
            signals: BulkSignals::new(),
            _test_db: test_db,
            _db_dir: db_dir,
        }
    }

    fn env(&self, shop: &StandIn) -> Arc<SyncEnv> {
        let mut config = shop.config();
        // Few client-side retries, so the workflow's own retries are what recovers.
        config.retry.max_retries = 1;
        config.retry.base_delay = Duration::from_millis(10);
        Arc::new(SyncEnv {
            db: self.db.clone(),
            lake: self.lake.clone(),
            data_dir: self.dir.path().to_path_buf(),
            zone: Default::default(),
            events: self.log.clone(),
            shopify: Some(config),
            bulk_signals: self.signals.clone(),
        })
    }

    /// The data directory's workflow store, to execute. A previous engine's tasks may still be
    /// letting go of it for a moment after it stopped.
    fn executor_store(&self) -> SqliteStore {
        let dir = self.dir.path().join("workflows");
        for _ in 0..100 {
            match SqliteStore::open(&dir, Role::Executor) {
                Ok(store) => return store,
                Err(strata_workflow::StoreError::Locked { .. }) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("workflow store: {e}"),
            }
        }
        panic!("the workflow store stayed locked by a stopped engine");
    }

    /// An engine on the data directory's workflow store with the sync registered.
    fn engine(&self, shop: &StandIn, options: DailySyncOptions) -> Engine {
        let store = self.executor_store();
        let sync = DailyShopifySync::with_options(self.env(shop), options)
            .expect("client")
            .expect("shop configured");
        Engine::new(
            Arc::new(store),
            Arc::new(EventLogSink(self.log.clone())),
            EngineOptions {
                poll_interval: Duration::from_millis(50),
                ..EngineOptions::default()
            },
        )
        .register(sync)
    }

    /// Runs one instance to the end on a fresh engine; returns it and its steps.
    async fn run(
        &self,
        shop: &StandIn,
        id: &str,
        params: Value,
        options: DailySyncOptions,
    ) -> (Instance, Vec<strata_workflow::StepRecord>) {
        let engine = self.engine(shop, options);
        let id = InstanceId::parse(id).unwrap();
        engine
            .create(CreateInstance {
                workflow: DAILY_SHOPIFY_SYNC.into(),
                id: Some(id.clone()),
                params,
                trigger: "test".into(),
            })
            .await
            .expect("create");
        let stop = CancellationToken::new();
        let runner = {
            let engine = engine.clone();
            let stop = stop.clone();
            tokio::spawn(async move { engine.run(stop).await })
        };
        let done = engine
            .wait_settled(&id, Duration::from_secs(240))
            .await
            .expect("wait");
        let steps = engine.steps(&id).await.expect("steps");
        stop.cancel();
        runner.await.expect("join").expect("engine");
        (done, steps)
    }

    /// The stored watermark's time.
    async fn watermark(&self) -> Option<String> {
        let store = SqliteStore::open(&self.dir.path().join("workflows"), Role::Client)
            .expect("workflow store");
        let engine = Engine::new(
            Arc::new(store),
            Arc::new(EventLogSink(self.log.clone())),
            EngineOptions::default(),
        );
        engine
            .values()
            .get(WATERMARK_KEY)
            .await
            .expect("value")
            .and_then(|v| v.value["updated_at"].as_str().map(str::to_owned))
    }

    async fn int(&self, sql: &str) -> i64 {
        let client = self.db.client().await.expect("client");
        client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    /// Row counts of every table the ingest writes, and a checksum of every column of the order
    /// headers and line items but `update_ts` (uids are derived from Shopify's ids, so two
    /// databases fed the same orders agree).
    async fn state(&self) -> Vec<(String, String)> {
        let client = self.db.client().await.expect("client");
        let mut out = Vec::new();
        for table in [
            "order_header",
            "order_line_item",
            "order_line_item_tax_line",
            "order_line_item_adjustment",
            "order_address",
            "order_summary",
            "product",
            "product_tag",
            "customer",
            "store",
        ] {
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("count")
                .get(0);
            out.push((table.to_owned(), n.to_string()));
        }
        for table in ["order_header", "order_line_item"] {
            let sum: Option<String> = client
                .query_one(
                    &format!(
                        "SELECT md5(string_agg((to_jsonb(t) - 'update_ts')::text, '|' ORDER BY t.uid)) FROM {table} t"
                    ),
                    &[],
                )
                .await
                .expect("checksum")
                .get(0);
            out.push((format!("{table} checksum"), sum.unwrap_or_default()));
        }
        out
    }

    /// Rows and the latest `update_ts` of the tables the ingest writes: equal, nothing written.
    async fn fingerprint(&self) -> Vec<(i64, Option<DateTime<Utc>>)> {
        let client = self.db.client().await.expect("client");
        let mut out = Vec::new();
        for table in [
            "order_header",
            "order_line_item",
            "order_address",
            "product",
            "product_tag",
            "customer",
        ] {
            let row = client
                .query_one(
                    &format!("SELECT count(*), max(update_ts) FROM {table}"),
                    &[],
                )
                .await
                .expect("fingerprint");
            out.push((row.get(0), row.get(1)));
        }
        out
    }

    /// The commerce events in the log.
    async fn commerce_events(&self) -> usize {
        self.log
            .read(StreamName::Commerce, "daily-test", 10_000_000)
            .await
            .expect("read the log")
            .into_iter()
            .filter(|d| matches!(d.event, Event::Commerce(_)))
            .count()
    }

    /// `(run, step, watermark)` of the sync audit events of `run` that reported a watermark.
    async fn audited_watermarks(&self, run: &str) -> Vec<(String, Option<String>)> {
        self.log
            .read(StreamName::Sync, "daily-test", 10_000_000)
            .await
            .expect("read the log")
            .into_iter()
            .filter_map(|d| match d.event {
                Event::Sync(e) if e.body.run_id == run && e.body.watermark.is_some() => {
                    Some((e.body.step.unwrap_or_default(), e.body.watermark))
                }
                _ => None,
            })
            .collect()
    }

    async fn shutdown(mut self) {
        if let Some(p) = self.pipelines.take() {
            for r in p.shutdown().await {
                r.expect("a pipeline failed");
            }
        }
    }
}

/// A stand-in whose orders were updated over the last 20 days (the sync reads 128 days back).
async fn stand_in(orders: usize) -> StandIn {
    let now = Utc::now().with_nanosecond(0).unwrap();
    StandIn::start(StandInOptions {
        orders,
        products: 30,
        created_from: now - chrono::Duration::days(20),
        created_to: now - chrono::Duration::hours(1),
        bulk_duration: Duration::from_millis(20),
        ..StandInOptions::default()
    })
    .await
    .expect("stand-in")
}

type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Short waits and retries.
fn fast() -> DailySyncOptions {
    let retry = RetryPolicy {
        limit: 4,
        delay: Duration::from_millis(50),
        backoff: Backoff::Constant,
    };
    DailySyncOptions {
        poll_interval: Duration::from_millis(20),
        retries: retry,
        refresh_retries: retry,
        landing_timeout: Duration::from_secs(60),
        max_bulk_rounds: 3,
        after_step: None,
    }
}

fn hook(f: impl Fn(&str) + Send + Sync + 'static) -> Option<StepHook> {
    Some(Arc::new(move |step: &str| -> HookFuture {
        f(step);
        Box::pin(async {})
    }))
}

fn attempts(steps: &[strata_workflow::StepRecord], name: &str) -> u32 {
    match steps.iter().find(|s| s.name == name).map(|s| &s.state) {
        Some(StepState::Done { attempts, .. }) => *attempts,
        other => panic!("step {name}: {other:?}"),
    }
}

fn complete(instance: &Instance) -> &Value {
    assert_eq!(
        instance.status,
        InstanceStatus::Complete,
        "{:?}",
        instance.error
    );
    instance.output.as_ref().expect("output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_ingests_every_order_and_a_second_run_writes_nothing() {
    let shop = stand_in(120).await;
    let world = World::new().await;
    let summary = shop.summary(None);

    let (first, steps) = world.run(&shop, "sync-1", Value::Null, fast()).await;
    let out = complete(&first);
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, STEPS, "one step of each, in order");
    assert_eq!(out["ingest"]["orders_new"], json!(summary.orders));
    assert_eq!(out["ingest"]["line_items"], json!(summary.line_items));
    assert_eq!(out["quarantined_total"], json!(0));
    assert_eq!(out["ingest"]["quarantined_total"], json!(0));
    assert_eq!(
        world.int("SELECT count(*) FROM order_header").await,
        summary.orders as i64
    );
    assert_eq!(
        world.int("SELECT count(*) FROM order_line_item").await,
        summary.line_items as i64
    );
    assert_eq!(
        world
            .int("SELECT sum(quantity)::bigint FROM order_line_item")
            .await,
        summary.total_quantity as i64
    );
    assert_eq!(
        world.int("SELECT count(*) FROM product").await,
        world
            .int("SELECT count(DISTINCT product_uid) FROM order_line_item")
            .await
    );

    // The refresh measured the new sales (from the lake, after the events landed).
    match steps
        .iter()
        .find(|s| s.name == "refresh-measurements")
        .map(|s| &s.state)
    {
        Some(StepState::Done { result, .. }) => {
            assert!(result["sales"]["rows"].as_u64().unwrap() > 0, "{result}");
            assert!(result["sales"]["source_snapshot"].is_i64(), "{result}");
            assert!(
                result["performance"]["rows"].as_u64().unwrap() > 0,
                "{result}"
            );
        }
        other => panic!("refresh-measurements: {other:?}"),
    }

    // The archive holds the whole result.
    assert_eq!(out["archive"], json!("archives/ingest/sync-1.jsonl"));
    let archived = world
        .lake
        .archive()
        .unwrap()
        .size("archives/ingest/sync-1.jsonl")
        .await
        .unwrap();
    assert!(archived.is_some_and(|n| n > 0), "{archived:?}");
    assert_eq!(Some(out["archive_bytes"].as_u64().unwrap()), archived);
    assert_eq!(shop.stats().bulk_operations, 1);

    // The first run read 128 days back, and the watermark is the latest updatedAt it read.
    let since = DateTime::parse_from_rfc3339(out["since"].as_str().unwrap()).unwrap();
    let lookback = (Utc::now() - since.with_timezone(&Utc)).num_days();
    assert!((127..=128).contains(&lookback), "{since}");
    let watermark = world.watermark().await.expect("a watermark");
    assert_eq!(out["watermark"], json!(watermark));
    assert_eq!(out["ingest"]["max_updated_at"], json!(watermark));
    // … reported in the audit trail by the step that advanced it.
    assert!(
        world
            .audited_watermarks("sync-1")
            .await
            .contains(&("advance-watermark".to_owned(), Some(watermark.clone()))),
        "{:?}",
        world.audited_watermarks("sync-1").await
    );
    // The events are in the lake (the refresh waited for them).
    let head = world
        .log
        .stats(StreamName::Commerce)
        .await
        .unwrap()
        .head_offset;
    assert!(head > 0);
    assert!(
        world
            .lake
            .committed_offset(StreamName::Commerce, strata_lake::DEFAULT_LANE)
            .await
            .unwrap()
            >= out["ingest"]["events_appended"].as_u64().unwrap()
    );

    // --- A second run with nothing changed on Shopify: from the watermark, nothing written.
    let before = world.fingerprint().await;
    let events = world.commerce_events().await;
    let (second, _) = world.run(&shop, "sync-2", Value::Null, fast()).await;
    let out2 = complete(&second);
    assert_eq!(out2["since"], json!(watermark));
    assert_eq!(out2["ingest"]["orders_new"], json!(0));
    assert_eq!(out2["ingest"]["orders_changed"], json!(0));
    assert_eq!(out2["ingest"]["events_appended"], json!(0));
    assert_eq!(out2["watermark"], json!(watermark));
    assert_eq!(out2["watermark_advanced"], json!(false));
    assert_eq!(world.fingerprint().await, before, "no row written");
    assert_eq!(world.commerce_events().await, events, "no event appended");

    // --- An order edited and two added on Shopify: exactly those come in, the watermark follows.
    let at = Utc::now().with_nanosecond(0).unwrap() - chrono::Duration::minutes(1);
    let edited = shop.order_ids(None)[7];
    shop.update_order(edited, at).unwrap();
    let added = shop.add_orders(2, at);
    let (third, _) = world.run(&shop, "sync-3", Value::Null, fast()).await;
    let out3 = complete(&third);
    assert_eq!(out3["ingest"]["orders_new"], json!(added.len()));
    assert_eq!(out3["ingest"]["orders_changed"], json!(1));
    let moved = world.watermark().await.expect("a watermark");
    assert_eq!(
        DateTime::parse_from_rfc3339(&moved).unwrap(),
        at.fixed_offset()
    );
    assert_eq!(
        world.int("SELECT count(*) FROM order_header").await,
        shop.summary(None).orders as i64
    );

    // --- A backfill from an older `since` reads more but never moves the watermark back.
    let (fourth, _) = world
        .run(
            &shop,
            "sync-4",
            json!({ "since": (Utc::now() - chrono::Duration::days(400)).to_rfc3339() }),
            fast(),
        )
        .await;
    let out4 = complete(&fourth);
    assert_eq!(
        out4["ingest"]["orders_unchanged"],
        json!(shop.summary(None).orders)
    );
    assert_eq!(world.watermark().await, Some(moved));

    world.shutdown().await;
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameters_fail_the_run_at_once() {
    let shop = stand_in(5).await;
    let world = World::new().await;
    let (run, steps) = world
        .run(
            &shop,
            "sync-bad",
            json!({ "sicne": "2026-01-01T00:00:00Z" }),
            fast(),
        )
        .await;
    assert_eq!(run.status, InstanceStatus::Errored);
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains("sicne") && error.contains("since"),
        "{error}"
    );
    assert!(steps.is_empty());
    assert_eq!(shop.stats().bulk_operations, 0);
    world.shutdown().await;
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_faults_are_retried_and_the_run_ends_as_a_clean_one() {
    let shop = Arc::new(stand_in(80).await);
    let clean = World::new().await;
    let (run, _) = clean.run(&shop, "clean", Value::Null, fast()).await;
    complete(&run);
    let expected = clean.state().await;
    let expected_watermark = clean.watermark().await;
    clean.shutdown().await;

    // 5xx on the bulk query's start and on the polls, a FAILED operation, a cut download.
    let faulty = World::new().await;
    shop.fail_next_requests(4, 503);
    shop.fail_next_bulk_operation("INTERNAL_SERVER_ERROR");
    let armed = shop.clone();
    let options = DailySyncOptions {
        after_step: hook(move |step| match step {
            "start-bulk-query" => armed.fail_next_requests(3, 502),
            "await-bulk-query-2" => {
                armed.truncate_next_download(Truncation::CutConnection { keep_bytes: 300 })
            }
            _ => {}
        }),
        ..fast()
    };
    let bulk_before = shop.stats().bulk_operations;
    let (run, steps) = faulty.run(&shop, "faulty", Value::Null, options).await;
    let out = complete(&run);
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "read-watermark",
            "start-bulk-query",
            "await-bulk-query",
            "start-bulk-query-2",
            "await-bulk-query-2",
            "archive-jsonl",
            "ingest-orders",
            "refresh-measurements",
            "advance-watermark"
        ]
    );
    assert!(attempts(&steps, "start-bulk-query") > 1, "{steps:?}");
    assert!(attempts(&steps, "await-bulk-query") > 1, "{steps:?}");
    assert!(attempts(&steps, "archive-jsonl") > 1, "{steps:?}");
    let failed = steps.iter().find(|s| s.name == "await-bulk-query").unwrap();
    assert!(
        matches!(&failed.state, StepState::Done { result, .. }
            if result["status"] == "failed" && result["error_code"] == "INTERNAL_SERVER_ERROR"),
        "{failed:?}"
    );
    assert_eq!(shop.stats().bulk_operations - bulk_before, 2);
    assert_eq!(
        out["bulk_operation"],
        json!(format!(
            "gid://shopify/BulkOperation/{}",
            4_100_000_000u64 + shop.stats().bulk_operations
        ))
    );
    assert_eq!(faulty.state().await, expected);
    assert_eq!(faulty.watermark().await, expected_watermark);

    // ACCESS_DENIED is not passing: the run fails at once with Shopify's code, nothing moves.
    let before = faulty.state().await;
    shop.fail_next_bulk_operation("ACCESS_DENIED");
    let (denied, steps) = faulty.run(&shop, "denied", Value::Null, fast()).await;
    assert_eq!(denied.status, InstanceStatus::Errored);
    let error = denied.error.unwrap_or_default();
    assert!(
        error.contains("await-bulk-query") && error.contains("ACCESS_DENIED"),
        "{error}"
    );
    assert!(matches!(
        steps.last().map(|s| &s.state),
        Some(StepState::Failed { attempts: 1, .. })
    ));
    assert_eq!(faulty.state().await, before);
    assert_eq!(faulty.watermark().await, expected_watermark);

    // Failing every round gives up with the code, the watermark unmoved.
    let armed = shop.clone();
    armed.fail_next_bulk_operation("TIMEOUT");
    let options = DailySyncOptions {
        max_bulk_rounds: 2,
        after_step: hook(move |step| {
            if step.starts_with("await-bulk-query") {
                armed.fail_next_bulk_operation("TIMEOUT");
            }
        }),
        ..fast()
    };
    let (timeouts, _) = faulty.run(&shop, "timeouts", Value::Null, options).await;
    assert_eq!(timeouts.status, InstanceStatus::Errored);
    let error = timeouts.error.unwrap_or_default();
    assert!(
        error.contains("TIMEOUT") && error.contains("watermark is unchanged"),
        "{error}"
    );
    assert_eq!(faulty.watermark().await, expected_watermark);

    faulty.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_step_boundary_resumes_to_the_state_of_a_clean_run() {
    let shop = stand_in(60).await;
    let clean = World::new().await;
    let (run, _) = clean.run(&shop, "run", Value::Null, fast()).await;
    let clean_out = complete(&run).clone();
    let expected = clean.state().await;
    let expected_watermark = clean.watermark().await;
    let expected_events = clean.commerce_events().await;
    assert!(
        expected.iter().all(|(_, v)| !v.is_empty() && v != "0"),
        "{expected:?}"
    );
    clean.shutdown().await;

    for (k, crash_at) in STEPS.iter().enumerate() {
        let world = World::new().await;
        let bulk_before = shop.stats().bulk_operations;

        // The first process stops dead once step `crash_at` is stored: the hook cancels its
        // engine and never returns, so nothing after the step runs in it.
        let stop = CancellationToken::new();
        let options = DailySyncOptions {
            after_step: {
                let stop = stop.clone();
                let crash_at = crash_at.to_string();
                Some(Arc::new(move |step: &str| -> HookFuture {
                    let crash = step == crash_at;
                    let stop = stop.clone();
                    Box::pin(async move {
                        if crash {
                            stop.cancel();
                            std::future::pending::<()>().await;
                        }
                    })
                }))
            },
            ..fast()
        };
        let engine = world.engine(&shop, options);
        let id = InstanceId::parse("run").unwrap();
        engine
            .create(CreateInstance {
                workflow: DAILY_SHOPIFY_SYNC.into(),
                id: Some(id.clone()),
                params: Value::Null,
                trigger: "test".into(),
            })
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(120), engine.run(stop))
            .await
            .expect("the first process reaches the crash")
            .expect("engine");
        let stored = engine.steps(&id).await.unwrap();
        assert_eq!(
            stored.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            STEPS[..=k],
            "crash after {crash_at}"
        );
        assert!(!engine.get(&id).await.unwrap().status.is_finished());
        drop(engine);

        // A new process on the same store resumes after the last stored step.
        let (resumed, steps) = world.run(&shop, "run", Value::Null, fast()).await;
        let out = complete(&resumed);
        for name in STEPS {
            assert_eq!(attempts(&steps, name), 1, "crash after {crash_at}: {name}");
        }
        assert_eq!(
            shop.stats().bulk_operations - bulk_before,
            1,
            "crash after {crash_at}: one bulk query in all"
        );
        assert_eq!(world.state().await, expected, "crash after {crash_at}");
        assert_eq!(world.watermark().await, expected_watermark);
        assert_eq!(world.commerce_events().await, expected_events);
        for key in ["orders_new", "line_items", "events_appended"] {
            assert_eq!(out["ingest"][key], clean_out["ingest"][key], "{key}");
        }
        assert_eq!(out["watermark"], clean_out["watermark"]);
        world.shutdown().await;
    }
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_line_is_quarantined_with_its_line_number_and_the_run_goes_on() {
    let shop = stand_in(40).await;
    let world = World::new().await;
    // Line 1 is the first order: cut in half, it is not JSON, and its line items are orphans.
    shop.corrupt_lines_in_next_bulk([1]);
    let (run, _) = world.run(&shop, "corrupt", Value::Null, fast()).await;
    let out = complete(&run);
    let summary = shop.summary(None);
    let quarantined = out["quarantined"].as_array().unwrap();
    assert_eq!(quarantined[0]["line_no"], json!(1));
    assert!(
        quarantined[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{quarantined:?}"
    );
    assert!(
        quarantined[1..]
            .iter()
            .all(|q| q["reason"].as_str().unwrap().contains("orphan")),
        "{quarantined:?}"
    );
    let total = out["quarantined_total"].as_u64().unwrap();
    assert_eq!(total as usize, quarantined.len());
    assert_eq!(out["ingest"]["quarantined_total"], json!(total));
    // Every other order and line item is in.
    assert_eq!(out["ingest"]["orders_new"], json!(summary.orders - 1));
    assert_eq!(
        world.int("SELECT count(*) FROM order_header").await,
        summary.orders as i64 - 1
    );
    assert_eq!(
        world.int("SELECT count(*) FROM order_line_item").await,
        (summary.line_items - (total - 1)) as i64
    );
    assert!(world.watermark().await.is_some());
    world.shutdown().await;
    shop.shutdown().await;
}

/// An attempt that started the bulk query and died before storing the step leaves the query
/// running on Shopify; the next attempt takes it over instead of being refused until it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_query_left_running_by_a_crashed_attempt_is_taken_over() {
    let now = Utc::now().with_nanosecond(0).unwrap();
    let shop = StandIn::start(StandInOptions {
        orders: 15,
        products: 5,
        created_from: now - chrono::Duration::days(20),
        created_to: now - chrono::Duration::hours(1),
        // Still running when the sync starts, long after the fast retries would have given up.
        bulk_duration: Duration::from_secs(4),
        ..StandInOptions::default()
    })
    .await
    .expect("stand-in");
    let since = now - chrono::Duration::days(10);
    let client = strata_shopify::AdminClient::new(shop.config()).expect("client");
    let left = client
        .run_bulk_query(&strata_shopify::orders::orders_bulk_query(Some(since)))
        .await
        .expect("the crashed attempt's query");
    // Another query of the app (say, the products) is not taken for ours.
    let other = client
        .current_bulk_operation()
        .await
        .expect("current")
        .expect("running");
    assert!(!other.runs("query { products { edges { node { id } } } }"));

    let world = World::new().await;
    let (run, steps) = world
        .run(&shop, "taken-over", json!({ "since": since }), fast())
        .await;
    let out = complete(&run);
    assert_eq!(out["bulk_operation"], json!(left.id.to_string()));
    assert_eq!(attempts(&steps, "start-bulk-query"), 1);
    let expected = shop.summary(Some(since)).orders;
    assert!(
        expected > 0,
        "the stand-in has orders updated since {since}"
    );
    assert_eq!(
        world.int("SELECT count(*) FROM order_header").await,
        i64::try_from(expected).expect("a count")
    );
    world.shutdown().await;
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finish_webhook_signal_cuts_the_bulk_wait_short() {
    let shop = stand_in(10).await;
    let world = World::new().await;
    // Polls a minute apart: only the signal can end the wait within the test's time.
    let signals = world.signals.clone();
    let options = DailySyncOptions {
        poll_interval: Duration::from_secs(60),
        after_step: hook(move |step| {
            if step == "start-bulk-query" {
                let signals = signals.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    // The stand-in numbers its operations from 4100000001.
                    signals.notify("gid://shopify/BulkOperation/4100000001");
                });
            }
        }),
        ..fast()
    };
    let started = std::time::Instant::now();
    let (run, _) = world.run(&shop, "signalled", Value::Null, options).await;
    complete(&run);
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    assert!(world.signals.is_empty(), "the wait let go of its signal");
    world.shutdown().await;
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_without_orders_is_a_valid_empty_run() {
    let shop = stand_in(0).await;
    let world = World::new().await;
    let (run, steps) = world.run(&shop, "empty", Value::Null, fast()).await;
    let out = complete(&run);
    assert_eq!(steps.len(), STEPS.len());
    match &steps[2].state {
        StepState::Done { result, .. } => {
            assert_eq!(result["has_result"], json!(false), "{result}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out["archive_bytes"], json!(0));
    assert_eq!(out["ingest"]["orders_new"], json!(0));
    assert_eq!(out["watermark"], Value::Null);
    assert_eq!(world.watermark().await, None);
    assert_eq!(world.int("SELECT count(*) FROM order_header").await, 0);
    world.shutdown().await;
    shop.shutdown().await;
}
