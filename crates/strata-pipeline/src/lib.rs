//! Strata's pipelines (layer 2): each telemetry stream from the durable event log, through a
//! small SQL transform, into its Apache Iceberg table, exactly once.
//!
//! A Vector-style topology per stream:
//!
//! - [`source`]: the [`EventLog`] read with a durable consumer; resumes after the larger of the
//!   log's acknowledgement and the lake's committed offset.
//! - [`transform`]: `pipelines/<stream>.sql`, a stateless `INSERT INTO … SELECT … FROM … WHERE …`
//!   evaluated per event (a checked subset of SQL; see [`transform`] for why not an engine).
//!   Failures go to `<namespace>.rejected` with the reason.
//! - [`sink`]: dead letters, then telemetry rows, each an exactly-once Iceberg commit.
//! - [`Pipeline`]: batches by size and time, commits, then acknowledges in the log; retries
//!   lake and log failures with a bounded buffer; drains on cancellation. [`PipelineSet`] runs the
//!   three streams. Metrics: [`PipelineStats`] and [`render_prometheus`].
//!
//! The guarantee: an offset is acknowledged only after the Iceberg commit holding its event, and
//! each commit carries its offset range, so a process killed at any point and restarted writes
//! every event once.

pub mod config;
mod error;
mod lock;
pub mod metrics;
mod runner;
pub mod sink;
pub mod source;
pub mod transform;

use std::{path::PathBuf, sync::Arc};

pub use config::{BatchLimits, BufferLimits, DEFAULT_CONSUMER, PipelineConfig, RetryPolicy};
pub use error::{PipelineError, Result};
pub use lock::RunLock;
pub use metrics::{PipelineState, PipelineStats, render_prometheus};
pub use runner::{Definition, Pipeline, PipelineHandle, PipelineReport};
use strata_events::{EventLog, StreamName};
use strata_lake::Lake;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
pub use transform::{Transform, TransformError, builtin_sql, definition_file};

/// Where a [`PipelineSet`] takes its definitions from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Definitions {
    /// The definitions shipped in `pipelines/`, built into the binary ([`builtin_sql`]).
    BuiltIn,
    /// `<dir>/<stream>_telemetry.sql` for each stream; [`PipelineSet::reload`] reads them again.
    Dir(PathBuf),
}

impl Definitions {
    fn of(&self, stream: StreamName) -> Result<Definition> {
        Ok(match self {
            Definitions::BuiltIn => Definition::Transform(
                Transform::parse(stream, builtin_sql(stream))
                    .map_err(|source| PipelineError::InlineDefinition { stream, source })?,
            ),
            Definitions::Dir(dir) => Definition::File(definition_file(dir, stream)),
        })
    }
}

/// The three pipelines, running.
pub struct PipelineSet {
    handles: Vec<PipelineHandle>,
    tasks: Vec<JoinHandle<Result<PipelineReport>>>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for PipelineSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineSet")
            .field("handles", &self.handles)
            .finish_non_exhaustive()
    }
}

impl PipelineSet {
    /// Creates the lake's missing tables, loads the definition of every stream (all must load: a
    /// broken definition stops startup rather than one stream silently) and spawns the three
    /// pipelines. They stop when `cancel` is cancelled. Take a [`RunLock`] first when the log and
    /// lake are a data directory's.
    pub async fn start(
        log: Arc<dyn EventLog>,
        lake: Lake,
        definitions: &Definitions,
        config: PipelineConfig,
        cancel: CancellationToken,
    ) -> Result<PipelineSet> {
        lake.ensure_tables().await?;
        let pipelines = StreamName::ALL
            .into_iter()
            .map(|stream| {
                Pipeline::new(
                    Arc::clone(&log),
                    lake.clone(),
                    stream,
                    definitions.of(stream)?,
                    config.clone(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let handles = pipelines.iter().map(Pipeline::handle).collect();
        let tasks = pipelines
            .into_iter()
            .map(|p| tokio::spawn(p.run(cancel.clone())))
            .collect();
        Ok(PipelineSet {
            handles,
            tasks,
            cancel,
        })
    }

    /// The pipelines' handles, in stream order.
    pub fn handles(&self) -> &[PipelineHandle] {
        &self.handles
    }

    /// Every pipeline's metrics.
    pub fn stats(&self) -> Vec<PipelineStats> {
        self.handles.iter().map(PipelineHandle::stats).collect()
    }

    /// Every pipeline's metrics in the Prometheus text format.
    pub fn render_prometheus(&self) -> String {
        render_prometheus(&self.stats())
    }

    /// Reloads every definition file; the first failure is returned (the others still reload).
    pub fn reload(&self) -> Result<()> {
        let mut first = None;
        for h in &self.handles {
            if let Err(e) = h.reload() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Cancels (drains) the pipelines and waits for them.
    pub async fn shutdown(self) -> Vec<Result<PipelineReport>> {
        self.cancel.cancel();
        self.join().await
    }

    /// Waits for every pipeline to end, in stream order.
    pub async fn join(self) -> Vec<Result<PipelineReport>> {
        let mut out = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            out.push(
                task.await
                    .unwrap_or_else(|e| Err(PipelineError::Task(e.to_string()))),
            );
        }
        out
    }
}
