//! The pipeline's errors, split by what the runner does about them: retry (storage, catalog or
//! log trouble that may pass) or stop (a bad definition, a log that no longer matches the lake).

use std::path::PathBuf;

use strata_events::{LogError, Offset, StreamName};
use strata_lake::LakeError;

use crate::transform::TransformError;

/// Everything that can stop or delay a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A pipeline definition that is not valid (checked at load, never per event).
    #[error("pipeline definition {}: {source}", path.display())]
    Definition {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: TransformError,
    },
    /// A definition given as text that is not valid.
    #[error("pipeline definition of {stream}: {source}")]
    InlineDefinition {
        /// The stream.
        stream: StreamName,
        /// What is wrong with it.
        source: TransformError,
    },
    /// A transform handed to the pipeline of another stream.
    #[error("a transform of {found} cannot run in the pipeline of {expected}")]
    WrongStream {
        /// The pipeline's stream.
        expected: StreamName,
        /// The transform's stream.
        found: StreamName,
    },
    /// The event log failed.
    #[error("event log: {0}")]
    Log(#[from] LogError),
    /// The lake failed.
    #[error("lake: {0}")]
    Lake(#[from] LakeError),
    /// The lake holds offsets the log does not have: the log was replaced or truncated. Going on
    /// would hand new events offsets the lake already counts as written, and they would be
    /// skipped as duplicates, so the pipeline refuses.
    #[error(
        "{stream}: the lake holds offsets up to {lake} but the event log's head is {head}; the log was replaced or truncated, and new events would reuse offsets the lake treats as written. Move the lake aside or restore the log"
    )]
    LogBehindLake {
        /// The stream.
        stream: StreamName,
        /// The lake's committed offset.
        lake: Offset,
        /// The log's head.
        head: Offset,
    },
    /// The read cursor moved in a way this process did not do (another process with the same
    /// consumer name?).
    #[error(
        "{stream}: the read cursor `{cursor}` is at {found}, expected {expected}; is another process running this pipeline with the same consumer name?"
    )]
    CursorMoved {
        /// The stream.
        stream: StreamName,
        /// The cursor's consumer name.
        cursor: String,
        /// Where it is.
        found: Offset,
        /// Where this process left it.
        expected: Offset,
    },
    /// Another process runs the pipelines of this data directory.
    #[error(
        "the pipelines of this data directory already run in another process{} (lock {}); `strata serve` runs them unless --no-pipelines",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        path.display()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The holder's pid, when readable.
        pid: Option<u32>,
    },
    /// Settings that cannot work.
    #[error("pipeline configuration: {0}")]
    Config(String),
    /// A background task of the pipeline panicked or was cancelled.
    #[error("pipeline task failed: {0}")]
    Task(String),
}

impl PipelineError {
    /// True when retrying later may succeed: storage, catalog and log trouble that may pass.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Lake(e) => e.is_transient(),
            // Named the other way round, so a new kind of storage failure is retried by default.
            Self::Log(e) => !matches!(
                e,
                LogError::InvalidConsumer { .. }
                    | LogError::OffsetBeyondHead { .. }
                    | LogError::StreamMismatch { .. }
                    | LogError::Corrupt { .. }
                    | LogError::Encode { .. }
                    | LogError::UnsupportedFormat { .. }
            ),
            _ => false,
        }
    }
}

impl PipelineError {
    /// True when the pipeline waits and tries again rather than stopping: every transient error,
    /// and every lake error. The log keeps the events, so waiting loses nothing, and the lake's
    /// classification is not reliable for local storage: iceberg-rust reports a failed read of a
    /// metadata file on local disk as `DataInvalid`, which is indistinguishable from corrupt
    /// data, so an unavailable warehouse directory would otherwise stop the pipeline for good.
    pub fn is_retryable(&self) -> bool {
        self.is_transient() || matches!(self, Self::Lake(_))
    }
}

/// The crate's result type.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
