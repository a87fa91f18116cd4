//! The built-in workflows, on [`strata_workflow`]'s durable engine:
//!
//! - [`DailyShopifySync`] (`daily_shopify_sync`): orders updated on Shopify since the watermark,
//!   through a bulk query, an archive of its JSONL in the lake's storage and the [`ingest`], into
//!   PostgreSQL and the commerce stream; then the measurements, then the watermark. Registered
//!   only when Shopify is configured ([`SyncEnv::shopify`]).
//! - [`RefreshMeasurements`] (`refresh_measurements`): the sales and performance measurements, the
//!   refresh step of the daily sync, also runnable on its own.
//!
//! They live here rather than in `strata-workflow` so the engine stays free of the domain, the
//! lake and Shopify: it depends only on the event types, and these workflows on everything they
//! orchestrate.

pub mod daily;
mod env;
pub mod ingest;
mod refresh;

pub use daily::{
    BulkSignals, DAILY_SHOPIFY_SYNC, DailyShopifySync, DailySyncOptions, DailySyncParams,
};
pub use env::SyncEnv;
pub use ingest::{IngestError, IngestReport, OrderIngest};
pub use refresh::{REFRESH_MEASUREMENTS, RefreshMeasurements, RefreshParams};

/// The names of the built-in workflows (the daily sync's included, though it only runs where
/// Shopify is configured).
pub const WORKFLOW_NAMES: &[&str] = &[DAILY_SHOPIFY_SYNC, REFRESH_MEASUREMENTS];

/// Registers every built-in workflow on `engine`: the daily sync only when `env.shopify` is set
/// (a configuration the client refuses is logged, and the sync left out).
pub fn register_all(
    engine: strata_workflow::Engine,
    env: std::sync::Arc<SyncEnv>,
) -> strata_workflow::Engine {
    let engine = match DailyShopifySync::new(env.clone()) {
        Ok(Some(sync)) => engine.register(sync),
        Ok(None) => {
            tracing::debug!("Shopify is not configured: {DAILY_SHOPIFY_SYNC} is not registered");
            engine
        }
        Err(e) => {
            tracing::error!(error = %e, "the Shopify configuration is unusable: {DAILY_SHOPIFY_SYNC} is not registered");
            engine
        }
    };
    engine.register(RefreshMeasurements::new(env))
}
