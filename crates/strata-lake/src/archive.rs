//! Files kept beside the tables in the warehouse's storage: the raw inputs of ingest runs
//! (`archives/ingest/<run_id>.jsonl`), so a run can be replayed or audited from exactly what it
//! read. Same storage, credentials and layout rules as the tables, local or S3.

use std::{pin::Pin, task::Poll};

use bytes::Bytes;
use futures_util::{FutureExt, future::BoxFuture};
use iceberg::io::{FileIO, FileIOBuilder, FileRead, FileWrite};
use tokio::io::{AsyncRead, ReadBuf};

use crate::{
    LakeConfig,
    catalog::storage,
    error::{LakeError, Result},
};

/// Bytes fetched per read from storage when streaming a file back.
const READ_CHUNK: u64 = 8 * 1024 * 1024;

/// The warehouse's storage, for files that are not table data.
#[derive(Clone)]
pub struct Archive {
    io: FileIO,
    root: String,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive").field("root", &self.root).finish()
    }
}

impl Archive {
    /// The archive of `config`'s warehouse.
    pub fn open(config: &LakeConfig) -> Result<Self> {
        let s = storage(&config.storage)?;
        Ok(Self {
            io: FileIOBuilder::new(s.factory).with_props(s.props).build(),
            root: s.warehouse.trim_end_matches('/').to_owned(),
        })
    }

    /// The full location (`file:///…/archives/…` or `s3://…/archives/…`) of `key`.
    pub fn location(&self, key: &str) -> Result<String> {
        let ok = !key.is_empty()
            && !key.starts_with('/')
            && key
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !ok {
            return Err(LakeError::Config(format!(
                "archive key `{key}` must be a relative path like `archives/ingest/<run>.jsonl`"
            )));
        }
        Ok(format!("{}/{key}", self.root))
    }

    /// A writer for `key` (replacing any file there once closed).
    pub async fn writer(&self, key: &str) -> Result<Box<dyn FileWrite>> {
        let location = self.location(key)?;
        Ok(self.io.new_output(&location)?.writer().await?)
    }

    /// The size of `key`, or `None` if it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        let location = self.location(key)?;
        if !self.io.exists(&location).await? {
            return Ok(None);
        }
        Ok(Some(self.io.new_input(&location)?.metadata().await?.size))
    }

    /// Streams `key` back, `READ_CHUNK` bytes per storage read.
    pub async fn reader(&self, key: &str) -> Result<ArchiveReader> {
        let location = self.location(key)?;
        let input = self.io.new_input(&location)?;
        let size = input.metadata().await?.size;
        let read = input.reader().await?;
        Ok(ArchiveReader {
            read: std::sync::Arc::new(read),
            size,
            pos: 0,
            chunk: Bytes::new(),
            pending: None,
        })
    }

    /// Deletes `key` (no error if absent).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let location = self.location(key)?;
        Ok(self.io.delete(&location).await?)
    }
}

/// An [`AsyncRead`] over an archived file.
pub struct ArchiveReader {
    read: std::sync::Arc<Box<dyn FileRead>>,
    size: u64,
    pos: u64,
    chunk: Bytes,
    pending: Option<BoxFuture<'static, iceberg::Result<Bytes>>>,
}

impl ArchiveReader {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl AsyncRead for ArchiveReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.chunk.is_empty() {
                let n = self.chunk.len().min(buf.remaining());
                let part = self.chunk.split_to(n);
                buf.put_slice(&part);
                return Poll::Ready(Ok(()));
            }
            if self.pos >= self.size {
                return Poll::Ready(Ok(()));
            }
            if self.pending.is_none() {
                let start = self.pos;
                let end = (start + READ_CHUNK).min(self.size);
                let read = self.read.clone();
                self.pending = Some(async move { read.read(start..end).await }.boxed());
            }
            let Some(pending) = self.pending.as_mut() else {
                continue;
            };
            match pending.poll_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    self.pending = None;
                    let bytes = result.map_err(std::io::Error::other)?;
                    if bytes.is_empty() {
                        return Poll::Ready(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("archived file ended at byte {} of {}", self.pos, self.size),
                        )));
                    }
                    self.pos += bytes.len() as u64;
                    self.chunk = bytes;
                }
            }
        }
    }
}
