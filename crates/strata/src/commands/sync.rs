//! `strata sync shopify`: one run of the daily Shopify sync (`daily_shopify_sync`), executed here
//! on the data directory's workflow store until it settles, with the pipelines running so the
//! refresh step sees the new events in the lake.
//!
//! With `--fake N` the shop is a local Shopify stand-in with N generated orders (updated over the
//! last 30 days), so the whole path runs without a Shopify account. Otherwise the shop comes from
//! `SHOPIFY_SHOP` / `SHOPIFY_ADMIN_TOKEN` (and the other `SHOPIFY_*` variables).
//!
//! When a `strata serve` already executes the data directory's workflows, the run is handed to
//! it (like `strata workflow run`) and this command waits for it.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use strata_events::EventLog;
use strata_lake::Lake;
use strata_schema::SchemaSource;
use strata_shopify::ShopifyConfig;
use strata_shopify::stand_in::{StandIn, StandInOptions};
use strata_sync::{
    BulkSignals, DAILY_SHOPIFY_SYNC, DailyShopifySync, DailySyncOptions, RefreshMeasurements,
    SyncEnv,
};
use strata_workflow::{
    CreateInstance, Engine, EngineOptions, EventLogSink, Instance, InstanceId, InstanceStatus,
};

use super::{pipeline, schema, workflow};
use crate::cli::{GlobalOpts, PipelineOpts, SyncCommand, SyncShopifyArgs};

/// Exit code for a usage mistake.
const USAGE: u8 = 2;

pub async fn run(global: &GlobalOpts, cmd: SyncCommand) -> Result<ExitCode> {
    match cmd {
        SyncCommand::Shopify(args) => shopify(global, args).await,
    }
}

/// The pipelines of the data directory, in the background of this command: the sync's refresh
/// waits for its events to be in the lake.
pub async fn start_pipelines(
    global: &GlobalOpts,
    log: Arc<dyn EventLog>,
    lake: Lake,
) -> Result<pipeline::Running> {
    let opts = PipelineOpts {
        pipelines: None,
        roll_interval: 1.0,
    };
    pipeline::start(global, &opts, log, lake).await
}

/// A stand-in shop with `orders` generated orders created over the 30 days before today (UTC;
/// the sync reads at most 128 days back). Anchored to the day, so every run of the same day sees
/// the same store and a second run finds nothing new.
async fn start_stand_in(orders: usize) -> Result<StandIn> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .context("today's midnight")?;
    let options = StandInOptions {
        orders,
        products: (orders / 20).clamp(20, 2_000),
        created_from: today - chrono::Duration::days(30),
        created_to: today - chrono::Duration::seconds(1),
        ..StandInOptions::default()
    };
    let shop = StandIn::start(options)
        .await
        .context("start the Shopify stand-in")?;
    eprintln!(
        "Shopify stand-in with {orders} generated orders at {} (shop {})",
        shop.base_url(),
        shop.config().shop
    );
    Ok(shop)
}

async fn shopify(global: &GlobalOpts, args: SyncShopifyArgs) -> Result<ExitCode> {
    let id = match args.id.as_deref().map(InstanceId::parse).transpose() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(USAGE));
        }
    };
    let mut params = Map::new();
    if let Some(since) = args.since {
        params.insert("since".into(), json!(since));
    }
    let request = CreateInstance {
        workflow: DAILY_SHOPIFY_SYNC.to_owned(),
        id,
        params: Value::Object(params),
        trigger: "cli".to_owned(),
    };
    let timeout = Duration::from_secs(args.timeout);

    // The shop: the stand-in, or the environment's.
    let (stand_in, config) = match args.fake {
        Some(n) => {
            let shop = start_stand_in(n as usize).await?;
            let config = shop.config();
            (Some(shop), config)
        }
        None => match ShopifyConfig::from_env() {
            Ok(config) => (None, config),
            Err(e) => {
                eprintln!(
                    "error: {e}\n`strata sync shopify` reads the shop from SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN \
                     (see --help); or try it on a local stand-in: `strata sync shopify --fake 100`"
                );
                return Ok(ExitCode::from(USAGE));
            }
        },
    };

    let Some(store) = workflow::open_executor_store(global).await? else {
        if stand_in.is_some() {
            eprintln!(
                "error: a `strata serve` executes the workflows of {}; it syncs its own shop, not this \
                 stand-in: stop it, or use another --data-dir for --fake",
                workflow::store_location(global)
            );
            return Ok(ExitCode::from(USAGE));
        }
        // A server executes from this data directory: hand it the run.
        let engine = workflow::client(global).await?;
        let (instance, created) = engine.create(request).await?;
        eprintln!(
            "{} sync {}; the running server executes it",
            if created { "created" } else { "found existing" },
            instance.id
        );
        let settled = engine.wait_settled(&instance.id, timeout).await?;
        return report(&settled, args.json);
    };

    let db = Arc::new(super::connect(global).await?);
    let result = run_here(global, &args, store, db.clone(), config, request, timeout).await;
    if let Ok(db) = Arc::try_unwrap(db) {
        db.shutdown().await?;
    }
    if let Some(shop) = stand_in {
        shop.shutdown().await;
    }
    result
}

