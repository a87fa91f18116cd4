//! The embedded Iceberg catalog: table pointers in a SQLite file, in the layout of the JDBC /
//! SQL catalogs (`iceberg_tables`, `iceberg_namespace_properties`), so PyIceberg's `SqlCatalog`
//! and Java's `JdbcCatalog` open the same file.
//!
//! Why not `iceberg-catalog-sql`: it reaches SQLite through sqlx 0.8, whose `libsqlite3-sys` 0.30
//! cannot share a lockfile with the `libsqlite3-sys` 0.40 that rusqlite 0.43 (the event log) links:
//! Cargo allows one crate per `links = "sqlite3"` in a workspace. The catalog is small: namespaces,
//! table pointers, and one compare-and-swap of the metadata location per commit, which is what
//! makes concurrent commits safe (the loser gets a retryable `CatalogCommitConflicts`).

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use iceberg::{
    Catalog, Error, ErrorKind, MetadataLocation, Namespace, NamespaceIdent, Result, Runtime,
    TableCommit, TableCreation, TableIdent, TableRequirement, TableUpdate,
    io::FileIO,
    spec::{TableMetadata, TableMetadataBuilder},
    table::Table,
};
use rusqlite::{Connection, OptionalExtension, params};

/// What [`SqliteCatalog::update_namespace_properties`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespacePropertiesChange {
    /// Keys set (added or replaced), sorted.
    pub updated: Vec<String>,
    /// Keys removed, sorted.
    pub removed: Vec<String>,
    /// Keys asked to be removed that the namespace did not have, sorted.
    pub missing: Vec<String>,
}

/// Namespace property holding the namespace's storage location.
const NAMESPACE_LOCATION: &str = "location";

/// An Iceberg catalog stored in one SQLite file (see the module docs).
#[derive(Clone)]
pub struct SqliteCatalog {
    name: String,
    path: PathBuf,
    warehouse: String,
    conn: Arc<Mutex<Connection>>,
    file_io: FileIO,
    runtime: Runtime,
}

impl std::fmt::Debug for SqliteCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCatalog")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("warehouse", &self.warehouse)
            .finish_non_exhaustive()
    }
}

fn db_err(context: &str, e: rusqlite::Error) -> Error {
    Error::new(
        ErrorKind::Unexpected,
        format!("catalog database: {context}"),
    )
    .with_source(e)
}

