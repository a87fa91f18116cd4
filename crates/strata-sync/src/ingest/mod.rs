//! The ingest half of the daily Shopify sync: orders already read by `strata-shopify` (bulk
//! query, JSONL) become PostgreSQL domain rows and commerce events.
//!
//! [`OrderIngest::apply`] takes one batch (500–2,000 orders is a good size,
//! [`RECOMMENDED_BATCH`]) and, in **one PostgreSQL transaction**:
//!
//! 1. maps and checks every order (`map.rs`: field by field, the phase, what bad data does);
//! 2. finds which orders are new, changed, unchanged or stale (a content hash and Shopify's
//!    `updatedAt` kept in the annotations; `orders.rs`);
//! 3. inserts the customers the orders name, upserts the products and tags their line items
//!    show (`products.rs`);
//! 4. upserts the headers of new and changed orders and replaces their children (lines, tax
//!    lines, adjustments, addresses, summary);
//!
//! then commits, and **after the commit** appends the commerce events of every order of the
//! batch as it now stands (`events.rs`: which events, their times and ids).
//!
//! **Idempotent.** Uids are derived from the Shopify ids (`ids.rs`); rows are found by their
//! `external_id` (the Shopify GID); an unchanged order is not written (its `update_ts` stays);
//! every event id is a function of the fact, so the log stores each event once however often the
//! batch is applied.
//!
//! **Crash between commit and append.** The events are appended after the commit, so a crash (or
//! an unwritable log: [`IngestError::EventLog`]) can leave committed orders without their events.
//! Applying the same batch again repairs it: PostgreSQL is unchanged by the second run and the
//! missing events are appended (those already stored are counted as duplicates). The daily sync
//! therefore treats "apply the batch" as one retryable step. On NATS the log only remembers ids
//! for its duplicate window (one hour): repair within it (a re-run after the window stores a
//! second copy of the events already appended).
//!
//! **Atomic.** A failure anywhere before the commit rolls the whole batch back; the error says
//! what failed and that nothing was written. An order that breaks a rule fails the batch with its
//! name and GID ([`IngestError::InvalidOrders`]), unless [`OrderIngest::skip_invalid`] is on:
//! then it is left out and listed in [`IngestReport::skipped`].
//!
//! **Many batches.** [`OrderIngest::pipeline`] overlaps the steps of neighbouring batches
//! (mapping the next, writing this one, appending the previous one's events), with the same
//! guarantees per batch; [`OrderIngest::apply_products`] refreshes products given on their own
//! (the products bulk query).
//!
//! Concurrent ingests of the same shop take turns (a transaction-scoped advisory lock).

mod error;
mod events;
mod ids;
mod map;
mod orders;
mod pipeline;
mod products;
mod shop;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use strata_domain::Database;
use strata_events::{Event, EventLog};
use strata_shopify::Order;
use tokio_postgres::types::ToSql;

pub use error::{IngestError, OrderProblem};
pub use events::EVENT_SOURCE;
pub use map::MAPPING_VERSION;
pub use pipeline::IngestPipeline;
pub use products::DEFAULT_TAG_CATEGORY;

use error::pg;
use orders::Stored;

/// A batch size that keeps each transaction short and each statement large (orders per
/// [`OrderIngest::apply`]).
pub const RECOMMENDED_BATCH: usize = 1_000;

/// What one or more [`OrderIngest::apply`] calls did. Add reports of several batches with
/// [`IngestReport::add`].
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct IngestReport {
    /// Orders inserted.
    pub orders_new: u64,
    /// Orders whose row was updated (and children replaced).
    pub orders_changed: u64,
    /// Orders already stored as they are: nothing written.
    pub orders_unchanged: u64,
    /// Orders PostgreSQL holds in a newer Shopify version: nothing written, no events.
    pub orders_stale: u64,
    /// Orders left out because they break a rule (only with `skip_invalid`); see `skipped`.
    pub orders_skipped: u64,
    /// Line item rows written (of new and changed orders).
    pub line_items: u64,
    /// Line item tax line rows written.
    pub tax_lines: u64,
    /// Line item adjustment (discount) rows written.
    pub adjustments: u64,
    /// Order address rows written.
    pub addresses: u64,
    /// Products inserted.
    pub products_new: u64,
    /// Products updated (title, vendor, tags, status, publication changed).
    pub products_changed: u64,
    /// Products seen and already up to date.
    pub products_unchanged: u64,
    /// Product tags inserted.
    pub tags_new: u64,
    /// Customers inserted.
    pub customers_new: u64,
    /// Events newly stored in the log.
    pub events_appended: u64,
    /// Events the log already had (a re-run, or facts unchanged since the last sync).
    pub events_duplicate: u64,
    /// The latest Shopify `updatedAt` of the orders read: the next sync's watermark.
    pub max_updated_at: Option<DateTime<Utc>>,
    /// The orders left out, with why.
    #[serde(default)]
    pub skipped: Vec<OrderProblem>,
}

