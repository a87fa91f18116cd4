//! The pipeline of one stream: source → transform → sink, acknowledged after the commit.
//!
//! One task per stream. It reads deliveries into an *open* batch and seals it when it holds
//! enough events or bytes, or when its first event has waited `roll_interval`. Sealed batches are
//! transformed and committed by a flush task, one at a time and in order (so commits and
//! acknowledgements stay in offset order), while the loop goes on reading. When a flush is done
//! the loop acknowledges the batch's last offset in the log. A failure of the lake is retried
//! inside the flush with backoff (see [`PipelineError::is_retryable`] for why not only transient
//! ones) while reading continues until the buffer (open, sealed and flushing batches) reaches its
//! bound, then stops: the log is durable, so nothing is lost by
//! waiting. The transform is taken when a batch's flush starts, so a reload applies to every
//! batch not yet being written.
//!
//! Cancellation drains: no more reading, the open batch is sealed and flushed, and `run` returns
//! once everything read is committed and acknowledged (or `shutdown_timeout` passes; then the
//! rest stays unacknowledged in the log for the next run).

use std::{
    collections::VecDeque,
    mem,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use chrono::Utc;
use strata_events::{Delivery, Event, EventLog, Offset, StreamName};
use strata_lake::Lake;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::{
    config::PipelineConfig,
    error::{PipelineError, Result},
    metrics::{PipelineState, PipelineStats},
    sink::{LakeSink, Progress, SinkReport},
    source::{LogSource, Resume},
    transform::{Transform, Transformed},
};

/// Where a pipeline's transform comes from.
#[derive(Debug, Clone)]
pub enum Definition {
    /// A definition file (`pipelines/commerce_telemetry.sql`); [`PipelineHandle::reload`] reads it
    /// again.
    File(PathBuf),
    /// A transform given directly.
    Transform(Transform),
}

/// How often the stream's head is read again for the lag while idle.
const HEAD_REFRESH: Duration = Duration::from_secs(1);

/// A pipeline ready to run.
pub struct Pipeline {
    stream: StreamName,
    config: PipelineConfig,
    log: Arc<dyn EventLog>,
    sink: LakeSink,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stream", &self.stream)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// State shared between the running pipeline and its handles.
struct Shared {
    stream: StreamName,
    definition: Option<PathBuf>,
    transform: RwLock<Transform>,
    stats: Mutex<PipelineStats>,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, PipelineStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn transform(&self) -> Transform {
        self.transform
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A handle on a pipeline, running or not: its metrics, and reloading its definition.
#[derive(Clone)]
pub struct PipelineHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PipelineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineHandle")
            .field("stream", &self.shared.stream)
            .finish_non_exhaustive()
    }
}

impl PipelineHandle {
    /// The stream.
    pub fn stream(&self) -> StreamName {
        self.shared.stream
    }

    /// A snapshot of the pipeline's metrics.
    pub fn stats(&self) -> PipelineStats {
        self.shared.stats().clone()
    }

    /// The transform in use.
    pub fn transform(&self) -> Transform {
        self.shared.transform()
    }

    /// Reads the definition file again and uses it for every batch sealed from now on. Nothing
    /// buffered is lost: events are transformed when their batch is sealed, and offsets only
    /// advance after the commit. A definition that does not load leaves the old one in place and
    /// returns the error.
    pub fn reload(&self) -> Result<()> {
        let Some(path) = &self.shared.definition else {
            return Ok(());
        };
        let t = Transform::load(self.shared.stream, path)?;
        info!(stream = %self.shared.stream, path = %path.display(), "pipeline definition reloaded");
        self.replace(t)
    }

    /// Uses `transform` for every batch sealed from now on.
    pub fn replace(&self, transform: Transform) -> Result<()> {
        if transform.stream() != self.shared.stream {
            return Err(PipelineError::WrongStream {
                expected: self.shared.stream,
                found: transform.stream(),
            });
        }
        *self
            .shared
            .transform
            .write()
            .unwrap_or_else(PoisonError::into_inner) = transform;
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct PipelineReport {
    /// Where it resumed.
    pub resume: Resume,
    /// The final metrics.
    pub stats: PipelineStats,
    /// Events read but not committed when the shutdown timeout ran out (still unacknowledged
    /// in the log; the next run takes them). 0 after a complete drain.
    pub unflushed: u64,
}

/// A sealed batch being transformed and committed.
struct Inflight {
    task: JoinHandle<Result<Flushed>>,
    last_offset: Offset,
    events: usize,
    bytes: usize,
    first_read: Instant,
}

/// A flushed batch.
struct Flushed {
    passed: u64,
    rejected: u64,
    filtered: u64,
    report: SinkReport,
    latency: Duration,
}

/// The open batch.
#[derive(Default)]
struct Open {
    deliveries: Vec<Delivery>,
    bytes: usize,
    first_read: Option<Instant>,
}

impl Pipeline {
    /// A pipeline of `stream` from `log` into `lake` with the transform of `definition`. The
    /// lake's tables must exist ([`Lake::ensure_tables`]).
    pub fn new(
        log: Arc<dyn EventLog>,
        lake: Lake,
        stream: StreamName,
        definition: Definition,
        config: PipelineConfig,
    ) -> Result<Pipeline> {
        config.validate()?;
        let (transform, path) = match definition {
            Definition::File(path) => (Transform::load(stream, &path)?, Some(path)),
            Definition::Transform(t) => (t, None),
        };
        if transform.stream() != stream {
            return Err(PipelineError::WrongStream {
                expected: stream,
                found: transform.stream(),
            });
        }
        let label = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "inline".to_owned());
        let sink = LakeSink::new(lake, stream, &config.lane);
        Ok(Pipeline {
            stream,
            log,
            sink,
            shared: Arc::new(Shared {
                stream,
                definition: path,
                transform: RwLock::new(transform),
                stats: Mutex::new(PipelineStats::new(stream, label)),
            }),
            config,
        })
    }

    /// A handle for metrics and reloads, usable while the pipeline runs.
    pub fn handle(&self) -> PipelineHandle {
        PipelineHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs until `cancel` is cancelled (then drains) or a permanent error.
    pub async fn run(self, cancel: CancellationToken) -> Result<PipelineReport> {
        let result = self.run_inner(&cancel).await;
        let mut stats = self.shared.stats();
        match &result {
            Ok(_) => stats.state = PipelineState::Stopped,
            Err(e) => {
                stats.state = PipelineState::Failed;
                stats.last_error = Some(e.to_string());
                error!(stream = %self.stream, error = %e, "pipeline stopped");
            }
        }
        let stats = stats.clone();
        result.map(|(resume, unflushed)| PipelineReport {
            resume,
            stats,
            unflushed,
        })
    }

    fn set_state(&self, state: PipelineState) {
        self.shared.stats().state = state;
    }

    fn note_error(&self, e: &PipelineError) {
        let mut stats = self.shared.stats();
        stats.retries += 1;
        stats.last_error = Some(e.to_string());
        stats.state = PipelineState::Retrying;
    }

    /// Reconciles the log's acknowledgement with the lake, retrying lake and transient log
    /// failures (see [`PipelineError::is_retryable`]).
    async fn open_source(&self, cancel: &CancellationToken) -> Result<Option<(LogSource, Resume)>> {
        let mut attempt = 0u32;
        loop {
            let opened = async {
                let lake_committed = self.sink.committed_offset().await?;
                LogSource::open(
                    Arc::clone(&self.log),
                    self.stream,
                    &self.config.consumer,
                    lake_committed,
                )
                .await
            }
            .await;
            match opened {
                Ok(x) => return Ok(Some(x)),
                Err(e) if e.is_retryable() => {
                    attempt += 1;
                    warn!(stream = %self.stream, error = %e, attempt, "cannot open the pipeline yet; retrying");
                    self.note_error(&e);
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(self.config.retry.backoff(attempt)) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn run_inner(&self, cancel: &CancellationToken) -> Result<(Resume, u64)> {
        let Some((mut source, resume)) = self.open_source(cancel).await? else {
            let resume = Resume {
                acked_in_log: 0,
                lake_committed: 0,
                resumed_at: 0,
                replayed: 0,
                head: 0,
            };
            return Ok((resume, 0));
        };
        info!(
            stream = %self.stream,
            consumer = %self.config.consumer,
            acked_in_log = resume.acked_in_log,
            lake_committed = resume.lake_committed,
            resumed_at = resume.resumed_at,
            replayed = resume.replayed,
            head = resume.head,
            "pipeline started"
        );
        {
            let mut stats = self.shared.stats();
            stats.state = PipelineState::Running;
            stats.acked_offset = source.acked();
            stats.head_offset = source.head();
            stats.lag = source.head().saturating_sub(source.acked());
        }

        let batch = &self.config.batch;
        let bound = &self.config.buffer;
        let mut open = Open::default();
        // Sealed batches waiting for the flush in progress, oldest first.
        let mut sealed: VecDeque<Open> = VecDeque::new();
        let mut inflight: Option<Inflight> = None;
        let mut next_read = Instant::now();
        let mut read_attempt = 0u32;
        let mut head_refreshed = Instant::now();
        let mut drain_deadline: Option<Instant> = None;

        loop {
            let (held_events, held_bytes) = held(&open, &sealed, &inflight);
            if drain_deadline.is_none() && cancel.is_cancelled() {
                drain_deadline = Some(Instant::now() + self.config.shutdown_timeout);
                self.set_state(PipelineState::Draining);
                info!(stream = %self.stream, buffered = held_events, "draining");
            }
            let draining = drain_deadline.is_some();
            if let Some(deadline) = drain_deadline
                && Instant::now() >= deadline
            {
                if let Some(f) = inflight.take() {
                    f.task.abort();
                }
                warn!(stream = %self.stream, unflushed = held_events,
                    "shutdown timeout: the rest stays unacknowledged in the log for the next run");
                return Ok((resume, held_events as u64));
            }

            // Seal the open batch when it is due; start the next flush when none is running.
            if !open.deliveries.is_empty() {
                let due = draining
                    || open.deliveries.len() >= batch.max_events
                    || open.bytes >= batch.max_bytes
                    || open
                        .first_read
                        .is_some_and(|t| t.elapsed() >= batch.roll_interval);
                if due {
                    sealed.push_back(mem::take(&mut open));
                }
            }
            if inflight.is_none()
                && let Some(next) = sealed.pop_front()
            {
                inflight = Some(self.flush(next));
            }
            if draining && inflight.is_none() {
                return Ok((resume, 0));
            }

            // Read while there is room in the open batch and in the buffer.
            let room = batch
                .max_events
                .saturating_sub(open.deliveries.len())
                .min(bound.max_events.saturating_sub(held_events))
                .min(self.config.read_chunk);
            let can_read = !draining
                && room > 0
                && open.bytes < batch.max_bytes
                && held_bytes < bound.max_bytes;
            if can_read && Instant::now() >= next_read {
                match source.next(room).await {
                    Ok(got) => {
                        read_attempt = 0;
                        let full = got.len() == room;
                        if !full {
                            next_read = Instant::now() + self.config.poll_interval;
                        }
                        if !got.is_empty() {
                            let bytes = estimated_size(&got);
                            if open.deliveries.is_empty() {
                                open.first_read = Some(Instant::now());
                            }
                            open.bytes += bytes;
                            let n = got.len();
                            open.deliveries.extend(got);
                            let mut stats = self.shared.stats();
                            stats.events_in += n as u64;
                            stats.buffered_events = (held_events + n) as u64;
                            stats.buffered_bytes = (held_bytes + bytes) as u64;
                            stats.head_offset = stats.head_offset.max(source.head());
                            stats.lag = stats.head_offset.saturating_sub(stats.acked_offset);
                        }
                        if full {
                            continue;
                        }
                    }
                    Err(e) if e.is_transient() => {
                        read_attempt += 1;
                        warn!(stream = %self.stream, error = %e, "reading the log failed; retrying");
                        self.note_error(&e);
                        next_read = Instant::now() + self.config.retry.backoff(read_attempt);
                    }
                    Err(e) => return Err(e),
                }
            }

            if head_refreshed.elapsed() >= HEAD_REFRESH {
                head_refreshed = Instant::now();
                if let Ok(head) = source.refresh_head().await {
                    let mut stats = self.shared.stats();
                    stats.head_offset = head;
                    stats.lag = head.saturating_sub(stats.acked_offset);
                }
            }

            // Wait for whatever comes first: the flush, the roll deadline, the next read, a
            // head refresh, or cancellation.
            let now = Instant::now();
            let mut wake = now + HEAD_REFRESH;
            if can_read {
                wake = wake.min(next_read);
            }
            if let Some(first) = open.first_read
                && !open.deliveries.is_empty()
            {
                wake = wake.min(first + batch.roll_interval);
            }
            if let Some(deadline) = drain_deadline {
                wake = wake.min(deadline);
            }
            tokio::select! {
                biased;
                done = join(&mut inflight) => {
                    if let Some(f) = inflight.take() {
                        self.complete(&mut source, f, done, cancel, drain_deadline).await?;
                        let (events, bytes) = held(&open, &sealed, &inflight);
                        let mut stats = self.shared.stats();
                        stats.buffered_events = events as u64;
                        stats.buffered_bytes = bytes as u64;
                    }
                }
                _ = cancel.cancelled(), if !draining => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    /// Hands a sealed batch to a flush task with the transform in use now.
    fn flush(&self, open: Open) -> Inflight {
        let last_offset = open.deliveries.last().map_or(0, |d| d.offset);
        let events = open.deliveries.len();
        debug!(stream = %self.stream, events, bytes = open.bytes, last_offset, "flushing a batch");
        let transform = self.shared.transform();
        let sink = self.sink.clone();
        let shared = Arc::clone(&self.shared);
        let retry = self.config.retry.clone();
        let deliveries = open.deliveries;
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let now = Utc::now();
            let transformed: Transformed =
                tokio::task::spawn_blocking(move || transform.apply(deliveries, now))
                    .await
                    .map_err(|e| PipelineError::Task(e.to_string()))?;
            let mut progress = Progress::default();
            let mut attempt = 0u32;
            loop {
                match sink.write(&transformed, &mut progress).await {
                    Ok(report) => {
                        return Ok(Flushed {
                            passed: transformed.passed.len() as u64,
                            rejected: transformed.rejected.len() as u64,
                            filtered: transformed.filtered,
                            report,
                            latency: started.elapsed(),
                        });
                    }
                    Err(e) => {
                        attempt += 1;
                        let wait = retry.backoff(attempt);
                        if e.is_transient() {
                            warn!(stream = %shared.stream, error = %e, attempt,
                                wait_ms = wait.as_millis() as u64,
                                "lake write failed; retrying with the batch kept");
                        } else {
                            // Not known to be transient, but the log keeps the events: keep
                            // trying (visible in the metrics) rather than give up on the stream.
                            error!(stream = %shared.stream, error = %e, attempt,
                                wait_ms = wait.as_millis() as u64,
                                "lake write failed with an error that may not pass; retrying with the batch kept");
                        }
                        {
                            let mut stats = shared.stats();
                            stats.retries += 1;
                            stats.last_error = Some(e.to_string());
                            stats.state = PipelineState::Retrying;
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        });
        Inflight {
            task,
            last_offset,
            events,
            bytes: open.bytes,
            first_read: open.first_read.unwrap_or_else(Instant::now),
        }
    }

    /// Acknowledges a flushed batch in the log (retrying transient failures) and counts it.
    async fn complete(
        &self,
        source: &mut LogSource,
        f: Inflight,
        done: std::result::Result<Result<Flushed>, tokio::task::JoinError>,
        cancel: &CancellationToken,
        drain_deadline: Option<Instant>,
    ) -> Result<()> {
        let flushed = done.map_err(|e| PipelineError::Task(e.to_string()))??;
        let mut attempt = 0u32;
        loop {
            match source.ack(f.last_offset).await {
                Ok(()) => break,
                Err(e) if e.is_transient() => {
                    attempt += 1;
                    warn!(stream = %self.stream, error = %e, attempt,
                        "acknowledging in the log failed; retrying (the lake already has the batch)");
                    self.note_error(&e);
                    if drain_deadline.is_some_and(|d| Instant::now() >= d) {
                        // The lake holds the batch; the next run acknowledges it from there.
                        return Ok(());
                    }
                    let wait = self.config.retry.backoff(attempt);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.cancelled(), if drain_deadline.is_none() => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let mut stats = self.shared.stats();
        stats.state = if drain_deadline.is_some() {
            PipelineState::Draining
        } else {
            PipelineState::Running
        };
        stats.last_error = None;
        stats.events_out += flushed.passed;
        stats.events_rejected += flushed.rejected;
        stats.events_filtered += flushed.filtered;
        stats.rows_written += flushed.report.rows_out + flushed.report.rows_rejected;
        stats.commits += flushed.report.commits;
        stats.bytes_written += flushed.report.bytes;
        stats.acked_offset = source.acked();
        stats.head_offset = stats.head_offset.max(source.head());
        stats.lag = stats.head_offset.saturating_sub(stats.acked_offset);
        stats.last_commit_latency_ms = Some(flushed.latency.as_millis() as u64);
        stats.last_batch_age_ms = Some(f.first_read.elapsed().as_millis() as u64);
        stats.last_commit_unix_ms = Some(Utc::now().timestamp_millis());
        info!(
            stream = %self.stream,
            events = f.events,
            out = flushed.passed,
            rejected = flushed.rejected,
            filtered = flushed.filtered,
            rows_written = flushed.report.rows_out + flushed.report.rows_rejected,
            replayed = flushed.report.replayed,
            acked = f.last_offset,
            latency_ms = flushed.latency.as_millis() as u64,
            "batch committed"
        );
        Ok(())
    }
}

/// Events and bytes held in memory: the open batch, the sealed ones, the one being flushed.
fn held(open: &Open, sealed: &VecDeque<Open>, inflight: &Option<Inflight>) -> (usize, usize) {
    let events = open.deliveries.len()
        + sealed.iter().map(|b| b.deliveries.len()).sum::<usize>()
        + inflight.as_ref().map_or(0, |f| f.events);
    let bytes = open.bytes
        + sealed.iter().map(|b| b.bytes).sum::<usize>()
        + inflight.as_ref().map_or(0, |f| f.bytes);
    (events, bytes)
}

/// Waits for the in-flight flush, or forever when there is none.
async fn join(
    inflight: &mut Option<Inflight>,
) -> std::result::Result<Result<Flushed>, tokio::task::JoinError> {
    match inflight {
        Some(f) => (&mut f.task).await,
        None => std::future::pending().await,
    }
}

/// The JSON size of a read, measured on every 16th event and extrapolated: the limits only need
/// an estimate, and measuring every event cost about 5 % of the pipeline's CPU.
fn estimated_size(deliveries: &[Delivery]) -> usize {
    const STRIDE: usize = 16;
    if deliveries.len() <= STRIDE {
        return deliveries.iter().map(|d| json_size(&d.event)).sum();
    }
    let sampled: Vec<usize> = deliveries
        .iter()
        .step_by(STRIDE)
        .map(|d| json_size(&d.event))
        .collect();
    let mean = sampled.iter().sum::<usize>() as f64 / sampled.len() as f64;
    (mean * deliveries.len() as f64).round() as usize
}

/// The size of an event's JSON, without building the string.
fn json_size(event: &Event) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing an event cannot fail (its types are plain); count what was written if it did.
    let _ = serde_json::to_writer(&mut count, event);
    count.0
}
