//! A local Shopify for tests and demos (feature `stand-in`): an HTTP server on `127.0.0.1`
//! that speaks the part of the Admin GraphQL API the client uses, over a store generated from a
//! seed.
//!
//! - `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`: recognizes
//!   `bulkOperationRunQuery` (root `orders` or `products`, honoring `updated_at:>=` in the
//!   root's `query:` argument), `node(id:)` / `bulkOperation(id:)`, `currentBulkOperation`,
//!   `bulkOperationCancel`, `shop`. It does not parse GraphQL: whatever the selection, it answers
//!   the fields [`crate::orders::orders_bulk_query`] selects.
//! - `GET /stand-in/bulk/{id}.jsonl?signature=…`: the result, rendered chunk by chunk as
//!   Shopify's JSONL (GIDs, child lines with `__parentId`), with `Content-Length`.
//! - Costs like Shopify (a mutation 10 points, a query 1) from a bucket ([`StandIn::set_throttle`]),
//!   answering `THROTTLED` errors with `extensions.cost` when it is short.
//! - Faults on demand: 5xx or slow answers, FAILED operations, cut or short downloads, malformed
//!   lines.
//! - Optionally POSTs a signed `bulk_operations/finish` webhook when an operation finishes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use strata_shopify::AdminClient;
//! use strata_shopify::stand_in::{StandIn, StandInOptions};
//!
//! let shop = StandIn::start(StandInOptions { orders: 1_000, ..StandInOptions::default() }).await?;
//! let client = AdminClient::new(shop.config())?;
//! // … run the sync against `client`; compare with shop.summary(None) …
//! shop.shutdown().await;
//! # Ok(()) }
//! ```

mod server;
mod store;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::config::{DEFAULT_API_VERSION, Secret, ShopifyConfig};
use crate::throttle::CostBucket;
use server::{Counters, Faults, Ops, Shared, lock};
pub use store::StoreSummary;
use store::{Filter, Store};

/// What the stand-in's store holds and how it behaves at start.
#[derive(Clone, Debug)]
pub struct StandInOptions {
    /// The seed: the same seed and sizes give the same store.
    pub seed: u64,
    /// Orders to generate.
    pub orders: usize,
    /// Fewest line items of an order (at least 1).
    pub min_line_items: u32,
    /// Most line items of an order (uniform between: 1..=5 averages 3).
    pub max_line_items: u32,
    /// Products in the catalog (1 to 3 variants each).
    pub products: usize,
    /// The orders' `createdAt` are spread over `created_from..=created_to`; `updatedAt` is at
    /// most 72 hours later, and never after `created_to`.
    pub created_from: DateTime<Utc>,
    /// See `created_from`.
    pub created_to: DateTime<Utc>,
    /// The shop currency.
    pub currency: String,
    /// The token the stand-in expects in `X-Shopify-Access-Token`.
    pub access_token: String,
    /// The secret it signs webhooks with.
    pub webhook_secret: String,
    /// The API version it reports (it answers any version in the path).
    pub api_version: String,
    /// How long an operation stays RUNNING at least.
    pub bulk_duration: Duration,
    /// The cost bucket's size.
    pub bucket_size: f64,
    /// Points restored per second.
    pub restore_rate: f64,
    /// Where to POST `bulk_operations/finish` webhooks (none by default).
    pub webhook_url: Option<Url>,
}

impl Default for StandInOptions {
    fn default() -> Self {
        let from = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let to = Utc
            .with_ymd_and_hms(2024, 3, 31, 23, 59, 59)
            .single()
            .unwrap_or_default();
        Self {
            seed: 42,
            orders: 100,
            min_line_items: 1,
            max_line_items: 5,
            products: 50,
            created_from: from,
            created_to: to,
            currency: "USD".to_owned(),
            access_token: "shpat_stand_in_token".to_owned(),
            webhook_secret: "stand-in-webhook-secret".to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            bulk_duration: Duration::from_millis(50),
            bucket_size: CostBucket::STANDARD_MAXIMUM,
            restore_rate: CostBucket::STANDARD_RESTORE_RATE,
            webhook_url: None,
        }
    }
}

