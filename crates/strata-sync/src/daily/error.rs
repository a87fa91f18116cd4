//! What can stop a step of the daily sync, and whether retrying the step can help.

use strata_events::LogError;
use strata_lake::LakeError;
use strata_shopify::{ShopifyError, jsonl::JsonlError};
use strata_workflow::{EngineError, StepError};

use crate::ingest::IngestError;

/// A failed attempt of a step of `daily_shopify_sync`.
#[derive(Debug, thiserror::Error)]
pub enum DailySyncError {
    /// The instance's parameters do not parse.
    #[error(
        "invalid parameters for daily_shopify_sync: {0} (expected {{\"since\"?: an RFC 3339 time such as \"2026-11-28T00:00:00Z\"}})"
    )]
    Params(String),

    /// `bulkOperationRunQuery` refused because another bulk query of this app is running
    /// (ours from an attempt whose answer was lost, or another job's). Retried: it ends.
    #[error(
        "another bulk query of this app is still running on the shop ({0}); retrying once it has finished"
    )]
    BulkInProgress(String),

    /// Shopify (the API, the bulk operation, the result download) failed.
    #[error(transparent)]
    Shopify(#[from] ShopifyError),

    /// A completed operation's result is gone or unusable; only a new bulk query helps.
    #[error(
        "bulk operation {id}: {reason} (restart the run: `strata workflow restart <instance>` starts a new bulk query)"
    )]
    ResultUnavailable {
        /// The operation.
        id: String,
        /// What is wrong.
        reason: String,
    },

    /// The download stream broke or came up short (the whole file is fetched again).
    #[error("the bulk result download failed after {received} bytes: {source}")]
    Download {
        /// Bytes read before the failure.
        received: u64,
        /// What failed.
        #[source]
        source: std::io::Error,
    },

    /// The lake's object storage failed (writing or reading the archive).
    #[error("the archive {key} in the lake's storage: {source}")]
    Archive {
        /// The archive key.
        key: String,
        /// The storage error (boxed: it is large, and rare).
        #[source]
        source: Box<LakeError>,
    },

    /// The archive holds fewer bytes than were downloaded into it.
    #[error("the archive {key} holds {found:?} bytes after writing {written}; writing it again")]
    ArchiveSize {
        /// The archive key.
        key: String,
        /// Bytes written.
        written: u64,
        /// Bytes the storage reports (`None`: the file is missing).
        found: Option<u64>,
    },

    /// Reading the archived JSONL failed (not a bad line: those are quarantined).
    #[error("reading the archived bulk result {key}: {source}")]
    Read {
        /// The archive key.
        key: String,
        /// The reader's error.
        #[source]
        source: JsonlError,
    },

    /// Writing orders into PostgreSQL or their events into the log failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),

    /// The event log could not say where the commerce stream stands.
    #[error("reading the commerce stream's head offset: {0}")]
    Log(#[from] LogError),

    /// The commerce pipeline has not landed the ingest's events in the lake in time.
    #[error(
        "the lake's commerce.telemetry holds events up to offset {landed} of the log, the ingest's events reach {target}, \
         still after {waited_secs} s: is a pipeline running (`strata serve`, or `strata pipeline run`)?"
    )]
    NotLanded {
        /// The committed offset in the lake.
        landed: u64,
        /// The offset to reach.
        target: u64,
        /// How long it waited.
        waited_secs: u64,
    },

    /// The workflow store failed, or a compare-and-set of the watermark lost.
    #[error("the watermark in the workflow store: {0}")]
    Watermark(#[from] EngineError),

    /// A stored watermark that does not hold a time.
    #[error(
        "the stored watermark `{key}` is not {{\"updated_at\": RFC 3339 time}}: {value} (fix it or give `since`)"
    )]
    CorruptWatermark {
        /// The value key.
        key: String,
        /// What is stored.
        value: String,
    },
}

impl DailySyncError {
    /// Whether retrying the step may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::BulkInProgress(_)
            | Self::Download { .. }
            | Self::Archive { .. }
            | Self::ArchiveSize { .. }
            | Self::Read { .. }
            | Self::Log(_)
            | Self::NotLanded { .. } => true,
            Self::Shopify(e) => e.is_transient(),
            Self::Ingest(e) => e.is_retryable(),
            Self::Watermark(e) => {
                matches!(e, EngineError::Store(_) | EngineError::ValueConflict { .. })
            }
            Self::Params(_) | Self::ResultUnavailable { .. } | Self::CorruptWatermark { .. } => {
                false
            }
        }
    }

    /// The step error: retried or fatal per [`Self::is_retryable`].
    pub fn into_step(self) -> StepError {
        if self.is_retryable() {
            StepError::retryable(self)
        } else {
            StepError::fatal(self)
        }
    }
}
