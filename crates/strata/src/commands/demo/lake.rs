//! The demo's second half: the seeded store's events (orders, payments, fulfillments, returns from
//! PostgreSQL; clicks and conversions from the referral rows; the demo's own run as sync events)
//! appended to the event log and carried by the three pipelines into the Iceberg lake.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use strata_domain::Database;
use strata_domain::commands::reemit_order_events;
use strata_domain::seed::referral_events;
use strata_events::{Envelope, Event, EventLog, EventSource, StreamName, SyncBody, SyncOutcome};
use strata_lake::{Lake, LakeTable};

use crate::cli::{GlobalOpts, PipelineOpts};
use crate::commands::pipeline;

/// Events per append: large enough to amortise the fsync, small enough to show progress.
const APPEND_CHUNK: usize = 5_000;
/// How long the pipelines may take to commit everything before the demo gives up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The workflow name of the demo's sync events.
const WORKFLOW: &str = "strata_demo";

/// Streams the store into the lake and prints each lake table.
pub async fn stream_store(global: &GlobalOpts, db: &Database) -> Result<()> {
    println!("\nStreaming the store's events into the lake");
    let log = pipeline::open_log(global).await?;
    let opts = PipelineOpts {
        pipelines: None,
        roll_interval: 1.0,
    };
    let lake = pipeline::open_lake(global).await?;
    let running = pipeline::start(global, &opts, log.clone(), lake.clone()).await?;
    let run = SyncRun::new();
    let result = feed(log.as_ref(), db, &run).await;
    let drained = match &result {
        Ok(()) => wait_until_committed(log.as_ref(), &running).await,
        Err(_) => Ok(()),
    };
    let stopped = running.stop().await;
    result?;
    drained?;
    if !stopped {
        bail!("a pipeline failed while stopping (see the log above)");
    }
    print_lake(global, &lake).await
}

/// Appends the three streams' events; the demo's own steps become sync events.
async fn feed(log: &dyn EventLog, db: &Database, run: &SyncRun) -> Result<()> {
    append(
        log,
        StreamName::Sync,
        vec![run.event(SyncOutcome::Started, None, &[])],
    )
    .await?;

    let started = Instant::now();
    let report = reemit_order_events(db, log, DateTime::UNIX_EPOCH)
        .await
        .context("rebuilding the orders' events from PostgreSQL")?;
    println!(
        "  commerce:    {} events of {} orders ({} new, {} already in the log){}",
        report.events,
        report.orders,
        report.appended,
        report.duplicates,
        skipped_note(report.skipped)
    );
    let counts = [
        ("orders", report.orders as i64),
        ("events", report.events as i64),
        ("appended", report.appended as i64),
    ];
    append(
        log,
        StreamName::Sync,
        vec![run.step("order_events", started, &counts)],
    )
    .await?;

    let started = Instant::now();
    let referrals = referral_events(db)
        .await
        .context("rebuilding the referral events from PostgreSQL")?;
    let total = referrals.events.len();
    let (mut new, mut dup) = (0, 0);
    for chunk in chunks(referrals.events) {
        let receipt = append(log, StreamName::Publication, chunk).await?;
        new += receipt.0;
        dup += receipt.1;
    }
    println!(
        "  publication: {total} click and conversion events ({new} new, {dup} already in the log){}",
        skipped_note(referrals.skipped.len() as u64)
    );
    let counts = [("events", total as i64), ("appended", new as i64)];
    append(
        log,
        StreamName::Sync,
        vec![
            run.step("referral_events", started, &counts),
            run.event(SyncOutcome::Completed, None, &[]),
        ],
    )
    .await?;
    println!(
        "  sync:        this run ({}) as 4 workflow events",
        run.run_id
    );
    Ok(())
}

fn skipped_note(skipped: u64) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!("; {skipped} rows skipped (see the warnings)")
    }
}

fn chunks(mut events: Vec<Event>) -> Vec<Vec<Event>> {
    let mut out = Vec::new();
    while events.len() > APPEND_CHUNK {
        let rest = events.split_off(APPEND_CHUNK);
        out.push(events);
        events = rest;
    }
    out.push(events);
    out
}

