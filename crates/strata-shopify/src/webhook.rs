//! Webhooks Shopify sends: signature check, topic, payloads.
//!
//! Shopify signs each delivery with the app's client secret: the `X-Shopify-Hmac-Sha256` header
//! is `base64(HMAC-SHA256(secret, raw body))`. Verify the *raw* bytes received, before any
//! JSON parsing (re-serialized JSON would not match), and reject a delivery that does not
//! verify. The comparison is constant-time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Gid;
use crate::bulk::{BulkOperationErrorCode, BulkOperationStatus};
use crate::config::Secret;

/// The signature header.
pub const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";
/// The topic header (`orders/create`).
pub const TOPIC_HEADER: &str = "X-Shopify-Topic";
/// The shop's myshopify domain.
pub const SHOP_DOMAIN_HEADER: &str = "X-Shopify-Shop-Domain";
/// The API version the payload is shaped by.
pub const API_VERSION_HEADER: &str = "X-Shopify-API-Version";
/// A delivery's id: the same on a retried delivery, so use it to drop duplicates.
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";

/// Why a delivery was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header.
    #[error("the delivery has no {HMAC_HEADER} header: it was not sent by Shopify")]
    MissingSignature,
    /// The header is not base64 of 32 bytes.
    #[error("the {HMAC_HEADER} header is not base64 of an HMAC-SHA256: reject the delivery")]
    MalformedSignature,
    /// The signature does not match the body.
    #[error(
        "the signature does not match the body: reject the delivery (or SHOPIFY_WEBHOOK_SECRET is not the client secret of the app that subscribed)"
    )]
    Mismatch,
    /// No secret to check with.
    #[error(
        "no webhook secret is configured: set SHOPIFY_WEBHOOK_SECRET to the app's client secret"
    )]
    NoSecret,
    /// The body is not the topic's payload.
    #[error("the {topic} payload does not decode: {reason}")]
    Payload {
        /// The topic.
        topic: String,
        /// serde's message.
        reason: String,
    },
}

/// `base64(HMAC-SHA256(secret, body))`: the header value Shopify sends (the stand-in signs with
/// it).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    BASE64.encode(mac(secret.expose().as_bytes(), body))
}

fn mac(key: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Checks a delivery: `header` is the `X-Shopify-Hmac-Sha256` value (`None` if absent), `body`
/// the raw bytes received.
pub fn verify(secret: &Secret, body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let given = BASE64
        .decode(header.trim())
        .map_err(|_| WebhookError::MalformedSignature)?;
    if given.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    let expected = mac(secret.expose().as_bytes(), body);
    if bool::from(expected.ct_eq(given.as_slice())) {
        Ok(())
    } else {
        Err(WebhookError::Mismatch)
    }
}

/// A webhook topic (`X-Shopify-Topic`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `orders/create`.
    OrdersCreate,
    /// `orders/updated`.
    OrdersUpdated,
    /// `bulk_operations/finish`.
    BulkOperationsFinish,
    /// Any other topic, verbatim.
    Other(String),
}

