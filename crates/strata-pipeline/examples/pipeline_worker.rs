//! A pipeline in its own process, for the SIGKILL test and for measuring throughput.
//!
//! ```sh
//! # run the commerce pipeline of <data-dir> until it has committed everything in the log
//! cargo run -p strata-pipeline --example pipeline_worker -- run <data-dir> [batch-events] [roll-ms] [batch-mib] [buffer-mib]
//! # append N realistic commerce events (about 1 KB of JSON each) to the log
//! cargo run --release -p strata-pipeline --example pipeline_worker -- append <data-dir> <events>
//! # append N events, then time the pipeline from log to committed files
//! cargo run --release -p strata-pipeline --example pipeline_worker -- bench <data-dir> [events]
//! ```
//!
//! The log is `<data-dir>/streams/events.sqlite`, the lake `<data-dir>/lake` (embedded catalog,
//! local warehouse). `run` prints the final metrics as JSON on stdout.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use strata_events::{Event, EventLog, SqliteLog, SqliteOptions, StreamName, fixtures::bench_order};
use strata_lake::{Lake, LakeConfig, LakeTable};
use strata_pipeline::{Definition, Pipeline, PipelineConfig, PipelineState, Transform};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            let dir = PathBuf::from(args.get(1).context("run <data-dir>")?);
            let mut config = PipelineConfig::default();
            if let Some(n) = args.get(2) {
                config.batch.max_events = n.parse().context("batch-events")?;
                config.buffer.max_events = config.batch.max_events * 3;
            }
            if let Some(ms) = args.get(3) {
                config.batch.roll_interval = Duration::from_millis(ms.parse().context("roll-ms")?);
            }
            if let Some(mib) = args.get(4) {
                let mib: usize = mib.parse().context("batch-mib")?;
                config.batch.max_bytes = mib << 20;
                config.buffer.max_bytes = config.buffer.max_bytes.max(3 * (mib << 20));
            }
            if let Some(mib) = args.get(5) {
                config.buffer.max_bytes = mib.parse::<usize>().context("buffer-mib")? << 20;
            }
            let stats = run(&dir, config).await?;
            println!("{}", serde_json::to_string(&stats)?);
            Ok(())
        }
        Some("append") => {
            let dir = PathBuf::from(args.get(1).context("append <data-dir> <events>")?);
            let n: u64 = args.get(2).context("append <data-dir> <events>")?.parse()?;
            let (log, _lake) = open(&dir).await?;
            let (bytes, secs) = append(&log, n).await?;
            eprintln!("appended {n} events ({bytes} bytes of JSON) in {secs:.2} s");
            Ok(())
        }
        Some("bench") => {
            let dir = PathBuf::from(args.get(1).context("bench <data-dir> [events]")?);
            let n: u64 = args
                .get(2)
                .map(|s| s.parse())
                .transpose()
                .context("events")?
                .unwrap_or(1_000_000);
            bench(&dir, n).await
        }
        _ => bail!(
            "usage: pipeline_worker run <data-dir> [batch-events] [roll-ms] [batch-mib] [buffer-mib] | append <data-dir> <events> | bench <data-dir> [events]"
        ),
    }
}

async fn open(dir: &Path) -> anyhow::Result<(Arc<SqliteLog>, Lake)> {
    let log = Arc::new(SqliteLog::open(
        &dir.join("streams"),
        SqliteOptions::default(),
    )?);
    let lake = Lake::open(LakeConfig::embedded(dir)).await?;
    lake.ensure_tables().await?;
    Ok((log, lake))
}

/// Runs the commerce pipeline until everything in the log at start is acknowledged.
async fn run(dir: &Path, config: PipelineConfig) -> anyhow::Result<strata_pipeline::PipelineStats> {
    let (log, lake) = open(dir).await?;
    let head = log.stats(StreamName::Commerce).await?.head_offset;
    let pipeline = Pipeline::new(
        log.clone() as Arc<dyn EventLog>,
        lake,
        StreamName::Commerce,
        Definition::Transform(Transform::identity(StreamName::Commerce)),
        config,
    )?;
    let handle = pipeline.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(pipeline.run(cancel.clone()));
    loop {
        let s = handle.stats();
        if s.acked_offset >= head || s.state == PipelineState::Failed || task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let report = task.await??;
    Ok(report.stats)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Appends `n` events to the commerce stream; returns their JSON bytes and the time taken.
async fn append(log: &SqliteLog, n: u64) -> anyhow::Result<(usize, f64)> {
    let start_head = log.stats(StreamName::Commerce).await?.head_offset;
    let started = Instant::now();
    let mut bytes = 0usize;
    let mut i = start_head;
    while i < start_head + n {
        let chunk: Vec<Event> = (i..(i + 10_000).min(start_head + n))
            .map(bench_order)
            .collect();
        bytes += chunk
            .iter()
            .map(|e| e.to_json().map(|j| j.len()).unwrap_or(0))
            .sum::<usize>();
        i += chunk.len() as u64;
        log.append(StreamName::Commerce, chunk).await?;
    }
    Ok((bytes, started.elapsed().as_secs_f64()))
}

async fn bench(dir: &Path, n: u64) -> anyhow::Result<()> {
    let (log, lake) = open(dir).await?;
    let (bytes, append_s) = append(&log, n).await?;
    eprintln!(
        "appended {n} events ({:.0} bytes each) in {append_s:.2} s ({:.0}/s)",
        bytes as f64 / n as f64,
        n as f64 / append_s
    );
    // The log's own read rate (decoding included), for comparison: a throwaway consumer.
    let started = Instant::now();
    let mut read = 0u64;
    loop {
        let got = log
            .read(StreamName::Commerce, "bench-probe", 10_000)
            .await?;
        let Some(last) = got.last().map(|d| d.offset) else {
            break;
        };
        read += got.len() as u64;
        log.commit(StreamName::Commerce, "bench-probe", last)
            .await?;
    }
    let read_s = started.elapsed().as_secs_f64();
    drop(log);
    drop(lake);

    let started = Instant::now();
    let stats = run(dir, PipelineConfig::default()).await?;
    let run_s = started.elapsed().as_secs_f64();
    let (_, lake) = open(dir).await?;
    let rows = lake
        .scan_stats(&LakeTable::Telemetry(StreamName::Commerce).ident(), None)
        .await?
        .rows;
    println!(
        "{}",
        serde_json::json!({
            "events": n,
            "event_json_bytes": bytes as f64 / n as f64,
            "append_seconds": append_s,
            "log_read_events_per_second": read as f64 / read_s,
            "pipeline_seconds": run_s,
            "pipeline_events_per_second": n as f64 / run_s,
            "commits": stats.commits,
            "bytes_written": stats.bytes_written,
            "last_commit_latency_ms": stats.last_commit_latency_ms,
            "table_rows": rows,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    Ok(())
}
