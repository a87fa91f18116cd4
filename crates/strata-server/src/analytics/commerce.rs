//! Commerce figures of a range of days from `measurement.sales` (per currency: money is never
//! added across currencies), with order counts from the commerce telemetry the sales were
//! computed from.
//!
//! `measurement.sales` counts an order once per product and day; an order's `order_created`
//! event falls on one day, so a product's orders over a range are the sum of its daily counts,
//! but the orders of the whole store are not (an order with two products would count twice):
//! they are counted from `commerce.telemetry` at the snapshot the sales are complete up to
//! (`strata.source-snapshot`), so they agree with the revenue next to them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use strata_measure::{PROP_SOURCE_SNAPSHOT, PROP_TIME_ZONE, ReportingZone};

use super::convert::Columns;
use super::{Analytics, Result};

/// A range of days in the reporting time zone, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommerceRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One currency's figures over a range.
#[derive(Debug, Clone, Serialize)]
pub struct CurrencyFigures {
    pub currency_code: String,
    pub orders: i64,
    pub units: i64,
    pub units_returned: i64,
    pub gross_revenue: String,
    pub discounts: String,
    pub net_revenue: String,
    /// `net_revenue / orders`, to 4 places; `None` without orders.
    pub average_order_value: Option<String>,
}

/// `GET /analytics/commerce/overview`.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub snapshot_id: Option<i64>,
    pub currencies: Vec<CurrencyFigures>,
}

/// What the top products are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopBy {
    /// Net revenue, per currency.
    Revenue,
    /// Units ordered.
    Units,
}

impl TopBy {
    pub fn as_str(self) -> &'static str {
        match self {
            TopBy::Revenue => "revenue",
            TopBy::Units => "units",
        }
    }
}

/// One product's figures in one currency.
#[derive(Debug, Clone, Serialize)]
pub struct ProductFigures {
    pub rank: i64,
    pub product_uid: String,
    pub orders: i64,
    pub units: i64,
    pub units_returned: i64,
    pub gross_revenue: String,
    pub discounts: String,
    pub net_revenue: String,
}

/// One currency's leaders.
#[derive(Debug, Clone, Serialize)]
pub struct CurrencyLeaders {
    pub currency_code: String,
    pub items: Vec<ProductFigures>,
}

/// `GET /analytics/commerce/products`.
#[derive(Debug, Clone, Serialize)]
pub struct TopProducts {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub snapshot_id: Option<i64>,
    pub by: &'static str,
    pub currencies: Vec<CurrencyLeaders>,
}

/// Answers of one snapshot of `measurement.sales`, by request.
#[derive(Default)]
pub(crate) struct Cache {
    snapshot: Option<i64>,
    answers: HashMap<String, Arc<Value>>,
}

/// Answers kept per snapshot.
const ANSWERS_KEPT: usize = 64;

/// What the sales table says about itself.
struct SalesState {
    snapshot: Option<i64>,
    zone: ReportingZone,
    source: Option<i64>,
}

impl Analytics {
    async fn sales_state(&self) -> Result<SalesState> {
        let current = self.snapshot(strata_measure::tables::sales()).await?;
        let (snapshot, props) = match current {
            Some((id, props)) => (Some(id), props),
            None => (None, HashMap::new()),
        };
        let zone = props
            .get(PROP_TIME_ZONE)
            .and_then(|z| z.parse().ok())
            .unwrap_or_default();
        let source = props
            .get(PROP_SOURCE_SNAPSHOT)
            .and_then(|s| s.parse::<i64>().ok());
        Ok(SalesState {
            snapshot,
            zone,
            source,
        })
    }

    /// The reporting time zone the sales days are counted in (UTC before any refresh).
    pub async fn zone(&self) -> Result<ReportingZone> {
        Ok(self.sales_state().await?.zone)
    }

