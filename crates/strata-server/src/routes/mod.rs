//! Routes, one module per area of the API.

pub mod commands;
pub mod friendly;
pub mod meta;
pub mod ops;
pub mod query;
pub mod resources;
pub mod settings;
pub mod telemetry;
