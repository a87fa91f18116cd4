//! The staff commerce analytics and the fulfillment daily summary, plus what the analytics
//! routes share ([`Params`], [`analytics`], [`problem`]).
//!
//! | route | does | scope |
//! |---|---|---|
//! | `GET /analytics/commerce/overview` | revenue, orders, units, AOV per currency over `from`..`to` | `order:read` |
//! | `GET /analytics/commerce/products` | top products per currency `by` revenue or units | `order:read` |
//! | `GET /analytics/commerce/orders` | orders placed in the range, by phase | `order:read` |
//! | `GET /api/fulfillment-daily-summary` | `fulfillment_daily_summary` rows and totals | `fulfillment:read` |
//!
//! Ranges are whole days, both ends included, in the reporting time zone of
//! `measurement.sales` (UTC for the fulfillment summary, whose days are UTC); by default the 30
//! days ending today.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use super::resources::query_pairs;
use crate::analytics::{Analytics, AnalyticsError, CommerceRange, TopBy, parse_day};
use crate::auth::{Verb, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Days in the default range.
pub const DEFAULT_RANGE_DAYS: i64 = 30;
/// Order phases, as `order_header`'s CHECK lists them.
pub const ORDER_PHASES: [&str; 6] = [
    "draft",
    "pending",
    "requires_action",
    "completed",
    "canceled",
    "archived",
];

/// A request's query parameters, each allowed at most once, none unknown.
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> ApiResult<Self> {
        let mut out = BTreeMap::new();
        for (k, v) in query_pairs(raw) {
            if !allowed.contains(&k.as_str()) {
                let hint = if allowed.is_empty() {
                    "this path takes none".to_owned()
                } else {
                    format!("this path takes {}", allowed.join(", "))
                };
                return Err(Problem::bad_request(format!(
                    "unknown query parameter `{k}`; {hint}"
                )));
            }
            if out.insert(k.clone(), v).is_some() {
                return Err(Problem::bad_request(format!(
                    "query parameter `{k}` is given twice"
                )));
            }
        }
        Ok(Self(out))
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn day(&self, name: &str) -> ApiResult<Option<NaiveDate>> {
        self.text(name)
            .map(|t| parse_day(name, t).map_err(Problem::bad_request))
            .transpose()
    }

    pub(crate) fn flag(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.text(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(Problem::bad_request(format!(
                "`{name}` must be true or false, not {other:?}"
            ))),
        }
    }

    pub(crate) fn int(&self, name: &str, min: u64, max: u64, default: u64) -> ApiResult<u64> {
        match self.text(name) {
            None => Ok(default),
            Some(t) => t
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "`{name}` must be an integer from {min} to {max}, not {t:?}"
                    ))
                }),
        }
    }

    /// `from`..`to` (both optional): by default the 30 days ending `today`.
    pub(crate) fn range(&self, today: NaiveDate) -> ApiResult<CommerceRange> {
        let (from, to) = (self.day("from")?, self.day("to")?);
        let back = Duration::days(DEFAULT_RANGE_DAYS - 1);
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, today.max(f)),
            (None, Some(t)) => (t - back, t),
            (None, None) => (today - back, today),
        };
        if from > to {
            return Err(Problem::bad_request(format!(
                "`from` ({from}) is after `to` ({to})"
            )));
        }
        Ok(CommerceRange { from, to })
    }
}

/// The analytics, or 503 when this server has no lake.
pub(crate) fn analytics(s: &AppState) -> ApiResult<&Arc<Analytics>> {
    s.analytics.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no lake, so no measurements: the analytics endpoints need `strata serve` with its lake",
        )
    })
}

/// The problem an analytics failure is.
pub(crate) fn problem(e: AnalyticsError) -> Problem {
    match e {
        AnalyticsError::NotFound(m) => Problem::new(StatusCode::NOT_FOUND, m),
        AnalyticsError::Lake(e) => {
            tracing::warn!(error = %e, "lake unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the lake is unavailable; retry shortly",
            )
        }
        other => {
            tracing::error!(error = %other, "analytics failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an unexpected error occurred; it was logged",
            )
        }
    }
}

/// The table whose module's scopes guard the commerce analytics (`order`).
const ORDER_TABLE: &str = "order_header";
/// … and the fulfillment summary (`fulfillment`).
const FULFILLMENT_TABLE: &str = "fulfillment_daily_summary";

/// `GET /analytics/commerce/overview`.
pub async fn commerce_overview(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, ORDER_TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["from", "to"])?;
    let a = analytics(&s)?;
    let zone = a.zone().await.map_err(problem)?;
    let range = params.range(zone.today())?;
    let answer = a.overview(range).await.map_err(problem)?;
    Ok(axum::Json(answer.as_ref()).into_response())
}

