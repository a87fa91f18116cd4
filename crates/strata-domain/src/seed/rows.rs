//! Rows for one table, encoded as PostgreSQL COPY text and checked against the schema model
//! before anything is sent: a generator that forgets a required column fails at start-up with
//! the table and column named, not halfway through a load.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use strata_schema::Table;

use super::SeedError;

/// Label put on every seeded row, so a re-seed can replace exactly what the seed wrote.
pub const SEED_LABEL: &str = "strata.dev/seeded";

/// A COPY buffer for one table over a fixed column list.
pub struct TableRows {
    pub table: String,
    columns: Vec<String>,
    index: HashMap<String, usize>,
    required: Vec<bool>,
    /// Initial phase from the model, used when a row sets none.
    initial_phase: String,
    labels: String,
    pub buf: Vec<u8>,
    pub rows: u64,
    row: Vec<Option<String>>,
}

impl TableRows {
    /// `columns`: the domain columns the generator sets (the standard ones are added here).
    /// Every NOT NULL column without a DEFAULT must be among them.
    pub fn new(table: &Table, columns: &[&str], seed: u64) -> Result<Self, SeedError> {
        let mut cols: Vec<String> = vec!["uid".into()];
        for c in columns {
            if table.column(c).is_none() {
                return Err(SeedError::Model(format!(
                    "{}.{c} is not a column of the schema",
                    table.name
                )));
            }
            cols.push((*c).to_string());
            let raw = format!("raw_{c}");
            if table.column(&raw).is_some() && !columns.contains(&raw.as_str()) {
                cols.push(raw);
            }
        }
        for std_col in ["status", "labels", "annotations", "create_ts", "update_ts"] {
            cols.push(std_col.into());
        }
        for c in &table.columns {
            if c.not_null && c.default.is_none() && !cols.contains(&c.name) {
                return Err(SeedError::Model(format!(
                    "{}.{} is NOT NULL without a default but the generator does not set it",
                    table.name, c.name
                )));
            }
        }
        let required = cols
            .iter()
            .map(|n| table.column(n).is_some_and(|c| c.not_null))
            .collect();
        let index = cols
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let n = cols.len();
        Ok(Self {
            table: table.name.clone(),
            initial_phase: table
                .initial_phase
                .clone()
                .unwrap_or_else(|| "active".into()),
            labels: format!(r#"{{"{SEED_LABEL}": "true", "strata.dev/seed": "{seed}"}}"#),
            columns: cols,
            index,
            required,
            buf: Vec::with_capacity(1 << 20),
            rows: 0,
            row: vec![None; n],
        })
    }

    /// `COPY <table> (<columns>) FROM STDIN`
    pub fn copy_statement(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN",
            self.table,
            self.columns.join(", ")
        )
    }

    /// Start a row with its uid and creation time (also its update time unless set).
    pub fn begin(&mut self, uid: &str, created: DateTime<Utc>) -> &mut Self {
        for v in self.row.iter_mut() {
            *v = None;
        }
        self.row[0] = Some(uid.to_string());
        let ts = fmt_ts(created);
        self.put("create_ts", ts.clone());
        self.put("update_ts", ts);
        self
    }

    fn put(&mut self, column: &str, value: String) {
        match self.index.get(column) {
            Some(&i) => self.row[i] = Some(value),
            // Programming error in a generator; caught by the seed's tests.
            None => panic!(
                "seed generator sets {}.{column}, which it did not declare",
                self.table
            ),
        }
    }

    pub fn text(&mut self, column: &str, value: impl Into<String>) -> &mut Self {
        self.put(column, value.into());
        self
    }

    pub fn opt_text(&mut self, column: &str, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(v) = value {
            self.put(column, v.into());
        }
        self
    }

    pub fn int(&mut self, column: &str, value: i64) -> &mut Self {
        self.put(column, value.to_string());
        self
    }

    pub fn boolean(&mut self, column: &str, value: bool) -> &mut Self {
        self.put(column, if value { "t" } else { "f" }.into());
        self
    }

    pub fn ts(&mut self, column: &str, value: DateTime<Utc>) -> &mut Self {
        self.put(column, fmt_ts(value));
        self
    }

    pub fn date(&mut self, column: &str, value: NaiveDate) -> &mut Self {
        self.put(column, value.format("%Y-%m-%d").to_string());
        self
    }

    pub fn json(&mut self, column: &str, value: &serde_json::Value) -> &mut Self {
        self.put(column, value.to_string());
        self
    }

    /// A non-money NUMERIC (rates, ratios) given as exact text.
    pub fn decimal(&mut self, column: &str, value: &str) -> &mut Self {
        self.put(column, value.to_string());
        self
    }

    /// Money in minor units: sets `column` and `raw_<column>` consistently.
    pub fn money(&mut self, column: &str, cents: i64, currency: &str) -> &mut Self {
        let value = cents_to_decimal(cents);
        let raw = format!(r#"{{"value": "{value}", "currency_code": "{currency}"}}"#);
        self.put(column, value);
        self.put(&format!("raw_{column}"), raw);
        self
    }

    pub fn phase(&mut self, phase: &str) -> &mut Self {
        self.put("status", status_json(phase));
        self
    }

    /// Finish the row: fill the standard columns and append it to the COPY buffer.
    pub fn end(&mut self) -> Result<(), SeedError> {
        if self.row[self.index["status"]].is_none() {
            let phase = self.initial_phase.clone();
            self.put("status", status_json(&phase));
        }
        let labels = self.labels.clone();
        self.put("labels", labels);
        self.put("annotations", "{}".into());
        for (i, value) in self.row.iter().enumerate() {
            if i > 0 {
                self.buf.push(b'\t');
            }
            match value {
                Some(v) => escape_into(&mut self.buf, v),
                None if self.required[i] => {
                    return Err(SeedError::Model(format!(
                        "{}.{} is required but the generator left it empty",
                        self.table, self.columns[i]
                    )));
                }
                None => self.buf.extend_from_slice(b"\\N"),
            }
        }
        self.buf.push(b'\n');
        self.rows += 1;
        Ok(())
    }
}

fn status_json(phase: &str) -> String {
    format!(r#"{{"phase": "{phase}", "conditions": []}}"#)
}

pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// 1234 → "12.34"; -5 → "-0.05".
pub fn cents_to_decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let mut s = String::with_capacity(12);
    let _ = write!(s, "{sign}{}.{:02}", abs / 100, abs % 100);
    s
}

/// COPY text format escaping: backslash, tab, newline and carriage return.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_text() {
        assert_eq!(cents_to_decimal(1234), "12.34");
        assert_eq!(cents_to_decimal(5), "0.05");
        assert_eq!(cents_to_decimal(-5), "-0.05");
    }

    #[test]
    fn escaping() {
        let mut b = Vec::new();
        escape_into(&mut b, "a\tb\\c\nd");
        assert_eq!(b, b"a\\tb\\\\c\\nd");
    }
}
