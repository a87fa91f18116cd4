//! JSON values from clients → SQL text parameters, validated against the column's model
//! before PostgreSQL sees them, so a client mistake is a 422 naming the field, never a 500.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;
use strata_schema::{Column, SqlType, Table};

use super::selector::{valid_key, valid_value};

/// One invalid field, as listed in a 422 response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// How a column's JSON must look (`object` or `array`), when its CHECK constrains it.
pub fn json_shape(table: &Table, column: &str) -> Option<&'static str> {
    let wanted_object = format!("jsonb_typeof({column}) = 'object'");
    let wanted_array = format!("jsonb_typeof({column}) = 'array'");
    for c in &table.checks {
        if c.sql.contains(&wanted_object) {
            return Some("object");
        }
        if c.sql.contains(&wanted_array) {
            return Some("array");
        }
    }
    None
}

/// The SQL cast applied to a text parameter for this column.
pub fn cast_of(column: &Column) -> String {
    match &column.sql_type {
        SqlType::Other(t) => t.clone(),
        other => other.pg_name(),
    }
}

/// Convert a client's JSON value for `column` to the text PostgreSQL will cast, or say why not.
/// `None` means SQL NULL.
pub fn to_param(
    table: &Table,
    column: &Column,
    value: &Value,
) -> Result<Option<String>, FieldError> {
    let name = column.name.as_str();
    let err = |m: String| FieldError::new(name, m);
    if value.is_null() {
        if column.not_null {
            return Err(err("must not be null".into()));
        }
        return Ok(None);
    }
    let text = match &column.sql_type {
        SqlType::Text => match value {
            Value::String(s) => {
                if s.contains('\0') {
                    return Err(err("must not contain NUL characters".into()));
                }
                if let Some(allowed) = &column.enum_values
                    && !allowed.iter().any(|a| a == s)
                {
                    return Err(err(format!("must be one of: {}", allowed.join(", "))));
                }
                s.clone()
            }
            _ => return Err(err("must be a string".into())),
        },
        SqlType::Integer | SqlType::SmallInt | SqlType::BigInt => {
            let n = whole_number(value).ok_or_else(|| err("must be an integer".into()))?;
            let (lo, hi) = match column.sql_type {
                SqlType::SmallInt => (i64::from(i16::MIN), i64::from(i16::MAX)),
                SqlType::Integer => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            if n < lo || n > hi {
                return Err(err(format!("must be between {lo} and {hi}")));
            }
            n.to_string()
        }
        SqlType::Boolean => match value {
            Value::Bool(b) => b.to_string(),
            _ => return Err(err("must be true or false".into())),
        },
        SqlType::Numeric { precision, scale } => {
            let raw = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(err(
                        "must be a decimal number (a string like \"12.50\" keeps it exact)".into(),
                    ));
                }
            };
            let d = Decimal::from_str(raw.trim())
                .or_else(|_| Decimal::from_scientific(raw.trim()))
                .map_err(|_| err(format!("`{raw}` is not a decimal number")))?;
            if let (Some(p), Some(s)) = (precision, scale) {
                let s = u32::try_from(*s).unwrap_or(0);
                if d.scale() > s && d.round_dp(s) != d {
                    return Err(err(format!("has more than {s} decimal places")));
                }
                let int_digits = d.trunc().abs().to_string().trim_start_matches('0').len() as u64;
                if int_digits > p.saturating_sub(u64::from(s)) {
                    return Err(err(format!("is too large for NUMERIC({p},{s})")));
                }
            }
            d.normalize().to_string()
        }
        SqlType::DoublePrecision => {
            let f = value
                .as_f64()
                .ok_or_else(|| err("must be a number".into()))?;
            if !f.is_finite() {
                return Err(err("must be finite".into()));
            }
            f.to_string()
        }
        SqlType::Jsonb | SqlType::Json => {
            match json_shape(table, name) {
                Some("object") if !value.is_object() => {
                    return Err(err("must be a JSON object".into()));
                }
                Some("array") if !value.is_array() => {
                    return Err(err("must be a JSON array".into()));
                }
                _ => {}
            }
            if contains_nul(value) {
                return Err(err("must not contain NUL characters".into()));
            }
            value.to_string()
        }
        SqlType::TimestampTz => {
            let s = value
                .as_str()
                .ok_or_else(|| err("must be an RFC 3339 timestamp string".into()))?;
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
                err(format!(
                    "`{s}` is not an RFC 3339 timestamp like 2026-11-28T15:36:00Z"
                ))
            })?;
            let utc = t.with_timezone(&chrono::Utc);
            let y = utc.format("%Y").to_string();
            if y.len() != 4 {
                return Err(err("year must be between 0001 and 9999".into()));
            }
            // In UTC: PostgreSQL refuses offsets beyond ±15:59 that RFC 3339 allows.
            utc.to_rfc3339()
        }
        SqlType::Date => {
            let s = value
                .as_str()
                .ok_or_else(|| err("must be a date string YYYY-MM-DD".into()))?;
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| err(format!("`{s}` is not a date like 2026-11-28")))?
                .to_string()
        }
        SqlType::Other(ty) if ty.eq_ignore_ascii_case("inet") => {
            let s = value
                .as_str()
                .ok_or_else(|| err("must be an IP address string".into()))?;
            if !is_inet(s) {
                return Err(err(format!(
                    "`{s}` is not an IP address like 203.0.113.7 or 2001:db8::1"
                )));
            }
            s.to_string()
        }
        SqlType::Timestamp | SqlType::Other(_) => match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    check_facts(column, value, &text)?;
    Ok(Some(text))
}