/// How the next download is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truncation {
    /// `Content-Length` announces the whole file, the connection closes after `keep_bytes`.
    CutConnection {
        /// Bytes sent before the cut.
        keep_bytes: u64,
    },
    /// A well-formed response of only `keep_bytes` (`Content-Length` says so too): only the
    /// operation's `fileSize` shows it is short.
    ShortBody {
        /// Bytes sent.
        keep_bytes: u64,
    },
    /// Sent chunked, without `Content-Length`, ending cleanly after `keep_bytes`: only the
    /// count of bytes received against `fileSize` shows it is short.
    Unsized {
        /// Bytes sent.
        keep_bytes: u64,
    },
}

/// Counters of what the stand-in served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StandInStats {
    /// HTTP requests (GraphQL and downloads).
    pub requests: u64,
    /// GraphQL requests (including refused ones).
    pub graphql_requests: u64,
    /// Requests answered `THROTTLED`.
    pub throttled: u64,
    /// Requests answered with an injected 5xx.
    pub injected_failures: u64,
    /// Requests delayed on purpose.
    pub delayed: u64,
    /// Requests with a wrong or missing token.
    pub unauthorized: u64,
    /// Bulk operations started.
    pub bulk_operations: u64,
    /// Download requests.
    pub downloads: u64,
    /// Bytes of results sent.
    pub download_bytes: u64,
    /// `bulk_operations/finish` webhooks delivered.
    pub webhooks_sent: u64,
    /// Webhooks that failed.
    pub webhooks_failed: u64,
}

/// A change asked of an order or product that the store does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the stand-in's store has no {kind} with id {id} (ids are in StandIn::order_ids / product_ids)"
)]
pub struct UnknownObject {
    /// `order` or `product`.
    pub kind: &'static str,
    /// The id asked for.
    pub id: u64,
}

