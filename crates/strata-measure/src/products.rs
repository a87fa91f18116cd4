//! The product dimension the performance measurement needs, read from PostgreSQL.

use chrono::{DateTime, NaiveDate, Utc};
use strata_domain::Database;

use crate::{error::Result, zone::ReportingZone};

/// A product as the measurements see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDim {
    /// `prd_…`.
    pub uid: String,
    /// Current title.
    pub title: String,
    /// Published (phase `published`).
    pub is_active: bool,
    /// `published_ts`, or `create_ts` when the product was never published.
    pub launch_ts: DateTime<Utc>,
}

impl ProductDim {
    /// The launch day in the reporting zone.
    pub fn launch_day(&self, zone: ReportingZone) -> NaiveDate {
        zone.day_of(self.launch_ts)
    }
}

/// Every product, by uid.
pub async fn load_products(db: &Database) -> Result<Vec<ProductDim>> {
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT uid, title, status ->> 'phase' = 'published' AS is_active,
                    COALESCE(published_ts, create_ts) AS launch_ts
             FROM product ORDER BY uid",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ProductDim {
            uid: r.get(0),
            title: r.get(1),
            is_active: r.get::<_, Option<bool>>(2).unwrap_or(false),
            launch_ts: r.get(3),
        })
        .collect())
}