impl SqliteCatalog {
    /// Opens (creating if needed) the catalog `name` in the SQLite file `path`, with tables
    /// placed under `warehouse` (a `file://` or `s3://` URL) and files reached through `file_io`.
    ///
    /// Several catalogs (names) can share one file, as in the SQL catalog layout. Must be called
    /// inside a Tokio runtime.
    pub async fn open(
        name: &str,
        path: &Path,
        warehouse: &str,
        file_io: FileIO,
    ) -> Result<SqliteCatalog> {
        if name.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::DataInvalid,
                "catalog name cannot be empty",
            ));
        }
        let runtime = Runtime::try_current()?;
        let owned = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || open_db(&owned))
            .await
            .map_err(|e| Error::new(ErrorKind::Unexpected, format!("catalog open task: {e}")))??;
        Ok(SqliteCatalog {
            name: name.to_owned(),
            path: path.to_path_buf(),
            warehouse: warehouse.trim_end_matches('/').to_owned(),
            conn: Arc::new(Mutex::new(conn)),
            file_io,
            runtime,
        })
    }

    /// The catalog's name (the `catalog_name` column), which readers must use to see its tables.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where new tables are placed when their namespace has no `location` property.
    pub fn warehouse(&self) -> &str {
        &self.warehouse
    }

    /// The file IO used for metadata files and handed to loaded tables.
    pub fn file_io(&self) -> &FileIO {
        &self.file_io
    }

    /// Runs `f` on the connection off the async threads (SQLite calls block).
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| Error::new(ErrorKind::Unexpected, "catalog connection poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Unexpected, format!("catalog task: {e}")))?
    }

    fn table_from(
        &self,
        ident: TableIdent,
        location: String,
        metadata: TableMetadata,
    ) -> Result<Table> {
        Table::builder()
            .file_io(self.file_io.clone())
            .identifier(ident)
            .metadata_location(location)
            .metadata(metadata)
            .runtime(self.runtime.clone())
            .build()
    }

    /// The metadata location the catalog holds for `ident`, if the table exists.
    async fn metadata_location(&self, ident: &TableIdent) -> Result<Option<String>> {
        let (name, ns, tbl) = self.keys(ident);
        self.with_conn(move |c| {
            c.query_row(
                "SELECT metadata_location FROM iceberg_tables
                 WHERE catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3
                   AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
                params![name, ns, tbl],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| db_err("load table", e))
        })
        .await
    }

    fn keys(&self, ident: &TableIdent) -> (String, String, String) {
        (
            self.name.clone(),
            ident.namespace().join("."),
            ident.name().to_owned(),
        )
    }

    /// Commits `updates` to table `ident` if every one of `requirements` holds on its current
    /// metadata: the Iceberg REST commit (and what [`Catalog::update_table`] does for a
    /// [`TableCommit`], whose fields cannot be built outside the `iceberg` crate).
    ///
    /// Checks the requirements (a failed one is [`ErrorKind::CatalogCommitConflicts`]), applies
    /// the updates onto the current metadata (an invalid one is the builder's error, e.g.
    /// [`ErrorKind::DataInvalid`]), writes the next metadata file under a new name
    /// (`<version>-<uuid>.metadata.json`, never an existing file), then swaps the catalog's pointer
    /// only if it still names the metadata the requirements were checked against; a commit that
    /// lost that race is [`ErrorKind::CatalogCommitConflicts`] too, retryable, and its metadata
    /// file is left unreferenced.
    pub async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: &[TableRequirement],
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        let current = self.load_table(ident).await?;
        let current_location = current.metadata_location_result()?.to_owned();
        for requirement in requirements {
            requirement.check(Some(current.metadata()))?;
        }
        let mut builder = current
            .metadata()
            .clone()
            .into_builder(Some(current_location.clone()));
        for update in updates {
            builder = update.apply(builder)?;
        }
        let metadata = builder.build()?.metadata;
        let next = MetadataLocation::from_str(&current_location)?
            .with_next_version()
            .with_new_metadata(&metadata);
        metadata.write_to(&self.file_io, &next).await?;
        let new_location = next.to_string();
        let (name, ns, tbl) = self.keys(ident);
        let stored = new_location.clone();
        let swapped = self
            .with_conn(move |c| {
                c.execute(
                    "UPDATE iceberg_tables
                     SET metadata_location = ?1, previous_metadata_location = ?2
                     WHERE catalog_name = ?3 AND table_namespace = ?4 AND table_name = ?5
                       AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
                       AND metadata_location = ?2",
                    params![stored, current_location, name, ns, tbl],
                )
                .map_err(|e| db_err("commit", e))
            })
            .await?;
        if swapped == 0 {
            return Err(Error::new(
                ErrorKind::CatalogCommitConflicts,
                format!("commit conflicted for table {ident}: its metadata changed meanwhile"),
            )
            .with_retryable(true));
        }
        self.table_from(ident.clone(), new_location, metadata)
    }

    /// Sets `updates` and removes `removals` from the properties of `namespace` in one
    /// transaction; returns the keys updated, removed, and asked to be removed but absent. The
    /// namespace keeps existing when every property is removed (its `exists` row comes back).
    pub async fn update_namespace_properties(
        &self,
        namespace: &NamespaceIdent,
        updates: HashMap<String, String>,
        removals: Vec<String>,
    ) -> Result<NamespacePropertiesChange> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let changed = self
            .with_conn(move |c| {
                let tx = c.transaction().map_err(|e| db_err("update namespace", e))?;
                if !namespace_exists_in(&tx, &name, &ns)? {
                    return Ok(None);
                }
                let mut change = NamespacePropertiesChange::default();
                for key in removals {
                    let deleted = tx
                        .execute(
                            "DELETE FROM iceberg_namespace_properties
                             WHERE catalog_name = ?1 AND namespace = ?2 AND property_key = ?3",
                            params![name, ns, key],
                        )
                        .map_err(|e| db_err("update namespace", e))?;
                    if deleted > 0 {
                        change.removed.push(key);
                    } else {
                        change.missing.push(key);
                    }
                }
                for (k, v) in updates {
                    tx.execute(
                        "INSERT INTO iceberg_namespace_properties
                         (catalog_name, namespace, property_key, property_value)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (catalog_name, namespace, property_key)
                         DO UPDATE SET property_value = excluded.property_value",
                        params![name, ns, k, v],
                    )
                    .map_err(|e| db_err("update namespace", e))?;
                    change.updated.push(k);
                }
                // A namespace exists through its property rows (or its tables): keep one.
                tx.execute(
                    "INSERT INTO iceberg_namespace_properties
                     (catalog_name, namespace, property_key, property_value)
                     SELECT ?1, ?2, 'exists', 'true'
                     WHERE NOT EXISTS (SELECT 1 FROM iceberg_namespace_properties
                                       WHERE catalog_name = ?1 AND namespace = ?2)",
                    params![name, ns],
                )
                .map_err(|e| db_err("update namespace", e))?;
                tx.commit().map_err(|e| db_err("update namespace", e))?;
                change.updated.sort();
                change.removed.sort();
                change.missing.sort();
                Ok(Some(change))
            })
            .await?;
        changed.ok_or_else(|| no_such_namespace(namespace))
    }
}

