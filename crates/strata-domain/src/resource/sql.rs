//! SQL text for the store. Identifiers come from the schema model, never from clients;
//! values always travel as parameters.

use serde_json::Value;
use strata_schema::{SqlType, Table};

use super::value::cast_of;
use super::{Resource, ResourceError};

/// A double-quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The columns a request selects: all of them, or `uid` plus the requested ones.
pub fn field_columns<'a>(
    t: &'a Table,
    fields: Option<&[String]>,
) -> Result<Vec<&'a str>, ResourceError> {
    match fields {
        None => Ok(t.columns.iter().map(|c| c.name.as_str()).collect()),
        Some(names) => {
            let mut out = vec!["uid"];
            for n in names {
                let c = t.column(n).ok_or_else(|| {
                    ResourceError::BadRequest(format!("fields: {} has no field `{n}`", t.name))
                })?;
                if c.name != "uid" && !out.contains(&c.name.as_str()) {
                    out.push(c.name.as_str());
                }
            }
            Ok(out)
        }
    }
}

/// The select list: NUMERIC as exact text, plus the row version for the ETag.
pub fn select_list(t: &Table, cols: &[&str]) -> String {
    let mut parts: Vec<String> = cols
        .iter()
        .map(|c| match t.column(c).map(|col| &col.sql_type) {
            Some(SqlType::Numeric { .. }) => format!("{0}::text AS {0}", ident(c)),
            _ => ident(c),
        })
        .collect();
    parts.push("(extract(epoch FROM update_ts) * 1000000)::bigint AS __version".into());
    parts.join(", ")
}

/// `$n` cast from text to the column's type.
pub fn param(t: &Table, column: &str, n: usize) -> String {
    match t.column(column) {
        Some(c) if c.sql_type != SqlType::Text => format!("${n}::text::{}", cast_of(c)),
        _ => format!("${n}::text"),
    }
}

/// Parse a `row_to_json` result into a resource.
pub fn resource_of(json: String) -> Result<Resource, ResourceError> {
    let value: Value = serde_json::from_str(&json)
        .map_err(|e| ResourceError::Internal(format!("row JSON: {e}")))?;
    let Value::Object(mut body) = value else {
        return Err(ResourceError::Internal("row JSON is not an object".into()));
    };
    let version = body
        .remove("__version")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    Ok(Resource { body, version })
}
