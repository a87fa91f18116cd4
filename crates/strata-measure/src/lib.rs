//! Strata's measurements (layer 3): what staff act on, computed with DuckDB over the lake.
//!
//! - `measurement.sales`: per product, day and currency: orders, units, returns, revenue
//!   ([`Measurements::refresh_sales`], incremental by the commerce files committed since).
//! - `measurement.performance`: per product and as-of day: launch and window sales, flags and
//!   the nominal classification ([`Measurements::refresh_performance`]).
//! - `configuration.objective_spec`: the classification spec's versions
//!   ([`Measurements::replicate_spec`]).
//!
//! Every recomputed day replaces exactly that day's rows in one Iceberg snapshot
//! ([`strata_lake::Lake::replace_days`]), so re-running a day changes nothing and readers never
//! see half a day.

mod error;
mod performance;
mod products;
mod refresh;
mod run;
mod sales;
mod spec;
pub mod tables;
mod write;
mod zone;

pub use error::{MeasureError, Result};
pub use products::{ProductDim, load_products};
pub use refresh::{
    DAYS_PER_COMMIT, Measurements, PROP_SOURCE_SNAPSHOT, PROP_SPEC_VERSIONS, PROP_TIME_ZONE,
    PerformanceReport, Progress, SalesReport, SalesScope, replicate_spec,
};
pub use run::{AsOf, RefreshReport, TierSummary, refresh, tier_summary};
pub use spec::{AppliedSpec, load_spec_versions};
pub use zone::ReportingZone;
