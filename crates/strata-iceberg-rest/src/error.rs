//! The spec's error model: every error is `{"error": {"message", "type", "code"}}` (the
//! `IcebergErrorResponse` schema), with the status codes and exception types the spec names:
//! 400 `BadRequestException`, 401 `NotAuthorizedException`, 403 `ForbiddenException`,
//! 404 `NoSuchNamespaceException` / `NoSuchTableException`, 406 `UnsupportedOperationException`,
//! 409 `AlreadyExistsException` / `CommitFailedException` / `NamespaceNotEmptyException`,
//! 500 `InternalServerError`, 503 `ServiceUnavailableException`.

use axum::{
    Json,
    body::Body,
    http::{HeaderValue, Request, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;
use strata_lake::iceberg::{self, ErrorKind};

/// An error answer of the Iceberg REST protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcebergError {
    /// HTTP status, repeated as `code` in the body.
    pub status: StatusCode,
    /// The exception type, e.g. `NoSuchTableException`.
    pub kind: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after_secs: Option<u64>,
}

/// The result of a handler.
pub type RestResult<T> = std::result::Result<T, IcebergError>;

impl IcebergError {
    /// An error of `status` and exception type `kind`.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400: a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    /// 401: no credentials, or invalid ones.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "NotAuthorizedException", message)
    }

    /// 403: valid credentials without the needed scope.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "ForbiddenException", message)
    }

    /// 404 for a namespace.
    pub fn no_such_namespace(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchNamespaceException", message)
    }

    /// 404 for a table.
    pub fn no_such_table(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchTableException", message)
    }

    /// 406: a valid request this server does not implement.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "UnsupportedOperationException",
            message,
        )
    }

    /// 409: the namespace or table exists already.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "AlreadyExistsException", message)
    }

    /// 409: a requirement failed, or another commit won the race.
    pub fn commit_failed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CommitFailedException", message)
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            message,
        )
    }

    /// 503: retry later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            message,
        )
    }

    /// The body: `{"error": {"message", "type", "code"}}`.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.status.as_u16(),
            }
        })
    }
}

impl std::fmt::Display for IcebergError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.kind, self.message)
    }
}

impl IntoResponse for IcebergError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The catalog's errors in the protocol's terms. Errors the caller can do nothing about are
/// logged and answered as 500 without their detail (paths of the server's files stay private).
impl From<iceberg::Error> for IcebergError {
    fn from(e: iceberg::Error) -> Self {
        let message = e.message().to_owned();
        match e.kind() {
            ErrorKind::NamespaceNotFound => Self::no_such_namespace(message),
            ErrorKind::TableNotFound => Self::no_such_table(message),
            ErrorKind::NamespaceAlreadyExists | ErrorKind::TableAlreadyExists => {
                Self::already_exists(message)
            }
            ErrorKind::CatalogCommitConflicts => Self::commit_failed(e.to_string()),
            ErrorKind::PreconditionFailed => {
                Self::new(StatusCode::CONFLICT, "NamespaceNotEmptyException", message)
            }
            ErrorKind::DataInvalid => Self::bad_request(e.to_string()),
            ErrorKind::FeatureUnsupported => Self::unsupported(message),
            _ => {
                tracing::error!(error = %e, "iceberg catalog operation failed");
                Self::internal("the catalog operation failed; see the server log")
            }
        }
    }
}

/// Gives every error that did not come from a handler (no such route, wrong method, a body over
/// the limit, …) the Iceberg error body, so clients parse one error model.
pub async fn iceberg_errors(req: Request<Body>, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let err = match status {
        StatusCode::NOT_FOUND => IcebergError::new(
            status,
            "NotFoundException",
            "no such route of the Iceberg REST catalog protocol",
        ),
        StatusCode::METHOD_NOT_ALLOWED => IcebergError::new(
            status,
            "MethodNotAllowedException",
            "this route does not support that method",
        ),
        s if s.is_client_error() => IcebergError::new(
            s,
            "BadRequestException",
            s.canonical_reason().unwrap_or("bad request"),
        ),
        s => IcebergError::new(
            s,
            "InternalServerError",
            s.canonical_reason().unwrap_or("error"),
        ),
    };
    let mut out = err.into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}
