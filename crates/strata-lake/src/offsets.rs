//! Exactly-once bookkeeping kept in the tables themselves: every commit records which stream
//! offsets it holds in its snapshot summary, so a writer restarted after a crash can tell what is
//! already in the lake without any other store.
//!
//! A *lane* is one ordered, single-writer sequence of offsets feeding a table: the embedded log
//! of a stream is one lane; a NATS consumer per process would be one lane each. Offsets only grow
//! within a lane, so the highest committed offset of a lane says everything up to it is in.
//!
//! Summary keys of a commit:
//! - `strata.commit-id`: `<stream>:<lane>:<first>-<last>`, deterministic, so a retried commit
//!   is recognized;
//! - `strata.stream`, `strata.lane`, `strata.first-offset`, `strata.last-offset`;
//! - `strata.offsets`: the highest committed offset of every lane (JSON object), carried forward
//!   from the parent snapshot, so the answer survives snapshot expiry.
//!
//! Only the current snapshot and its ancestors count: a rolled-back snapshot's range is not
//! committed.

use std::collections::{BTreeMap, HashMap};

use iceberg::spec::{Snapshot, SnapshotRef, TableMetadata};
use strata_events::{Offset, StreamName};

use crate::error::{LakeError, Result};

/// Summary key: the deterministic commit id.
pub const COMMIT_ID: &str = "strata.commit-id";
/// Summary key: the stream's wire name.
pub const STREAM: &str = "strata.stream";
/// Summary key: the lane.
pub const LANE: &str = "strata.lane";
/// Summary key: the first offset of the commit's range.
pub const FIRST_OFFSET: &str = "strata.first-offset";
/// Summary key: the last offset of the commit's range.
pub const LAST_OFFSET: &str = "strata.last-offset";
/// Summary key: every lane's committed offset after this commit (JSON object).
pub const OFFSETS: &str = "strata.offsets";

/// The lane of the embedded log: one per stream, offsets from the log.
pub const DEFAULT_LANE: &str = "log";

/// Checks a lane name: 1 to 64 characters of `A-Z a-z 0-9 _ - .`, so commit ids stay parseable.
pub fn check_lane(lane: &str) -> Result<()> {
    let ok = (1..=64).contains(&lane.len())
        && lane
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(LakeError::InvalidLane(lane.chars().take(80).collect()))
    }
}

/// The offsets one commit holds: `first..=last` of one lane of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitRange {
    stream: StreamName,
    lane: String,
    first: Offset,
    last: Offset,
}

impl CommitRange {
    /// A checked range.
    pub fn new(stream: StreamName, lane: &str, first: Offset, last: Offset) -> Result<Self> {
        check_lane(lane)?;
        if first > last {
            return Err(LakeError::InvalidRange { first, last });
        }
        Ok(Self {
            stream,
            lane: lane.to_owned(),
            first,
            last,
        })
    }

    /// The stream.
    pub fn stream(&self) -> StreamName {
        self.stream
    }

    /// The lane.
    pub fn lane(&self) -> &str {
        &self.lane
    }

    /// First offset, inclusive.
    pub fn first(&self) -> Offset {
        self.first
    }

    /// Last offset, inclusive.
    pub fn last(&self) -> Offset {
        self.last
    }

    /// The deterministic commit id, e.g. `commerce:log:1-500`.
    pub fn commit_id(&self) -> String {
        format!(
            "{}:{}:{}-{}",
            self.stream.slug(),
            self.lane,
            self.first,
            self.last
        )
    }

    /// The same range starting at `first` (after dropping offsets already committed).
    pub(crate) fn starting_at(&self, first: Offset) -> Self {
        Self {
            first,
            ..self.clone()
        }
    }

