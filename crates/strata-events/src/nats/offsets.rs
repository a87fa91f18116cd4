//! Consumers' committed offsets, in a JetStream key-value bucket.
//!
//! Why not a durable consumer's ack floor: [`EventLog::commit`](crate::EventLog::commit) lets a
//! consumer commit any offset up to the head without having fetched the events (the pipeline
//! does, when the lake is ahead of the log, and for its `.cursor` consumer), which an ack floor
//! cannot express: JetStream only acknowledges messages it delivered. A KV entry per consumer can:
//! key `<stream slug>.<consumer>` (e.g. `commerce.lake`), value the offset in decimal, readable
//! with `nats kv get STRATA_OFFSETS commerce.lake`.
//!
//! Monotonic under concurrency: every update is a compare-and-set on the key's revision
//! (`Nats-Expected-Last-Subject-Sequence`), so two processes committing at once cannot move an
//! offset backwards; the loser reads the winner's value and tries again only if it is still ahead.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use futures_util::TryStreamExt;

use crate::{
    StreamName,
    log::{ConsumerOffset, LogError, Offset},
};

/// Compare-and-set attempts before a commit gives up (each lost race means another committer
/// moved the key in between, so this many in a row is pathological).
const CAS_ATTEMPTS: usize = 32;

/// The offsets bucket.
pub(super) struct Offsets {
    kv: kv::Store,
    bucket: String,
    /// The last value and revision seen per key, so a commit tries its compare-and-set at once
    /// instead of reading the key first (the pipeline commits its cursor after every read).
    known: Mutex<HashMap<String, Known>>,
}

#[derive(Debug, Clone, Copy)]
struct Known {
    committed: Offset,
    /// `None`: the key does not exist (or was deleted).
    revision: Option<u64>,
}

impl Offsets {
    pub(super) fn new(kv: kv::Store, bucket: String) -> Self {
        Self {
            kv,
            bucket,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn remember(&self, key: &str, known: Option<Known>) {
        let mut map = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        match known {
            Some(k) => map.insert(key.to_owned(), k),
            None => map.remove(key),
        };
    }

    fn recalled(&self, key: &str) -> Option<Known> {
        let map = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).copied()
    }

    /// Reads a key from the server (and remembers it).
    async fn fetch(&self, key: &str) -> Result<Known, LogError> {
        let entry = self.kv.entry(key).await.map_err(|e| LogError::Nats {
            op: "read a committed offset",
            reason: format!("key {key} of bucket {}: {e}", self.bucket),
        })?;
        let known = match entry {
            Some(entry) if entry.operation == Operation::Put => Known {
                committed: self.parse(key, &entry.value)?,
                revision: Some(entry.revision),
            },
            Some(deleted) => Known {
                committed: 0,
                revision: Some(deleted.revision),
            },
            None => Known {
                committed: 0,
                revision: None,
            },
        };
        self.remember(key, Some(known));
        Ok(known)
    }

    fn parse(&self, key: &str, value: &[u8]) -> Result<Offset, LogError> {
        std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.trim().parse::<Offset>().ok())
            .ok_or_else(|| LogError::Nats {
                op: "read a committed offset",
                reason: format!(
                    "key {key} of bucket {} holds `{}`, not an offset (was it edited by hand?)",
                    self.bucket,
                    crate::value::snippet(&String::from_utf8_lossy(value), 40)
                ),
            })
    }

    /// `consumer`'s committed offset on `stream`, read from the server (0 if none).
    pub(super) async fn committed(
        &self,
        stream: StreamName,
        consumer: &str,
    ) -> Result<Offset, LogError> {
        Ok(self.fetch(&key(stream, consumer)).await?.committed)
    }

