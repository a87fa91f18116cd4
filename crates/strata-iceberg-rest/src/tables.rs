//! Tables: `GET|POST /v1/namespaces/{namespace}/tables`,
//! `GET|HEAD|POST|DELETE /v1/namespaces/{namespace}/tables/{table}`,
//! `POST /v1/namespaces/{namespace}/register`, `POST /v1/tables/rename`.
//!
//! A commit (`POST` on a table) is [`strata_lake::SqliteCatalog::commit_table`]: requirements
//! checked against the current metadata (409 `CommitFailedException` if one fails), updates
//! applied, a new metadata file written, then a compare-and-swap of the table's pointer (409 as
//! well if another commit got there first: the client refreshes and retries).

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use strata_lake::iceberg::{
    Catalog, NamespaceIdent, TableCreation, TableIdent, spec::FormatVersion, table::Table,
};

use crate::{
    Service,
    auth::{Target, Verb},
    error::{IcebergError, RestResult},
    json_body, namespace_from_path,
    types::{
        CommitTableRequest, CommitTableResponse, CreateTableRequest, ListTablesResponse,
        LoadTableResult, RegisterTableRequest, RenameTableRequest, TableIdentifier,
    },
};

/// The table property that picks the format version at creation (reserved: not stored).
const FORMAT_VERSION: &str = "format-version";

fn ident(segment: &str, table: String) -> RestResult<TableIdent> {
    if table.is_empty() {
        return Err(IcebergError::bad_request("a table name cannot be empty"));
    }
    Ok(TableIdent::new(namespace_from_path(segment)?, table))
}

fn load_result(table: &Table) -> LoadTableResult {
    LoadTableResult {
        metadata_location: table.metadata_location().map(str::to_owned),
        metadata: table.metadata().clone(),
        config: HashMap::new(),
    }
}

/// `GET /v1/namespaces/{namespace}/tables`: 404 if the namespace is absent.
pub async fn list(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> RestResult<Json<ListTablesResponse>> {
    let ns = namespace_from_path(&segment)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Read)
        .await?;
    let tables = s.catalog().list_tables(&ns).await?;
    Ok(Json(ListTablesResponse {
        identifiers: tables.iter().map(TableIdentifier::from).collect(),
        next_page_token: None,
    }))
}

/// `POST /v1/namespaces/{namespace}/tables`: creates the table (the server picks its location
/// unless given); 404 if the namespace is absent, 409 if the table exists.
pub async fn create(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    body: Bytes,
) -> RestResult<Json<LoadTableResult>> {
    let ns = namespace_from_path(&segment)?;
    let req: CreateTableRequest = json_body(&body)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Write)
        .await?;
    if req.name.is_empty() {
        return Err(IcebergError::bad_request("a table name cannot be empty"));
    }
    if req.stage_create == Some(true) {
        return Err(IcebergError::unsupported(
            "staged creation (`stage-create`) is not supported; create the table, then commit",
        ));
    }
    let mut properties = req.properties.unwrap_or_default();
    let format_version = match properties.remove(FORMAT_VERSION).as_deref() {
        None => FormatVersion::V2,
        Some("1") => FormatVersion::V1,
        Some("2") => FormatVersion::V2,
        Some("3") => FormatVersion::V3,
        Some(other) => {
            return Err(IcebergError::bad_request(format!(
                "unknown {FORMAT_VERSION} `{other}` (1, 2 or 3)"
            )));
        }
    };
    let creation = TableCreation {
        name: req.name,
        location: req.location,
        schema: req.schema,
        partition_spec: req.partition_spec,
        sort_order: req.write_order,
        properties,
        format_version,
    };
    let table = s.catalog().create_table(&ns, creation).await?;
    Ok(Json(load_result(&table)))
}

/// `GET /v1/namespaces/{namespace}/tables/{table}`: `metadata-location`, `metadata` and
/// `config`; 404 if absent. (`snapshots=refs` is answered with all snapshots, as allowed.)
pub async fn load(
    State(s): State<Service>,
    headers: HeaderMap,
    Path((segment, table)): Path<(String, String)>,
) -> RestResult<Json<LoadTableResult>> {
    let ident = ident(&segment, table)?;
    s.authorize(&headers, Target::Namespace(ident.namespace()), Verb::Read)
        .await?;
    let table = s.catalog().load_table(&ident).await?;
    Ok(Json(load_result(&table)))
}

