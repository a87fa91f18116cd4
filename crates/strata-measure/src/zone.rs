//! The reporting time zone: which local day an instant belongs to.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{MeasureError, Result};

/// An IANA time zone (`UTC`, `Europe/Berlin`, `America/New_York`) whose calendar days the
/// measurements are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportingZone(Tz);

impl Default for ReportingZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl std::str::FromStr for ReportingZone {
    type Err = MeasureError;
    fn from_str(name: &str) -> Result<Self> {
        name.parse::<Tz>().map(Self).map_err(|_| {
            MeasureError::Invalid(format!(
                "`{name}` is not an IANA time zone name; use e.g. UTC, Europe/Berlin, America/New_York"
            ))
        })
    }
}

impl std::fmt::Display for ReportingZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl ReportingZone {
    /// The zone's IANA name, as DuckDB's `timezone()` takes it.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local day of an instant.
    pub fn day_of(&self, ts: DateTime<Utc>) -> NaiveDate {
        ts.with_timezone(&self.0).date_naive()
    }

    /// The first instant of a local day (its midnight, or the first instant after a gap).
    pub fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.0.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            // No zone skips more than a few hours; the day starts at the gap's end.
            chrono::LocalResult::None => (1..=24)
                .find_map(|h| {
                    self.0
                        .from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| midnight.and_utc()),
        }
    }

    /// The first instant after a local day.
    pub fn end_of(&self, day: NaiveDate) -> DateTime<Utc> {
        self.start_of(day.succ_opt().unwrap_or(day))
    }

    /// Today in this zone.
    pub fn today(&self) -> NaiveDate {
        self.day_of(Utc::now())
    }
}