/// A running stand-in. Dropping it stops the server; [`StandIn::shutdown`] also waits for it.
pub struct StandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn")
            .field("base_url", &self.shared.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl StandIn {
    /// Generates the store and serves it on an ephemeral port of 127.0.0.1.
    pub async fn start(options: StandInOptions) -> io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), options).await
    }

    /// Generates the store and serves it on `addr` (port 0: any free port).
    pub async fn start_on(addr: SocketAddr, options: StandInOptions) -> io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{addr}"))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let generated = {
            let options = options.clone();
            tokio::task::spawn_blocking(move || Store::generate(&options))
                .await
                .map_err(io::Error::other)?
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(io::Error::other)?;
        let shared = Arc::new(Shared {
            token: options.access_token,
            webhook_secret: Secret::new(options.webhook_secret),
            api_version: options.api_version,
            base_url,
            store: Mutex::new(generated),
            ops: Mutex::new(Ops::default()),
            bucket: Mutex::new(CostBucket::new(
                options.bucket_size,
                options.restore_rate,
                Instant::now(),
            )),
            faults: Mutex::new(Faults::default()),
            counters: Counters::default(),
            webhook_url: Mutex::new(options.webhook_url),
            bulk_duration: Mutex::new(options.bulk_duration),
            http,
        });
        let app = server::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "stand-in server stopped with an error");
            }
        });
        tracing::info!(%addr, "Shopify stand-in listening");
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the client's [`ShopifyConfig::base_url`].
    pub fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The access token it expects.
    pub fn access_token(&self) -> &str {
        &self.shared.token
    }

    /// The secret it signs webhooks with.
    pub fn webhook_secret(&self) -> &str {
        self.shared.webhook_secret.expose()
    }

    /// The API version it reports.
    pub fn api_version(&self) -> &str {
        &self.shared.api_version
    }

    /// A client configuration pointing at this stand-in, with its token and webhook secret.
    pub fn config(&self) -> ShopifyConfig {
        ShopifyConfig::new("strata-stand-in", self.shared.token.as_str())
            .with_base_url(self.shared.base_url.clone())
            .with_api_version(self.shared.api_version.clone())
            .with_webhook_secret(self.shared.webhook_secret.expose())
    }

    /// What the store holds (orders updated at or after `updated_since`, or all), to compare
    /// with what a sync read.
    pub fn summary(&self, updated_since: Option<DateTime<Utc>>) -> StoreSummary {
        lock(&self.shared.store).summary(&inclusive(updated_since))
    }

    /// The numeric ids of the orders updated at or after `updated_since` (or all), ascending.
    pub fn order_ids(&self, updated_since: Option<DateTime<Utc>>) -> Vec<u64> {
        lock(&self.shared.store).order_ids(&inclusive(updated_since))
    }

    /// The numeric ids of the products, ascending.
    pub fn product_ids(&self) -> Vec<u64> {
        lock(&self.shared.store).product_ids()
    }

    /// Edits order `id` at `at`: one more unit of its first line item (its totals follow) and
    /// `updatedAt` = `at`. Operations already started keep the state they started with.
    pub fn update_order(&self, id: u64, at: DateTime<Utc>) -> Result<(), UnknownObject> {
        lock(&self.shared.store)
            .update_order(id, at)
            .then_some(())
            .ok_or(UnknownObject { kind: "order", id })
    }

    /// Cancels order `id` at `at` (`cancelledAt`, `VOIDED`, `updatedAt` = `at`).
    pub fn cancel_order(&self, id: u64, at: DateTime<Utc>) -> Result<(), UnknownObject> {
        lock(&self.shared.store)
            .cancel_order(id, at)
            .then_some(())
            .ok_or(UnknownObject { kind: "order", id })
    }

    /// Adds `count` orders created and updated at `at`; returns their ids.
    pub fn add_orders(&self, count: usize, at: DateTime<Utc>) -> Vec<u64> {
        lock(&self.shared.store).add_orders(count, at)
    }

    /// Edits product `id` at `at`: adds the tag `updated`, `updatedAt` = `at` (line items show
    /// products as they are now, as Shopify's do).
    pub fn update_product(&self, id: u64, at: DateTime<Utc>) -> Result<(), UnknownObject> {
        lock(&self.shared.store)
            .update_product(id, at)
            .then_some(())
            .ok_or(UnknownObject {
                kind: "product",
                id,
            })
    }

    /// The next `count` GraphQL requests are answered with HTTP `status` (a 5xx to test retries).
    pub fn fail_next_requests(&self, count: u32, status: u16) {
        let mut faults = lock(&self.shared.faults);
        faults.fail_next = count;
        faults.fail_status = status;
    }

    /// The next `count` GraphQL requests are answered after `delay` (to test timeouts).
    pub fn delay_next_requests(&self, count: u32, delay: Duration) {
        let mut faults = lock(&self.shared.faults);
        faults.delay_next = count;
        faults.delay = delay;
    }

    /// The next bulk operation ends `FAILED` with `error_code` (`ACCESS_DENIED`,
    /// `INTERNAL_SERVER_ERROR`, `TIMEOUT`).
    pub fn fail_next_bulk_operation(&self, error_code: &str) {
        lock(&self.shared.faults).fail_next_bulk = Some(error_code.to_owned());
    }

    /// In the next bulk operation's result, these lines (numbered from 1) are cut in half:
    /// malformed JSON.
    pub fn corrupt_lines_in_next_bulk(&self, line_numbers: impl IntoIterator<Item = u64>) {
        lock(&self.shared.faults).corrupt_next_bulk = line_numbers.into_iter().collect();
    }

    /// The next download is cut.
    pub fn truncate_next_download(&self, truncation: Truncation) {
        lock(&self.shared.faults).truncate_next_download = Some(truncation);
    }

    /// The next `count` downloads are answered 503.
    pub fn fail_next_downloads(&self, count: u32) {
        lock(&self.shared.faults).fail_next_downloads = count;
    }

    /// Sets the cost bucket: `available` points now, restoring `restore_rate` a second (drain it
    /// to 0 to make the next request `THROTTLED`).
    pub fn set_throttle(&self, available: f64, restore_rate: f64) {
        let now = Instant::now();
        let mut bucket = lock(&self.shared.bucket);
        bucket.set_restore_rate(restore_rate, now);
        bucket.set_available(available, now);
    }

    /// How long the next operations stay RUNNING at least.
    pub fn set_bulk_duration(&self, duration: Duration) {
        *lock(&self.shared.bulk_duration) = duration;
    }

    /// Where to POST `bulk_operations/finish` webhooks (`None`: nowhere).
    pub fn set_webhook_url(&self, url: Option<Url>) {
        *lock(&self.shared.webhook_url) = url;
    }

    /// What it served so far.
    pub fn stats(&self) -> StandInStats {
        self.shared.counters.snapshot()
    }

    /// Bytes of results served so far (a shortcut into [`Self::stats`]).
    pub fn download_bytes(&self) -> u64 {
        self.shared.counters.download_bytes.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, lets the requests in flight finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn inclusive(updated_since: Option<DateTime<Utc>>) -> Filter {
    Filter {
        updated_since,
        inclusive: true,
    }
}