/// `HEAD /v1/namespaces/{namespace}/tables/{table}`: 204 if it exists, 404 otherwise.
pub async fn exists(
    State(s): State<Service>,
    headers: HeaderMap,
    Path((segment, table)): Path<(String, String)>,
) -> RestResult<StatusCode> {
    let ident = ident(&segment, table)?;
    s.authorize(&headers, Target::Namespace(ident.namespace()), Verb::Read)
        .await?;
    if s.catalog().table_exists(&ident).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(IcebergError::no_such_table(format!(
            "no such table: {ident}"
        )))
    }
}

/// `POST /v1/namespaces/{namespace}/tables/{table}`: commits `updates` if every one of
/// `requirements` holds; 404 if absent, 409 `CommitFailedException` if a requirement fails or a
/// concurrent commit won, 400 if an update is invalid.
pub async fn commit(
    State(s): State<Service>,
    headers: HeaderMap,
    Path((segment, table)): Path<(String, String)>,
    body: Bytes,
) -> RestResult<Json<CommitTableResponse>> {
    let ident = ident(&segment, table)?;
    let req: CommitTableRequest = json_body(&body)?;
    s.authorize(&headers, Target::Namespace(ident.namespace()), Verb::Write)
        .await?;
    if let Some(given) = &req.identifier
        && given.to_ident()? != ident
    {
        return Err(IcebergError::bad_request(format!(
            "the body's identifier {} is not the path's table {ident}",
            given.to_ident()?
        )));
    }
    let table = s
        .catalog()
        .commit_table(&ident, &req.requirements, req.updates)
        .await?;
    let metadata_location = table
        .metadata_location()
        .map(str::to_owned)
        .ok_or_else(|| IcebergError::internal("the commit produced no metadata location"))?;
    Ok(Json(CommitTableResponse {
        metadata_location,
        metadata: table.metadata().clone(),
    }))
}

/// Query parameters of `DELETE` on a table.
#[derive(Debug, Deserialize)]
pub struct DropQuery {
    /// Also delete the table's files.
    #[serde(rename = "purgeRequested", default)]
    pub purge_requested: bool,
}

/// `DELETE /v1/namespaces/{namespace}/tables/{table}[?purgeRequested=true]`: 204; 404 if absent.
pub async fn drop(
    State(s): State<Service>,
    headers: HeaderMap,
    Path((segment, table)): Path<(String, String)>,
    Query(q): Query<DropQuery>,
) -> RestResult<StatusCode> {
    let ident = ident(&segment, table)?;
    s.authorize(&headers, Target::Namespace(ident.namespace()), Verb::Write)
        .await?;
    if q.purge_requested {
        s.catalog().purge_table(&ident).await?;
    } else {
        s.catalog().drop_table(&ident).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/namespaces/{namespace}/register`: adds a table for an existing metadata file;
/// 404 if the namespace is absent, 409 if the table exists.
pub async fn register(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    body: Bytes,
) -> RestResult<Json<LoadTableResult>> {
    let ns: NamespaceIdent = namespace_from_path(&segment)?;
    let req: RegisterTableRequest = json_body(&body)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Write)
        .await?;
    if req.overwrite == Some(true) {
        return Err(IcebergError::unsupported(
            "registering over an existing table (`overwrite`) is not supported",
        ));
    }
    let ident = ident(&segment, req.name)?;
    let table = s
        .catalog()
        .register_table(&ident, req.metadata_location)
        .await?;
    Ok(Json(load_result(&table)))
}

/// `POST /v1/tables/rename`: 204; 404 if the source (or the destination's namespace) is absent,
/// 409 if the destination exists. Needs write access to both namespaces.
pub async fn rename(
    State(s): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> RestResult<StatusCode> {
    let req: RenameTableRequest = json_body(&body)?;
    let source = req.source.to_ident()?;
    let destination = req.destination.to_ident()?;
    s.authorize(&headers, Target::Namespace(source.namespace()), Verb::Write)
        .await?;
    s.authorize(
        &headers,
        Target::Namespace(destination.namespace()),
        Verb::Write,
    )
    .await?;
    s.catalog().rename_table(&source, &destination).await?;
    Ok(StatusCode::NO_CONTENT)
}
