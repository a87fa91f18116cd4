//! `strata pipeline run`, and the background pipelines of `strata serve`: each telemetry stream
//! from the event log under `<data-dir>/streams` into the Iceberg lake under `<data-dir>/lake`.

use std::{collections::HashMap, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use strata_events::{EventLog, NatsLog, NatsOptions, SqliteLog, SqliteOptions};
use strata_lake::{Lake, LakeConfig};
use strata_pipeline::{
    Definitions, PipelineConfig, PipelineSet, PipelineState, PipelineStats, RunLock,
};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cli::{GlobalOpts, PipelineCommand, PipelineOpts, PipelineRunArgs};

pub async fn run(global: &GlobalOpts, cmd: PipelineCommand) -> Result<ExitCode> {
    match cmd {
        PipelineCommand::Run(args) => run_until_stopped(global, args).await,
    }
}

/// Opens the event log: on NATS JetStream with --nats-url, else the data directory's
/// (`<data-dir>/streams`).
pub async fn open_log(global: &GlobalOpts) -> Result<Arc<dyn EventLog>> {
    if let Some(url) = &global.nats_url {
        let log = NatsLog::open(NatsOptions::new(url.as_str()))
            .await
            .context("open the event log on NATS JetStream (--nats-url)")?;
        return Ok(Arc::new(log));
    }
    let streams = global.data_dir.join("streams");
    std::fs::create_dir_all(&streams).with_context(|| format!("create {}", streams.display()))?;
    Ok(Arc::new(
        SqliteLog::open(&streams, SqliteOptions::default())
            .with_context(|| format!("open the event log in {}", streams.display()))?,
    ))
}

/// The three pipelines, running in the background of this process.
pub struct Running {
    set: PipelineSet,
    _lock: RunLock,
}

/// Opens the data directory's lake (`<data-dir>/lake`, embedded catalog).
pub async fn open_lake(global: &GlobalOpts) -> Result<Lake> {
    let lake_dir = global.data_dir.join("lake");
    Lake::open(LakeConfig::embedded(&global.data_dir))
        .await
        .with_context(|| format!("open the lake in {}", lake_dir.display()))
}

/// Starts the pipelines of the data directory on `events`, writing into `lake` (one process per
/// data directory).
pub async fn start(
    global: &GlobalOpts,
    opts: &PipelineOpts,
    events: Arc<dyn EventLog>,
    lake: Lake,
) -> Result<Running> {
    let lock = RunLock::acquire(&global.data_dir)?;
    let lake_dir = global.data_dir.join("lake");
    let definitions = match &opts.pipelines {
        Some(dir) => Definitions::Dir(dir.clone()),
        None => Definitions::BuiltIn,
    };
    let mut config = PipelineConfig::default();
    config.batch.roll_interval = Duration::from_secs_f64(opts.roll_interval);
    let set = PipelineSet::start(events, lake, &definitions, config, CancellationToken::new())
        .await
        .context("start the pipelines")?;
    info!(
        lake = %lake_dir.display(),
        definitions = match &opts.pipelines {
            Some(dir) => dir.display().to_string(),
            None => "built in".to_owned(),
        },
        roll_interval_s = opts.roll_interval,
        "pipelines started"
    );
    Ok(Running { set, _lock: lock })
}

impl Running {
    /// Every pipeline's metrics.
    pub fn stats(&self) -> Vec<PipelineStats> {
        self.set.stats()
    }

    /// A source of every pipeline's metrics for the HTTP server (`/metrics`, `/api/health`).
    pub fn stats_source(&self) -> strata_server::routes::ops::PipelineStatsFn {
        let handles = self.set.handles().to_vec();
        Arc::new(move || handles.iter().map(|h| h.stats()).collect())
    }

    /// Drains the pipelines (everything buffered is committed) and logs how each ended; false if
    /// any failed.
    pub async fn stop(self) -> bool {
        info!("stopping the pipelines: committing what they hold");
        let mut ok = true;
        for report in self.set.shutdown().await {
            match report {
                Ok(r) => {
                    let s = &r.stats;
                    info!(
                        stream = s.stream,
                        events_in = s.events_in,
                        out = s.events_out,
                        rejected = s.events_rejected,
                        filtered = s.events_filtered,
                        commits = s.commits,
                        acked = s.acked_offset,
                        lag = s.lag,
                        unflushed = r.unflushed,
                        "pipeline stopped"
                    );
                }
                Err(e) => {
                    ok = false;
                    warn!(error = %e, "a pipeline failed");
                }
            }
        }
        ok
    }
}

/// Logs a line per stream whose counters moved (or that lags) since the last call.
pub fn log_progress(stats: &[PipelineStats], last: &mut HashMap<&'static str, (u64, u64)>) {
    for s in stats {
        let now = (s.events_in, s.acked_offset);
        if last.insert(s.stream, now) != Some(now) || s.lag > 0 {
            info!(
                stream = s.stream,
                state = s.state.as_str(),
                events_in = s.events_in,
                out = s.events_out,
                rejected = s.events_rejected,
                filtered = s.events_filtered,
                commits = s.commits,
                acked = s.acked_offset,
                lag = s.lag,
                last_commit_ms = s.last_commit_latency_ms.unwrap_or(0),
                error = s.last_error.as_deref().unwrap_or(""),
                "pipeline progress"
            );
        }
    }
}

async fn run_until_stopped(global: &GlobalOpts, args: PipelineRunArgs) -> Result<ExitCode> {
    let events = open_log(global).await?;
    let lake = open_lake(global).await?;
    let running = start(global, &args.opts, events, lake).await?;
    // Check every second for a failed pipeline; log progress every --progress-interval.
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut logged = tokio::time::Instant::now();
    let mut last = HashMap::new();
    let signal = strata_server::shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            _ = ticker.tick() => {
                let stats = running.stats();
                if args.progress_interval > 0.0
                    && logged.elapsed().as_secs_f64() >= args.progress_interval
                {
                    logged = tokio::time::Instant::now();
                    log_progress(&stats, &mut last);
                }
                if stats.iter().any(|s| s.state == PipelineState::Failed) {
                    warn!("a pipeline failed; stopping the others");
                    break;
                }
            }
        }
    }
    Ok(if running.stop().await {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
