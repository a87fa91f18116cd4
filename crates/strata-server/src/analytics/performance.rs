//! `measurement.performance`: one as-of day's rows, loaded once per snapshot of the table.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use super::convert::Columns;
use super::{Analytics, AnalyticsError, Result};

/// The nominal classification of a product on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Winner,
    TopRiser,
    ArchiveCandidate,
    Banana,
    None,
}

impl Tier {
    /// Every tier, in the order staff screens list them.
    pub const ALL: [Tier; 5] = [
        Tier::Winner,
        Tier::TopRiser,
        Tier::ArchiveCandidate,
        Tier::Banana,
        Tier::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Winner => "winner",
            Tier::TopRiser => "top_riser",
            Tier::ArchiveCandidate => "archive_candidate",
            Tier::Banana => "banana",
            Tier::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// One product's row of `measurement.performance` (see docs/measurements.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PerfRow {
    pub product_uid: String,
    pub product_title: String,
    pub launch_day: Option<NaiveDate>,
    pub days_since_launch: i64,
    pub is_active: bool,
    pub sales_first_7_days: i64,
    pub sales_first_14_days: i64,
    pub sales_last_7_days: i64,
    pub sales_last_30_days: i64,
    pub sales_last_90_days: i64,
    pub aggregate_measurement_value: i64,
    pub is_top_riser: bool,
    pub is_winner: bool,
    pub is_banana: bool,
    pub is_archive: bool,
    pub nominal_classification: Tier,
    pub spec_version: i64,
}

/// The rows of one as-of day, as read from one snapshot.
#[derive(Debug, Clone, Default)]
pub struct PerfDay {
    /// The day (`None`: nothing measured yet).
    pub as_of_day: Option<NaiveDate>,
    /// The snapshot of `measurement.performance` read.
    pub snapshot_id: Option<i64>,
    /// By `product_uid`.
    pub rows: Vec<PerfRow>,
    index: HashMap<String, usize>,
}

impl PerfDay {
    fn new(as_of_day: Option<NaiveDate>, snapshot_id: Option<i64>, mut rows: Vec<PerfRow>) -> Self {
        rows.sort_by(|a, b| a.product_uid.cmp(&b.product_uid));
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.product_uid.clone(), i))
            .collect();
        Self {
            as_of_day,
            snapshot_id,
            rows,
            index,
        }
    }

    /// The row of `product_uid`.
    pub fn get(&self, product_uid: &str) -> Option<&PerfRow> {
        self.index.get(product_uid).map(|&i| &self.rows[i])
    }
}

/// Days kept per snapshot (the latest plus a few days staff compare with).
const DAYS_KEPT: usize = 8;

/// The loaded days of one snapshot.
#[derive(Default)]
pub(crate) struct Cache {
    snapshot: Option<i64>,
    /// First and last measured day of the snapshot, once asked.
    bounds: Option<Option<(NaiveDate, NaiveDate)>>,
    days: HashMap<NaiveDate, Arc<PerfDay>>,
}

const COLUMNS: &str = "product_uid, product_title, launch_day, days_since_launch, is_active,
    sales_first_7_days, sales_first_14_days, sales_last_7_days, sales_last_30_days,
    sales_last_90_days, aggregate_measurement_value, is_top_riser, is_winner, is_banana,
    is_archive, nominal_classification, spec_version";

