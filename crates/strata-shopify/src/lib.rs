//! Strata's Shopify connection: an Admin GraphQL API client for the daily order sync, and (with
//! the `stand-in` feature) a local Shopify stand-in for tests and demos.
//!
//! # The client
//!
//! [`AdminClient`] posts to `https://{shop}.myshopify.com/admin/api/{version}/graphql.json`
//! (or [`ShopifyConfig::base_url`]) with the `X-Shopify-Access-Token` header:
//!
//! - [`AdminClient::graphql`]: any query, under the cost throttle ([`throttle`]: the bucket
//!   Shopify reports in `extensions.cost.throttleStatus`; `THROTTLED` answers are waited out and
//!   retried), retrying 5xx and network errors with exponential backoff ([`RetryPolicy`]).
//! - Bulk operations ([`bulk`]): [`AdminClient::run_bulk_query`], [`AdminClient::wait_for_bulk`]
//!   (polling, woken early by the `bulk_operations/finish` webhook), [`AdminClient::download`]
//!   (streaming, checked against `fileSize`), [`AdminClient::open_download`] (read while it
//!   downloads).
//! - [`jsonl`]: the result's lines back into objects ([`jsonl::OrdersReader`]), bad lines
//!   quarantined with their line number.
//! - [`orders`]: the bulk query of orders updated since a watermark and the typed [`Order`];
//!   [`products`]: the same for products.
//! - [`webhook`]: HMAC verification, topics, payloads.
//!
//! ```no_run
//! # async fn sync() -> Result<(), Box<dyn std::error::Error>> {
//! use strata_shopify::{AdminClient, ShopifyConfig, jsonl::OrdersReader, orders};
//!
//! let client = AdminClient::new(ShopifyConfig::from_env()?)?;
//! let since = chrono::Utc::now() - chrono::Duration::days(1);
//! let op = client.run_bulk_query(&orders::orders_bulk_query(Some(since))).await?;
//! let op = client.wait_for_bulk(&op.id, std::time::Duration::from_secs(2), None).await?;
//! if let Some(url) = &op.url {
//!     let mut reader = OrdersReader::new(client.open_download(url, op.file_size).await?);
//!     while let Some(order) = reader.next().await? {
//!         println!("{} {} items", order.name, order.line_items.len());
//!     }
//!     for bad in reader.quarantined() {
//!         eprintln!("line {}: {}", bad.line_no, bad.reason);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Configuration
//!
//! [`ShopifyConfig::from_env`] reads `SHOPIFY_SHOP`, `SHOPIFY_ADMIN_TOKEN`,
//! `SHOPIFY_API_VERSION`, `SHOPIFY_WEBHOOK_SECRET`, `SHOPIFY_BASE_URL`,
//! `SHOPIFY_TIMEOUT_SECS` and `SHOPIFY_MAX_RETRIES` (see [`config`]). Credentials are
//! [`Secret`]s: their `Debug` prints `***`.
//!
//! # The stand-in
//!
//! `stand_in::StandIn` (feature `stand-in`) serves the part of the Admin API above from a
//! generated store on `127.0.0.1`, with fault injection; see the `stand_in` module.
//!
//! # TLS
//!
//! reqwest is built without a TLS feature of its own: in the workspace another crate turns on
//! rustls and features unify. A build of this crate alone that must reach the real Shopify
//! enables the `tls` feature.

#![warn(missing_docs)]

pub mod bulk;
pub mod client;
pub mod config;
pub mod error;
pub mod gid;
pub mod jsonl;
pub mod model;
pub mod orders;
pub mod products;
pub mod throttle;
pub mod webhook;

#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use bulk::{BulkOperation, BulkOperationErrorCode, BulkOperationStatus};
pub use client::{ACCESS_TOKEN_HEADER, AdminClient, GraphQlResponse};
pub use config::{ConfigError, DEFAULT_API_VERSION, RetryPolicy, Secret, ShopifyConfig};
pub use error::{GraphQlError, ShopifyError, UserError};
pub use gid::{Gid, GidError};
pub use jsonl::{OrdersReader, ProductsReader, Quarantined};
pub use model::{
    Address, FinancialStatus, FulfillmentStatus, Money, ObjectRef, ProductStatus, TaxLine,
};
pub use orders::{DiscountAllocation, LineItem, Order, ProductRef, Refund, VariantRef};
pub use products::{Product, Variant};