/// Executes the run in this process: pipelines, engine, wait, summary.
async fn run_here(
    global: &GlobalOpts,
    args: &SyncShopifyArgs,
    store: Arc<dyn strata_workflow::Store>,
    db: Arc<strata_domain::Database>,
    config: ShopifyConfig,
    request: CreateInstance,
    timeout: Duration,
) -> Result<ExitCode> {
    if args.fake.is_some() {
        // A stand-in run is a demo: make sure the tables exist (idempotent).
        let report = schema::apply_schema(&db, &SchemaSource::embedded()).await?;
        schema::print_apply(&report);
    }
    let lake = pipeline::open_lake(global).await?;
    let log = pipeline::open_log(global).await?;
    let pipelines = start_pipelines(global, log.clone(), lake.clone()).await?;
    let zone = super::workflow::reporting_zone()?;
    let env = Arc::new(SyncEnv {
        db,
        lake,
        data_dir: global.data_dir.clone(),
        zone,
        events: log.clone(),
        shopify: Some(config),
        bulk_signals: BulkSignals::new(),
    });
    let options = DailySyncOptions {
        // The stand-in finishes a bulk query in a blink; a real one takes seconds to minutes.
        poll_interval: match (args.poll_interval, args.fake) {
            (Some(every), _) => every,
            (None, Some(_)) => Duration::from_millis(100),
            (None, None) => DailySyncOptions::default().poll_interval,
        },
        ..DailySyncOptions::default()
    };
    let sync = DailyShopifySync::with_options(env.clone(), options)
        .context("the Shopify client")?
        .context("no shop configured")?;
    let engine = Engine::new(store, Arc::new(EventLogSink(log)), EngineOptions::default())
        .register(sync)
        .register(RefreshMeasurements::new(env.clone()));
    drop(env);
    let outcome = run_instance(&engine, request, timeout, args.json).await;
    drop(engine);
    if !pipelines.stop().await {
        tracing::warn!("a pipeline failed while stopping; what it held is landed on the next run");
    }
    outcome
}

async fn run_instance(
    engine: &Engine,
    request: CreateInstance,
    timeout: Duration,
    as_json: bool,
) -> Result<ExitCode> {
    let (instance, created) = engine.create(request).await?;
    eprintln!(
        "{} sync {}",
        if created { "started" } else { "found existing" },
        instance.id
    );
    match workflow::execute_until_settled(engine, &instance.id, timeout).await? {
        Some(settled) => report(&settled, as_json),
        None => {
            eprintln!(
                "interrupted: sync {} keeps its completed steps; `strata sync shopify --id {}` continues it",
                instance.id, instance.id
            );
            Ok(ExitCode::from(130))
        }
    }
}

/// Prints how the run ended: a summary when complete (the instance as JSON with `--json`), the
/// error otherwise; the exit code as `strata workflow run`'s.
fn report(instance: &Instance, as_json: bool) -> Result<ExitCode> {
    let (InstanceStatus::Complete, Some(output), false) =
        (instance.status, instance.output.as_ref(), as_json)
    else {
        return workflow::print_settled(instance, as_json);
    };
    let n = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("-").to_owned();
    let ingest = output.get("ingest").cloned().unwrap_or(Value::Null);
    let orders = n(&ingest, "orders_new")
        + n(&ingest, "orders_changed")
        + n(&ingest, "orders_unchanged")
        + n(&ingest, "orders_stale");
    println!("sync {} complete", instance.id);
    println!("  since        {}", text(output, "since"));
    println!("  bulk query   {}", text(output, "bulk_operation"));
    println!(
        "  archive      {} ({} bytes)",
        text(output, "archive"),
        n(output, "archive_bytes")
    );
    println!(
        "  orders       {orders} read: {} new, {} changed, {} unchanged, {} stale; {} line items written",
        n(&ingest, "orders_new"),
        n(&ingest, "orders_changed"),
        n(&ingest, "orders_unchanged"),
        n(&ingest, "orders_stale"),
        n(&ingest, "line_items"),
    );
    println!(
        "  products     {} new, {} changed; {} tags new; {} customers new",
        n(&ingest, "products_new"),
        n(&ingest, "products_changed"),
        n(&ingest, "tags_new"),
        n(&ingest, "customers_new"),
    );
    println!(
        "  events       {} appended, {} already in the log",
        n(&ingest, "events_appended"),
        n(&ingest, "events_duplicate"),
    );
    let quarantined = n(output, "quarantined_total");
    println!("  quarantined  {quarantined} line(s)");
    if let Some(lines) = output.get("quarantined").and_then(Value::as_array) {
        for q in lines.iter().take(10) {
            println!("    line {}: {}", n(q, "line_no"), text(q, "reason"));
        }
        if quarantined > 10 {
            println!(
                "    … `strata workflow show {}` lists up to {}",
                instance.id,
                strata_sync::daily::MAX_REPORTED_QUARANTINED
            );
        }
    }
    println!(
        "  watermark    {}{}",
        text(output, "watermark"),
        if output.get("watermark_advanced") == Some(&Value::Bool(true)) {
            " (advanced)"
        } else {
            " (unchanged)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--since`: an RFC 3339 time with a zone.
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("`{text}` is not an RFC 3339 time with a zone, like 2026-11-01T00:00:00Z ({e})")
        })
}
