//! What a pipeline reports: a snapshot struct per stream (for `/api/health`, logs and tests) and
//! its Prometheus text form (for `/metrics`).
//!
//! Counters are per process and satisfy, once a pipeline is idle,
//! `events_in = events_out + events_rejected + events_filtered + buffered_events`.

use std::fmt::Write as _;

use serde::Serialize;
use strata_events::{Offset, StreamName};

/// A pipeline's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PipelineState {
    /// Reconciling offsets with the lake before the first read.
    #[default]
    Starting,
    /// Reading and committing.
    Running,
    /// The lake or the log failed transiently; retrying with backoff, buffer kept.
    Retrying,
    /// Shutting down: flushing what is buffered.
    Draining,
    /// Stopped after a graceful shutdown.
    Stopped,
    /// Stopped by an error that retrying cannot fix (see `last_error`).
    Failed,
}

impl PipelineState {
    /// The state's name, as in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Draining => "draining",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    const ALL: [PipelineState; 6] = [
        Self::Starting,
        Self::Running,
        Self::Retrying,
        Self::Draining,
        Self::Stopped,
        Self::Failed,
    ];
}

/// A snapshot of one pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineStats {
    /// The stream, by its slug (`commerce`).
    pub stream: &'static str,
    /// The telemetry table (`commerce.telemetry`).
    pub table: &'static str,
    /// The state.
    pub state: PipelineState,
    /// Where the transform came from (a file path, or `inline`).
    pub definition: String,
    /// Events read from the log.
    pub events_in: u64,
    /// Events committed to the telemetry table (or found there already, after a crash).
    pub events_out: u64,
    /// Events committed to the dead-letter table.
    pub events_rejected: u64,
    /// Events the transform's `WHERE` turned away.
    pub events_filtered: u64,
    /// Rows this process newly wrote (telemetry and dead letters; replays excluded).
    pub rows_written: u64,
    /// Snapshots committed.
    pub commits: u64,
    /// Bytes of Parquet written.
    pub bytes_written: u64,
    /// Retries after transient failures.
    pub retries: u64,
    /// Events held in memory (open batch and the batch being committed).
    pub buffered_events: u64,
    /// Bytes of event JSON held in memory.
    pub buffered_bytes: u64,
    /// The log's last acknowledged offset for the pipeline.
    pub acked_offset: Offset,
    /// The stream's last known head offset.
    pub head_offset: Offset,
    /// `head_offset - acked_offset`: events in the log not yet in the lake.
    pub lag: u64,
    /// Seal to Iceberg commit of the last batch (transform, Parquet, commits), ms.
    pub last_commit_latency_ms: Option<u64>,
    /// From reading the last batch's first event to acknowledging it, ms: how stale the lake
    /// can be, minus the time the event waited in the log.
    pub last_batch_age_ms: Option<u64>,
    /// When the last batch was acknowledged (Unix ms).
    pub last_commit_unix_ms: Option<i64>,
    /// The last error (cleared by the next successful commit).
    pub last_error: Option<String>,
}

impl PipelineStats {
    /// A fresh snapshot for `stream`.
    pub fn new(stream: StreamName, definition: String) -> PipelineStats {
        PipelineStats {
            stream: stream.slug(),
            table: stream.lake_table(),
            state: PipelineState::Starting,
            definition,
            events_in: 0,
            events_out: 0,
            events_rejected: 0,
            events_filtered: 0,
            rows_written: 0,
            commits: 0,
            bytes_written: 0,
            retries: 0,
            buffered_events: 0,
            buffered_bytes: 0,
            acked_offset: 0,
            head_offset: 0,
            lag: 0,
            last_commit_latency_ms: None,
            last_batch_age_ms: None,
            last_commit_unix_ms: None,
            last_error: None,
        }
    }
}

