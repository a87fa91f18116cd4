//! Where the DDL comes from: the files under `schema/` on disk, or the copy embedded at build time.

use std::path::{Path, PathBuf};

use crate::error::SchemaError;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// One DDL file: its name (`06_order.sql`), a path for messages, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// The ordered set of DDL files the model is built from.
#[derive(Debug, Clone)]
pub struct SchemaSource {
    pub files: Vec<SourceFile>,
}

impl SchemaSource {
    /// The schema compiled into this binary (what `strata schema apply` installs by default).
    pub fn embedded() -> Self {
        let files = EMBEDDED
            .iter()
            .map(|(name, text)| SourceFile {
                name: (*name).to_string(),
                path: PathBuf::from("schema").join(name),
                text: (*text).to_string(),
            })
            .collect();
        Self { files }
    }

    /// Every `*.sql` file of a directory, sorted by name (the apply order).
    pub fn from_dir(dir: &Path) -> Result<Self, SchemaError> {
        let entries = std::fs::read_dir(dir).map_err(|source| SchemaError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SchemaError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "sql") {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(SchemaError::NoFiles(dir.to_path_buf()));
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Io {
                path: path.clone(),
                source,
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(SourceFile { name, path, text });
        }
        Ok(Self { files })
    }

    /// Build a source from in-memory files (tests, fixtures).
    pub fn from_files<I, N, T>(files: I) -> Self
    where
        I: IntoIterator<Item = (N, T)>,
        N: Into<String>,
        T: Into<String>,
    {
        let mut files: Vec<SourceFile> = files
            .into_iter()
            .map(|(n, t)| {
                let name = n.into();
                SourceFile {
                    path: PathBuf::from(&name),
                    name,
                    text: t.into(),
                }
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Self { files }
    }
}
