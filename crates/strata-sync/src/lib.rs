//! The built-in workflows, on [`strata_workflow`]'s durable engine:
//!
//! - [`RefreshMeasurements`] (`refresh_measurements`): the sales and performance measurements, the
//!   refresh step of the daily sync, also runnable on its own.
//!
//! They live here rather than in `strata-workflow` so the engine stays free of the domain, the
//! lake and Shopify: it depends only on the event types, and these workflows on everything they
//! orchestrate.

mod env;
mod refresh;

pub use env::SyncEnv;
pub use refresh::{REFRESH_MEASUREMENTS, RefreshMeasurements, RefreshParams};

/// The names of the built-in workflows.
pub const WORKFLOW_NAMES: &[&str] = &[REFRESH_MEASUREMENTS];

/// Registers every built-in workflow on `engine`.
pub fn register_all(
    engine: strata_workflow::Engine,
    env: std::sync::Arc<SyncEnv>,
) -> strata_workflow::Engine {
    engine.register(RefreshMeasurements::new(env))
}
