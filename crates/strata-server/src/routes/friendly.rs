//! The scenario paths staff tools use: `/v1/orders` with search and embedded line items, and
//! short aliases of a few tables.

use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use strata_domain::resource::{ListParams, Resource};

use super::resources::{self, query_pairs};
use crate::auth::{Verb, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Friendly collection name → table.
pub const ALIASES: [(&str, &str); 5] = [
    ("products", "product"),
    ("tags", "product_tag"),
    ("categories", "product_category"),
    ("fulfillments", "fulfillment"),
    ("macrodata-artifacts", "macrodata_artifact"),
];

fn alias_table(alias: &str) -> ApiResult<&'static str> {
    ALIASES
        .iter()
        .find(|(a, _)| *a == alias)
        .map(|(_, t)| *t)
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, format!("no collection /v1/{alias}")))
}

pub async fn alias_list(
    State(s): State<AppState>,
    Path(alias): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    resources::list_query(&s, &headers, alias_table(&alias)?, q.as_deref()).await
}

pub async fn alias_create(
    State(s): State<AppState>,
    Path(alias): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let table = alias_table(&alias)?;
    resources::create_op(
        &s,
        &headers,
        table,
        q.as_deref(),
        &body,
        &format!("/v1/{alias}"),
    )
    .await
}

pub async fn alias_get(
    State(s): State<AppState>,
    Path((alias, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    resources::get_op(&s, &headers, alias_table(&alias)?, &uid, q.as_deref()).await
}

pub async fn alias_patch(
    State(s): State<AppState>,
    Path((alias, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    resources::patch_op(
        &s,
        &headers,
        alias_table(&alias)?,
        &uid,
        q.as_deref(),
        &body,
    )
    .await
}

pub async fn alias_delete(
    State(s): State<AppState>,
    Path((alias, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    resources::delete_op(&s, &headers, alias_table(&alias)?, &uid, q.as_deref()).await
}

/// `include=lineItems` is the only embedding offered.
fn wants_line_items(query: &[(String, String)]) -> ApiResult<bool> {
    let mut wanted = false;
    for (k, v) in query {
        if k == "include" {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if part != "lineItems" {
                    return Err(Problem::bad_request(format!(
                        "include: `{part}` is not embeddable (lineItems)"
                    )));
                }
                wanted = true;
            }
        }
    }
    Ok(wanted)
}

/// Escape `%`, `_` and `\` for ILIKE.
fn like_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Line items of the given orders with their tax lines and adjustments, keyed by order uid.
async fn line_items_of<C: tokio_postgres::GenericClient>(
    s: &AppState,
    client: &C,
    orders: &[String],
) -> ApiResult<Map<String, Value>> {
    let lines = s
        .store
        .list_by(client, "order_line_item", "order_uid", orders)
        .await?;
    let line_uids: Vec<String> = lines.iter().map(|l| l.uid().to_string()).collect();
    let taxes = s
        .store
        .list_by(
            client,
            "order_line_item_tax_line",
            "line_item_uid",
            &line_uids,
        )
        .await?;
    let adjustments = s
        .store
        .list_by(
            client,
            "order_line_item_adjustment",
            "line_item_uid",
            &line_uids,
        )
        .await?;
    let children = |rows: &[Resource], uid: &str| -> Vec<Value> {
        rows.iter()
            .filter(|r| r.body.get("line_item_uid").and_then(Value::as_str) == Some(uid))
            .map(|r| Value::Object(r.body.clone()))
            .collect()
    };
    let mut by_order: Map<String, Value> = Map::new();
    for l in &lines {
        let mut body = l.body.clone();
        body.insert("tax_lines".into(), Value::Array(children(&taxes, l.uid())));
        body.insert(
            "adjustments".into(),
            Value::Array(children(&adjustments, l.uid())),
        );
        let order = l
            .body
            .get("order_uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Value::Array(v) = by_order
            .entry(order)
            .or_insert_with(|| Value::Array(vec![]))
        {
            v.push(Value::Object(body));
        }
    }
    Ok(by_order)
}

/// `GET /v1/orders`: order_header with `search` (number, email, customer name) and
/// `include=lineItems`.
pub async fn orders_list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let query = query_pairs(q.as_deref());
    let include = wants_line_items(&query)?;
    let t = s.store.table("order_header")?;
    let mut params = ListParams::from_query(t, &query, &["search", "include"])?;
    if let Some((_, term)) = query.iter().find(|(k, _)| k == "search") {
        let term = term.trim();
        if term.is_empty() || term.len() > 200 {
            return Err(Problem::bad_request("search must be 1 to 200 characters"));
        }
        params.extra = Some((
            "order_number ILIKE $1 OR email ILIKE $1 \
             OR EXISTS (SELECT 1 FROM order_address a WHERE a.order_uid = \"order_header\".uid \
                        AND (coalesce(a.first_name, '') || ' ' || coalesce(a.last_name, '')) ILIKE $1) \
             OR EXISTS (SELECT 1 FROM customer c WHERE c.uid = \"order_header\".customer_uid \
                        AND (coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' || coalesce(c.email, '')) ILIKE $1)"
                .to_string(),
            vec![like_pattern(term)],
        ));
    }
    authorize(&s, &headers, "order_header", Verb::Read).await?;
    let client = s.db.client().await?;
    let page = s
        .store
        .list(client.deref().deref(), "order_header", &params)
        .await?;
    let mut items: Vec<Value> = page
        .items
        .iter()
        .map(|r| Value::Object(r.body.clone()))
        .collect();
    if include {
        let uids: Vec<String> = page.items.iter().map(|r| r.uid().to_string()).collect();
        let mut lines = line_items_of(&s, client.deref().deref(), &uids).await?;
        for item in items.iter_mut() {
            let uid = item
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            item["line_items"] = lines.remove(&uid).unwrap_or_else(|| Value::Array(vec![]));
        }
    }
    Ok(axum::Json(json!({"items": items, "next_cursor": page.next_cursor})).into_response())
}

/// `GET /v1/orders/{uid}` with optional `include=lineItems`.
pub async fn order_get(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let query = query_pairs(q.as_deref());
    if let Some((k, _)) = query.iter().find(|(k, _)| k != "include") {
        return Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`"
        )));
    }
    let include = wants_line_items(&query)?;
    authorize(&s, &headers, "order_header", Verb::Read).await?;
    let client = s.db.client().await?;
    let mut r = s
        .store
        .get(client.deref().deref(), "order_header", &uid, None)
        .await?;
    if include {
        let mut lines =
            line_items_of(&s, client.deref().deref(), std::slice::from_ref(&uid)).await?;
        r.body.insert(
            "line_items".into(),
            lines.remove(&uid).unwrap_or_else(|| Value::Array(vec![])),
        );
    }
    Ok(resources::resource_response(StatusCode::OK, &r, None))
}

/// `GET /v1/orders/{uid}/line-items`
pub async fn order_line_items(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let t = s.store.table("order_line_item")?;
    let mut params = ListParams::from_query(t, &query_pairs(q.as_deref()), &[])?;
    params.filters.push(("order_uid".into(), "=", uid));
    resources::list_op(&s, &headers, "order_line_item", params).await
}

/// `GET /v1/macrodata-catalogs/{uid}/artifacts?kind=`
pub async fn catalog_artifacts(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let t = s.store.table("macrodata_artifact")?;
    let mut params = ListParams::from_query(t, &query_pairs(q.as_deref()), &[])?;
    params.filters.push(("catalog_uid".into(), "=", uid));
    resources::list_op(&s, &headers, "macrodata_artifact", params).await
}
