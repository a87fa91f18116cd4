//! The source step: a stream of the event log, read with a durable consumer.
//!
//! Two consumer names per pipeline, because [`EventLog::read`] always starts after a consumer's
//! committed offset:
//! - `<consumer>`, the *acknowledgement*: committed only after the Iceberg commit holding the
//!   events, so it is where a restarted pipeline must begin (its lag is the pipeline's lag);
//! - `<consumer>.cursor`, the *read position*: committed right after each read, so the next read
//!   continues after the events already in memory instead of reading them again. It is never
//!   more than the pipeline's buffer ahead of the acknowledgement.
//!
//! Opening reconciles the three positions that survive a crash: the acknowledgement, the cursor,
//! and the lake's own committed offset (which is ahead of the acknowledgement when the process
//! died between the Iceberg commit and the log ack). Events between the acknowledgement and the
//! cursor were in memory when the process died; they are read again first.

use std::{collections::VecDeque, sync::Arc};

use strata_events::{Delivery, EventLog, Offset, StreamName};
use tracing::{info, warn};

use crate::error::{PipelineError, Result};

/// The read-position consumer of `consumer`.
pub fn cursor_name(consumer: &str) -> String {
    format!("{consumer}.cursor")
}

/// Where a pipeline resumed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The acknowledgement found in the log.
    pub acked_in_log: Offset,
    /// The lake's committed offset for the lane.
    pub lake_committed: Offset,
    /// Where reading resumed: the larger of the two.
    pub resumed_at: Offset,
    /// Events read again because they were in memory, unacknowledged, when the last run ended.
    pub replayed: usize,
    /// The stream's head when the pipeline opened.
    pub head: Offset,
}

/// A stream of the log, read through a durable consumer.
pub struct LogSource {
    log: Arc<dyn EventLog>,
    stream: StreamName,
    consumer: String,
    cursor: String,
    /// The last offset handed out (the cursor's committed offset once confirmed).
    position: Offset,
    acked: Offset,
    head: Offset,
    /// Events between the acknowledgement and the cursor, read again at open.
    replay: VecDeque<Delivery>,
    /// A read whose cursor commit failed: it may or may not have been stored.
    unconfirmed: Option<Vec<Delivery>>,
}

impl std::fmt::Debug for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSource")
            .field("stream", &self.stream)
            .field("consumer", &self.consumer)
            .field("position", &self.position)
            .field("acked", &self.acked)
            .finish_non_exhaustive()
    }
}

