//! What can go wrong with a resource operation, classified the way HTTP needs it.

use strata_schema::Table;

use super::value::FieldError;
use crate::db::pg_reason;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    #[error("no resource collection named {0}")]
    UnknownTable(String),
    #[error("{table} {uid} does not exist")]
    NotFound { table: String, uid: String },
    #[error("invalid request: {}", .0.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the resource changed since it was read (If-Match does not match its ETag)")]
    PreconditionFailed,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected database error: {0}")]
    Internal(String),
}

impl ResourceError {
    /// Classify a PostgreSQL error: client mistakes PostgreSQL caught (a CHECK, a unique key, a
    /// bad value) become 4xx errors naming the field; lost connections become 503.
    pub fn from_pg(table: &Table, e: tokio_postgres::Error) -> Self {
        let Some(db) = e.as_db_error() else {
            return ResourceError::Unavailable(pg_reason(&e));
        };
        let code = db.code().code();
        let constraint = db.constraint().unwrap_or_default();
        let field =
            field_of_constraint(table, constraint).or_else(|| db.column().map(str::to_string));
        match code {
            "23505" => ResourceError::Conflict(format!(
                "a {} with the same {} already exists",
                table.name,
                unique_columns(table, constraint).unwrap_or_else(|| constraint.to_string())
            )),
            "23514" | "23502" | "22P02" | "22003" | "22007" | "22008" | "22023" | "22001"
            | "22021" | "2202E" | "22004" | "22009" | "22012" | "22026" | "22025" => {
                ResourceError::Invalid(vec![FieldError::new(
                    field.unwrap_or_default(),
                    match code {
                        "23514" => format!("violates {constraint}: {}", db.message()),
                        _ => db.message().to_string(),
                    },
                )])
            }
            // Serialization failures and deadlocks: the client may simply retry.
            "40001" | "40P01" => {
                ResourceError::Conflict(format!("concurrent update, retry: {}", db.message()))
            }
            c if c.starts_with("08") || c.starts_with("57") || c.starts_with("53") => {
                ResourceError::Unavailable(db.message().to_string())
            }
            _ => ResourceError::Internal(format!("{code}: {}", db.message())),
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            ResourceError::UnknownTable(_) | ResourceError::NotFound { .. } => 404,
            ResourceError::Invalid(_) => 422,
            ResourceError::BadRequest(_) => 400,
            ResourceError::Conflict(_) => 409,
            ResourceError::PreconditionFailed => 412,
            ResourceError::Unavailable(_) => 503,
            ResourceError::Internal(_) => 500,
        }
    }
}

/// `<table>_<column>_check` (PostgreSQL's name for a column CHECK) → column.
fn field_of_constraint(table: &Table, constraint: &str) -> Option<String> {
    let rest = constraint.strip_prefix(&format!("{}_", table.name))?;
    let mut best: Option<&str> = None;
    for c in &table.columns {
        if rest.starts_with(&format!("{}_", c.name)) && best.is_none_or(|b| c.name.len() > b.len())
        {
            best = Some(&c.name);
        }
    }
    best.map(str::to_string)
}

fn unique_columns(table: &Table, constraint: &str) -> Option<String> {
    let idx = table.indexes.iter().find(|i| i.name == constraint);
    if let Some(i) = idx {
        return Some(i.keys.join(", "));
    }
    field_of_constraint(table, constraint)
}
