//! Strata's domain layer (layer 1): connections to PostgreSQL, embedded or by URL, and the
//! deterministic synthetic store every demo and benchmark uses.

pub mod audit;
pub mod classification;
pub mod commands;
pub mod db;
pub mod identity;
pub mod resource;
pub mod seed;

pub use db::{Database, DbConfig, DbError, Engine};
