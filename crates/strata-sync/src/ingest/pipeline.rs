//! [`IngestPipeline`]: many batches, with the three steps of each overlapping those of its
//! neighbours. A batch is mapped (CPU, on the caller's task) while the previous one is written
//! (PostgreSQL) and the one before it has its events appended (the log): on two cores that keeps
//! PostgreSQL busy instead of waiting for the mapping and the log.

use std::sync::Arc;
use std::time::Instant;

use strata_shopify::Order;
use tokio::task::JoinHandle;

use super::{Committed, IngestError, IngestReport, Inner, map_batch};

/// Batches pushed one after the other; see [`super::OrderIngest::pipeline`].
///
/// ```no_run
/// # async fn sync(ingest: strata_sync::ingest::OrderIngest, batches: Vec<Vec<strata_shopify::Order>>) -> Result<(), strata_sync::ingest::IngestError> {
/// let mut pipeline = ingest.pipeline();
/// for batch in batches {
///     pipeline.push(batch).await?; // returns once the batch is mapped and its write started
/// }
/// let report = pipeline.finish().await?; // every batch committed and its events appended
/// # Ok(()) }
/// ```
///
/// On an error the batches before the failing one are committed and their events appended (as
/// far as the log allows) before the error is returned; the failing batch wrote nothing (or, for
/// [`IngestError::EventLog`], is committed and needs running again). Dropping the pipeline
/// without [`IngestPipeline::finish`] lets the steps in flight complete on their own.
pub struct IngestPipeline {
    inner: Arc<Inner>,
    skip_invalid: bool,
    writing: Option<JoinHandle<Result<Committed, IngestError>>>,
    appending: Option<JoinHandle<Result<IngestReport, IngestError>>>,
    report: IngestReport,
}

impl std::fmt::Debug for IngestPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestPipeline")
            .field("shop", &self.inner.shop)
            .field("writing", &self.writing.is_some())
            .field("appending", &self.appending.is_some())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

/// A step's task, its panic turned into an error.
async fn join<T>(task: JoinHandle<Result<T, IngestError>>) -> Result<T, IngestError> {
    task.await
        .map_err(|e| IngestError::Internal(format!("an ingest step stopped: {e}")))?
}

impl IngestPipeline {
    pub(super) fn new(inner: Arc<Inner>, skip_invalid: bool) -> Self {
        Self {
            inner,
            skip_invalid,
            writing: None,
            appending: None,
            report: IngestReport::default(),
        }
    }

    /// Maps `orders` (one batch), waits for the previous batch's write, hands its events to the
    /// log, and starts writing this batch. Returns while this batch is being written.
    pub async fn push(&mut self, orders: Vec<Order>) -> Result<(), IngestError> {
        let started = Instant::now();
        let mapped = map_batch(&orders, self.skip_invalid);
        drop(orders);
        let (batch, report) = match mapped {
            Ok(mapped) => mapped,
            Err(e) => return Err(self.fail(e).await),
        };
        if let Err(e) = self.rotate().await {
            return Err(self.fail(e).await);
        }
        let inner = Arc::clone(&self.inner);
        self.writing = Some(tokio::spawn(async move {
            inner.commit(batch, report, started).await
        }));
        Ok(())
    }

    /// What the batches whose events are appended did so far.
    pub fn report(&self) -> &IngestReport {
        &self.report
    }

    /// Waits for every batch pushed: written, committed, events appended. Returns the report of
    /// them all.
    pub async fn finish(mut self) -> Result<IngestReport, IngestError> {
        self.drain().await?;
        Ok(self.report)
    }

    /// The write in flight is done: its events go to the log once the previous batch's are in.
    async fn rotate(&mut self) -> Result<(), IngestError> {
        let Some(writing) = self.writing.take() else {
            return Ok(());
        };
        let committed = join(writing).await?;
        if let Some(appending) = self.appending.take() {
            let report = join(appending).await?;
            self.report.add(&report);
        }
        let inner = Arc::clone(&self.inner);
        self.appending = Some(tokio::spawn(async move { inner.append(committed).await }));
        Ok(())
    }

    /// Completes the steps in flight.
    async fn drain(&mut self) -> Result<(), IngestError> {
        let rotated = self.rotate().await;
        if let Some(appending) = self.appending.take() {
            let report = join(appending).await?;
            self.report.add(&report);
        }
        rotated
    }

    /// Completes what is in flight, then returns `e` (the first error wins).
    async fn fail(&mut self, e: IngestError) -> IngestError {
        if let Err(other) = self.drain().await {
            tracing::warn!(error = %other, "a step in flight failed too while the ingest pipeline stopped");
        }
        e
    }
}