/// Opens the database in WAL mode and creates the catalog tables (the JDBC catalog's v1 layout).
fn open_db(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                format!("cannot create {}", parent.display()),
            )
            .with_source(e)
        })?;
    }
    let conn = Connection::open(path).map_err(|e| db_err("open", e))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| db_err("busy timeout", e))?;
    // WAL lets readers (a `strata lake describe`, PyIceberg) work while a writer commits; FULL
    // makes a commit's pointer swap durable before the writer acknowledges its offsets.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| db_err("journal_mode", e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| db_err("synchronous", e))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS iceberg_tables (
            catalog_name VARCHAR(255) NOT NULL,
            table_namespace VARCHAR(255) NOT NULL,
            table_name VARCHAR(255) NOT NULL,
            metadata_location VARCHAR(1000),
            previous_metadata_location VARCHAR(1000),
            iceberg_type VARCHAR(5),
            PRIMARY KEY (catalog_name, table_namespace, table_name));
         CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
            catalog_name VARCHAR(255) NOT NULL,
            namespace VARCHAR(255) NOT NULL,
            property_key VARCHAR(255),
            property_value VARCHAR(1000),
            PRIMARY KEY (catalog_name, namespace, property_key));",
    )
    .map_err(|e| db_err("create catalog tables", e))?;
    // A file created by PyIceberg has no `iceberg_type` column; add it as Java's JDBC catalog does.
    let has_type: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('iceberg_tables') WHERE name = 'iceberg_type'")
        .and_then(|mut s| s.exists([]))
        .map_err(|e| db_err("inspect iceberg_tables", e))?;
    if !has_type {
        conn.execute(
            "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)",
            [],
        )
        .map_err(|e| db_err("add iceberg_type", e))?;
    }
    Ok(conn)
}

fn no_such_namespace(ns: &NamespaceIdent) -> Error {
    Error::new(
        ErrorKind::NamespaceNotFound,
        format!("no such namespace: {}", ns.join(".")),
    )
}

fn no_such_table(ident: &TableIdent) -> Error {
    Error::new(ErrorKind::TableNotFound, format!("no such table: {ident}"))
}

fn namespace_exists_in(c: &Connection, catalog: &str, ns: &str) -> Result<bool> {
    let in_tables = c
        .prepare_cached(
            "SELECT 1 FROM iceberg_tables WHERE catalog_name = ?1 AND table_namespace = ?2 LIMIT 1",
        )
        .and_then(|mut s| s.exists(params![catalog, ns]))
        .map_err(|e| db_err("namespace exists", e))?;
    if in_tables {
        return Ok(true);
    }
    c.prepare_cached(
        "SELECT 1 FROM iceberg_namespace_properties
         WHERE catalog_name = ?1 AND namespace = ?2 LIMIT 1",
    )
    .and_then(|mut s| s.exists(params![catalog, ns]))
    .map_err(|e| db_err("namespace exists", e))
}

fn table_exists_in(c: &Connection, catalog: &str, ns: &str, tbl: &str) -> Result<bool> {
    c.prepare_cached(
        "SELECT 1 FROM iceberg_tables
         WHERE catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3
           AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
    )
    .and_then(|mut s| s.exists(params![catalog, ns, tbl]))
    .map_err(|e| db_err("table exists", e))
}