impl IngestReport {
    /// Adds `other` (the next batch) to this report.
    pub fn add(&mut self, other: &IngestReport) {
        self.orders_new += other.orders_new;
        self.orders_changed += other.orders_changed;
        self.orders_unchanged += other.orders_unchanged;
        self.orders_stale += other.orders_stale;
        self.orders_skipped += other.orders_skipped;
        self.line_items += other.line_items;
        self.tax_lines += other.tax_lines;
        self.adjustments += other.adjustments;
        self.addresses += other.addresses;
        self.products_new += other.products_new;
        self.products_changed += other.products_changed;
        self.products_unchanged += other.products_unchanged;
        self.tags_new += other.tags_new;
        self.customers_new += other.customers_new;
        self.events_appended += other.events_appended;
        self.events_duplicate += other.events_duplicate;
        self.max_updated_at = self.max_updated_at.max(other.max_updated_at);
        self.skipped.extend(other.skipped.iter().cloned());
    }

    /// Orders of the batch that were read and not skipped.
    pub fn orders(&self) -> u64 {
        self.orders_new + self.orders_changed + self.orders_unchanged + self.orders_stale
    }
}

/// Ingests Shopify orders of one shop into PostgreSQL and the commerce event log. Cheap to
/// share: [`OrderIngest::pipeline`]s run its steps on other tasks.
pub struct OrderIngest {
    inner: Arc<Inner>,
    skip_invalid: bool,
}

/// What every step of an ingest needs.
struct Inner {
    db: Arc<Database>,
    events: Arc<dyn EventLog>,
    shop: String,
    rows: shop::ShopRows,
    lock_key: i64,
}

/// A batch written and committed: its report so far and the events still to append.
struct Committed {
    report: IngestReport,
    events: Vec<Event>,
    orders: usize,
    started: Instant,
    write_ms: u64,
}

impl std::fmt::Debug for OrderIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderIngest")
            .field("shop", &self.inner.shop)
            .field("store_uid", &self.inner.rows.store_uid)
            .field("skip_invalid", &self.skip_invalid)
            .finish_non_exhaustive()
    }
}

