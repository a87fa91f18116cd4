//! Shopify's webhooks (`strata_shopify::webhook`): no API key, Shopify signs each delivery.
//!
//! | route | does | auth |
//! |---|---|---|
//! | `POST /webhooks/shopify` | verify, then act on `X-Shopify-Topic`; 202 `{topic, outcome, detail}` | `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body with `SHOPIFY_WEBHOOK_SECRET` |
//!
//! A delivery without `X-Shopify-Hmac-Sha256` is a **401**, one without `X-Shopify-Topic` a
//! **400**, whatever the configuration; then, without a configured secret, every delivery is a
//! **503** (set `SHOPIFY_WEBHOOK_SECRET`). The signature is checked over the raw bytes before
//! anything is parsed: a malformed or wrong one is a **401** and nothing is processed. A body over
//! 1 MiB is a 413 before all that. Then, by topic:
//!
//! - `bulk_operations/finish`: the payload (`BulkOperationFinish`) is decoded (400 if it does not
//!   decode) and its `admin_graphql_api_id` handed to [`AppState::bulk_finished`] (the waiting
//!   sync); outcome `delivered`, or `ignored` when nothing in this server waits for bulk
//!   operations.
//! - `orders/create`, `orders/updated`: acknowledged and logged, outcome `accepted`. Nothing is
//!   written here: the daily sync picks the order up by its `updated_at`.
//! - anything else: acknowledged with a log line, outcome `ignored` (Shopify stops retrying a
//!   delivery once it gets a 2xx).
//!
//! Shopify retries a delivery that is not answered 2xx; a retried delivery has the same
//! `X-Shopify-Webhook-Id`, so the callback must tolerate a GID twice.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use strata_shopify::webhook::{
    self, BulkOperationFinish, HMAC_HEADER, SHOP_DOMAIN_HEADER, TOPIC_HEADER, Topic,
    WEBHOOK_ID_HEADER,
};

use super::resources::query_pairs;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /webhooks/shopify`.
pub async fn shopify(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    if let Some((k, _)) = query_pairs(q.as_deref()).first() {
        return Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`: subscribe the webhook to /webhooks/shopify itself"
        )));
    }
    // The headers every delivery carries come first, whatever the configuration: a request
    // without them is not a Shopify delivery (401) or not a usable one (400).
    if header(&headers, HMAC_HEADER).is_none() {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "the delivery has no {HMAC_HEADER} header: it was not sent by Shopify; nothing was processed"
            ),
        ));
    }
    let Some(topic) = header(&headers, TOPIC_HEADER).map(Topic::parse) else {
        return Err(Problem::bad_request(format!(
            "the delivery has no {TOPIC_HEADER} header; nothing was processed"
        )));
    };
    let Some(secret) = s.shopify_webhook_secret.as_ref().filter(|s| !s.is_empty()) else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Shopify webhooks are not enabled in this server: set SHOPIFY_WEBHOOK_SECRET to the app's client secret and restart `strata serve`",
        ));
    };
    let webhook_id = header(&headers, WEBHOOK_ID_HEADER).unwrap_or("");
    let shop = header(&headers, SHOP_DOMAIN_HEADER).unwrap_or("");
    if let Err(e) = webhook::verify(secret, &body, header(&headers, HMAC_HEADER)) {
        tracing::warn!(webhook_id, shop, error = %e, "Shopify webhook refused: its signature does not verify");
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            format!("{e}; nothing was processed"),
        ));
    }
    let (outcome, detail) = match &topic {
        Topic::BulkOperationsFinish => {
            let finish = BulkOperationFinish::from_body(&body)
                .map_err(|e| Problem::bad_request(e.to_string()))?;
            let gid = finish.admin_graphql_api_id.as_str().to_owned();
            match &s.bulk_finished {
                Some(callback) => {
                    tracing::info!(webhook_id, shop, operation = %gid, status = %finish.status, "bulk operation finished (webhook)");
                    callback(&gid);
                    (
                        "delivered",
                        format!(
                            "bulk operation {gid} ({}) handed to the sync",
                            finish.status
                        ),
                    )
                }
                None => {
                    tracing::info!(webhook_id, shop, operation = %gid, "bulk operation finished (webhook), but no sync waits for it here");
                    (
                        "ignored",
                        format!(
                            "bulk operation {gid} finished; no sync in this server waits for bulk operations (the sync polls them too)"
                        ),
                    )
                }
            }
        }
        Topic::OrdersCreate | Topic::OrdersUpdated => {
            tracing::info!(webhook_id, shop, topic = %topic, bytes = body.len(), "Shopify order webhook accepted; the daily sync picks the order up by its updated_at");
            (
                "accepted",
                "the daily sync picks the order up by its updated_at".to_owned(),
            )
        }
        Topic::Other(name) => {
            tracing::info!(webhook_id, shop, topic = %name, "Shopify webhook of a topic this server does not handle; ignored");
            ("ignored", format!("topic `{name}` is not handled here"))
        }
    };
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "topic": topic.as_str(),
            "outcome": outcome,
            "detail": detail,
        })),
    )
        .into_response())
}
