//! Routes, one module per area of the API.

pub mod analytics;
pub mod commands;
pub mod friendly;
pub mod meta;
pub mod ops;
pub mod performance_metrics;
pub mod query;
pub mod resources;
pub mod settings;
pub mod tag_analytics;
pub mod telemetry;
pub mod webhooks;
pub mod workflows;
