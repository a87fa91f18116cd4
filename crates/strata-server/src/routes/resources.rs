//! `/v1/resources/{table}`: the generated API of every table, and the operations the friendly
//! aliases reuse.

use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use strata_domain::resource::{IfMatch, ListPage, ListParams, Resource};

use strata_domain::audit::AuditAction;

use crate::auth::{Verb, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Query string → ordered pairs (repeated keys kept).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The request body as JSON, after checking its media type.
pub fn json_body(headers: &HeaderMap, body: &Bytes, merge_patch: bool) -> ApiResult<Value> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let ok = match ct.as_deref() {
        Some("application/json") => true,
        Some("application/merge-patch+json") => merge_patch,
        _ => false,
    };
    if !ok {
        let wanted = if merge_patch {
            "application/merge-patch+json or application/json"
        } else {
            "application/json"
        };
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send the body as {wanted}"),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("malformed JSON body: {e}")))
}

/// `If-Match`, if sent. A value naming no valid ETag matches no row.
pub fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    headers
        .get(header::IF_MATCH)
        .map(|v| IfMatch::parse(v.to_str().unwrap_or("")))
}

pub fn resource_response(status: StatusCode, r: &Resource, location: Option<String>) -> Response {
    let mut resp = (status, axum::Json(Value::Object(r.body.clone()))).into_response();
    if let Ok(v) = HeaderValue::from_str(&r.etag()) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub fn page_response(page: &ListPage) -> Response {
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|r| Value::Object(r.body.clone()))
        .collect();
    axum::Json(json!({"items": items, "next_cursor": page.next_cursor})).into_response()
}

fn only_fields(query: &[(String, String)]) -> ApiResult<Option<Vec<String>>> {
    let mut fields = None;
    for (k, v) in query {
        match k.as_str() {
            "fields" => {
                fields = Some(
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter `{other}`"
                )));
            }
        }
    }
    Ok(fields)
}

