//! What the built-in workflows work on.

use std::{path::PathBuf, sync::Arc};

use strata_domain::Database;
use strata_events::EventLog;
use strata_lake::Lake;
use strata_measure::ReportingZone;
use strata_shopify::ShopifyConfig;

use crate::daily::BulkSignals;

/// The databases, lake and streams the workflows read and write.
pub struct SyncEnv {
    /// The domain database.
    pub db: Arc<Database>,
    /// The lake.
    pub lake: Lake,
    /// `--data-dir`, for the query engine's scratch space.
    pub data_dir: PathBuf,
    /// The store's reporting time zone (days of the measurements).
    pub zone: ReportingZone,
    /// The event log the commerce events are appended to.
    pub events: Arc<dyn EventLog>,
    /// The shop the daily sync reads; `None`: the sync is not registered (nothing to sync from).
    pub shopify: Option<ShopifyConfig>,
    /// Where `bulk_operations/finish` webhooks wake the sync waiting for that operation (hand
    /// [`BulkSignals::notify`] to the webhook route).
    pub bulk_signals: BulkSignals,
}
