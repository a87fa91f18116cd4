//! Strata's domain schema: the DDL under `schema/` parsed into a typed model, the convention
//! lint, versioned migrations, generated docs and drift detection.

pub mod diff;
pub mod docs;
pub mod error;
pub mod introspect;
pub mod lint;
pub mod migrate;
pub mod model;
pub mod parse;
pub mod source;

pub use error::SchemaError;
pub use model::{Column, ColumnConstraints, Module, Pass, Schema, SqlType, Table};
pub use parse::{Parsed, parse};
pub use source::SchemaSource;

/// Parse the schema embedded in this binary.
pub fn embedded() -> Result<Schema, SchemaError> {
    Ok(parse(&SchemaSource::embedded())?.schema)
}