/// `GET /analytics/commerce/products`.
pub async fn commerce_products(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, ORDER_TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["from", "to", "by", "limit", "currency"])?;
    let by = match params.text("by") {
        None | Some("revenue") => TopBy::Revenue,
        Some("units") => TopBy::Units,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`by` must be revenue or units, not {other:?}"
            )));
        }
    };
    let limit = params.int("limit", 1, 100, 10)? as usize;
    let currency = params.text("currency");
    if let Some(c) = currency
        && !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()))
    {
        return Err(Problem::bad_request(format!(
            "`currency` must be an ISO 4217 code in lower case (usd), not {c:?}"
        )));
    }
    let a = analytics(&s)?;
    let zone = a.zone().await.map_err(problem)?;
    let range = params.range(zone.today())?;
    let answer = a
        .top_products(range, by, limit, currency)
        .await
        .map_err(problem)?;
    let mut answer = answer.as_ref().clone();
    // Titles as they are now, from PostgreSQL (the sales keep uids only).
    let uids: Vec<String> = answer["currencies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["items"].as_array().into_iter().flatten())
        .filter_map(|i| i["product_uid"].as_str().map(str::to_owned))
        .collect();
    let titles = product_titles(&s, &uids).await?;
    if let Some(currencies) = answer["currencies"].as_array_mut() {
        for c in currencies {
            if let Some(items) = c["items"].as_array_mut() {
                for i in items {
                    let title = i["product_uid"]
                        .as_str()
                        .and_then(|u| titles.get(u))
                        .cloned();
                    i["product_title"] = json!(title);
                }
            }
        }
    }
    Ok(axum::Json(answer).into_response())
}

async fn product_titles(s: &AppState, uids: &[String]) -> ApiResult<BTreeMap<String, String>> {
    if uids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let client = s.db.client().await?;
    let rows = client
        .query(
            "SELECT uid, title FROM product WHERE uid = ANY($1)",
            &[&uids],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// `GET /analytics/commerce/orders`: orders placed in the range (by `placed_ts`, local days),
/// counted by phase. From PostgreSQL: phases change after the order's events.
pub async fn commerce_orders(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, ORDER_TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["from", "to"])?;
    let zone = match &s.analytics {
        Some(a) => a.zone().await.map_err(problem)?,
        None => strata_measure::ReportingZone::default(),
    };
    let range = params.range(zone.today())?;
    let (lo, hi) = (zone.start_of(range.from), zone.end_of(range.to));
    let client = s.db.client().await?;
    let rows = client
        .query(
            "SELECT status ->> 'phase', count(*) FROM order_header
             WHERE placed_ts >= $1 AND placed_ts < $2 GROUP BY 1",
            &[&lo, &hi],
        )
        .await?;
    let mut phases: serde_json::Map<String, Value> = ORDER_PHASES
        .iter()
        .map(|p| (p.to_string(), json!(0)))
        .collect();
    let mut total = 0i64;
    for r in &rows {
        let phase: Option<String> = r.get(0);
        let n: i64 = r.get(1);
        total += n;
        if let Some(p) = phase {
            phases.insert(p, json!(n));
        }
    }
    Ok(axum::Json(json!({
        "from": range.from,
        "to": range.to,
        "time_zone": zone.name(),
        "total": total,
        "phases": phases,
    }))
    .into_response())
}

/// `GET /api/fulfillment-daily-summary`: the rows of `fulfillment_daily_summary` in the range
/// (UTC days), optionally of one stock location, and their totals.
pub async fn fulfillment_daily_summary(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&s, &headers, FULFILLMENT_TABLE, Verb::Read).await?;
    let params = Params::parse(q.as_deref(), &["from", "to", "stock_location_uid"])?;
    let range = params.range(Utc::now().date_naive())?;
    let location = params.text("stock_location_uid");
    // PostgreSQL text cannot hold NUL: such a location has no rows.
    if location.is_some_and(|l| l.contains('\0')) {
        return Ok(axum::Json(json!({
            "from": range.from,
            "to": range.to,
            "items": [],
            "totals": {"total_count": 0, "successful_count": 0, "failed_count": 0},
        }))
        .into_response());
    }
    let client = s.db.client().await?;
    let rows = client
        .query(
            "SELECT summary_day, stock_location_uid, total_count, successful_count, failed_count,
                    status ->> 'phase'
             FROM fulfillment_daily_summary
             WHERE summary_day BETWEEN $1 AND $2 AND ($3::text IS NULL OR stock_location_uid = $3)
             ORDER BY summary_day, stock_location_uid",
            &[&range.from, &range.to, &location],
        )
        .await?;
    let (mut total, mut ok, mut failed) = (0i64, 0i64, 0i64);
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let (t, s, f): (i32, i32, i32) = (r.get(2), r.get(3), r.get(4));
            total += i64::from(t);
            ok += i64::from(s);
            failed += i64::from(f);
            json!({
                "summary_day": r.get::<_, NaiveDate>(0),
                "stock_location_uid": r.get::<_, String>(1),
                "total_count": t,
                "successful_count": s,
                "failed_count": f,
                "phase": r.get::<_, Option<String>>(5),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "from": range.from,
        "to": range.to,
        "items": items,
        "totals": {"total_count": total, "successful_count": ok, "failed_count": failed},
    }))
    .into_response())
}
