//! The performance screen: `measurement.performance` of one as-of day, with the products' tags.
//!
//! | route | does | scope |
//! |---|---|---|
//! | `GET /api/performance-metrics` | the day's products: filters, sort, pages | `macrodata:read` |
//! | `GET /api/performance-metrics/{product_uid}` | one product's row | `macrodata:read` |
//! | `GET /api/performance-metrics/stats/summary` | products per tier and flag, unit totals | `macrodata:read` |
//!
//! Every route takes `as_of` (default: the last measured day); a day without measurements is a
//! 404 naming the measured range. The rows come from the analytics cache (one load per snapshot
//! of the table), so filtering, sorting and paging cost no query.

use std::cmp::Ordering;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::analytics::{Params, analytics, problem};
use crate::analytics::catalog::{self, Tag};
use crate::analytics::{PerfDay, PerfRow, Tier};
use crate::auth::{Verb, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// The table whose module's scopes guard the performance screen (`macrodata`).
pub(crate) const TABLE: &str = "macrodata_artifact";

/// Largest page.
pub const MAX_LIMIT: u64 = 500;
/// Page size by default.
pub const DEFAULT_LIMIT: u64 = 50;
/// Longest `search`.
pub const MAX_SEARCH: usize = 200;

/// Fields a list sorts by (`-` before one: descending).
pub const SORT_FIELDS: [&str; 11] = [
    "product_uid",
    "product_title",
    "launch_day",
    "days_since_launch",
    "sales_first_7_days",
    "sales_first_14_days",
    "sales_last_7_days",
    "sales_last_30_days",
    "sales_last_90_days",
    "aggregate_measurement_value",
    "nominal_classification",
];
/// The flags a list filters on.
pub const FLAGS: [&str; 5] = [
    "is_active",
    "is_top_riser",
    "is_winner",
    "is_banana",
    "is_archive",
];

fn flag_of(r: &PerfRow, name: &str) -> bool {
    match name {
        "is_active" => r.is_active,
        "is_top_riser" => r.is_top_riser,
        "is_winner" => r.is_winner,
        "is_banana" => r.is_banana,
        _ => r.is_archive,
    }
}

fn compare(a: &PerfRow, b: &PerfRow, field: &str) -> Ordering {
    match field {
        "product_title" => a.product_title.cmp(&b.product_title),
        "launch_day" => a.launch_day.cmp(&b.launch_day),
        "days_since_launch" => a.days_since_launch.cmp(&b.days_since_launch),
        "sales_first_7_days" => a.sales_first_7_days.cmp(&b.sales_first_7_days),
        "sales_first_14_days" => a.sales_first_14_days.cmp(&b.sales_first_14_days),
        "sales_last_7_days" => a.sales_last_7_days.cmp(&b.sales_last_7_days),
        "sales_last_30_days" => a.sales_last_30_days.cmp(&b.sales_last_30_days),
        "sales_last_90_days" => a.sales_last_90_days.cmp(&b.sales_last_90_days),
        "aggregate_measurement_value" => a
            .aggregate_measurement_value
            .cmp(&b.aggregate_measurement_value),
        "nominal_classification" => {
            tier_rank(a.nominal_classification).cmp(&tier_rank(b.nominal_classification))
        }
        _ => Ordering::Equal,
    }
}

fn tier_rank(t: Tier) -> usize {
    Tier::ALL
        .iter()
        .position(|x| *x == t)
        .unwrap_or(Tier::ALL.len())
}

/// A row with its tags, as the API returns it.
pub(crate) fn item(row: &PerfRow, tags: Option<&Vec<Tag>>) -> Value {
    let mut v = serde_json::to_value(row).unwrap_or_else(|_| json!({}));
    v["tags"] = json!(tags.cloned().unwrap_or_default());
    v
}

/// Counts and totals over some of a day's products.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub products: i64,
    pub active_products: i64,
    /// Products per nominal classification (every tier present).
    pub tiers: std::collections::BTreeMap<&'static str, i64>,
    /// Products with each flag set.
    pub flags: std::collections::BTreeMap<&'static str, i64>,
    pub sales_last_7_days: i64,
    pub sales_last_30_days: i64,
    pub sales_last_90_days: i64,
    pub aggregate_measurement_value: i64,
}

impl Figures {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a PerfRow>) -> Self {
        let mut f = Figures {
            tiers: Tier::ALL.iter().map(|t| (t.as_str(), 0)).collect(),
            flags: FLAGS[1..].iter().map(|n| (*n, 0)).collect(),
            ..Figures::default()
        };
        for r in rows {
            f.products += 1;
            f.active_products += i64::from(r.is_active);
            *f.tiers
                .entry(r.nominal_classification.as_str())
                .or_default() += 1;
            for name in &FLAGS[1..] {
                *f.flags.entry(name).or_default() += i64::from(flag_of(r, name));
            }
            f.sales_last_7_days += r.sales_last_7_days;
            f.sales_last_30_days += r.sales_last_30_days;
            f.sales_last_90_days += r.sales_last_90_days;
            f.aggregate_measurement_value += r.aggregate_measurement_value;
        }
        f
    }
}

