//! The router and its middleware: request ids, tracing, compression, timeouts, body limits,
//! and problem+json for every error, including the ones axum produces itself.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::Problem;
use crate::routes::{
    commands, friendly, meta, ops, query, resources, settings, telemetry, webhooks, workflows,
};
use crate::state::AppState;

/// Largest request body accepted (413 above).
pub const BODY_LIMIT: usize = 1 << 20;

#[derive(Clone, Copy)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

pub fn router(state: AppState) -> Router {
    let counts = state.http_counts.clone();
    let iceberg = crate::iceberg::router(&state);
    let api = Router::new()
        .route(
            "/v1/resources/{table}",
            get(resources::list).post(resources::create),
        )
        .route(
            "/v1/resources/{table}/{uid}",
            get(resources::get)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .route(
            "/v1/resources/{table}/{uid}/status",
            get(resources::get_status).put(resources::put_status),
        )
        .route(
            "/v1/orders",
            get(friendly::orders_list).post(commands::place_order),
        )
        .route("/v1/orders/{uid}", get(friendly::order_get))
        .route("/v1/orders/{uid}/complete", post(commands::complete_order))
        .route("/v1/orders/{uid}/payments", post(commands::capture_payment))
        .route(
            "/v1/orders/{uid}/fulfillments",
            post(commands::ship_fulfillment),
        )
        .route("/v1/orders/{uid}/returns", post(commands::request_return))
        .route(
            "/v1/orders/{uid}/line-items",
            get(friendly::order_line_items),
        )
        .route(
            "/v1/macrodata-catalogs/{uid}/artifacts",
            get(friendly::catalog_artifacts),
        )
        .route(
            "/v1/telemetry/{stream}",
            post(telemetry::ingest).layer(DefaultBodyLimit::max(telemetry::MAX_BATCH_BYTES)),
        )
        .route("/v1/query", post(query::run))
        .route(
            "/v1/{alias}",
            get(friendly::alias_list).post(friendly::alias_create),
        )
        .route(
            "/v1/{alias}/{uid}",
            get(friendly::alias_get)
                .patch(friendly::alias_patch)
                .delete(friendly::alias_delete),
        )
        .route("/openapi.json", get(meta::openapi))
        .route("/docs", get(meta::docs))
        .route("/docs/assets/{name}", get(meta::docs_asset))
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/health", get(ops::health))
        .route(
            "/api/performance-metrics/settings/classification",
            get(settings::get_classification).put(settings::put_classification),
        )
        .route(
            "/api/performance-metrics/settings/classification/versions",
            get(settings::list_classification_versions),
        )
        .merge(staff_analytics())
        .merge(workflow_routes())
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "no such path; see /openapi.json")
        })
        .with_state(state)
        .layer(middleware::from_fn(problem_for_bare_errors));
    // The Iceberg REST catalog keeps its own error model: nested outside problem+json.
    let api = match iceberg {
        Some(iceberg) => api.nest(crate::iceberg::MOUNT, iceberg),
        None => api,
    };
    api.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        // Outside the timeout, so requests it answers 503 are counted too.
        .layer(middleware::from_fn_with_state(counts, ops::count_requests))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(UlidRequestId))
}

/// Durable workflows ([`workflows`]): instances, events, the Shopify sync, its runs, the
/// pipelines' view; and Shopify's webhooks ([`webhooks`]).
fn workflow_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/workflows",
            get(workflows::list).post(workflows::create),
        )
        .route("/v1/workflows/{instance}", get(workflows::get))
        .route("/v1/workflows/{instance}/pause", post(workflows::pause))
        .route("/v1/workflows/{instance}/resume", post(workflows::resume))
        .route(
            "/v1/workflows/{instance}/terminate",
            post(workflows::terminate),
        )
        .route("/v1/workflows/{instance}/restart", post(workflows::restart))
        .route(
            "/v1/workflows/{instance}/events",
            get(workflows::list_events).post(workflows::send_event),
        )
        .route(
            "/api/performance-metrics/sync",
            post(workflows::trigger_sync),
        )
        .route("/api/ingest/runs", get(workflows::ingest_runs))
        .route("/analytics/pipelines", get(workflows::pipelines))
        .route("/webhooks/shopify", post(webhooks::shopify))
}

/// The staff analytics (issue 5, item 7): performance metrics, commerce, tags, fulfillment.
fn staff_analytics() -> Router<AppState> {
    use crate::routes::{analytics, performance_metrics, tag_analytics};
    Router::new()
        .route("/api/performance-metrics", get(performance_metrics::list))
        .route(
            "/api/performance-metrics/stats/summary",
            get(performance_metrics::summary),
        )
        .route(
            "/api/performance-metrics/{product_uid}",
            get(performance_metrics::get),
        )
        .route(
            "/analytics/commerce/overview",
            get(analytics::commerce_overview),
        )
        .route(
            "/analytics/commerce/products",
            get(analytics::commerce_products),
        )
        .route(
            "/analytics/commerce/orders",
            get(analytics::commerce_orders),
        )
        .route(
            "/api/tag-analytics/performance",
            post(tag_analytics::performance),
        )
        .route(
            "/api/tag-analytics/distribution/{category}",
            get(tag_analytics::distribution),
        )
        .route(
            "/api/tag-analytics/group-performance/{group_uid}",
            get(tag_analytics::group_performance),
        )
        .route(
            "/api/fulfillment-daily-summary",
            get(analytics::fulfillment_daily_summary),
        )
}

/// axum's own rejections (405, 413, …) come with plain bodies; give them problem+json.
async fn problem_for_bare_errors(req: Request<Body>, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    // JSON bodies are answers of their own (the 503 of /healthz and /api/health), kept as sent.
    let is_problem = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"application/json")
    });
    if is_problem {
        return resp;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this path does not support that method; see /openapi.json".to_string()
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!("the body is larger than {BODY_LIMIT} bytes"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "send the body as application/json".to_string(),
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let allow = resp.headers().get(header::ALLOW).cloned();
    let mut out = Problem::new(status, detail).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}
