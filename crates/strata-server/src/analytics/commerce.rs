//! Commerce figures of a range of days from `measurement.sales` (per currency: money is never
//! added across currencies), with order counts from the commerce telemetry the sales were
//! computed from.
//!
//! Both are read once per snapshot of `measurement.sales` (its rows, and orders per day and
//! currency) and kept in memory: any range is then a sum in Rust, with no query.
//!
//! `measurement.sales` counts an order once per product and day; an order's `order_created`
//! event falls on one day, so a product's orders over a range are the sum of its daily counts,
//! but the orders of the whole store are not (an order with two products would count twice):
//! they are counted from `commerce.telemetry` at the snapshot the sales are complete up to
//! (`strata.source-snapshot`), so they agree with the revenue next to them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use strata_measure::{PROP_SOURCE_SNAPSHOT, PROP_TIME_ZONE, ReportingZone};

use super::convert::Columns;
use super::{Analytics, AnalyticsError, Result};

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

/// One row of `measurement.sales`.
struct SalesRow {
    day: NaiveDate,
    product_uid: String,
    currency_code: String,
    orders: i64,
    units: i64,
    units_returned: i64,
    gross: Decimal,
    discounts: Decimal,
    net: Decimal,
}

/// Everything the commerce figures need, of one snapshot of `measurement.sales`.
#[derive(Default)]
pub(crate) struct SalesData {
    rows: Vec<SalesRow>,
    /// Orders with a product line, by (day, currency).
    orders: HashMap<(NaiveDate, String), i64>,
}

/// The loaded snapshot.
#[derive(Default)]
pub(crate) struct Cache {
    snapshot: Option<i64>,
    data: Option<Arc<SalesData>>,
}

/// What the sales table says about itself.
struct SalesState {
    snapshot: Option<i64>,
    zone: ReportingZone,
    source: Option<i64>,
}

/// Sums of one group of rows.
#[derive(Default)]
struct Sums {
    orders: i64,
    units: i64,
    units_returned: i64,
    gross: Decimal,
    discounts: Decimal,
    net: Decimal,
}

impl Sums {
    fn add(&mut self, r: &SalesRow) {
        self.orders += r.orders;
        self.units += r.units;
        self.units_returned += r.units_returned;
        self.gross += r.gross;
        self.discounts += r.discounts;
        self.net += r.net;
    }
}

/// Money as the lake writes it: four places.
fn money(d: Decimal) -> String {
    format!("{:.4}", d.round_dp(4))
}

