//! RFC 9457 problem details for every error the API returns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strata_domain::DbError;
use strata_domain::resource::ResourceError;
use strata_domain::resource::value::FieldError;

/// An error response: status, a short title, a detail, and per-field errors for 422.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Whole seconds for the `Retry-After` header (429 and 503 carry one).
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error").to_string();
        Self {
            kind: format!("https://strata.dev/problems/{}", slug(&title)),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            // An outage is usually short: a second is a polite first back-off.
            retry_after_secs: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
        }
    }

    /// Tell the client when to come back (rounded up to whole seconds, at least one).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<ResourceError> for Problem {
    fn from(e: ResourceError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match e {
            ResourceError::Invalid(errors) => {
                Problem::new(status, "the request has invalid fields").with_errors(errors)
            }
            ResourceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::new(status, "an unexpected error occurred; it was logged")
            }
            ResourceError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                Problem::new(status, "the database is unavailable; retry shortly")
            }
            other => Problem::new(status, other.to_string()),
        }
    }
}

impl From<DbError> for Problem {
    fn from(e: DbError) -> Self {
        tracing::warn!(error = %e, "database unavailable");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; retry shortly",
        )
    }
}

impl From<tokio_postgres::Error> for Problem {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.as_db_error().is_some() {
            tracing::error!(error = %strata_domain::db::pg_reason(&e), "database error");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an unexpected error occurred; it was logged",
            )
        } else {
            tracing::warn!(error = %e, "database unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly",
            )
        }
    }
}

pub type ApiResult<T> = Result<T, Problem>;
