//! Public endpoints: the OpenAPI document, the docs viewer, liveness.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

pub async fn openapi(State(s): State<AppState>) -> Response {
    axum::Json(s.openapi.as_ref().clone()).into_response()
}

pub async fn docs() -> Html<&'static str> {
    Html(crate::openapi::docs_html())
}

pub async fn docs_asset(Path(name): Path<String>) -> ApiResult<Response> {
    let (content_type, bytes) = crate::openapi::viewer_asset(&name)
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, format!("no docs asset {name}")))?;
    let mut resp = bytes.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(resp)
}

/// Liveness plus a database round trip, so a load balancer sees a dead database.
pub async fn healthz(State(s): State<AppState>) -> Response {
    let db_ok = match s.db.client().await {
        Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(
            serde_json::json!({"status": if db_ok { "ok" } else { "degraded" }, "database": db_ok}),
        ),
    )
        .into_response()
}
