//! The daily Shopify sync survives SIGKILL. The built `strata sync shopify` runs against a Shopify
//! stand-in served by this test; it is killed with SIGKILL right after each of its steps is
//! stored (while the next one runs, the pipelines landing events meanwhile), then run again with
//! the same instance id. Every such run must end in exactly the state of a run that was never
//! killed: the same PostgreSQL rows, the same commerce events in the lake (each once), the same
//! watermark and archive, the bulk query started once.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use common::{TestDb, show, strata_in};
use serde_json::Value;
use strata_shopify::ShopifyConfig;
use strata_shopify::stand_in::{StandIn, StandInOptions};
use strata_workflow::{
    InstanceId, StepState, Store,
    store::{Role, SqliteStore},
};
use tokio::process::Command;

/// The instance id every run of one data directory uses, so a second run continues the first.
const ID: &str = "sync-kill";

/// The steps after which the process is killed (after the last, `advance-watermark`, the run is
/// complete).
const STEPS: [&str; 6] = [
    "read-watermark",
    "start-bulk-query",
    "await-bulk-query",
    "archive-jsonl",
    "ingest-orders",
    "refresh-measurements",
];

/// One data directory and database.
struct Target {
    db: TestDb,
    _dir: tempfile::TempDir,
    data: PathBuf,
}

impl Target {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let target = Self {
            db: TestDb::create().await,
            _dir: dir,
            data,
        };
        let out = target
            .strata()
            .args(["schema", "apply"])
            .output()
            .await
            .expect("run strata");
        assert!(out.status.success(), "schema apply: {}", show(&out));
        target
    }

    fn strata(&self) -> Command {
        let mut cmd = strata_in(self.data.parent().expect("a parent"));
        cmd.arg("--database-url")
            .arg(&self.db.url)
            .arg("--data-dir")
            .arg(&self.data);
        Command::from(cmd)
    }

    /// `strata sync shopify` on `shop`, stdout and stderr captured.
    fn sync(&self, shop: &ShopifyConfig) -> Command {
        let mut cmd = self.strata();
        cmd.args([
            "sync",
            "shopify",
            "--id",
            ID,
            "--poll-interval",
            "0.1",
            "--json",
        ])
        .env("SHOPIFY_SHOP", &shop.shop)
        .env("SHOPIFY_ADMIN_TOKEN", shop.access_token.expose())
        .env("SHOPIFY_API_VERSION", &shop.api_version)
        .env(
            "SHOPIFY_BASE_URL",
            shop.base_url.as_ref().expect("the stand-in's URL").as_str(),
        )
        .kill_on_drop(true);
        cmd
    }

    /// Runs the sync to its end; the finished instance.
    async fn sync_to_end(&self, shop: &ShopifyConfig) -> Value {
        let out = self.sync(shop).output().await.expect("run strata");
        assert!(out.status.success(), "strata sync shopify: {}", show(&out));
        let instance: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("the instance as JSON ({e}): {}", show(&out)));
        assert_eq!(instance["status"], "complete", "{instance:#}");
        instance
    }

    /// What the run left: row counts and content checksums of the tables the sync writes, the
    /// commerce events in the lake (all and distinct), and the run's watermark and archive size.
    async fn state(&self, instance: &Value) -> Vec<(String, String)> {
        let client = self.db.client().await;
        let mut out = Vec::new();
        // `update_ts` is when a row was last written, and the `create_ts` of rows Shopify does
        // not date (customers, tags) when it was first written: both differ between two databases.
        for (table, written) in [
            ("order_header", "'update_ts'"),
            ("order_line_item", "'update_ts'"),
            ("order_line_item_tax_line", "'update_ts'"),
            ("order_line_item_adjustment", "'update_ts'"),
            ("order_address", "'update_ts'"),
            ("order_summary", "'update_ts'"),
            ("product", "'update_ts'"),
            ("product_tag", "'{update_ts,create_ts}'::text[]"),
            ("customer", "'{update_ts,create_ts}'::text[]"),
        ] {
            let row = client
                .query_one(
                    &format!(
                        "SELECT count(*)::text, coalesce(md5(string_agg((to_jsonb(t) - {written})::text, '|' ORDER BY t.uid)), '')
                           FROM {table} t"
                    ),
                    &[],
                )
                .await
                .unwrap_or_else(|e| panic!("read {table}: {e}"));
            out.push((
                table.to_owned(),
                format!("{} {}", row.get::<_, String>(0), row.get::<_, String>(1)),
            ));
        }
        let lake = self
            .strata()
            .args([
                "query",
                "SELECT count(*) AS events, count(DISTINCT event_id) AS distinct_events FROM commerce.telemetry",
                "--format",
                "json",
            ])
            .output()
            .await
            .expect("run strata query");
        assert!(lake.status.success(), "strata query: {}", show(&lake));
        out.push((
            "commerce.telemetry".to_owned(),
            String::from_utf8_lossy(&lake.stdout).trim().to_owned(),
        ));
        for key in ["watermark", "archive_bytes"] {
            out.push((key.to_owned(), instance["output"][key].to_string()));
        }
        out
    }
}

