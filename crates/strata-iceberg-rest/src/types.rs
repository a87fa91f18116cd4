//! Request and response bodies of the REST catalog spec (the `components/schemas` of its OpenAPI
//! document), in the spec's kebab-case field names. The Iceberg structures inside them (schema,
//! partition spec, sort order, table metadata, requirements, updates) are the `iceberg` crate's,
//! which serialize to the spec's JSON.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use strata_lake::iceberg::{
    NamespaceIdent, TableIdent, TableRequirement, TableUpdate,
    spec::{Schema, SortOrder, TableMetadata, UnboundPartitionSpec},
};

use crate::error::IcebergError;

/// `CatalogConfig`: what `GET /v1/config` answers.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogConfig {
    /// Properties the client uses unless it configured its own.
    pub defaults: HashMap<String, String>,
    /// Properties that replace the client's.
    pub overrides: HashMap<String, String>,
    /// The routes served, as `<METHOD> <path>`.
    pub endpoints: Vec<String>,
}

/// `CreateNamespaceRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateNamespaceRequest {
    /// Levels of the new namespace.
    pub namespace: Vec<String>,
    /// Its properties.
    #[serde(default)]
    pub properties: Option<HashMap<String, String>>,
}

/// `CreateNamespaceResponse` and `GetNamespaceResponse`.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceResponse {
    /// Levels.
    pub namespace: Vec<String>,
    /// Properties.
    pub properties: HashMap<String, String>,
}

/// `ListNamespacesResponse`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListNamespacesResponse {
    /// The namespaces one level below the parent (or the top level).
    pub namespaces: Vec<Vec<String>>,
    /// Always absent: everything comes in one page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `UpdateNamespacePropertiesRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateNamespacePropertiesRequest {
    /// Keys to remove.
    #[serde(default)]
    pub removals: Option<Vec<String>>,
    /// Keys to set.
    #[serde(default)]
    pub updates: Option<HashMap<String, String>>,
}

/// `UpdateNamespacePropertiesResponse`.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateNamespacePropertiesResponse {
    /// Keys set.
    pub updated: Vec<String>,
    /// Keys removed.
    pub removed: Vec<String>,
    /// Keys asked to be removed that were not there.
    pub missing: Vec<String>,
}

/// `TableIdentifier`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableIdentifier {
    /// The namespace's levels.
    pub namespace: Vec<String>,
    /// The table's name.
    pub name: String,
}

impl TableIdentifier {
    /// As the catalog's identifier; 400 for an empty namespace or name.
    pub fn to_ident(&self) -> Result<TableIdent, IcebergError> {
        if self.name.is_empty() {
            return Err(IcebergError::bad_request("a table name cannot be empty"));
        }
        let ns = NamespaceIdent::from_vec(self.namespace.clone())
            .map_err(|e| IcebergError::bad_request(e.message().to_owned()))?;
        Ok(TableIdent::new(ns, self.name.clone()))
    }
}

impl From<&TableIdent> for TableIdentifier {
    fn from(t: &TableIdent) -> Self {
        Self {
            namespace: t.namespace().iter().cloned().collect(),
            name: t.name().to_owned(),
        }
    }
}

/// `ListTablesResponse`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListTablesResponse {
    /// The tables of the namespace.
    pub identifiers: Vec<TableIdentifier>,
    /// Always absent: everything comes in one page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `CreateTableRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CreateTableRequest {
    /// Table name.
    pub name: String,
    /// Where the table lives; the server chooses when absent.
    #[serde(default)]
    pub location: Option<String>,
    /// Its schema.
    pub schema: Schema,
    /// Its partition spec (unpartitioned when absent).
    #[serde(default)]
    pub partition_spec: Option<UnboundPartitionSpec>,
    /// Its sort order.
    #[serde(default)]
    pub write_order: Option<SortOrder>,
    /// Stage the creation for a later commit instead of creating now.
    #[serde(default)]
    pub stage_create: Option<bool>,
    /// Table properties.
    #[serde(default)]
    pub properties: Option<HashMap<String, String>>,
}

/// `LoadTableResult`: what load, create and register answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LoadTableResult {
    /// The current metadata file.
    pub metadata_location: Option<String>,
    /// The table's metadata.
    pub metadata: TableMetadata,
    /// Table-specific client configuration (none: the files are reachable as their paths say).
    pub config: HashMap<String, String>,
}

/// `CommitTableRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct CommitTableRequest {
    /// The table (optional on the table's own route).
    #[serde(default)]
    pub identifier: Option<TableIdentifier>,
    /// Assertions on the current metadata; any failing one fails the commit with 409.
    #[serde(default)]
    pub requirements: Vec<TableRequirement>,
    /// Changes to apply.
    #[serde(default)]
    pub updates: Vec<TableUpdate>,
}

/// `CommitTableResponse`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CommitTableResponse {
    /// The new metadata file.
    pub metadata_location: String,
    /// The new metadata.
    pub metadata: TableMetadata,
}

/// `RenameTableRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct RenameTableRequest {
    /// The table to rename.
    pub source: TableIdentifier,
    /// Its new identifier.
    pub destination: TableIdentifier,
}

/// `RegisterTableRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegisterTableRequest {
    /// Table name.
    pub name: String,
    /// Its existing metadata file.
    pub metadata_location: String,
    /// Replace an existing table's pointer (not supported).
    #[serde(default)]
    pub overwrite: Option<bool>,
}