/// A host address, IPv4 or IPv6 (`inet` also takes networks; the API keeps to hosts, as the
/// document's `ipv4`/`ipv6` formats say).
fn is_inet(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// The column's plain CHECK facts (patterns, integer bounds), judged here so a client hears
/// about them as a 422 naming the field, before PostgreSQL is asked.
fn check_facts(column: &Column, value: &Value, text: &str) -> Result<(), FieldError> {
    let k = &column.constraints;
    if column.sql_type == SqlType::Text {
        for p in &k.patterns {
            if let Some(re) = cached_regex(p)
                && !re.is_match(text)
            {
                return Err(FieldError::new(&column.name, format!("must match {p}")));
            }
        }
    }
    // Integers and NUMERICs (whose text is already a validated decimal) against CHECK bounds.
    let number = match column.sql_type {
        SqlType::Integer | SqlType::SmallInt | SqlType::BigInt => {
            whole_number(value).map(|n| n as f64)
        }
        SqlType::Numeric { .. } => text.parse::<f64>().ok(),
        _ => None,
    };
    if let Some(n) = number {
        let bad = k.minimum.is_some_and(|m| n < m)
            || k.exclusive_minimum.is_some_and(|m| n <= m)
            || k.maximum.is_some_and(|m| n > m)
            || k.exclusive_maximum.is_some_and(|m| n >= m);
        if bad {
            let mut bounds = Vec::new();
            if let Some(m) = k.minimum {
                bounds.push(format!(">= {m}"));
            }
            if let Some(m) = k.exclusive_minimum {
                bounds.push(format!("> {m}"));
            }
            if let Some(m) = k.maximum {
                bounds.push(format!("<= {m}"));
            }
            if let Some(m) = k.exclusive_maximum {
                bounds.push(format!("< {m}"));
            }
            return Err(FieldError::new(
                &column.name,
                format!("must be {}", bounds.join(" and ")),
            ));
        }
    }
    Ok(())
}

/// CHECK patterns compiled once (PostgreSQL's regex dialect; the schema's patterns are within
/// what the `regex` crate reads the same way, POSIX classes included).
fn cached_regex(pattern: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = cache.lock().ok()?;
    map.entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(pattern).ok())
        .clone()
}

/// A JSON number with no fractional part, as JSON Schema's `integer` counts it (`3` and `3.0`);
/// floats only within the range where they are exact (±2^53).
pub fn whole_number(value: &Value) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
            .map(|f| f as i64)
    })
}

