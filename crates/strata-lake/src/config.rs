//! Where the lake lives: which catalog tracks the tables and which storage holds their files.
//!
//! The default ([`LakeConfig::embedded`]) needs nothing installed: a SQLite catalog and a local
//! warehouse under the data directory. The same code runs against an Iceberg REST catalog (R2 Data
//! Catalog, Lakekeeper, Polaris) and any S3-compatible object store (R2, MinIO).

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

/// The catalog name the lake registers its tables under. Stable, because readers must name it:
/// PyIceberg's `SqlCatalog("strata", uri=…)` only sees rows whose `catalog_name` matches.
pub const CATALOG_NAME: &str = "strata";

/// A secret (token, key) that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for handing to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Where the lake's catalog and files are.
#[derive(Debug, Clone)]
pub struct LakeConfig {
    /// The catalog that tracks tables and their current metadata.
    pub catalog: CatalogConfig,
    /// The storage that holds data and metadata files.
    pub storage: StorageConfig,
    /// How the writer builds files and commits.
    pub write: WriteOptions,
}

impl LakeConfig {
    /// The default lake under a data directory: the catalog in `<data-dir>/lake/catalog.db` and
    /// the warehouse in `<data-dir>/lake/warehouse`.
    pub fn embedded(data_dir: &Path) -> Self {
        let lake = data_dir.join("lake");
        Self {
            catalog: CatalogConfig::Embedded {
                path: lake.join("catalog.db"),
            },
            storage: StorageConfig::Local {
                root: lake.join("warehouse"),
            },
            write: WriteOptions::default(),
        }
    }
}

/// The Iceberg catalog.
#[derive(Debug, Clone)]
pub enum CatalogConfig {
    /// The embedded catalog: a SQLite file in the SQL/JDBC catalog layout (see
    /// [`crate::SqliteCatalog`]), readable by PyIceberg's `SqlCatalog`.
    Embedded {
        /// The SQLite file, created if absent.
        path: PathBuf,
    },
    /// Any Iceberg REST catalog, by URL.
    Rest(RestCatalogConfig),
}

/// An Iceberg REST catalog.
#[derive(Debug, Clone)]
pub struct RestCatalogConfig {
    /// Base URL, e.g. `https://catalog.cloudflarestorage.com/<account>/<bucket>`.
    pub uri: String,
    /// Bearer token (R2 Data Catalog API token, Lakekeeper/Polaris token), if the catalog wants one.
    pub token: Option<Secret>,
    /// The warehouse to open (its name or location, as the catalog defines it).
    pub warehouse: Option<String>,
    /// Further catalog properties passed through as is (`credential`, `scope`, `header.*`, …).
    pub properties: BTreeMap<String, String>,
}

/// The storage of data and metadata files.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A local directory (the warehouse root), created if absent.
    Local {
        /// The warehouse directory.
        root: PathBuf,
    },
    /// An S3-compatible object store.
    S3(S3Config),
}

/// An S3-compatible endpoint (AWS S3, R2, MinIO, moto) and its credentials.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The warehouse location, `s3://<bucket>/<prefix>`.
    pub warehouse: String,
    /// The endpoint URL for non-AWS services, e.g. `https://<account>.r2.cloudflarestorage.com`.
    pub endpoint: Option<String>,
    /// The region (`auto` for R2).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<Secret>,
    /// Session token for temporary credentials.
    pub session_token: Option<Secret>,
    /// Address buckets as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint>` (MinIO, moto).
    pub path_style_access: bool,
}

impl S3Config {
    /// The FileIO properties (`s3.*`) for this endpoint, in the names every Iceberg
    /// implementation uses.
    pub fn properties(&self) -> BTreeMap<String, String> {
        let mut props = BTreeMap::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                props.insert(k.to_owned(), v.to_owned());
            }
        };
        put("s3.endpoint", self.endpoint.as_deref());
        put("s3.region", self.region.as_deref());
        put("s3.access-key-id", self.access_key_id.as_deref());
        put(
            "s3.secret-access-key",
            self.secret_access_key.as_ref().map(Secret::expose),
        );
        put(
            "s3.session-token",
            self.session_token.as_ref().map(Secret::expose),
        );
        put(
            "s3.path-style-access",
            Some(if self.path_style_access {
                "true"
            } else {
                "false"
            }),
        );
        props
    }
}

/// How data files are written and commits retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// A data file rolls over to the next one past this size (bytes, before compression
    /// finishes; files come out somewhat smaller).
    pub target_file_size_bytes: usize,
    /// Commit attempts when other writers keep committing first.
    pub max_commit_attempts: u32,
}

impl Default for WriteOptions {
    /// 128 MiB files, 10 commit attempts.
    fn default() -> Self {
        Self {
            target_file_size_bytes: 128 * 1024 * 1024,
            max_commit_attempts: 10,
        }
    }
}