    /// The summary properties of a commit of this range on top of `carried` lane offsets.
    pub(crate) fn summary(&self, carried: &BTreeMap<String, Offset>) -> HashMap<String, String> {
        let mut offsets = carried.clone();
        let entry = offsets.entry(self.lane.clone()).or_insert(0);
        *entry = (*entry).max(self.last);
        let offsets_json = serde_json::to_string(&offsets).unwrap_or_else(|_| "{}".to_owned());
        HashMap::from([
            (COMMIT_ID.to_owned(), self.commit_id()),
            (STREAM.to_owned(), self.stream.wire_name().to_owned()),
            (LANE.to_owned(), self.lane.clone()),
            (FIRST_OFFSET.to_owned(), self.first.to_string()),
            (LAST_OFFSET.to_owned(), self.last.to_string()),
            (OFFSETS.to_owned(), offsets_json),
        ])
    }
}

/// The snapshots of the table's current state: the current snapshot, its parent, and so on
/// back to the oldest one still in the metadata. A snapshot that was rolled back is not among
/// them, so its rows do not count as committed.
pub fn ancestry(metadata: &TableMetadata) -> impl Iterator<Item = &SnapshotRef> {
    std::iter::successors(metadata.current_snapshot(), |s| {
        s.parent_snapshot_id()
            .and_then(|id| metadata.snapshot_by_id(id))
    })
}

/// The snapshot of the current state whose summary carries `commit_id`, if any.
pub fn find_commit(metadata: &TableMetadata, commit_id: &str) -> Option<i64> {
    ancestry(metadata)
        .find(|s| prop(s, COMMIT_ID) == Some(commit_id))
        .map(|s| s.snapshot_id())
}

/// The highest committed offset of every lane in the current state: the maximum over the
/// ancestry's ranges and carried maps (the maps keep lanes whose own snapshots have expired).
pub fn committed_offsets(metadata: &TableMetadata) -> BTreeMap<String, Offset> {
    let mut out: BTreeMap<String, Offset> = BTreeMap::new();
    let mut merge = |lane: &str, offset: Offset| {
        let e = out.entry(lane.to_owned()).or_insert(0);
        *e = (*e).max(offset);
    };
    for snapshot in ancestry(metadata) {
        if let (Some(lane), Some(last)) = (prop(snapshot, LANE), prop(snapshot, LAST_OFFSET))
            && let Ok(last) = last.parse::<Offset>()
        {
            merge(lane, last);
        }
        if let Some(map) = prop(snapshot, OFFSETS)
            && let Ok(map) = serde_json::from_str::<BTreeMap<String, Offset>>(map)
        {
            for (lane, offset) in map {
                merge(&lane, offset);
            }
        }
    }
    out
}

fn prop<'a>(snapshot: &'a Snapshot, key: &str) -> Option<&'a str> {
    snapshot
        .summary()
        .additional_properties
        .get(key)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_ids_are_deterministic_and_checked() {
        let r = CommitRange::new(StreamName::Commerce, "log", 1, 500).expect("valid");
        assert_eq!(r.commit_id(), "commerce:log:1-500");
        assert_eq!(
            CommitRange::new(StreamName::Sync, "nats.worker-1", 7, 7)
                .map(|r| r.commit_id())
                .ok(),
            Some("sync:nats.worker-1:7-7".to_owned())
        );
        assert!(CommitRange::new(StreamName::Commerce, "log", 5, 4).is_err());
        for bad in ["", "a:b", "with space", &"x".repeat(65)] {
            assert!(check_lane(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn summary_carries_every_lane_forward() {
        let carried = BTreeMap::from([("a".to_owned(), 10), ("log".to_owned(), 3)]);
        let r = CommitRange::new(StreamName::Commerce, "log", 4, 9).expect("valid");
        let s = r.summary(&carried);
        assert_eq!(s[OFFSETS], r#"{"a":10,"log":9}"#);
        assert_eq!(s[LAST_OFFSET], "9");
        assert_eq!(s[COMMIT_ID], "commerce:log:4-9");
    }
}