impl Analytics {
    /// The rows of `as_of` (default: the last measured day) from the current snapshot of
    /// `measurement.performance`. Nothing measured yet and no day asked: an empty day.
    pub async fn performance(&self, as_of: Option<NaiveDate>) -> Result<Arc<PerfDay>> {
        let snapshot = self
            .snapshot(strata_measure::tables::performance())
            .await?
            .map(|(id, _)| id);
        let mut cache = self.perf.lock().await;
        if cache.snapshot != snapshot {
            *cache = Cache {
                snapshot,
                ..Cache::default()
            };
        }
        let Some(id) = snapshot else {
            return match as_of {
                Some(day) => Err(AnalyticsError::NotFound(format!(
                    "no performance measured for {day}: nothing is measured yet (`strata refresh measurements` computes it)"
                ))),
                None => Ok(Arc::new(PerfDay::default())),
            };
        };
        let bounds = match cache.bounds {
            Some(b) => b,
            None => {
                let b = self.performance_bounds(id).await?;
                cache.bounds = Some(b);
                b
            }
        };
        let Some((first, last)) = bounds else {
            return match as_of {
                Some(day) => Err(AnalyticsError::NotFound(format!(
                    "no performance measured for {day}: nothing is measured yet"
                ))),
                None => Ok(Arc::new(PerfDay::new(None, Some(id), Vec::new()))),
            };
        };
        let day = as_of.unwrap_or(last);
        if let Some(hit) = cache.days.get(&day) {
            return Ok(hit.clone());
        }
        let not_measured = || {
            AnalyticsError::NotFound(format!(
                "no performance measured for {day}; measured days run from {first} to {last}"
            ))
        };
        if day < first || day > last {
            return Err(not_measured());
        }
        let rows = self.performance_rows(id, day).await?;
        if rows.is_empty() {
            return Err(not_measured());
        }
        let loaded = Arc::new(PerfDay::new(Some(day), Some(id), rows));
        if cache.days.len() >= DAYS_KEPT {
            let evict = cache.days.keys().copied().find(|d| *d != last);
            if let Some(d) = evict {
                cache.days.remove(&d);
            }
        }
        cache.days.insert(day, loaded.clone());
        Ok(loaded)
    }

    async fn performance_bounds(&self, snapshot: i64) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let out = self
            .engine
            .query(&format!(
                "SELECT min(as_of_day) AS first, max(as_of_day) AS last
                 FROM measurement.performance AT SNAPSHOT {snapshot}"
            ))
            .await?;
        for b in &out.batches {
            let c = Columns::of(b);
            let (first, last) = (c.days("first")?, c.days("last")?);
            if let (Some(Some(f)), Some(Some(l))) = (first.first(), last.first()) {
                return Ok(Some((*f, *l)));
            }
        }
        Ok(None)
    }

    async fn performance_rows(&self, snapshot: i64, day: NaiveDate) -> Result<Vec<PerfRow>> {
        let started = std::time::Instant::now();
        let out = self
            .engine
            .query(&format!(
                "SELECT {COLUMNS} FROM measurement.performance AT SNAPSHOT {snapshot}
                 WHERE as_of_day = DATE '{day}'"
            ))
            .await?;
        let mut rows = Vec::with_capacity(out.rows());
        for b in &out.batches {
            let c = Columns::of(b);
            let uid = c.strings("product_uid")?;
            let title = c.strings("product_title")?;
            let launch = c.days("launch_day")?;
            let since = c.ints("days_since_launch")?;
            let active = c.bools("is_active")?;
            let f7 = c.ints("sales_first_7_days")?;
            let f14 = c.ints("sales_first_14_days")?;
            let l7 = c.ints("sales_last_7_days")?;
            let l30 = c.ints("sales_last_30_days")?;
            let l90 = c.ints("sales_last_90_days")?;
            let agg = c.ints("aggregate_measurement_value")?;
            let riser = c.bools("is_top_riser")?;
            let winner = c.bools("is_winner")?;
            let banana = c.bools("is_banana")?;
            let archive = c.bools("is_archive")?;
            let tier = c.strings("nominal_classification")?;
            let spec = c.ints("spec_version")?;
            for i in 0..b.num_rows() {
                rows.push(PerfRow {
                    product_uid: uid[i].clone(),
                    product_title: title[i].clone(),
                    launch_day: launch[i],
                    days_since_launch: since[i],
                    is_active: active[i],
                    sales_first_7_days: f7[i],
                    sales_first_14_days: f14[i],
                    sales_last_7_days: l7[i],
                    sales_last_30_days: l30[i],
                    sales_last_90_days: l90[i],
                    aggregate_measurement_value: agg[i],
                    is_top_riser: riser[i],
                    is_winner: winner[i],
                    is_banana: banana[i],
                    is_archive: archive[i],
                    nominal_classification: Tier::parse(&tier[i]).unwrap_or(Tier::None),
                    spec_version: spec[i],
                });
            }
        }
        tracing::debug!(%day, snapshot, rows = rows.len(), elapsed_ms = started.elapsed().as_millis() as u64, "loaded a performance day");
        Ok(rows)
    }
}