    /// A cached answer of the current snapshot, or `compute`'s, cached.
    async fn cached<T: Serialize>(
        &self,
        snapshot: Option<i64>,
        key: String,
        compute: impl std::future::Future<Output = Result<T>>,
    ) -> Result<Arc<Value>> {
        let mut cache = self.sales.lock().await;
        if cache.snapshot != snapshot {
            *cache = Cache {
                snapshot,
                answers: HashMap::new(),
            };
        }
        if let Some(hit) = cache.answers.get(&key) {
            return Ok(hit.clone());
        }
        let value = Arc::new(
            serde_json::to_value(compute.await?)
                .map_err(|e| super::AnalyticsError::Shape(e.to_string()))?,
        );
        if cache.answers.len() >= ANSWERS_KEPT {
            cache.answers.clear();
        }
        cache.answers.insert(key, value.clone());
        Ok(value)
    }

    /// Revenue, orders, units and average order value per currency over `range`.
    pub async fn overview(&self, range: CommerceRange) -> Result<Arc<Value>> {
        let state = self.sales_state().await?;
        let key = format!("overview {} {}", range.from, range.to);
        self.cached(state.snapshot, key, self.compute_overview(range, &state))
            .await
    }

    async fn compute_overview(&self, range: CommerceRange, state: &SalesState) -> Result<Overview> {
        let mut overview = Overview {
            from: range.from,
            to: range.to,
            time_zone: state.zone.name().to_owned(),
            snapshot_id: state.snapshot,
            currencies: Vec::new(),
        };
        let Some(snapshot) = state.snapshot else {
            return Ok(overview);
        };
        let (from, to) = (range.from, range.to);
        let commerce = match state.source {
            Some(id) => format!("commerce.telemetry AT SNAPSHOT {id}"),
            None => "commerce.telemetry".to_owned(),
        };
        // Instants that can fall on the range's local days (no zone is 14 h off UTC), for
        // pruning; the local day is then checked exactly.
        // Clamped to instants DuckDB reads back (four-digit years).
        let floor = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH - Duration::days(365 * 100);
        let ceiling = floor + Duration::days(365 * 7000);
        let lo = (state.zone.start_of(from) - Duration::hours(1)).clamp(floor, ceiling);
        let hi = (state.zone.end_of(to) + Duration::hours(1)).clamp(floor, ceiling);
        let tz = state.zone.name();
        let sql = format!(
            "WITH s AS (
                SELECT currency_code, sum(units) AS units, sum(units_returned) AS units_returned,
                       sum(gross_revenue) AS gross, sum(discounts) AS discounts,
                       sum(net_revenue) AS net
                FROM measurement.sales AT SNAPSHOT {snapshot}
                WHERE day BETWEEN DATE '{from}' AND DATE '{to}'
                GROUP BY currency_code
             ),
             o AS (
                SELECT currency_code, count(DISTINCT order_uid) AS orders
                FROM {commerce}
                WHERE event_type = 'order_created'
                  AND occurred_ts >= TIMESTAMPTZ '{lo}' AND occurred_ts < TIMESTAMPTZ '{hi}'
                  AND CAST(timezone('{tz}', occurred_ts) AS DATE) BETWEEN DATE '{from}' AND DATE '{to}'
                  AND len(list_filter(
                        json_transform(payload, '{{\"lines\":[{{\"product_uid\":\"VARCHAR\"}}]}}').lines,
                        x -> x.product_uid IS NOT NULL)) > 0
                GROUP BY currency_code
             )
             SELECT s.currency_code, coalesce(o.orders, 0) AS orders, s.units, s.units_returned,
                    CAST(s.gross AS DECIMAL(20,4)) AS gross_revenue,
                    CAST(s.discounts AS DECIMAL(20,4)) AS discounts,
                    CAST(s.net AS DECIMAL(20,4)) AS net_revenue,
                    CAST(round(s.net / NULLIF(o.orders, 0), 4) AS DECIMAL(20,4)) AS aov
             FROM s LEFT JOIN o USING (currency_code)
             ORDER BY s.currency_code",
            lo = lo.format("%Y-%m-%d %H:%M:%S+00"),
            hi = hi.format("%Y-%m-%d %H:%M:%S+00"),
        );
        let out = self.engine.query(&sql).await?;
        for b in &out.batches {
            let c = Columns::of(b);
            let cur = c.strings("currency_code")?;
            let orders = c.ints("orders")?;
            let units = c.ints("units")?;
            let returned = c.ints("units_returned")?;
            let gross = c.strings("gross_revenue")?;
            let disc = c.strings("discounts")?;
            let net = c.strings("net_revenue")?;
            let aov = c.strings("aov")?;
            for i in 0..b.num_rows() {
                overview.currencies.push(CurrencyFigures {
                    currency_code: cur[i].clone(),
                    orders: orders[i],
                    units: units[i],
                    units_returned: returned[i],
                    gross_revenue: gross[i].clone(),
                    discounts: disc[i].clone(),
                    net_revenue: net[i].clone(),
                    average_order_value: Some(aov[i].clone()).filter(|a| !a.is_empty()),
                });
            }
        }
        Ok(overview)
    }

    /// The `limit` leading products of each currency (or of `currency` only) over `range`.
    pub async fn top_products(
        &self,
        range: CommerceRange,
        by: TopBy,
        limit: usize,
        currency: Option<&str>,
    ) -> Result<Arc<Value>> {
        let state = self.sales_state().await?;
        let key = format!(
            "products {} {} {} {limit} {}",
            range.from,
            range.to,
            by.as_str(),
            currency.unwrap_or("*")
        );
        self.cached(
            state.snapshot,
            key,
            self.compute_top(range, by, limit, currency, &state),
        )
        .await
    }

    async fn compute_top(
        &self,
        range: CommerceRange,
        by: TopBy,
        limit: usize,
        currency: Option<&str>,
        state: &SalesState,
    ) -> Result<TopProducts> {
        let mut top = TopProducts {
            from: range.from,
            to: range.to,
            time_zone: state.zone.name().to_owned(),
            snapshot_id: state.snapshot,
            by: by.as_str(),
            currencies: Vec::new(),
        };
        let Some(snapshot) = state.snapshot else {
            return Ok(top);
        };
        let (from, to) = (range.from, range.to);
        let order = match by {
            TopBy::Revenue => "net_revenue DESC, units DESC",
            TopBy::Units => "units DESC, net_revenue DESC",
        };
        // The route admits only three lower-case letters here.
        let only = currency
            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()))
            .map(|c| format!("AND currency_code = '{c}'"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY currency_code ORDER BY {order}, product_uid) AS position
                FROM (
                    SELECT currency_code, product_uid, CAST(sum(orders) AS BIGINT) AS orders,
                           CAST(sum(units) AS BIGINT) AS units,
                           CAST(sum(units_returned) AS BIGINT) AS units_returned,
                           CAST(sum(gross_revenue) AS DECIMAL(20,4)) AS gross_revenue,
                           CAST(sum(discounts) AS DECIMAL(20,4)) AS discounts,
                           CAST(sum(net_revenue) AS DECIMAL(20,4)) AS net_revenue
                    FROM measurement.sales AT SNAPSHOT {snapshot}
                    WHERE day BETWEEN DATE '{from}' AND DATE '{to}' {only}
                    GROUP BY currency_code, product_uid
                )
             )
             WHERE position <= {limit}
             ORDER BY currency_code, position"
        );
        let out = self.engine.query(&sql).await?;
        for b in &out.batches {
            let c = Columns::of(b);
            let cur = c.strings("currency_code")?;
            let uid = c.strings("product_uid")?;
            let orders = c.ints("orders")?;
            let units = c.ints("units")?;
            let returned = c.ints("units_returned")?;
            let gross = c.strings("gross_revenue")?;
            let disc = c.strings("discounts")?;
            let net = c.strings("net_revenue")?;
            let rank = c.ints("position")?;
            for i in 0..b.num_rows() {
                if top.currencies.last().map(|l| &l.currency_code) != Some(&cur[i]) {
                    top.currencies.push(CurrencyLeaders {
                        currency_code: cur[i].clone(),
                        items: Vec::new(),
                    });
                }
                if let Some(l) = top.currencies.last_mut() {
                    l.items.push(ProductFigures {
                        rank: rank[i],
                        product_uid: uid[i].clone(),
                        orders: orders[i],
                        units: units[i],
                        units_returned: returned[i],
                        gross_revenue: gross[i].clone(),
                        discounts: disc[i].clone(),
                        net_revenue: net[i].clone(),
                    });
                }
            }
        }
        Ok(top)
    }
}