/// Waits until the store under `data` records `step` of the instance as done; its result.
async fn step_done(data: &Path, step: &str, deadline: Instant) -> Value {
    let dir = data.join("workflows");
    let id = InstanceId::parse(ID).expect("id");
    let mut store: Option<SqliteStore> = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "step {step} was not done in time"
        );
        if store.is_none() && dir.join("workflows.sqlite").exists() {
            let dir = dir.clone();
            store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir, Role::Client))
                .await
                .expect("join")
                .ok();
        }
        if let Some(s) = &store
            && let Ok(steps) = s.steps(&id, 0).await
            && let Some(StepState::Done { result, .. }) =
                steps.into_iter().find(|r| r.name == step).map(|r| r.state)
        {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The attempts every stored step took.
async fn attempts(data: &Path) -> Vec<(String, u32)> {
    let dir = data.join("workflows");
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir, Role::Client))
        .await
        .expect("join")
        .expect("open the workflow store");
    let id = InstanceId::parse(ID).expect("id");
    store
        .steps(&id, 0)
        .await
        .expect("steps")
        .into_iter()
        .map(|r| match r.state {
            StepState::Done { attempts, .. } => (r.name, attempts),
            other => panic!("step {} is not done: {other:?}", r.name),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_after_any_step_and_run_again_ends_as_a_clean_run() {
    let now = Utc::now().with_nanosecond(0).expect("a time");
    let shop = StandIn::start(StandInOptions {
        orders: 80,
        products: 12,
        created_from: now - chrono::Duration::days(20),
        created_to: now - chrono::Duration::hours(1),
        bulk_duration: Duration::from_millis(300),
        ..StandInOptions::default()
    })
    .await
    .expect("start the stand-in");
    let config = shop.config();

    let clean = Target::new().await;
    let instance = clean.sync_to_end(&config).await;
    let expected = clean.state(&instance).await;
    let orders = &expected[0].1;
    assert!(orders.starts_with("80 "), "the clean run stored {orders}");

    for step in STEPS {
        let target = Target::new().await;
        let mut child = target.sync(&config).spawn().expect("spawn strata");
        let deadline = Instant::now() + Duration::from_secs(120);
        step_done(&target.data, step, deadline).await;
        let exited = child.try_wait().expect("child status");
        assert!(
            exited.is_none(),
            "the sync ended ({exited:?}) before it could be killed after {step}"
        );
        child.kill().await.expect("SIGKILL");
        let done = &STEPS[..=STEPS.iter().position(|s| *s == step).expect("a step")];
        let gid = if done.contains(&"start-bulk-query") {
            Some(step_done(&target.data, "start-bulk-query", deadline).await)
        } else {
            None
        };

        let instance = target.sync_to_end(&config).await;
        assert_eq!(
            target.state(&instance).await,
            expected,
            "killed after {step}: the state differs from the clean run's"
        );
        if let Some(gid) = gid {
            assert_eq!(
                instance["output"]["bulk_operation"], gid,
                "killed after {step}: the run continued with another bulk query"
            );
        }
        // The steps stored before the kill were not run again.
        for (name, n) in attempts(&target.data).await {
            if done.contains(&name.as_str()) {
                assert_eq!(n, 1, "killed after {step}: step {name} ran {n} times");
            }
        }
    }
    shop.shutdown().await;
}