fn decimal(text: &str) -> Result<Decimal> {
    text.parse::<Decimal>()
        .map_err(|e| AnalyticsError::Shape(format!("money {text:?}: {e}")))
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

    /// The sales of the current snapshot, loaded on first use.
    async fn sales_data(&self, state: &SalesState) -> Result<Arc<SalesData>> {
        let mut cache = self.sales.lock().await;
        if cache.snapshot != state.snapshot {
            *cache = Cache {
                snapshot: state.snapshot,
                data: None,
            };
        }
        if let Some(data) = &cache.data {
            return Ok(data.clone());
        }
        let data = Arc::new(match state.snapshot {
            Some(id) => self.load_sales(id, state).await?,
            None => SalesData::default(),
        });
        cache.data = Some(data.clone());
        Ok(data)
    }

    async fn load_sales(&self, snapshot: i64, state: &SalesState) -> Result<SalesData> {
        let started = std::time::Instant::now();
        let out = self
            .engine
            .query(&format!(
                "SELECT day, product_uid, currency_code, orders, units, units_returned,
                        gross_revenue, discounts, net_revenue
                 FROM measurement.sales AT SNAPSHOT {snapshot}"
            ))
            .await?;
        let mut data = SalesData::default();
        for b in &out.batches {
            let c = Columns::of(b);
            let day = c.days("day")?;
            let uid = c.strings("product_uid")?;
            let cur = c.strings("currency_code")?;
            let orders = c.ints("orders")?;
            let units = c.ints("units")?;
            let returned = c.ints("units_returned")?;
            let gross = c.strings("gross_revenue")?;
            let disc = c.strings("discounts")?;
            let net = c.strings("net_revenue")?;
            for i in 0..b.num_rows() {
                let Some(day) = day[i] else { continue };
                data.rows.push(SalesRow {
                    day,
                    product_uid: uid[i].clone(),
                    currency_code: cur[i].clone(),
                    orders: orders[i],
                    units: units[i],
                    units_returned: returned[i],
                    gross: decimal(&gross[i])?,
                    discounts: decimal(&disc[i])?,
                    net: decimal(&net[i])?,
                });
            }
        }
        // Orders counted once each (an order's `order_created` falls on one day), from the
        // telemetry the sales are complete up to.
        let commerce = match state.source {
            Some(id) => format!("commerce.telemetry AT SNAPSHOT {id}"),
            None => "commerce.telemetry".to_owned(),
        };
        let tz = state.zone.name();
        let out = self
            .engine
            .query(&format!(
                "SELECT CAST(timezone('{tz}', occurred_ts) AS DATE) AS day, currency_code,
                        count(DISTINCT order_uid) AS orders
                 FROM {commerce}
                 WHERE event_type = 'order_created'
                   AND len(list_filter(
                         json_transform(payload, '{{\"lines\":[{{\"product_uid\":\"VARCHAR\"}}]}}').lines,
                         x -> x.product_uid IS NOT NULL)) > 0
                 GROUP BY ALL"
            ))
            .await?;
        for b in &out.batches {
            let c = Columns::of(b);
            let day = c.days("day")?;
            let cur = c.strings("currency_code")?;
            let orders = c.ints("orders")?;
            for i in 0..b.num_rows() {
                if let Some(day) = day[i] {
                    data.orders.insert((day, cur[i].clone()), orders[i]);
                }
            }
        }
        tracing::debug!(
            snapshot,
            rows = data.rows.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded the sales"
        );
        Ok(data)
    }

    /// Revenue, orders, units and average order value per currency over `range`.
    pub async fn overview(&self, range: CommerceRange) -> Result<Arc<Value>> {
        let state = self.sales_state().await?;
        let data = self.sales_data(&state).await?;
        let inside = |d: &NaiveDate| (range.from..=range.to).contains(d);
        let mut by_currency: BTreeMap<&str, Sums> = BTreeMap::new();
        for r in data.rows.iter().filter(|r| inside(&r.day)) {
            by_currency.entry(&r.currency_code).or_default().add(r);
        }
        let currencies = by_currency
            .into_iter()
            .map(|(currency, sums)| {
                let orders: i64 = data
                    .orders
                    .iter()
                    .filter(|((d, c), _)| c == currency && inside(d))
                    .map(|(_, n)| n)
                    .sum();
                CurrencyFigures {
                    currency_code: currency.to_owned(),
                    orders,
                    units: sums.units,
                    units_returned: sums.units_returned,
                    gross_revenue: money(sums.gross),
                    discounts: money(sums.discounts),
                    net_revenue: money(sums.net),
                    average_order_value: (orders > 0)
                        .then(|| money(sums.net / Decimal::from(orders))),
                }
            })
            .collect();
        let overview = Overview {
            from: range.from,
            to: range.to,
            time_zone: state.zone.name().to_owned(),
            snapshot_id: state.snapshot,
            currencies,
        };
        serde_json::to_value(overview)
            .map(Arc::new)
            .map_err(|e| AnalyticsError::Shape(e.to_string()))
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
        let data = self.sales_data(&state).await?;
        let mut groups: BTreeMap<&str, HashMap<&str, Sums>> = BTreeMap::new();
        for r in data.rows.iter().filter(|r| {
            (range.from..=range.to).contains(&r.day)
                && currency.is_none_or(|c| c == r.currency_code)
        }) {
            groups
                .entry(&r.currency_code)
                .or_default()
                .entry(&r.product_uid)
                .or_default()
                .add(r);
        }
        let currencies = groups
            .into_iter()
            .map(|(currency, products)| {
                let mut ranked: Vec<(&str, Sums)> = products.into_iter().collect();
                ranked.sort_by(|(ua, a), (ub, b)| {
                    let key = match by {
                        TopBy::Revenue => b.net.cmp(&a.net).then(b.units.cmp(&a.units)),
                        TopBy::Units => b.units.cmp(&a.units).then(b.net.cmp(&a.net)),
                    };
                    key.then_with(|| ua.cmp(ub))
                });
                CurrencyLeaders {
                    currency_code: currency.to_owned(),
                    items: ranked
                        .into_iter()
                        .take(limit)
                        .enumerate()
                        .map(|(i, (uid, s))| ProductFigures {
                            rank: i as i64 + 1,
                            product_uid: uid.to_owned(),
                            orders: s.orders,
                            units: s.units,
                            units_returned: s.units_returned,
                            gross_revenue: money(s.gross),
                            discounts: money(s.discounts),
                            net_revenue: money(s.net),
                        })
                        .collect(),
                }
            })
            .collect();
        let top = TopProducts {
            from: range.from,
            to: range.to,
            time_zone: state.zone.name().to_owned(),
            snapshot_id: state.snapshot,
            by: by.as_str(),
            currencies,
        };
        serde_json::to_value(top)
            .map(Arc::new)
            .map_err(|e| AnalyticsError::Shape(e.to_string()))
    }

    /// Loads the current sales (see [`Analytics::warm`]).
    pub(crate) async fn warm_sales(&self) -> Result<()> {
        let state = self.sales_state().await?;
        self.sales_data(&state).await.map(|_| ())
    }
}
