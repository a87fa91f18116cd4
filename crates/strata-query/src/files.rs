//! Local paths for a snapshot's data files, which is all DuckDB is given.
//!
//! Files of a local warehouse are read in place. Files on object storage are copied once into the
//! cache directory through the lake's own storage layer (so no DuckDB extension is needed):
//! Iceberg data files never change after they are written, so a cached copy never goes stale.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow_schema::Schema;
use iceberg::table::Table;
use sha2::{Digest, Sha256};

use crate::error::{QueryError, Result};

/// Where remote data files and empty-table stand-ins are kept.
#[derive(Debug, Clone)]
pub(crate) struct FileCache {
    dir: PathBuf,
}

impl FileCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A local path holding the file at `location`.
    pub async fn local_path(&self, table: &Table, location: &str) -> Result<PathBuf> {
        if let Some(path) = local(location) {
            return Ok(path);
        }
        let path = self
            .dir
            .join("files")
            .join(format!("{}.parquet", short_hash(location)));
        if path.is_file() {
            return Ok(path);
        }
        let bytes = table.file_io().new_input(location)?.read().await?;
        write_atomically(&path, &bytes).await?;
        tracing::debug!(location, cached = %path.display(), bytes = bytes.len(), "cached a data file");
        Ok(path)
    }

    /// An empty Parquet file with `schema`: what a table without data files reads as, so its
    /// view still has the table's columns and types.
    pub async fn empty_file(&self, schema: &Arc<Schema>) -> Result<PathBuf> {
        let key = format!("{schema:?}");
        let path = self
            .dir
            .join("empty")
            .join(format!("{}.parquet", short_hash(&key)));
        if path.is_file() {
            return Ok(path);
        }
        let mut buf = Vec::new();
        {
            let mut writer = parquet::arrow::ArrowWriter::try_new(&mut buf, schema.clone(), None)
                .map_err(|e| QueryError::Task(format!("empty table file: {e}")))?;
            writer
                .finish()
                .map_err(|e| QueryError::Task(format!("empty table file: {e}")))?;
        }
        write_atomically(&path, &buf).await?;
        Ok(path)
    }
}

/// The path of a `file:` location or a bare absolute path; `None` for remote storage.
fn local(location: &str) -> Option<PathBuf> {
    if let Some(rest) = location.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if let Some(rest) = location.strip_prefix("file:") {
        return Some(PathBuf::from(rest));
    }
    location.starts_with('/').then(|| PathBuf::from(location))
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

/// Writes `bytes` to a temporary name beside `path`, then renames it: a reader never sees a
/// partial file, even after a crash.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| QueryError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_locations_are_read_in_place() {
        assert_eq!(
            local("file:///data/lake/a.parquet"),
            Some(PathBuf::from("/data/lake/a.parquet"))
        );
        assert_eq!(
            local("/data/a.parquet"),
            Some(PathBuf::from("/data/a.parquet"))
        );
        assert_eq!(local("s3://bucket/a.parquet"), None);
    }
}