/// One metric family: name, help, type, value per snapshot.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    value: fn(&PipelineStats) -> Option<f64>,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "strata_pipeline_events_in_total",
        help: "Events read from the event log.",
        kind: "counter",
        value: |s| Some(s.events_in as f64),
    },
    Family {
        name: "strata_pipeline_events_out_total",
        help: "Events committed to the stream's telemetry table.",
        kind: "counter",
        value: |s| Some(s.events_out as f64),
    },
    Family {
        name: "strata_pipeline_events_rejected_total",
        help: "Events the transform rejected, committed to the dead-letter table.",
        kind: "counter",
        value: |s| Some(s.events_rejected as f64),
    },
    Family {
        name: "strata_pipeline_events_filtered_total",
        help: "Events the transform's WHERE turned away.",
        kind: "counter",
        value: |s| Some(s.events_filtered as f64),
    },
    Family {
        name: "strata_pipeline_rows_written_total",
        help: "Rows newly written to the lake (telemetry and dead letters).",
        kind: "counter",
        value: |s| Some(s.rows_written as f64),
    },
    Family {
        name: "strata_pipeline_commits_total",
        help: "Iceberg snapshots committed.",
        kind: "counter",
        value: |s| Some(s.commits as f64),
    },
    Family {
        name: "strata_pipeline_bytes_written_total",
        help: "Bytes of Parquet written.",
        kind: "counter",
        value: |s| Some(s.bytes_written as f64),
    },
    Family {
        name: "strata_pipeline_retries_total",
        help: "Retries after transient failures of the lake or the log.",
        kind: "counter",
        value: |s| Some(s.retries as f64),
    },
    Family {
        name: "strata_pipeline_buffered_events",
        help: "Events held in memory, not yet committed.",
        kind: "gauge",
        value: |s| Some(s.buffered_events as f64),
    },
    Family {
        name: "strata_pipeline_buffered_bytes",
        help: "Bytes of event JSON held in memory.",
        kind: "gauge",
        value: |s| Some(s.buffered_bytes as f64),
    },
    Family {
        name: "strata_pipeline_acked_offset",
        help: "Last log offset acknowledged after its Iceberg commit.",
        kind: "gauge",
        value: |s| Some(s.acked_offset as f64),
    },
    Family {
        name: "strata_pipeline_head_offset",
        help: "Last known head offset of the stream.",
        kind: "gauge",
        value: |s| Some(s.head_offset as f64),
    },
    Family {
        name: "strata_pipeline_lag_events",
        help: "Events in the log not yet committed to the lake.",
        kind: "gauge",
        value: |s| Some(s.lag as f64),
    },
    Family {
        name: "strata_pipeline_last_commit_latency_seconds",
        help: "Seal to Iceberg commit of the last batch.",
        kind: "gauge",
        value: |s| s.last_commit_latency_ms.map(|ms| ms as f64 / 1000.0),
    },
    Family {
        name: "strata_pipeline_last_batch_age_seconds",
        help: "From reading the last batch's first event to acknowledging the batch.",
        kind: "gauge",
        value: |s| s.last_batch_age_ms.map(|ms| ms as f64 / 1000.0),
    },
    Family {
        name: "strata_pipeline_last_commit_timestamp_seconds",
        help: "When the last batch was acknowledged (Unix time).",
        kind: "gauge",
        value: |s| s.last_commit_unix_ms.map(|ms| ms as f64 / 1000.0),
    },
];

/// The snapshots in the Prometheus text exposition format (version 0.0.4), one series per
/// stream, plus `strata_pipeline_state` as a 0/1 gauge per state.
pub fn render_prometheus(stats: &[PipelineStats]) -> String {
    let mut out = String::new();
    for family in FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        for s in stats {
            if let Some(v) = (family.value)(s) {
                let _ = writeln!(out, "{}{{stream=\"{}\"}} {}", family.name, s.stream, v);
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP strata_pipeline_state 1 for the pipeline's current state, 0 for the others."
    );
    let _ = writeln!(out, "# TYPE strata_pipeline_state gauge");
    for s in stats {
        for state in PipelineState::ALL {
            let _ = writeln!(
                out,
                "strata_pipeline_state{{stream=\"{}\",state=\"{}\"}} {}",
                s.stream,
                state.as_str(),
                u8::from(s.state == state)
            );
        }
    }
    out
}
