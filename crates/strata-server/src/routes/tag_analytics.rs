//! Performance by product tag: `measurement.performance` of one as-of day, grouped by the tags
//! products carry (`product.tag_uids`, `product_tag`).
//!
//! | route | does | scope |
//! |---|---|---|
//! | `POST /api/tag-analytics/performance` | figures per tag name of `tagNames` | `macrodata:read` |
//! | `GET /api/tag-analytics/distribution/{category}` | figures per tag of a tag category | `macrodata:read` |
//! | `GET /api/tag-analytics/group-performance/{group_uid}` | a tag group's totals and per tag | `macrodata:read` |
//!
//! Figures count the products measured that day (see [`Figures`]); a product with two tags of a
//! group counts once in the group's totals.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::analytics::{Params, analytics, problem};
use super::performance_metrics::{Figures, TABLE, day_header};
use super::resources::json_body;
use crate::analytics::catalog::{self, Tag};
use crate::analytics::{PerfDay, parse_day};
use crate::auth::{Verb, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Most tag names one request may ask about.
pub const MAX_TAG_NAMES: usize = 100;
/// Longest tag name.
pub const MAX_TAG_NAME: usize = 200;

fn figures(day: &PerfDay, products: &HashSet<String>) -> Value {
    let rows = day
        .rows
        .iter()
        .filter(|r| products.contains(&r.product_uid));
    serde_json::to_value(Figures::of(rows)).unwrap_or_default()
}

/// The body of `POST /api/tag-analytics/performance`.
fn parse_body(v: &Value) -> ApiResult<(Vec<String>, Option<chrono::NaiveDate>)> {
    let Some(obj) = v.as_object() else {
        return Err(Problem::bad_request(
            "the body must be an object like {\"tagNames\": [\"floral\"]}",
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["tagNames", "as_of"].contains(&k.as_str()))
    {
        return Err(Problem::bad_request(format!(
            "unknown member `{k}`; the body takes tagNames and as_of"
        )));
    }
    let names = obj
        .get("tagNames")
        .and_then(Value::as_array)
        .ok_or_else(|| Problem::bad_request("`tagNames` is required: an array of tag names"))?;
    if names.is_empty() || names.len() > MAX_TAG_NAMES {
        return Err(Problem::bad_request(format!(
            "`tagNames` must hold 1 to {MAX_TAG_NAMES} names"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let name = n
            .as_str()
            .filter(|s| !s.is_empty() && s.chars().count() <= MAX_TAG_NAME)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "`tagNames[{i}]` must be a string of 1 to {MAX_TAG_NAME} characters"
                ))
            })?;
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    }
    let as_of = match obj.get("as_of") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_day("as_of", s).map_err(Problem::bad_request)?),
        Some(_) => {
            return Err(Problem::bad_request(
                "`as_of` must be a date like 2026-11-28",
            ));
        }
    };
    Ok((out, as_of))
}

/// `POST /api/tag-analytics/performance`: for each name of `tagNames` (in order, once each),
/// the figures of the products carrying a tag of that name in any category. A name no tag has
/// gets empty figures and no `tag_uids`.
pub async fn performance(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    Params::parse(q.as_deref(), &[])?;
    let value = json_body(&headers, &body, false)?;
    let (names, as_of) = parse_body(&value)?;
    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let tags = catalog::tags_named(&s.db, &names).await?;
    let uids: Vec<String> = tags.values().flatten().map(|t| t.uid.clone()).collect();
    let products = catalog::products_by_tag(&s.db, &uids).await?;
    let items: Vec<Value> = names
        .iter()
        .map(|name| {
            let named: &[Tag] = tags.get(name).map(Vec::as_slice).unwrap_or_default();
            let carrying: HashSet<String> = named
                .iter()
                .filter_map(|t| products.get(&t.uid))
                .flatten()
                .cloned()
                .collect();
            json!({
                "tag_name": name,
                "tag_uids": named.iter().map(|t| t.uid.clone()).collect::<Vec<_>>(),
                "figures": figures(&day, &carrying),
            })
        })
        .collect();
    let mut out = day_header(&day);
    out.insert("items".into(), Value::Array(items));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// Per tag of `tags`, its figures; and the figures of the products carrying any of them.
async fn breakdown(s: &AppState, day: &PerfDay, tags: &[Tag]) -> ApiResult<(Value, Vec<Value>)> {
    let uids: Vec<String> = tags.iter().map(|t| t.uid.clone()).collect();
    let products = catalog::products_by_tag(&s.db, &uids).await?;
    let empty = HashSet::new();
    let items = tags
        .iter()
        .map(|t| {
            json!({
                "tag_uid": t.uid,
                "category_name": t.category_name,
                "tag_name": t.tag_name,
                "figures": figures(day, products.get(&t.uid).unwrap_or(&empty)),
            })
        })
        .collect();
    let all: HashSet<String> = products.values().flatten().cloned().collect();
    Ok((figures(day, &all), items))
}

/// `GET /api/tag-analytics/distribution/{category}`: how the day's products spread over the
/// tags of a tag category (`product_tag.category_name`).
pub async fn distribution(
    State(s): State<AppState>,
    Path(category): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["as_of"])?;
    let as_of = params.day("as_of")?;
    let tags = catalog::tags_in_category(&s.db, &category).await?;
    if tags.is_empty() {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("no tag has the category {category:?}"),
        ));
    }
    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let (totals, items) = breakdown(&s, &day, &tags).await?;
    let mut out = day_header(&day);
    out.insert("category_name".into(), json!(category));
    out.insert("totals".into(), totals);
    out.insert("items".into(), Value::Array(items));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// `GET /api/tag-analytics/group-performance/{group_uid}`: a tag group (the `product_category`
/// its tags name in `category_uid`), its totals and each of its tags.
pub async fn group_performance(
    State(s): State<AppState>,
    Path(group_uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["as_of"])?;
    let as_of = params.day("as_of")?;
    let Some((name, tags)) = catalog::tag_group(&s.db, &group_uid).await? else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("no product category (tag group) {group_uid:?}"),
        ));
    };
    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let (totals, items) = breakdown(&s, &day, &tags).await?;
    let mut out = day_header(&day);
    out.insert("group_uid".into(), json!(group_uid));
    out.insert("group_name".into(), json!(name));
    out.insert("totals".into(), totals);
    out.insert("items".into(), Value::Array(items));
    Ok(axum::Json(Value::Object(out)).into_response())
}