impl LogSource {
    /// Opens `stream` for `consumer`, resuming after `lake_committed` if the lake is ahead of the
    /// log's acknowledgement (and acknowledging that in the log).
    pub async fn open(
        log: Arc<dyn EventLog>,
        stream: StreamName,
        consumer: &str,
        lake_committed: Offset,
    ) -> Result<(LogSource, Resume)> {
        let cursor = cursor_name(consumer);
        strata_events::check_consumer_name(consumer)?;
        strata_events::check_consumer_name(&cursor)?;
        let stats = log.stats(stream).await?;
        let offset_of = |name: &str| {
            stats
                .consumers
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.committed)
                .unwrap_or(0)
        };
        let acked_in_log = offset_of(consumer);
        let mut at_cursor = offset_of(&cursor);
        let head = stats.head_offset;
        if lake_committed > head {
            return Err(PipelineError::LogBehindLake {
                stream,
                lake: lake_committed,
                head,
            });
        }
        let resumed_at = acked_in_log.max(lake_committed);
        if resumed_at > acked_in_log {
            // The last run committed to the lake and died before acknowledging: do it now.
            log.commit(stream, consumer, resumed_at).await?;
            info!(%stream, consumer, acked_in_log, lake_committed,
                "acknowledged events the lake already holds (the last run stopped between commit and ack)");
        }
        if at_cursor < resumed_at {
            log.commit(stream, &cursor, resumed_at).await?;
            at_cursor = resumed_at;
        }
        let mut replay = VecDeque::new();
        if at_cursor > resumed_at {
            // Read with the acknowledgement consumer: exactly the events after it, up to the
            // cursor. Bounded by the last run's buffer.
            let gap = usize::try_from(at_cursor - resumed_at).unwrap_or(usize::MAX);
            let events = log.read(stream, consumer, gap).await?;
            replay.extend(events.into_iter().filter(|d| d.offset <= at_cursor));
            info!(%stream, consumer, from = resumed_at + 1, to = at_cursor, events = replay.len(),
                "reading again the events that were in memory when the last run stopped");
        }
        let resume = Resume {
            acked_in_log,
            lake_committed,
            resumed_at,
            replayed: replay.len(),
            head,
        };
        Ok((
            LogSource {
                log,
                stream,
                consumer: consumer.to_owned(),
                cursor,
                position: at_cursor,
                acked: resumed_at,
                head,
                replay,
                unconfirmed: None,
            },
            resume,
        ))
    }

    /// The stream read.
    pub fn stream(&self) -> StreamName {
        self.stream
    }

    /// The acknowledged offset.
    pub fn acked(&self) -> Offset {
        self.acked
    }

    /// The last offset read into memory.
    pub fn position(&self) -> Offset {
        self.position
    }

    /// The last known head of the stream.
    pub fn head(&self) -> Offset {
        self.head.max(self.position)
    }

    /// Up to `max` events after those already handed out, in offset order; empty when caught up.
    ///
    /// Not cancellation safe: once the cursor is committed the events exist only in the returned
    /// vector, so await it to completion (the pipeline does).
    pub async fn next(&mut self, max: usize) -> Result<Vec<Delivery>> {
        if !self.replay.is_empty() {
            let n = max.min(self.replay.len());
            return Ok(self.replay.drain(..n).collect());
        }
        if let Some(held) = self.unconfirmed.take()
            && let Some(events) = self.confirm(held).await?
        {
            return Ok(events);
        }
        let events = self.log.read(self.stream, &self.cursor, max).await?;
        let Some(last) = events.last().map(|d| d.offset) else {
            self.head = self.head.max(self.position);
            return Ok(events);
        };
        match self.log.commit(self.stream, &self.cursor, last).await {
            Ok(_) => {
                self.position = last;
                self.head = self.head.max(last);
                Ok(events)
            }
            Err(e) => {
                // The commit may have landed even though it failed to answer; hold the events
                // until the cursor tells.
                warn!(stream = %self.stream, cursor = %self.cursor, error = %e,
                    "could not move the read cursor; checking before reading on");
                self.unconfirmed = Some(events);
                Err(e.into())
            }
        }
    }

    /// Settles a read whose cursor commit failed: `Some(events)` if the cursor did move (they are
    /// ours), `None` if it did not (they will be read again).
    async fn confirm(&mut self, held: Vec<Delivery>) -> Result<Option<Vec<Delivery>>> {
        let last = held.last().map(|d| d.offset).unwrap_or(self.position);
        let stats = match self.log.stats(self.stream).await {
            Ok(s) => s,
            Err(e) => {
                self.unconfirmed = Some(held);
                return Err(e.into());
            }
        };
        let at = stats
            .consumers
            .iter()
            .find(|c| c.name == self.cursor)
            .map(|c| c.committed)
            .unwrap_or(0);
        if at == last {
            self.position = last;
            Ok(Some(held))
        } else if at == self.position {
            Ok(None)
        } else {
            Err(PipelineError::CursorMoved {
                stream: self.stream,
                cursor: self.cursor.clone(),
                found: at,
                expected: self.position,
            })
        }
    }

    /// Acknowledges every event up to `offset` (after their Iceberg commit). Idempotent.
    pub async fn ack(&mut self, offset: Offset) -> Result<()> {
        let committed = self.log.commit(self.stream, &self.consumer, offset).await?;
        self.acked = self.acked.max(committed);
        Ok(())
    }

    /// Reads the stream's head again (for the lag).
    pub async fn refresh_head(&mut self) -> Result<Offset> {
        let stats = self.log.stats(self.stream).await?;
        self.head = stats.head_offset;
        Ok(self.head)
    }
}
