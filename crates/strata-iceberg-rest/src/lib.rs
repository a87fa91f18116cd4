//! Strata's lake over the Apache Iceberg REST catalog protocol, so that engines attach to a local
//! Strata lake as they attach to any REST catalog (R2 Data Catalog, Polaris, Lakekeeper):
//! PyIceberg's `RestCatalog`, DuckDB's `ATTACH … (TYPE iceberg)`, Spark's `RESTCatalog`.
//!
//! The HTTP layer follows the spec's OpenAPI document part by part, over the embedded catalog
//! ([`SqliteCatalog`]), which keeps the logic of every operation (and the compare-and-swap of a
//! commit, [`SqliteCatalog::commit_table`]):
//!
//! - [`config`]: `GET /v1/config` (no prefix: every route is `/v1/namespaces/…`).
//! - [`namespaces`]: list, create, load, exists, drop, update properties.
//! - [`tables`]: list, create, load, exists, commit, drop, register, rename.
//! - [`error`]: the `{"error": {"message", "type", "code"}}` model and its status codes.
//! - [`types`]: request and response bodies.
//! - [`auth`]: every operation asks the host's [`Authorizer`] first (401/403 otherwise).
//!
//! Namespaces in paths are their levels joined by the unit separator (0x1F, `%1F`), as the spec
//! says; the routes are mounted wherever the host nests [`router`] (Strata: `/iceberg`).

pub mod auth;
pub mod config;
pub mod error;
pub mod namespaces;
pub mod tables;
pub mod types;

use std::sync::Arc;

use axum::{
    Router, middleware,
    routing::{get, post},
};
use serde::de::DeserializeOwned;
use strata_lake::{SqliteCatalog, iceberg::NamespaceIdent};

pub use auth::{Authorizer, Denied, Target, Verb};
pub use error::{IcebergError, RestResult};

/// The unit separator between the levels of a namespace in a path segment or `parent`.
pub const NAMESPACE_SEPARATOR: char = '\u{1f}';

/// What the handlers share: the catalog served and who may use it.
#[derive(Clone)]
pub struct Service {
    catalog: SqliteCatalog,
    auth: Arc<dyn Authorizer>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("catalog", &self.catalog)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Serves `catalog`, asking `auth` before every operation.
    pub fn new(catalog: SqliteCatalog, auth: Arc<dyn Authorizer>) -> Self {
        Self { catalog, auth }
    }

    /// The catalog served.
    pub fn catalog(&self) -> &SqliteCatalog {
        &self.catalog
    }

    /// 401/403/429/503 unless the request may `verb` the `target`.
    pub(crate) async fn authorize(
        &self,
        headers: &axum::http::HeaderMap,
        target: Target<'_>,
        verb: Verb,
    ) -> RestResult<()> {
        self.auth
            .authorize(headers, target, verb)
            .await
            .map_err(IcebergError::from)
    }
}

/// The routes of the protocol (`/v1/...`), to be nested by the host, e.g. at `/iceberg`. Errors
/// of every kind, including unknown routes and methods, come in the Iceberg error model.
pub fn router(service: Service) -> Router {
    Router::new()
        .route("/v1/config", get(config::get_config))
        .route(
            "/v1/namespaces",
            get(namespaces::list).post(namespaces::create),
        )
        .route(
            "/v1/namespaces/{namespace}",
            get(namespaces::load)
                .head(namespaces::exists)
                .delete(namespaces::drop),
        )
        .route(
            "/v1/namespaces/{namespace}/properties",
            post(namespaces::update_properties),
        )
        .route(
            "/v1/namespaces/{namespace}/tables",
            get(tables::list).post(tables::create),
        )
        .route(
            "/v1/namespaces/{namespace}/tables/{table}",
            get(tables::load)
                .head(tables::exists)
                .post(tables::commit)
                .delete(tables::drop),
        )
        .route(
            "/v1/namespaces/{namespace}/register",
            post(tables::register),
        )
        .route("/v1/tables/rename", post(tables::rename))
        .fallback(|| async {
            IcebergError::new(
                axum::http::StatusCode::NOT_FOUND,
                "NotFoundException",
                "no such route of the Iceberg REST catalog protocol",
            )
        })
        .with_state(service)
        .layer(middleware::from_fn(error::iceberg_errors))
}

/// A namespace from its path segment (levels joined by 0x1F); 400 if a level is empty.
pub(crate) fn namespace_from_path(segment: &str) -> RestResult<NamespaceIdent> {
    let levels: Vec<String> = segment
        .split(NAMESPACE_SEPARATOR)
        .map(str::to_owned)
        .collect();
    namespace_from_levels(levels)
}

/// A namespace from its levels; 400 if there are none or one is empty. A level cannot contain
/// `.`: the catalog's table stores a namespace as its levels joined by dots (the SQL catalogs'
/// layout, which PyIceberg's `SqlCatalog` reads too).
pub(crate) fn namespace_from_levels(levels: Vec<String>) -> RestResult<NamespaceIdent> {
    if levels.iter().any(|l| l.is_empty()) {
        return Err(IcebergError::bad_request(
            "a namespace level cannot be empty",
        ));
    }
    if levels.iter().any(|l| l.contains('.')) {
        return Err(IcebergError::bad_request(
            "a namespace level cannot contain `.` here (namespaces are stored as dotted names)",
        ));
    }
    NamespaceIdent::from_vec(levels).map_err(|e| IcebergError::bad_request(e.message().to_owned()))
}

/// Parses a JSON body into `T`; 400 with serde's path and reason otherwise (never axum's own
/// plain-text rejections).
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8]) -> RestResult<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = T::deserialize(&mut de)
        .map_err(|e| IcebergError::bad_request(format!("invalid request body: {e}")))?;
    de.end()
        .map_err(|e| IcebergError::bad_request(format!("invalid request body: {e}")))?;
    Ok(value)
}

/// The levels of a namespace, as the bodies list them.
pub(crate) fn levels(ns: &NamespaceIdent) -> Vec<String> {
    ns.iter().cloned().collect()
}
