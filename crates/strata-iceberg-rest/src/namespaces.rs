//! Namespaces: `GET|POST /v1/namespaces`, `GET|HEAD|DELETE /v1/namespaces/{namespace}`,
//! `POST /v1/namespaces/{namespace}/properties`.

use std::collections::{HashMap, HashSet};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use strata_lake::iceberg::Catalog;

use crate::{
    Service,
    auth::{Target, Verb},
    error::{IcebergError, RestResult},
    json_body, levels, namespace_from_levels, namespace_from_path,
    types::{
        CreateNamespaceRequest, ListNamespacesResponse, NamespaceResponse,
        UpdateNamespacePropertiesRequest, UpdateNamespacePropertiesResponse,
    },
};

/// Query parameters of `GET /v1/namespaces`. Paging (`pageToken`, `pageSize`) is accepted and
/// ignored: every namespace comes in the one page.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// List the children of this namespace (levels joined by 0x1F) instead of the top level.
    pub parent: Option<String>,
}

/// `GET /v1/namespaces[?parent=]`.
pub async fn list(
    State(s): State<Service>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> RestResult<Json<ListNamespacesResponse>> {
    let parent = match q.parent.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(namespace_from_path(p)?),
        None => None,
    };
    let target = match &parent {
        Some(p) => Target::Namespace(p),
        None => Target::Catalog,
    };
    s.authorize(&headers, target, Verb::Read).await?;
    let namespaces = s.catalog().list_namespaces(parent.as_ref()).await?;
    Ok(Json(ListNamespacesResponse {
        namespaces: namespaces.iter().map(levels).collect(),
        next_page_token: None,
    }))
}

/// `POST /v1/namespaces`: 200 with the namespace; 409 if it exists.
pub async fn create(
    State(s): State<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> RestResult<Json<NamespaceResponse>> {
    let req: CreateNamespaceRequest = json_body(&body)?;
    let ns = namespace_from_levels(req.namespace)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Write)
        .await?;
    let created = s
        .catalog()
        .create_namespace(&ns, req.properties.unwrap_or_default())
        .await?;
    Ok(Json(NamespaceResponse {
        namespace: levels(created.name()),
        properties: created.properties().clone(),
    }))
}

/// `GET /v1/namespaces/{namespace}`: its properties; 404 if absent.
pub async fn load(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> RestResult<Json<NamespaceResponse>> {
    let ns = namespace_from_path(&segment)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Read)
        .await?;
    let found = s.catalog().get_namespace(&ns).await?;
    Ok(Json(NamespaceResponse {
        namespace: levels(found.name()),
        properties: found.properties().clone(),
    }))
}

/// `HEAD /v1/namespaces/{namespace}`: 204 if it exists, 404 otherwise.
pub async fn exists(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> RestResult<StatusCode> {
    let ns = namespace_from_path(&segment)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Read)
        .await?;
    if s.catalog().namespace_exists(&ns).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(IcebergError::no_such_namespace(format!(
            "no such namespace: {}",
            ns.join(".")
        )))
    }
}

/// `DELETE /v1/namespaces/{namespace}`: 204; 404 if absent, 409 if it still has tables.
pub async fn drop(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> RestResult<StatusCode> {
    let ns = namespace_from_path(&segment)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Write)
        .await?;
    s.catalog().drop_namespace(&ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/namespaces/{namespace}/properties`: sets and removes properties; 422 if a key is
/// both set and removed, 404 if the namespace is absent.
pub async fn update_properties(
    State(s): State<Service>,
    headers: HeaderMap,
    Path(segment): Path<String>,
    body: Bytes,
) -> RestResult<Json<UpdateNamespacePropertiesResponse>> {
    let ns = namespace_from_path(&segment)?;
    let req: UpdateNamespacePropertiesRequest = json_body(&body)?;
    s.authorize(&headers, Target::Namespace(&ns), Verb::Write)
        .await?;
    let updates: HashMap<String, String> = req.updates.unwrap_or_default();
    let removals: Vec<String> = req.removals.unwrap_or_default();
    let removed: HashSet<&String> = removals.iter().collect();
    if let Some(both) = updates.keys().find(|k| removed.contains(k)) {
        return Err(IcebergError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableEntityException",
            format!("property `{both}` is both updated and removed"),
        ));
    }
    let change = s
        .catalog()
        .update_namespace_properties(&ns, updates, removals)
        .await?;
    Ok(Json(UpdateNamespacePropertiesResponse {
        updated: change.updated,
        removed: change.removed,
        missing: change.missing,
    }))
}