fn no_query(query: &[(String, String)]) -> ApiResult<()> {
    match query.first() {
        Some((k, _)) => Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`"
        ))),
        None => Ok(()),
    }
}

// ---- operations shared by the generic and the friendly routes -------------------------------

pub async fn list_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    params: ListParams,
) -> ApiResult<Response> {
    authorize(state, headers, table, Verb::Read).await?;
    let client = state.db.client().await?;
    let page = state
        .store
        .list(client.deref().deref(), table, &params)
        .await?;
    Ok(page_response(&page))
}

pub async fn list_query(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    let t = state.store.table(table)?;
    let params = ListParams::from_query(t, &query_pairs(raw), &[])?;
    list_op(state, headers, table, params).await
}

pub async fn get_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    uid: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    let fields = only_fields(&query_pairs(raw))?;
    authorize(state, headers, table, Verb::Read).await?;
    let client = state.db.client().await?;
    let r = state
        .store
        .get(client.deref().deref(), table, uid, fields.as_deref())
        .await?;
    Ok(resource_response(StatusCode::OK, &r, None))
}

pub async fn create_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    raw: Option<&str>,
    body: &Bytes,
    base: &str,
) -> ApiResult<Response> {
    state.store.table(table)?;
    no_query(&query_pairs(raw))?;
    let caller = authorize(state, headers, table, Verb::Write).await?;
    let value = json_body(headers, body, false)?;
    let mut client = state.db.client().await?;
    let tx = client.transaction().await?;
    let r = state.store.create(&*tx, table, &value).await?;
    crate::auth::audit(
        &*tx,
        &caller,
        headers,
        AuditAction::Create,
        table,
        r.uid(),
        json!({"after": r.body}),
    )
    .await?;
    tx.commit().await?;
    let location = format!("{base}/{}", r.uid());
    Ok(resource_response(StatusCode::CREATED, &r, Some(location)))
}

pub async fn patch_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    uid: &str,
    raw: Option<&str>,
    body: &Bytes,
) -> ApiResult<Response> {
    state.store.table(table)?;
    no_query(&query_pairs(raw))?;
    let caller = authorize(state, headers, table, Verb::Write).await?;
    let value = json_body(headers, body, true)?;
    let expected = if_match(headers);
    let mut client = state.db.client().await?;
    let tx = client.transaction().await?;
    let r = state
        .store
        .patch(&*tx, table, uid, &value, expected)
        .await?;
    crate::auth::audit(
        &*tx,
        &caller,
        headers,
        AuditAction::Update,
        table,
        uid,
        json!({"patch": value}),
    )
    .await?;
    tx.commit().await?;
    Ok(resource_response(StatusCode::OK, &r, None))
}

pub async fn delete_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    uid: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    state.store.table(table)?;
    no_query(&query_pairs(raw))?;
    let caller = authorize(state, headers, table, Verb::Write).await?;
    let expected = if_match(headers);
    let mut client = state.db.client().await?;
    let tx = client.transaction().await?;
    let r = state.store.delete(&*tx, table, uid, expected).await?;
    crate::auth::audit(
        &*tx,
        &caller,
        headers,
        AuditAction::Delete,
        table,
        uid,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(match r {
        Some(r) => resource_response(StatusCode::OK, &r, None),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn get_status_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    uid: &str,
    raw: Option<&str>,
) -> ApiResult<Response> {
    state.store.table(table)?;
    no_query(&query_pairs(raw))?;
    authorize(state, headers, table, Verb::Read).await?;
    let client = state.db.client().await?;
    let fields = vec!["status".to_string()];
    let r = state
        .store
        .get(client.deref().deref(), table, uid, Some(&fields))
        .await?;
    let mut resp = axum::Json(r.body.get("status").cloned().unwrap_or(Value::Null)).into_response();
    if let Ok(v) = HeaderValue::from_str(&r.etag()) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

async fn put_status_op(
    state: &AppState,
    headers: &HeaderMap,
    table: &str,
    uid: &str,
    raw: Option<&str>,
    body: &Bytes,
) -> ApiResult<Response> {
    state.store.table(table)?;
    no_query(&query_pairs(raw))?;
    let caller = authorize(state, headers, table, Verb::Write).await?;
    let value = json_body(headers, body, false)?;
    let expected = if_match(headers);
    let mut client = state.db.client().await?;
    let tx = client.transaction().await?;
    let r = state
        .store
        .set_status(&*tx, table, uid, &value, expected)
        .await?;
    crate::auth::audit(
        &*tx,
        &caller,
        headers,
        AuditAction::Status,
        table,
        uid,
        json!({"status": r.body.get("status")}),
    )
    .await?;
    tx.commit().await?;
    Ok(resource_response(StatusCode::OK, &r, None))
}

// ---- axum handlers for /v1/resources/{table}… -------------------------------------------------

pub async fn list(
    State(s): State<AppState>,
    Path(table): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    list_query(&s, &headers, &table, q.as_deref()).await
}

pub async fn create(
    State(s): State<AppState>,
    Path(table): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let base = format!("/v1/resources/{table}");
    create_op(&s, &headers, &table, q.as_deref(), &body, &base).await
}

pub async fn get(
    State(s): State<AppState>,
    Path((table, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    s.store.table(&table)?;
    get_op(&s, &headers, &table, &uid, q.as_deref()).await
}

pub async fn patch(
    State(s): State<AppState>,
    Path((table, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    patch_op(&s, &headers, &table, &uid, q.as_deref(), &body).await
}

pub async fn delete(
    State(s): State<AppState>,
    Path((table, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    delete_op(&s, &headers, &table, &uid, q.as_deref()).await
}

pub async fn get_status(
    State(s): State<AppState>,
    Path((table, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    get_status_op(&s, &headers, &table, &uid, q.as_deref()).await
}

pub async fn put_status(
    State(s): State<AppState>,
    Path((table, uid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    put_status_op(&s, &headers, &table, &uid, q.as_deref(), &body).await
}