    /// Moves the offset forward to `offset` (never back); returns the committed offset after.
    /// The caller has checked `offset` against the head.
    pub(super) async fn commit(
        &self,
        stream: StreamName,
        consumer: &str,
        offset: Offset,
    ) -> Result<Offset, LogError> {
        let key = key(stream, consumer);
        let (mut state, mut fresh) = match self.recalled(&key) {
            Some(known) => (known, false),
            None => (self.fetch(&key).await?, true),
        };
        for _ in 0..CAS_ATTEMPTS {
            if offset <= state.committed {
                if fresh {
                    return Ok(state.committed);
                }
                // What we remember may be stale (another process may have committed further):
                // answer with the server's value.
                state = self.fetch(&key).await?;
                fresh = true;
                continue;
            }
            let value = Bytes::from(offset.to_string());
            let written = match state.revision {
                Some(revision) => self.kv.update(&key, value, revision).await.map_err(|e| {
                    (
                        e.kind() == UpdateErrorKind::WrongLastRevision,
                        e.to_string(),
                    )
                }),
                None => self
                    .kv
                    .create(&key, value)
                    .await
                    .map_err(|e| (e.kind() == CreateErrorKind::AlreadyExists, e.to_string())),
            };
            match written {
                Ok(revision) => {
                    self.remember(
                        &key,
                        Some(Known {
                            committed: offset,
                            revision: Some(revision),
                        }),
                    );
                    return Ok(offset);
                }
                Err((true, _)) => {
                    // Someone else wrote the key since we read it: read again and retry.
                    state = self.fetch(&key).await?;
                    fresh = true;
                }
                Err((false, reason)) => {
                    // The write may or may not have landed: forget what we knew.
                    self.remember(&key, None);
                    return Err(LogError::Nats {
                        op: "commit an offset",
                        reason: format!("key {key} of bucket {}: {reason}", self.bucket),
                    });
                }
            }
        }
        Err(LogError::Nats {
            op: "commit an offset",
            reason: format!(
                "key {key} of bucket {} kept changing under {CAS_ATTEMPTS} compare-and-set \
                 attempts: are many processes committing for the same consumer?",
                self.bucket
            ),
        })
    }

    /// Every consumer that has committed on `stream`, by name.
    pub(super) async fn list(&self, stream: StreamName) -> Result<Vec<ConsumerOffset>, LogError> {
        let failed = |e: String| LogError::Nats {
            op: "list committed offsets",
            reason: format!("bucket {}: {e}", self.bucket),
        };
        let filter = format!("{}{}.>", self.kv.prefix, stream.slug());
        let subjects: Vec<(String, usize)> = self
            .kv
            .stream
            .info_with_subjects(&filter)
            .await
            .map_err(|e| failed(e.to_string()))?
            .try_collect()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let keys: Vec<String> = subjects
            .into_iter()
            .filter_map(|(subject, _)| {
                subject
                    .strip_prefix(self.kv.prefix.as_str())
                    .map(str::to_owned)
            })
            .collect();
        let reads = keys.iter().map(|key| self.fetch(key));
        let values = futures_util::future::try_join_all(reads).await?;
        let mut consumers: Vec<ConsumerOffset> = keys
            .iter()
            .zip(values)
            .filter(|(_, known)| known.revision.is_some())
            .filter_map(|(key, known)| {
                let encoded = key.split_once('.')?.1;
                let name = decode(encoded)?;
                Some(ConsumerOffset {
                    name,
                    committed: known.committed,
                })
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(consumers)
    }
}

/// The KV key of `consumer` on `stream`: `<slug>.<consumer, encoded>`.
pub(super) fn key(stream: StreamName, consumer: &str) -> String {
    format!("{}.{}", stream.slug(), encode(consumer))
}

/// Encodes a consumer name (printable ASCII, see [`crate::check_consumer_name`]) into the
/// characters a KV key accepts (`A-Z a-z 0-9 _ - . = /`): letters, digits, `_` and `-` stay, a
/// `.` stays where it cannot make an empty token (so `lake.cursor` reads as itself), and every
/// other byte becomes `=XX` (hex). `=` is always escaped, so decoding is unambiguous.
pub(super) fn encode(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    for (i, &b) in bytes.iter().enumerate() {
        let dot_ok = b == b'.' && i > 0 && i + 1 < bytes.len() && bytes[i - 1] != b'.';
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || dot_ok {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

/// The inverse of [`encode`]; `None` for a key not written by it.
pub(super) fn decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_valid_consumer_name_round_trips_through_a_valid_key() {
        let names = [
            "lake",
            "lake.cursor",
            ".lead",
            "trail.",
            "a..b",
            "=",
            "x=41",
            "*>/\\$%",
            "!~",
            "Mixed-Case_09",
        ];
        for name in names {
            let encoded = encode(name);
            assert!(
                !encoded.is_empty()
                    && !encoded.starts_with('.')
                    && !encoded.ends_with('.')
                    && !encoded.contains("..")
                    && encoded
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.=".contains(&b)),
                "{name} -> {encoded}"
            );
            assert_eq!(decode(&encoded).as_deref(), Some(name));
        }
        assert_eq!(encode("lake.cursor"), "lake.cursor");
        assert_eq!(encode("a b"), "a=20b");
        let all: String = (b'!'..=b'~').map(char::from).collect();
        assert_eq!(decode(&encode(&all)), Some(all));
        assert_eq!(key(StreamName::Commerce, "lake"), "commerce.lake");
    }
}