/// `{"as_of_day", "snapshot_id"}` of a day.
pub(crate) fn day_header(day: &PerfDay) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("as_of_day".into(), json!(day.as_of_day));
    m.insert("snapshot_id".into(), json!(day.snapshot_id));
    m
}

/// `GET /api/performance-metrics`.
pub async fn list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let mut allowed = vec![
        "as_of", "tier", "tag", "category", "search", "sort", "limit", "offset",
    ];
    allowed.extend(FLAGS);
    let params = Params::parse(q.as_deref(), &allowed)?;
    let as_of = params.day("as_of")?;
    let tier = params
        .text("tier")
        .map(|t| {
            Tier::parse(t).ok_or_else(|| {
                Problem::bad_request(format!(
                    "`tier` must be one of winner, top_riser, archive_candidate, banana, none; not {t:?}"
                ))
            })
        })
        .transpose()?;
    let mut flags = Vec::new();
    for name in FLAGS {
        if let Some(v) = params.flag(name)? {
            flags.push((name, v));
        }
    }
    let nonempty = |name: &str| -> ApiResult<Option<String>> {
        match params.text(name) {
            None => Ok(None),
            Some(t) if t.trim().is_empty() || t.chars().count() > MAX_SEARCH => {
                Err(Problem::bad_request(format!(
                    "`{name}` must be 1 to {MAX_SEARCH} characters, not blank"
                )))
            }
            Some(t) => Ok(Some(t.trim().to_owned())),
        }
    };
    let tag = nonempty("tag")?;
    let category = nonempty("category")?;
    let search = nonempty("search")?.map(|t| t.to_lowercase());
    let (sort, descending) = match params.text("sort") {
        None => ("sales_last_30_days", true),
        Some(t) => {
            let (field, desc) = match t.strip_prefix('-') {
                Some(f) => (f, true),
                None => (t, false),
            };
            let field = SORT_FIELDS.iter().find(|f| **f == field).ok_or_else(|| {
                Problem::bad_request(format!(
                    "`sort` must be one of {} (`-` before it for descending), not {t:?}",
                    SORT_FIELDS.join(", ")
                ))
            })?;
            (*field, desc)
        }
    };
    let limit = params.int("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)? as usize;
    let offset = params.int("offset", 0, 1_000_000, 0)? as usize;

    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let tagged = if tag.is_some() || category.is_some() {
        Some(catalog::products_matching(&s.db, tag.as_deref(), category.as_deref()).await?)
    } else {
        None
    };
    let mut rows: Vec<&PerfRow> = day
        .rows
        .iter()
        .filter(|r| tier.is_none_or(|t| r.nominal_classification == t))
        .filter(|r| flags.iter().all(|(n, v)| flag_of(r, n) == *v))
        .filter(|r| tagged.as_ref().is_none_or(|t| t.contains(&r.product_uid)))
        .filter(|r| {
            search.as_ref().is_none_or(|q| {
                r.product_title.to_lowercase().contains(q.as_str())
                    || r.product_uid.to_lowercase().starts_with(q.as_str())
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        let o = compare(a, b, sort);
        let o = if descending { o.reverse() } else { o };
        o.then_with(|| a.product_uid.cmp(&b.product_uid))
    });
    let total = rows.len();
    let page: Vec<&PerfRow> = rows.into_iter().skip(offset).take(limit).collect();
    let uids: Vec<String> = page.iter().map(|r| r.product_uid.clone()).collect();
    let tags = catalog::product_tags(&s.db, &uids).await?;
    let mut out = day_header(&day);
    out.insert("total".into(), json!(total));
    out.insert("limit".into(), json!(limit));
    out.insert("offset".into(), json!(offset));
    out.insert(
        "items".into(),
        Value::Array(
            page.iter()
                .map(|r| item(r, tags.get(&r.product_uid)))
                .collect(),
        ),
    );
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// `GET /api/performance-metrics/{product_uid}`.
pub async fn get(
    State(s): State<AppState>,
    Path(product_uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["as_of"])?;
    let as_of = params.day("as_of")?;
    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let Some(row) = day.get(&product_uid) else {
        let when = day
            .as_of_day
            .map(|d| d.to_string())
            .unwrap_or_else(|| "any day (nothing is measured yet)".into());
        return Err(Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            format!("product {product_uid:?} has no performance measured for {when}"),
        ));
    };
    let tags = catalog::product_tags(&s.db, std::slice::from_ref(&row.product_uid)).await?;
    let mut out = day_header(&day);
    out.insert("item".into(), item(row, tags.get(&row.product_uid)));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// `GET /api/performance-metrics/stats/summary`.
pub async fn summary(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["as_of"])?;
    let as_of = params.day("as_of")?;
    let day = analytics(&s)?.performance(as_of).await.map_err(problem)?;
    let mut out = day_header(&day);
    out.insert(
        "totals".into(),
        serde_json::to_value(Figures::of(&day.rows)).unwrap_or_default(),
    );
    Ok(axum::Json(Value::Object(out)).into_response())
}