impl OrderIngest {
    /// An ingest for `shop` (`my-shop`, `my-shop.myshopify.com` or its URL). Finds the shop's
    /// `store` row (annotation `shopify.com/shop` = the domain) or creates it, with a Shopify
    /// sales channel and stock location, so every order has a store to belong to.
    pub async fn new(
        db: Arc<Database>,
        events: Arc<dyn EventLog>,
        shop: &str,
    ) -> Result<Self, IngestError> {
        let domain = shop::shop_domain(shop)?;
        let rows = shop::ensure(&db, &domain).await?;
        let digest = Sha256::digest(format!("strata.shopify_ingest:{}", rows.store_uid));
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        tracing::debug!(shop = %domain, store_uid = %rows.store_uid, "order ingest ready");
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                events,
                shop: domain,
                rows,
                lock_key: i64::from_be_bytes(key),
            }),
            skip_invalid: false,
        })
    }

    /// With `true`, orders that break a rule of the mapping are left out of their batch (and
    /// listed in [`IngestReport::skipped`]) instead of failing it. Off by default: a sync that
    /// skips an order moves its watermark past it.
    pub fn skip_invalid(mut self, yes: bool) -> Self {
        self.skip_invalid = yes;
        self
    }

    /// The shop's myshopify domain.
    pub fn shop(&self) -> &str {
        &self.inner.shop
    }

    /// The shop's `store` row (`sto_…`), which every ingested order belongs to.
    pub fn store_uid(&self) -> &str {
        &self.inner.rows.store_uid
    }

    /// The sales channel the orders are booked under (`sc_…`).
    pub fn sales_channel_uid(&self) -> &str {
        &self.inner.rows.sales_channel_uid
    }

    /// Ingests one batch: see the module doc. Returns what it did; on an error, says whether
    /// anything was written (only [`IngestError::EventLog`] comes after the commit).
    pub async fn apply(&self, orders: &[Order]) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let (batch, report) = map_batch(orders, self.skip_invalid)?;
        let committed = self.inner.commit(batch, report, started).await?;
        self.inner.append(committed).await
    }

    /// A pipeline for many batches (a whole sync): while one batch is written to PostgreSQL,
    /// the next is mapped and the previous one's events are appended, each on its own task.
    /// Same guarantees as [`Self::apply`] per batch, and the same order: batches commit one
    /// after the other, a batch's events are appended after its commit and after the previous
    /// batch's events.
    pub fn pipeline(&self) -> pipeline::IngestPipeline {
        pipeline::IngestPipeline::new(Arc::clone(&self.inner), self.skip_invalid)
    }

    /// Upserts products, tags and Shopify products given on their own (the products bulk
    /// query), in one transaction. Products the orders refer to are refreshed by
    /// [`Self::apply`] already; this is for the catalogue's other products.
    pub async fn apply_products(
        &self,
        products: &[strata_shopify::Product],
    ) -> Result<IngestReport, IngestError> {
        let mut merged = std::collections::HashMap::new();
        for p in products {
            map::merge_product(&mut merged, map::ProductInput::from_product(p));
        }
        let mut inputs: Vec<map::ProductInput> = merged.into_values().collect();
        inputs.sort_by(|a, b| a.gid.cmp(&b.gid));
        let mut client = self.inner.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg("starting the products transaction"))?;
        let outcome = products::upsert(&tx, &inputs).await?;
        tx.commit().await.map_err(pg("committing the products"))?;
        Ok(IngestReport {
            products_new: outcome.new,
            products_changed: outcome.changed,
            products_unchanged: outcome.unchanged,
            tags_new: outcome.tags_new,
            ..IngestReport::default()
        })
    }
}

/// Maps a batch and starts its report (skipped orders, watermark).
fn map_batch(
    orders: &[Order],
    skip_invalid: bool,
) -> Result<(map::MappedBatch, IngestReport), IngestError> {
    let mut batch = map::map_batch(orders, skip_invalid)?;
    let report = IngestReport {
        max_updated_at: batch.max_updated_at,
        orders_skipped: batch.skipped.len() as u64,
        skipped: std::mem::take(&mut batch.skipped),
        ..IngestReport::default()
    };
    for problem in &report.skipped {
        tracing::warn!(order = %problem.order_id, name = %problem.name, reason = %problem.reason, "order left out of the ingest");
    }
    Ok((batch, report))
}