fn namespace_properties(
    c: &Connection,
    catalog: &str,
    ns: &str,
) -> Result<HashMap<String, String>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT property_key, property_value FROM iceberg_namespace_properties
             WHERE catalog_name = ?1 AND namespace = ?2",
        )
        .map_err(|e| db_err("namespace properties", e))?;
    let rows = stmt
        .query_map(params![catalog, ns], |row| {
            Ok((
                row.get::<_, Option<String>>(0)?,
                row.get::<_, Option<String>>(1)?,
            ))
        })
        .map_err(|e| db_err("namespace properties", e))?;
    let mut props = HashMap::new();
    for row in rows {
        if let (Some(k), Some(v)) = row.map_err(|e| db_err("namespace properties", e))? {
            props.insert(k, v);
        }
    }
    Ok(props)
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> Result<Vec<NamespaceIdent>> {
        let name = self.name.clone();
        let all: Vec<String> = self
            .with_conn(move |c| {
                let mut stmt = c
                    .prepare(
                        "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ?1
                         UNION
                         SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ?1",
                    )
                    .map_err(|e| db_err("list namespaces", e))?;
                let rows = stmt
                    .query_map(params![name], |row| row.get::<_, String>(0))
                    .map_err(|e| db_err("list namespaces", e))?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| db_err("list namespaces", e))
            })
            .await?;
        let mut out = HashSet::new();
        match parent {
            Some(parent) => {
                if !self.namespace_exists(parent).await? {
                    return Err(no_such_namespace(parent));
                }
                let prefix = format!("{}.", parent.join("."));
                for ns in all {
                    if let Some(rest) = ns.strip_prefix(&prefix) {
                        let mut levels: Vec<String> = parent.iter().cloned().collect();
                        if let Some(child) = rest.split('.').next() {
                            levels.push(child.to_owned());
                            out.insert(NamespaceIdent::from_vec(levels)?);
                        }
                    }
                }
            }
            None => {
                for ns in all {
                    if let Some(first) = ns.split('.').next() {
                        out.insert(NamespaceIdent::new(first.to_owned()));
                    }
                }
            }
        }
        let mut out: Vec<_> = out.into_iter().collect();
        out.sort_by_key(|n| n.join("."));
        Ok(out)
    }

    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let mut props = properties;
        // The SQL catalogs mark a namespace without properties by this row; keep the convention.
        props
            .entry("exists".to_owned())
            .or_insert_with(|| "true".to_owned());
        let stored = props.clone();
        let created = self
            .with_conn(move |c| {
                let tx = c.transaction().map_err(|e| db_err("create namespace", e))?;
                if namespace_exists_in(&tx, &name, &ns)? {
                    return Ok(false);
                }
                for (k, v) in &stored {
                    tx.execute(
                        "INSERT INTO iceberg_namespace_properties
                         (catalog_name, namespace, property_key, property_value)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![name, ns, k, v],
                    )
                    .map_err(|e| db_err("create namespace", e))?;
                }
                tx.commit().map_err(|e| db_err("create namespace", e))?;
                Ok(true)
            })
            .await?;
        if !created {
            return Err(Error::new(
                ErrorKind::NamespaceAlreadyExists,
                format!("namespace {} already exists", namespace.join(".")),
            ));
        }
        Ok(Namespace::with_properties(namespace.clone(), props))
    }

    async fn get_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let props = self
            .with_conn(move |c| {
                if !namespace_exists_in(c, &name, &ns)? {
                    return Ok(None);
                }
                namespace_properties(c, &name, &ns).map(Some)
            })
            .await?;
        match props {
            Some(props) => Ok(Namespace::with_properties(namespace.clone(), props)),
            None => Err(no_such_namespace(namespace)),
        }
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        self.with_conn(move |c| namespace_exists_in(c, &name, &ns))
            .await
    }

    async fn update_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<()> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let found = self
            .with_conn(move |c| {
                let tx = c.transaction().map_err(|e| db_err("update namespace", e))?;
                if !namespace_exists_in(&tx, &name, &ns)? {
                    return Ok(false);
                }
                for (k, v) in &properties {
                    tx.execute(
                        "INSERT INTO iceberg_namespace_properties
                         (catalog_name, namespace, property_key, property_value)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (catalog_name, namespace, property_key)
                         DO UPDATE SET property_value = excluded.property_value",
                        params![name, ns, k, v],
                    )
                    .map_err(|e| db_err("update namespace", e))?;
                }
                tx.commit().map_err(|e| db_err("update namespace", e))?;
                Ok(true)
            })
            .await?;
        if found {
            Ok(())
        } else {
            Err(no_such_namespace(namespace))
        }
    }

    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> Result<()> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let outcome = self
            .with_conn(move |c| {
                let tx = c.transaction().map_err(|e| db_err("drop namespace", e))?;
                if !namespace_exists_in(&tx, &name, &ns)? {
                    return Ok(Err(false));
                }
                let tables: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM iceberg_tables
                         WHERE catalog_name = ?1 AND table_namespace = ?2",
                        params![name, ns],
                        |r| r.get(0),
                    )
                    .map_err(|e| db_err("drop namespace", e))?;
                if tables > 0 {
                    return Ok(Err(true));
                }
                tx.execute(
                    "DELETE FROM iceberg_namespace_properties
                     WHERE catalog_name = ?1 AND namespace = ?2",
                    params![name, ns],
                )
                .map_err(|e| db_err("drop namespace", e))?;
                tx.commit().map_err(|e| db_err("drop namespace", e))?;
                Ok(Ok(()))
            })
            .await?;
        match outcome {
            Ok(()) => Ok(()),
            Err(false) => Err(no_such_namespace(namespace)),
            Err(true) => Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!("namespace {} is not empty", namespace.join(".")),
            )),
        }
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        let name = self.name.clone();
        let ns = namespace.join(".");
        let names = self
            .with_conn(move |c| {
                if !namespace_exists_in(c, &name, &ns)? {
                    return Ok(None);
                }
                let mut stmt = c
                    .prepare(
                        "SELECT table_name FROM iceberg_tables
                         WHERE catalog_name = ?1 AND table_namespace = ?2
                           AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)
                         ORDER BY table_name",
                    )
                    .map_err(|e| db_err("list tables", e))?;
                let rows = stmt
                    .query_map(params![name, ns], |row| row.get::<_, String>(0))
                    .map_err(|e| db_err("list tables", e))?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map(Some)
                    .map_err(|e| db_err("list tables", e))
            })
            .await?;
        match names {
            Some(names) => Ok(names
                .into_iter()
                .map(|t| TableIdent::new(namespace.clone(), t))
                .collect()),
            None => Err(no_such_namespace(namespace)),
        }
    }

    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<Table> {
        let ident = TableIdent::new(namespace.clone(), creation.name.clone());
        let ns_props = self.get_namespace(namespace).await?.properties().clone();
        if self.table_exists(&ident).await? {
            return Err(Error::new(
                ErrorKind::TableAlreadyExists,
                format!("table {ident} already exists"),
            ));
        }
        let location = match &creation.location {
            Some(location) => location.clone(),
            None => {
                let base = match ns_props.get(NAMESPACE_LOCATION) {
                    Some(l) => l.trim_end_matches('/').to_owned(),
                    None => format!("{}/{}", self.warehouse, namespace.join("/")),
                };
                format!("{base}/{}", ident.name())
            }
        };
        let creation = TableCreation {
            location: Some(location.clone()),
            ..creation
        };
        let metadata = TableMetadataBuilder::from_table_creation(creation)?
            .build()?
            .metadata;
        let metadata_location = MetadataLocation::new_with_metadata(location, &metadata);
        metadata.write_to(&self.file_io, &metadata_location).await?;
        let loc = metadata_location.to_string();
        let (name, ns, tbl) = self.keys(&ident);
        let stored = loc.clone();
        let inserted = self
            .with_conn(move |c| {
                c.execute(
                    "INSERT INTO iceberg_tables
                     (catalog_name, table_namespace, table_name, metadata_location, iceberg_type)
                     VALUES (?1, ?2, ?3, ?4, 'TABLE')
                     ON CONFLICT DO NOTHING",
                    params![name, ns, tbl, stored],
                )
                .map_err(|e| db_err("create table", e))
            })
            .await?;
        if inserted == 0 {
            // Another process created it between the check and the insert.
            return Err(Error::new(
                ErrorKind::TableAlreadyExists,
                format!("table {ident} already exists"),
            ));
        }
        self.table_from(ident, loc, metadata)
    }

    async fn load_table(&self, table: &TableIdent) -> Result<Table> {
        let Some(location) = self.metadata_location(table).await? else {
            return Err(no_such_table(table));
        };
        let metadata = TableMetadata::read_from(&self.file_io, &location).await?;
        self.table_from(table.clone(), location, metadata)
    }

    async fn drop_table(&self, table: &TableIdent) -> Result<()> {
        let (name, ns, tbl) = self.keys(table);
        let deleted = self
            .with_conn(move |c| {
                c.execute(
                    "DELETE FROM iceberg_tables
                     WHERE catalog_name = ?1 AND table_namespace = ?2 AND table_name = ?3
                       AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
                    params![name, ns, tbl],
                )
                .map_err(|e| db_err("drop table", e))
            })
            .await?;
        if deleted == 0 {
            return Err(no_such_table(table));
        }
        Ok(())
    }

    async fn purge_table(&self, table: &TableIdent) -> Result<()> {
        let loaded = self.load_table(table).await?;
        self.drop_table(table).await?;
        iceberg::drop_table_data(&loaded).await
    }

    async fn table_exists(&self, table: &TableIdent) -> Result<bool> {
        let (name, ns, tbl) = self.keys(table);
        self.with_conn(move |c| table_exists_in(c, &name, &ns, &tbl))
            .await
    }

    async fn rename_table(&self, src: &TableIdent, dest: &TableIdent) -> Result<()> {
        if src == dest {
            return Ok(());
        }
        let (name, src_ns, src_tbl) = self.keys(src);
        let (_, dest_ns, dest_tbl) = self.keys(dest);
        let outcome = self
            .with_conn(move |c| {
                let tx = c.transaction().map_err(|e| db_err("rename table", e))?;
                if !table_exists_in(&tx, &name, &src_ns, &src_tbl)? {
                    return Ok(Err(ErrorKind::TableNotFound));
                }
                if !namespace_exists_in(&tx, &name, &dest_ns)? {
                    return Ok(Err(ErrorKind::NamespaceNotFound));
                }
                if table_exists_in(&tx, &name, &dest_ns, &dest_tbl)? {
                    return Ok(Err(ErrorKind::TableAlreadyExists));
                }
                tx.execute(
                    "UPDATE iceberg_tables SET table_namespace = ?1, table_name = ?2
                     WHERE catalog_name = ?3 AND table_namespace = ?4 AND table_name = ?5",
                    params![dest_ns, dest_tbl, name, src_ns, src_tbl],
                )
                .map_err(|e| db_err("rename table", e))?;
                tx.commit().map_err(|e| db_err("rename table", e))?;
                Ok(Ok(()))
            })
            .await?;
        match outcome {
            Ok(()) => Ok(()),
            Err(ErrorKind::TableNotFound) => Err(no_such_table(src)),
            Err(ErrorKind::NamespaceNotFound) => Err(no_such_namespace(dest.namespace())),
            Err(kind) => Err(Error::new(kind, format!("table {dest} already exists"))),
        }
    }

    async fn register_table(&self, table: &TableIdent, metadata_location: String) -> Result<Table> {
        if !self.namespace_exists(table.namespace()).await? {
            return Err(no_such_namespace(table.namespace()));
        }
        let metadata = TableMetadata::read_from(&self.file_io, &metadata_location).await?;
        let (name, ns, tbl) = self.keys(table);
        let stored = metadata_location.clone();
        let inserted = self
            .with_conn(move |c| {
                c.execute(
                    "INSERT INTO iceberg_tables
                     (catalog_name, table_namespace, table_name, metadata_location, iceberg_type)
                     VALUES (?1, ?2, ?3, ?4, 'TABLE')
                     ON CONFLICT DO NOTHING",
                    params![name, ns, tbl, stored],
                )
                .map_err(|e| db_err("register table", e))
            })
            .await?;
        if inserted == 0 {
            return Err(Error::new(
                ErrorKind::TableAlreadyExists,
                format!("table {table} already exists"),
            ));
        }
        self.table_from(table.clone(), metadata_location, metadata)
    }

    /// Applies `commit` to the current metadata, writes the next metadata file, then swaps the
    /// pointer only if it still names the metadata the commit was based on
    /// ([`SqliteCatalog::commit_table`]).
    async fn update_table(&self, mut commit: TableCommit) -> Result<Table> {
        let ident = commit.identifier().clone();
        let requirements = commit.take_requirements();
        let updates = commit.take_updates();
        self.commit_table(&ident, &requirements, updates).await
    }
}
