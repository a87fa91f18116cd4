//! Step `archive-jsonl`: the bulk result, streamed from Shopify into the lake's object storage at
//! `archives/ingest/{run_id}.jsonl`, so the ingest (and any replay or audit) reads exactly what
//! Shopify returned without downloading it again.
//!
//! Streamed chunk by chunk: memory stays at one chunk whatever the file's size. A download that
//! breaks or comes up short fails the attempt before the archive is closed, and the retry
//! writes the whole file again (a closed archive replaces whatever an earlier attempt left).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_lake::Archive;
use strata_shopify::{AdminClient, BulkOperationStatus, Gid};
use tokio::io::AsyncReadExt;

use super::error::DailySyncError;

/// Bytes read from the download per write to the archive.
const CHUNK: usize = 1024 * 1024;

/// The archive key of a run.
pub fn archive_key(run_id: &str) -> String {
    format!("archives/ingest/{run_id}.jsonl")
}

/// What step `archive-jsonl` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    /// The key in the lake's storage.
    pub key: String,
    /// Its full location (`file://…` or `s3://…`).
    pub location: String,
    /// Its size.
    pub bytes: u64,
}

/// Downloads operation `gid`'s result into `key` (an empty file when nothing matched).
pub(crate) async fn archive(
    client: &AdminClient,
    archive: &Archive,
    gid: &str,
    key: &str,
) -> Result<Archived, DailySyncError> {
    let storage = |source| DailySyncError::Archive {
        key: key.to_owned(),
        source: Box::new(source),
    };
    let location = archive.location(key).map_err(storage)?;
    let id = Gid::parse(gid).map_err(|e| DailySyncError::ResultUnavailable {
        id: gid.to_owned(),
        reason: format!("the stored operation id does not parse: {e}"),
    })?;
    // Fetched again for a fresh signed URL (the await step does not keep it).
    let op = client.bulk_operation(&id).await?;
    if op.status != BulkOperationStatus::Completed {
        return Err(DailySyncError::ResultUnavailable {
            id: gid.to_owned(),
            reason: format!("it is {} now, so its result cannot be fetched", op.status),
        });
    }
    let mut writer = archive.writer(key).await.map_err(storage)?;
    let mut written = 0u64;
    if let Some(url) = &op.url {
        let mut body = client.open_download(url, op.file_size).await?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match body.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(source) => {
                    tracing::warn!(operation = gid, received = written, error = %source, "bulk result download broke; the archive is written again on retry");
                    return Err(DailySyncError::Download {
                        received: written,
                        source,
                    });
                }
            };
            writer
                .write(Bytes::copy_from_slice(&buf[..n]))
                .await
                .map_err(|e| storage(e.into()))?;
            written += n as u64;
        }
    }
    writer.close().await.map_err(|e| storage(e.into()))?;
    let found = archive.size(key).await.map_err(storage)?;
    if found != Some(written) {
        return Err(DailySyncError::ArchiveSize {
            key: key.to_owned(),
            written,
            found,
        });
    }
    tracing::info!(operation = gid, %location, bytes = written, "bulk result archived");
    Ok(Archived {
        key: key.to_owned(),
        location,
        bytes: written,
    })
}
