//! Reading DuckDB's Arrow results into Rust values, by column name.

use chrono::NaiveDate;
use strata_query::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use strata_query::arrow::compute::cast;
use strata_query::arrow::datatypes::{DataType, Int64Type};

use super::{AnalyticsError, Result};

/// One batch's columns, cast to the types the caller reads.
pub(crate) struct Columns<'a> {
    batch: &'a RecordBatch,
}

impl<'a> Columns<'a> {
    pub(crate) fn of(batch: &'a RecordBatch) -> Self {
        Self { batch }
    }

    fn cast(&self, name: &str, to: &DataType) -> Result<ArrayRef> {
        let i = self
            .batch
            .schema()
            .index_of(name)
            .map_err(|_| AnalyticsError::Shape(format!("no column `{name}`")))?;
        cast(self.batch.column(i), to)
            .map_err(|e| AnalyticsError::Shape(format!("column `{name}`: {e}")))
    }

    /// Text (NULL as empty); dates and decimals as their SQL text.
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>> {
        let a = self.cast(name, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok((0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_owned()
                }
            })
            .collect())
    }

    /// Integers (NULL as 0).
    pub(crate) fn ints(&self, name: &str) -> Result<Vec<i64>> {
        let a = self.cast(name, &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        Ok((0..a.len())
            .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
            .collect())
    }

    /// Booleans (NULL as false).
    pub(crate) fn bools(&self, name: &str) -> Result<Vec<bool>> {
        let a = self.cast(name, &DataType::Boolean)?;
        let a = a.as_boolean();
        Ok((0..a.len()).map(|i| !a.is_null(i) && a.value(i)).collect())
    }

    /// Dates (`None` for NULL).
    pub(crate) fn days(&self, name: &str) -> Result<Vec<Option<NaiveDate>>> {
        Ok(self
            .strings(name)?
            .iter()
            .map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .collect())
    }
}