/// Appends and returns (new, duplicates).
async fn append(log: &dyn EventLog, stream: StreamName, events: Vec<Event>) -> Result<(u64, u64)> {
    if events.is_empty() {
        return Ok((0, 0));
    }
    let receipt = log
        .append(stream, events)
        .await
        .with_context(|| format!("appending to {stream}"))?;
    Ok((receipt.appended() as u64, receipt.duplicates() as u64))
}

/// Waits until every pipeline has committed (and acknowledged) its stream's head.
async fn wait_until_committed(log: &dyn EventLog, running: &pipeline::Running) -> Result<()> {
    let started = Instant::now();
    let mut heads = BTreeMap::new();
    for stream in StreamName::ALL {
        heads.insert(stream.slug(), log.stats(stream).await?.head_offset);
    }
    loop {
        let stats = running.stats();
        if let Some(failed) = stats
            .iter()
            .find(|s| s.state == strata_pipeline::PipelineState::Failed)
        {
            bail!(
                "the {} pipeline failed: {}",
                failed.stream,
                failed.last_error.as_deref().unwrap_or("no reason recorded")
            );
        }
        let behind: Vec<String> = stats
            .iter()
            .filter_map(|s| {
                let head = heads.get(s.stream).copied().unwrap_or(0);
                (s.acked_offset < head).then(|| format!("{} {}/{head}", s.stream, s.acked_offset))
            })
            .collect();
        if behind.is_empty() {
            println!(
                "  committed to the lake in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if started.elapsed() > DRAIN_TIMEOUT {
            bail!(
                "the pipelines did not commit everything within {} s (behind: {}); run `strata pipeline run` to finish",
                DRAIN_TIMEOUT.as_secs(),
                behind.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One line per lake table: rows, files, bytes, snapshot.
async fn print_lake(global: &GlobalOpts, lake: &Lake) -> Result<()> {
    let lake_dir = global.data_dir.join("lake");
    println!("\nLake (Iceberg, {}):", lake_dir.display());
    for stream in StreamName::ALL {
        for table in [LakeTable::Telemetry(stream), LakeTable::Rejected(stream)] {
            let d = lake.describe(&table.ident()).await?;
            println!(
                "  {:<24} {:>8} rows {:>4} files {:>10} bytes  snapshot {}",
                d.table,
                d.records,
                d.files.len(),
                d.bytes,
                d.current_snapshot_id
                    .map_or_else(|| "none".to_owned(), |id| id.to_string())
            );
        }
    }
    println!(
        "\nNext: `strata serve` for the API and /docs; DuckDB or PyIceberg can read the tables \
         (docs/lake.md); docs/schema.md describes every domain table."
    );
    Ok(())
}

/// The demo's run as a workflow, for `sync.telemetry`.
struct SyncRun {
    run_id: String,
    started: Instant,
}

impl SyncRun {
    fn new() -> Self {
        Self {
            run_id: format!("run_{}", ulid::Ulid::new()),
            started: Instant::now(),
        }
    }

    fn step(&self, name: &str, started: Instant, counts: &[(&str, i64)]) -> Event {
        let mut event = self.event(SyncOutcome::StepCompleted, Some(name), counts);
        if let Event::Sync(e) = &mut event {
            e.body.duration_ms = started.elapsed().as_millis() as u64;
        }
        event
    }

    fn event(&self, outcome: SyncOutcome, step: Option<&str>, counts: &[(&str, i64)]) -> Event {
        let body = SyncBody {
            run_id: self.run_id.clone(),
            workflow: WORKFLOW.to_owned(),
            step: step.map(str::to_owned),
            attempt: 1,
            outcome,
            record_counts: counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            watermark: None,
            duration_ms: self.started.elapsed().as_millis() as u64,
            error: None,
        };
        let source = EventSource::parse("strata-demo").expect("a valid event source");
        Event::Sync(Envelope::new(source, Utc::now(), body))
    }
}