impl Inner {
    /// Writes and commits a mapped batch (nothing when it is empty).
    async fn commit(
        &self,
        mut batch: map::MappedBatch,
        mut report: IngestReport,
        started: Instant,
    ) -> Result<Committed, IngestError> {
        let events = if batch.orders.is_empty() {
            Vec::new()
        } else {
            self.write(&mut batch, &mut report).await?
        };
        Ok(Committed {
            report,
            events,
            orders: batch.orders.len(),
            started,
            write_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Appends a committed batch's events and completes its report.
    async fn append(&self, committed: Committed) -> Result<IngestReport, IngestError> {
        let Committed {
            mut report,
            events,
            orders,
            started,
            write_ms,
        } = committed;
        if orders == 0 {
            return Ok(report);
        }
        let appended = events::append(&*self.events, events).await?;
        report.events_appended = appended.appended;
        report.events_duplicate = appended.duplicates;
        tracing::info!(
            shop = %self.shop,
            orders,
            new = report.orders_new,
            changed = report.orders_changed,
            unchanged = report.orders_unchanged,
            stale = report.orders_stale,
            events_appended = report.events_appended,
            events_duplicate = report.events_duplicate,
            write_ms,
            total_ms = started.elapsed().as_millis() as u64,
            "ingested a batch of Shopify orders"
        );
        Ok(report)
    }

    /// The transaction: every row of the batch, then the events built from them (before the
    /// commit, so an event that cannot be built rolls the batch back).
    async fn write(
        &self,
        batch: &mut map::MappedBatch,
        report: &mut IngestReport,
    ) -> Result<Vec<Event>, IngestError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg("starting the ingest transaction"))?;

        // Ingests of one shop take turns; the lock ends with the transaction.
        let currency = batch
            .orders
            .first()
            .map(|o| o.currency.clone())
            .unwrap_or_default();
        let (lock, currency_update) = futures_util::try_join!(
            tx.prepare_cached("SELECT pg_advisory_xact_lock($1::bigint)"),
            tx.prepare_cached(
                "UPDATE store SET default_currency_code = $2::text, update_ts = now() \
                 WHERE uid = $1::text AND default_currency_code <> $2::text"
            ),
        )
        .map_err(pg("preparing the lock"))?;
        let lock_params: [&(dyn ToSql + Sync); 1] = [&self.lock_key];
        let currency_params: [&(dyn ToSql + Sync); 2] = [&self.rows.store_uid, &currency];
        futures_util::try_join!(
            tx.execute(&lock, &lock_params),
            tx.execute(&currency_update, &currency_params),
        )
        .map_err(pg("locking the shop's ingest"))?;

        let stored = orders::classify(&tx, &mut batch.orders).await?;
        report.customers_new = orders::customers(&tx, &mut batch.orders).await?;
        let products = products::upsert(&tx, &batch.products).await?;
        report.products_new = products.new;
        report.products_changed = products.changed;
        report.products_unchanged = products.unchanged;
        report.tags_new = products.tags_new;
        for order in &mut batch.orders {
            for line in &mut order.lines {
                if let Some((uid, handle)) = line
                    .product_gid
                    .as_ref()
                    .and_then(|g| products.resolved.get(g))
                {
                    line.product_uid = Some(uid.clone());
                    line.product_handle = Some(handle.clone());
                }
            }
        }

        let mut changed_uids = Vec::new();
        let mut writes = Vec::new();
        for (i, (order, state)) in batch.orders.iter().zip(&stored).enumerate() {
            match state {
                Stored::New => {
                    report.orders_new += 1;
                    writes.push(i);
                }
                Stored::Changed => {
                    report.orders_changed += 1;
                    changed_uids.push(order.uid.clone());
                    writes.push(i);
                }
                Stored::Unchanged => report.orders_unchanged += 1,
                Stored::Stale => report.orders_stale += 1,
            }
        }
        let headers: Vec<&map::MappedOrder> = writes.iter().map(|&i| &batch.orders[i]).collect();
        let uids = orders::headers(
            &tx,
            &self.rows.store_uid,
            &self.rows.sales_channel_uid,
            &headers,
        )
        .await?;
        for &i in &writes {
            let order = &mut batch.orders[i];
            if let Some(uid) = uids.get(&order.gid) {
                order.uid.clone_from(uid);
            }
        }

        // The children's statements go out first; the events are built while PostgreSQL runs
        // them.
        let to_write: Vec<&map::MappedOrder> = writes.iter().map(|&i| &batch.orders[i]).collect();
        let shop = events::Shop {
            store_uid: &self.rows.store_uid,
            sales_channel_uid: &self.rows.sales_channel_uid,
            location_uid: &self.rows.location_uid,
        };
        let build = async {
            let mut built = Vec::with_capacity(batch.orders.len() * 4);
            for (order, state) in batch.orders.iter().zip(&stored) {
                if *state != Stored::Stale {
                    built.extend(
                        events::order_events(order, &shop)?
                            .into_iter()
                            .map(Event::Commerce),
                    );
                }
            }
            Ok::<_, IngestError>(built)
        };
        let (written, built) =
            futures_util::try_join!(orders::children(&tx, &to_write, &changed_uids), build)?;
        report.line_items = written.lines;
        report.tax_lines = written.tax_lines;
        report.adjustments = written.adjustments;
        report.addresses = written.addresses;

        tx.commit().await.map_err(pg("committing the batch"))?;
        Ok(built)
    }
}
