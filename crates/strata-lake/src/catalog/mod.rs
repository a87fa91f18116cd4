//! Opening the configured catalog and storage, and creating the lake's tables.

pub(crate) mod rest_commit;
mod sqlite;

use std::{collections::HashMap, path::Path, sync::Arc};

use iceberg::{
    Catalog, CatalogBuilder, ErrorKind, NamespaceIdent, TableCreation,
    io::{FileIO, FileIOBuilder, LocalFsStorageFactory, StorageFactory},
    transaction::{ApplyTransactionAction, Transaction},
};
use iceberg_catalog_rest::RestCatalogBuilder;
use iceberg_storage_opendal::OpenDalStorageFactory;
// Linked only for its rustls feature, which iceberg-catalog-rest's reqwest lacks (see Cargo.toml).
use reqwest_rest_tls as _;
pub use sqlite::{NamespacePropertiesChange, SqliteCatalog};
use tracing::info;

use crate::{
    config::{CATALOG_NAME, CatalogConfig, LakeConfig, Secret, StorageConfig},
    error::{LakeError, Result},
    spec::LakeTable,
};

/// What a catalog needs to reach the configured storage.
pub(crate) struct Storage {
    pub(crate) factory: Arc<dyn StorageFactory>,
    /// FileIO properties (`s3.*`).
    pub(crate) props: HashMap<String, String>,
    /// The warehouse URL (`file:///…` or `s3://…`).
    pub(crate) warehouse: String,
}

pub(crate) fn storage(config: &StorageConfig) -> Result<Storage> {
    match config {
        StorageConfig::Local { root } => {
            std::fs::create_dir_all(root).map_err(|source| LakeError::Io {
                path: root.clone(),
                source,
            })?;
            let root = root.canonicalize().map_err(|source| LakeError::Io {
                path: root.clone(),
                source,
            })?;
            Ok(Storage {
                factory: Arc::new(LocalFsStorageFactory),
                props: HashMap::new(),
                warehouse: file_url(&root)?,
            })
        }
        StorageConfig::S3(s3) => {
            if !s3.warehouse.starts_with("s3://") && !s3.warehouse.starts_with("s3a://") {
                return Err(LakeError::Config(format!(
                    "the S3 warehouse must be an s3://<bucket>/<prefix> URL, got `{}`",
                    s3.warehouse
                )));
            }
            Ok(Storage {
                factory: Arc::new(OpenDalStorageFactory::S3 {
                    customized_credential_load: None,
                }),
                props: s3.properties().into_iter().collect(),
                warehouse: s3.warehouse.trim_end_matches('/').to_owned(),
            })
        }
    }
}

/// `file://` + the absolute path, the form PyIceberg and DuckDB read back.
fn file_url(path: &Path) -> Result<String> {
    let text = path.to_str().ok_or_else(|| {
        LakeError::Config(format!(
            "the warehouse path {} is not valid UTF-8",
            path.display()
        ))
    })?;
    Ok(format!("file://{text}"))
}

/// Opens the catalog of `config` (creating the embedded one if needed). Must run inside a Tokio
/// runtime.
pub async fn open_catalog(config: &LakeConfig) -> Result<Arc<dyn Catalog>> {
    Ok(open_catalog_parts(config).await?.0)
}

/// The catalog of `config`, and the embedded [`SqliteCatalog`] itself when that is what it is
/// (what Strata's Iceberg REST endpoint serves).
pub(crate) async fn open_catalog_parts(
    config: &LakeConfig,
) -> Result<(Arc<dyn Catalog>, Option<SqliteCatalog>)> {
    let Storage {
        factory,
        props,
        warehouse,
    } = storage(&config.storage)?;
    match &config.catalog {
        CatalogConfig::Embedded { path } => {
            let file_io: FileIO = FileIOBuilder::new(factory).with_props(props).build();
            let catalog = SqliteCatalog::open(CATALOG_NAME, path, &warehouse, file_io).await?;
            info!(catalog = %path.display(), %warehouse, "lake catalog open (embedded)");
            Ok((Arc::new(catalog.clone()), Some(catalog)))
        }
        CatalogConfig::Rest(rest) => {
            install_tls_provider();
            let mut all = props;
            all.insert("uri".to_owned(), rest.uri.clone());
            if let Some(w) = &rest.warehouse {
                all.insert("warehouse".to_owned(), w.clone());
            }
            if let Some(token) = rest.token.as_ref().map(Secret::expose) {
                all.insert("token".to_owned(), token.to_owned());
            }
            all.extend(rest.properties.clone());
            let catalog = RestCatalogBuilder::default()
                .with_storage_factory(factory)
                .load(CATALOG_NAME, all)
                .await?;
            info!(uri = %rest.uri, "lake catalog open (REST)");
            Ok((Arc::new(catalog), None))
        }
    }
}

/// Makes aws-lc-rs the process's rustls provider unless one is installed already: the REST
/// client's reqwest is built without a provider of its own and panics without a default.
fn install_tls_provider() {
    // An error only means some provider is installed (by us earlier, or the host program).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Creates every lake namespace and table that does not exist yet, and brings the properties the
/// writer relies on (zstd, no internal commit retry) onto existing tables. Idempotent and safe to
/// run from several processes at once. Returns the tables it created.
pub async fn ensure_tables(catalog: &dyn Catalog) -> Result<Vec<LakeTable>> {
    let mut created = Vec::new();
    for table in LakeTable::all() {
        let creation = TableCreation::builder()
            .name(table.table_name().to_owned())
            .schema(table.schema()?)
            .partition_spec(table.partition_spec()?)
            .properties(table.properties())
            .build();
        if ensure_created(catalog, table.namespace(), creation).await? {
            created.push(table);
        }
    }
    Ok(created)
}

/// Creates the table of `creation` in `namespace` (and the namespace) unless it exists; an
/// existing table gets any of `creation`'s properties it lacks or holds differently (another
/// tool may have created it). Idempotent and safe to race. True if it created the table.
pub(crate) async fn ensure_created(
    catalog: &dyn Catalog,
    namespace: &str,
    creation: TableCreation,
) -> Result<bool> {
    let ns = NamespaceIdent::new(namespace.to_owned());
    if !catalog.namespace_exists(&ns).await? {
        match catalog.create_namespace(&ns, HashMap::new()).await {
            Ok(_) => info!(namespace, "created namespace"),
            Err(e) if e.kind() == ErrorKind::NamespaceAlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    let ident = iceberg::TableIdent::new(ns.clone(), creation.name.clone());
    if catalog.table_exists(&ident).await? {
        let loaded = catalog.load_table(&ident).await?;
        let current = loaded.metadata().properties();
        let missing: Vec<(String, String)> = creation
            .properties
            .into_iter()
            .filter(|(k, v)| current.get(k) != Some(v))
            .collect();
        if !missing.is_empty() {
            let tx = Transaction::new(&loaded);
            let mut action = tx.update_table_properties();
            for (k, v) in &missing {
                action = action.set(k.clone(), v.clone());
            }
            action.apply(tx)?.commit(catalog).await?;
            info!(table = %ident, properties = ?missing, "updated table properties");
        }
        return Ok(false);
    }
    match catalog.create_table(&ns, creation).await {
        Ok(_) => {
            info!(table = %ident, "created table");
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::TableAlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}
