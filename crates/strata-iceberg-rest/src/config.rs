//! `GET /v1/config`: the catalog's configuration for clients. No `prefix` is returned, so
//! clients call `/v1/namespaces/…` directly. A `warehouse` parameter must name this catalog
//! (its name, `strata`, or its warehouse location); there is one warehouse per server.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;

use crate::{
    Service,
    auth::{Target, Verb},
    error::{IcebergError, RestResult},
    types::CatalogConfig,
};

/// The routes this server implements, as the spec's `endpoints` list names them.
pub const ENDPOINTS: &[&str] = &[
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "POST /v1/{prefix}/namespaces/{namespace}/properties",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/tables/rename",
];

/// Query parameters of `GET /v1/config`.
#[derive(Debug, Deserialize)]
pub struct ConfigQuery {
    /// The warehouse the client asks for.
    pub warehouse: Option<String>,
}

/// `GET /v1/config`.
pub async fn get_config(
    State(s): State<Service>,
    headers: HeaderMap,
    Query(q): Query<ConfigQuery>,
) -> RestResult<Json<CatalogConfig>> {
    s.authorize(&headers, Target::Catalog, Verb::Read).await?;
    if let Some(w) = q.warehouse.as_deref().filter(|w| !w.is_empty()) {
        let catalog = s.catalog();
        let known = w == catalog.name()
            || w.trim_end_matches('/') == catalog.warehouse()
            || w.trim_end_matches('/') == catalog.warehouse().trim_start_matches("file://");
        if !known {
            return Err(IcebergError::new(
                StatusCode::NOT_FOUND,
                "NoSuchWarehouseException",
                format!(
                    "no warehouse `{w}`: this server serves one, `{}` (or leave the warehouse out)",
                    catalog.name()
                ),
            ));
        }
    }
    Ok(Json(CatalogConfig {
        defaults: HashMap::new(),
        overrides: HashMap::new(),
        endpoints: ENDPOINTS.iter().map(|e| (*e).to_owned()).collect(),
    }))
}