/// Whether a string or key anywhere in `v` holds NUL, which jsonb cannot store.
pub fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// Labels are a flat map of valid keys to valid string values (Kubernetes rules).
pub fn check_labels(value: &Value) -> Result<(), FieldError> {
    let obj = value
        .as_object()
        .ok_or_else(|| FieldError::new("labels", "must be a JSON object of string values"))?;
    for (k, v) in obj {
        if !valid_key(k) {
            return Err(FieldError::new(
                format!("labels.{k}"),
                "is not a valid label key",
            ));
        }
        match v.as_str() {
            Some(s) if valid_value(s) => {}
            _ => {
                return Err(FieldError::new(
                    format!("labels.{k}"),
                    "must be a label value string (up to 63 of [A-Za-z0-9._-])",
                ));
            }
        }
    }
    Ok(())
}

/// Annotations are a map of valid keys to arbitrary strings.
pub fn check_annotations(value: &Value) -> Result<(), FieldError> {
    let obj = value
        .as_object()
        .ok_or_else(|| FieldError::new("annotations", "must be a JSON object of string values"))?;
    for (k, v) in obj {
        if !valid_key(k) {
            return Err(FieldError::new(
                format!("annotations.{k}"),
                "is not a valid annotation key",
            ));
        }
        match v.as_str() {
            Some(s) if !s.contains('\0') => {}
            _ => {
                return Err(FieldError::new(
                    format!("annotations.{k}"),
                    "must be a string",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(t: SqlType, not_null: bool) -> Column {
        Column {
            name: "x".into(),
            line: 1,
            sql_type: t,
            not_null,
            primary_key: false,
            default: None,
            comment: None,
            enum_values: None,
            reference: None,
            unit: None,
            constraints: Default::default(),
        }
    }

    fn table() -> Table {
        Table {
            name: "t".into(),
            module: 1,
            file: "f".into(),
            line: 1,
            comment: None,
            columns: vec![],
            prefix: None,
            phases: vec![],
            initial_phase: None,
            terminal_phases: vec![],
            checks: vec![],
            uniques: vec![],
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    #[test]
    fn numeric_bounds_and_scale() {
        let c = col(
            SqlType::Numeric {
                precision: Some(20),
                scale: Some(4),
            },
            true,
        );
        assert_eq!(
            to_param(&table(), &c, &json!("12.50")).unwrap().as_deref(),
            Some("12.5")
        );
        assert_eq!(
            to_param(&table(), &c, &json!(3)).unwrap().as_deref(),
            Some("3")
        );
        assert!(to_param(&table(), &c, &json!("1.23456")).is_err());
        assert!(to_param(&table(), &c, &json!("1e30")).is_err());
        assert!(to_param(&table(), &c, &json!("abc")).is_err());
        assert!(to_param(&table(), &c, &json!(null)).is_err());
    }

    #[test]
    fn integers_and_enums() {
        let c = col(SqlType::Integer, false);
        assert!(to_param(&table(), &c, &json!(3_000_000_000i64)).is_err());
        assert!(to_param(&table(), &c, &json!(1.5)).is_err());
        // JSON Schema counts 2.0 as an integer, so the store does too.
        assert_eq!(
            to_param(&table(), &c, &json!(2.0)).unwrap().as_deref(),
            Some("2")
        );
        assert_eq!(to_param(&table(), &c, &json!(null)).unwrap(), None);
        let mut e = col(SqlType::Text, true);
        e.enum_values = Some(vec!["a".into(), "b".into()]);
        assert!(to_param(&table(), &e, &json!("c")).is_err());
        assert!(to_param(&table(), &e, &json!("a")).is_ok());
    }

    #[test]
    fn labels_follow_kubernetes_rules() {
        assert!(check_labels(&json!({"tier": "gold", "strata.dev/x": "y"})).is_ok());
        assert!(check_labels(&json!({"tier": 1})).is_err());
        assert!(check_labels(&json!({"bad key": "v"})).is_err());
        assert!(check_labels(&json!(["x"])).is_err());
    }
}