impl Topic {
    /// Parses the header value.
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "orders/create" => Self::OrdersCreate,
            "orders/updated" => Self::OrdersUpdated,
            "bulk_operations/finish" => Self::BulkOperationsFinish,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::OrdersCreate => "orders/create",
            Self::OrdersUpdated => "orders/updated",
            Self::BulkOperationsFinish => "bulk_operations/finish",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `bulk_operations/finish` payload: the operation finished (completed, failed or was
/// cancelled). A faster signal than polling; fetch the operation for its URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOperationFinish {
    /// The operation's GID.
    pub admin_graphql_api_id: Gid,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// Why it failed (lower case, `access_denied`).
    pub error_code: Option<String>,
    /// `completed`, `failed`, `canceled`.
    pub status: String,
    /// `query` or `mutation`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl BulkOperationFinish {
    /// Decodes the body of a verified delivery.
    pub fn from_body(body: &[u8]) -> Result<Self, WebhookError> {
        serde_json::from_slice(body).map_err(|e| WebhookError::Payload {
            topic: Topic::BulkOperationsFinish.to_string(),
            reason: e.to_string(),
        })
    }

    /// The status as the GraphQL enum.
    pub fn status(&self) -> BulkOperationStatus {
        BulkOperationStatus::parse(&self.status)
    }

    /// The error code as the GraphQL enum.
    pub fn error_code(&self) -> Option<BulkOperationErrorCode> {
        self.error_code
            .as_deref()
            .map(BulkOperationErrorCode::parse)
    }
}

/// What the sync needs of an `orders/create` or `orders/updated` payload (the REST-shaped order):
/// which order changed and when, to fetch it or schedule a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderWebhook {
    /// The numeric id.
    pub id: u64,
    /// The GID.
    pub admin_graphql_api_id: Gid,
    /// `#1001`.
    #[serde(default)]
    pub name: Option<String>,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

impl OrderWebhook {
    /// Decodes the body of a verified delivery.
    pub fn from_body(topic: &Topic, body: &[u8]) -> Result<Self, WebhookError> {
        serde_json::from_slice(body).map_err(|e| WebhookError::Payload {
            topic: topic.to_string(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = Secret::new("Jefe");
        let body = b"what do ya want for nothing?";
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let raw = mac(secret.expose().as_bytes(), body);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_eq!(verify(&secret, body, Some(&sign(&secret, body))), Ok(()));
    }

    #[test]
    fn rejects_what_does_not_verify() {
        let secret = Secret::new("s3cret");
        let body = br#"{"id":1}"#;
        let good = sign(&secret, body);
        assert_eq!(
            verify(&secret, body, None),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(&secret, body, Some("not base64!")),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(&secret, body, Some("AAAA")),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(&secret, br#"{"id":2}"#, Some(&good)),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(&Secret::new("other"), body, Some(&good)),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(&Secret::new(""), body, Some(&good)),
            Err(WebhookError::NoSecret)
        );
        assert_eq!(verify(&secret, body, Some(&format!(" {good} "))), Ok(()));
    }

    #[test]
    fn topics_round_trip() {
        for t in [
            "orders/create",
            "orders/updated",
            "bulk_operations/finish",
            "app/uninstalled",
        ] {
            assert_eq!(Topic::parse(t).as_str(), t);
        }
        assert_eq!(Topic::parse("orders/updated"), Topic::OrdersUpdated);
    }

    #[test]
    fn decodes_what_the_sync_needs_of_an_order_webhook() {
        // The REST-shaped order of orders/updated, most fields left out.
        let body = br##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","app_id":null,"browser_ip":null,"buyer_accepts_marketing":true,"cancel_reason":"customer","cancelled_at":"2021-12-31T19:00:00-05:00","created_at":"2021-12-31T19:00:00-05:00","currency":"USD","name":"#9999","total_price":"403.00","updated_at":"2022-01-01T10:00:00-05:00","line_items":[{"id":866550311766439020,"quantity":1}]}"##;
        let order = OrderWebhook::from_body(&Topic::OrdersUpdated, body).unwrap();
        assert_eq!(order.id, 820_982_911_946_154_508);
        assert_eq!(order.admin_graphql_api_id.id(), order.id);
        assert_eq!(order.name.as_deref(), Some("#9999"));
        assert_eq!(
            order.updated_at.unwrap().to_rfc3339(),
            "2022-01-01T15:00:00+00:00"
        );
        let err = OrderWebhook::from_body(&Topic::OrdersCreate, b"{}").unwrap_err();
        assert!(err.to_string().contains("orders/create"), "{err}");
    }

    #[test]
    fn decodes_the_bulk_finish_payload() {
        let body = br#"{"admin_graphql_api_id":"gid://shopify/BulkOperation/147595010","completed_at":"2024-01-28T19:10:06-05:00","created_at":"2024-01-28T19:10:03-05:00","error_code":null,"status":"completed","type":"query"}"#;
        let finish = BulkOperationFinish::from_body(body).unwrap();
        assert_eq!(finish.admin_graphql_api_id.id(), 147_595_010);
        assert_eq!(finish.status(), BulkOperationStatus::Completed);
        assert_eq!(finish.kind, "query");
        let failed = br#"{"admin_graphql_api_id":"gid://shopify/BulkOperation/1","completed_at":null,"created_at":null,"error_code":"access_denied","status":"failed","type":"query"}"#;
        let failed = BulkOperationFinish::from_body(failed).unwrap();
        assert_eq!(failed.status(), BulkOperationStatus::Failed);
        assert_eq!(
            failed.error_code(),
            Some(BulkOperationErrorCode::AccessDenied)
        );
    }
}
