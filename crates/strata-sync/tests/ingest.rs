//! The order ingest against a real PostgreSQL (a fresh database per test, the schema applied by
//! its migrations), a real event log (SQLite in a temporary directory) and the Shopify stand-in,
//! read exactly as the sync reads it: bulk query → wait → download → `OrdersReader`.
//!
//! Every count and sum is checked against the stand-in's own summary or the orders as parsed, not
//! against what the ingest reports about itself.
//!
//! `cargo test -p strata-sync --test ingest`; the timing run (10,000 orders, ignored by default):
//! `cargo test -p strata-sync --release --test ingest -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use strata_domain::Database;
use strata_events::{
    CommerceEvent, CommerceKind, Event, EventLog, FsyncPolicy, SqliteLog, SqliteOptions, StreamName,
};
use strata_shopify::stand_in::{StandIn, StandInOptions};
use strata_shopify::{
    AdminClient, FinancialStatus, FulfillmentStatus, Order, OrdersReader, ProductsReader, orders,
    products,
};
use strata_sync::ingest::{IngestError, IngestReport, OrderIngest};
use strata_testkit::TestDb;
use tempfile::TempDir;

const SHOP: &str = "strata-stand-in";

/// A database with the schema, an event log, and their temporary homes.
struct Env {
    db: Arc<Database>,
    log: Arc<SqliteLog>,
    _test_db: Option<TestDb>,
    _dirs: Vec<TempDir>,
}

async fn apply_schema(db: &Database) {
    let mut client = db.client().await.expect("client");
    strata_schema::migrate::apply(
        &mut client,
        &strata_schema::SchemaSource::embedded(),
        |_, _, _| {},
    )
    .await
    .expect("apply the schema");
}

fn open_log() -> (Arc<SqliteLog>, TempDir) {
    let dir = tempfile::tempdir().expect("log dir");
    let log = SqliteLog::open(
        dir.path(),
        SqliteOptions {
            fsync: FsyncPolicy::Normal,
            ..SqliteOptions::default()
        },
    )
    .expect("open the event log");
    (Arc::new(log), dir)
}

async fn env() -> Env {
    let (db, test_db, dir) = strata_testkit::open_server().await;
    apply_schema(&db).await;
    let (log, log_dir) = open_log();
    Env {
        db: Arc::new(db),
        log,
        _test_db: Some(test_db),
        _dirs: vec![dir, log_dir],
    }
}

impl Env {
    async fn ingest(&self) -> OrderIngest {
        OrderIngest::new(self.db.clone(), self.log.clone(), SHOP)
            .await
            .expect("the ingest starts")
    }

    async fn int(&self, sql: &str) -> i64 {
        let client = self.db.client().await.expect("client");
        client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    async fn decimal(&self, sql: &str) -> Decimal {
        let client = self.db.client().await.expect("client");
        client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get::<_, Option<Decimal>>(0)
            .unwrap_or_default()
    }

    async fn text(&self, sql: &str) -> Option<String> {
        let client = self.db.client().await.expect("client");
        client
            .query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .get(0)
    }

    /// Rows and the latest `update_ts` of every table the ingest writes: equal fingerprints,
    /// nothing written.
    async fn fingerprint(&self) -> Vec<(String, i64, Option<DateTime<Utc>>)> {
        let client = self.db.client().await.expect("client");
        let mut out = Vec::new();
        for table in [
            "order_header",
            "order_line_item",
            "order_line_item_tax_line",
            "order_line_item_adjustment",
            "order_address",
            "order_summary",
            "product",
            "product_tag",
            "customer",
            "store",
        ] {
            let row = client
                .query_one(
                    &format!("SELECT count(*), max(update_ts) FROM {table}"),
                    &[],
                )
                .await
                .expect("fingerprint");
            out.push((table.to_owned(), row.get(0), row.get(1)));
        }
        out
    }

    async fn events(&self) -> Vec<CommerceEvent> {
        self.log
            .read(StreamName::Commerce, "ingest-test", 10_000_000)
            .await
            .expect("read the log")
            .into_iter()
            .filter_map(|d| match d.event {
                Event::Commerce(e) => Some(e),
                _ => None,
            })
            .collect()
    }
}

fn options(orders: usize) -> StandInOptions {
    StandInOptions {
        orders,
        products: 40,
        bulk_duration: Duration::from_millis(10),
        ..StandInOptions::default()
    }
}

/// The sync's read path: bulk query (since `since`), wait, download, parse.
async fn fetch(shop: &StandIn, since: Option<DateTime<Utc>>) -> Vec<Order> {
    let client = AdminClient::new(shop.config()).expect("client");
    let op = client
        .run_bulk_query(&orders::orders_bulk_query(since))
        .await
        .expect("bulk query");
    let op = client
        .wait_for_bulk(&op.id, Duration::from_millis(10), None)
        .await
        .expect("bulk operation");
    let mut bytes = Vec::new();
    client
        .download_operation(&op, &mut bytes)
        .await
        .expect("download");
    let read = OrdersReader::new(&bytes[..])
        .read_all()
        .await
        .expect("parse");
    assert_eq!(read.quarantined_total, 0, "{:?}", read.quarantined);
    read.items
}

async fn ingest_all(ingest: &OrderIngest, orders: &[Order], batch: usize) -> IngestReport {
    let mut total = IngestReport::default();
    for chunk in orders.chunks(batch) {
        total.add(&ingest.apply(chunk).await.expect("apply a batch"));
    }
    total
}

/// The same through a pipeline (steps of neighbouring batches overlapping).
async fn pipeline_all(ingest: &OrderIngest, orders: &[Order], batch: usize) -> IngestReport {
    let mut pipeline = ingest.pipeline();
    for chunk in orders.chunks(batch) {
        pipeline.push(chunk.to_vec()).await.expect("push a batch");
    }
    pipeline.finish().await.expect("the pipeline completes")
}

fn units(event: &CommerceEvent) -> i64 {
    event.body.order.lines.iter().map(|l| l.quantity).sum()
}

fn is_paid(o: &Order) -> bool {
    matches!(
        o.display_financial_status,
        Some(
            FinancialStatus::Paid | FinancialStatus::PartiallyRefunded | FinancialStatus::Refunded
        )
    )
}

/// What the stand-in's orders say the tables must hold, counted from the parsed orders.
async fn assert_matches_orders(env: &Env, orders: &[Order]) {
    let lines: usize = orders.iter().map(|o| o.line_items.len()).sum();
    let tax_lines: usize = orders
        .iter()
        .flat_map(|o| &o.line_items)
        .map(|l| l.tax_lines.len())
        .sum();
    let adjustments: usize = orders
        .iter()
        .flat_map(|o| &o.line_items)
        .map(|l| l.discount_allocations.len())
        .sum();
    let addresses: usize = orders
        .iter()
        .map(|o| {
            usize::from(o.shipping_address.is_some()) + usize::from(o.billing_address.is_some())
        })
        .sum();
    let tax: Decimal = orders
        .iter()
        .flat_map(|o| &o.line_items)
        .flat_map(|l| &l.tax_lines)
        .map(|t| t.price.amount)
        .sum();
    let discounts: Decimal = orders
        .iter()
        .flat_map(|o| &o.line_items)
        .flat_map(|l| &l.discount_allocations)
        .map(|d| d.allocated_amount.amount)
        .sum();
    assert_eq!(
        env.int("SELECT count(*) FROM order_header").await,
        orders.len() as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_line_item").await,
        lines as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_line_item_tax_line")
            .await,
        tax_lines as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_line_item_adjustment")
            .await,
        adjustments as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_address").await,
        addresses as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_summary").await,
        orders.len() as i64
    );
    assert_eq!(
        env.decimal("SELECT sum(amount) FROM order_line_item_tax_line")
            .await,
        tax
    );
    assert_eq!(
        env.decimal("SELECT sum(amount) FROM order_line_item_adjustment")
            .await,
        discounts
    );
    // The header's quantity is its lines' (no line counted twice, none lost).
    assert_eq!(
        env.int(
            "SELECT count(*) FROM order_header h WHERE quantity <> \
             (SELECT coalesce(sum(quantity), 0) FROM order_line_item l WHERE l.order_uid = h.uid)"
        )
        .await,
        0
    );
    let canceled = orders.iter().filter(|o| o.cancelled_at.is_some()).count();
    assert_eq!(
        env.int("SELECT count(*) FROM order_header WHERE status->>'phase' = 'canceled' AND canceled_ts IS NOT NULL").await,
        canceled as i64
    );
}

/// The stand-in's summary against SQL sums over every order.
async fn assert_matches_summary(env: &Env, shop: &StandIn) {
    let s = shop.summary(None);
    assert_eq!(
        env.int("SELECT count(*) FROM order_header").await,
        s.orders as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_line_item").await,
        s.line_items as i64
    );
    assert_eq!(
        env.int("SELECT sum(quantity)::bigint FROM order_line_item")
            .await,
        s.total_quantity as i64
    );
    assert_eq!(
        env.int("SELECT sum(quantity)::bigint FROM order_header")
            .await,
        s.total_quantity as i64
    );
    assert_eq!(
        env.decimal("SELECT sum(total) FROM order_header").await,
        s.total_price
    );
    assert_eq!(
        env.decimal("SELECT sum(tax_total) FROM order_header").await,
        s.total_tax
    );
    // Shopify's subtotal is after discounts; ours is before.
    assert_eq!(
        env.decimal("SELECT sum(subtotal - discount_total) FROM order_header")
            .await,
        s.subtotal
    );
    assert_eq!(
        env.decimal("SELECT sum(subtotal - discount_total) FROM order_line_item")
            .await,
        s.subtotal
    );
}

#[tokio::test]
async fn first_ingest_lands_every_row_and_event_and_a_second_changes_nothing() {
    let env = env().await;
    let shop = StandIn::start(options(300)).await.expect("stand-in");
    let orders = fetch(&shop, None).await;
    assert_eq!(orders.len(), 300);
    let ingest = env.ingest().await;

    // --- First ingest, in batches of 70 (the last one short).
    let first = ingest_all(&ingest, &orders, 70).await;
    assert_eq!(first.orders_new, 300);
    assert_eq!(
        first.orders_changed + first.orders_unchanged + first.orders_stale,
        0
    );
    assert_eq!(first.line_items, shop.summary(None).line_items);
    assert_eq!(
        first.max_updated_at,
        orders.iter().map(|o| o.updated_at).max()
    );
    assert_matches_summary(&env, &shop).await;
    assert_matches_orders(&env, &orders).await;

    // Orders: ids, numbers, channel, currency, store, phase, customers, addresses.
    let store = ingest.store_uid().to_owned();
    assert_eq!(
        env.int(&format!(
            "SELECT count(*) FROM order_header WHERE store_uid = '{store}' AND source_channel = 'shopify' \
             AND currency_code = 'usd' AND external_id LIKE 'gid://shopify/Order/%' \
             AND order_number = '#' || display_id AND sales_channel_uid = '{}' \
             AND customer_uid IS NOT NULL AND raw_total->>'currency_code' = 'usd' \
             AND annotations ? 'strata.dev/ingest-hash'",
            ingest.sales_channel_uid()
        ))
        .await,
        300
    );
    let completed = orders
        .iter()
        .filter(|o| {
            o.cancelled_at.is_none()
                && is_paid(o)
                && o.display_fulfillment_status == Some(FulfillmentStatus::Fulfilled)
        })
        .count();
    assert_eq!(
        env.int("SELECT count(*) FROM order_header WHERE status->>'phase' = 'completed'")
            .await,
        completed as i64
    );
    let customers: BTreeSet<_> = orders
        .iter()
        .filter_map(|o| o.customer.as_ref())
        .map(|c| c.id.id())
        .collect();
    assert_eq!(
        env.int("SELECT count(*) FROM customer").await,
        customers.len() as i64
    );
    assert_eq!(
        env.int(
            "SELECT count(*) FROM order_line_item l JOIN order_header h ON h.uid = l.order_uid"
        )
        .await,
        shop.summary(None).line_items as i64,
        "every line belongs to an order"
    );
    // The uid's time part is Shopify's createdAt.
    let (uid, created): (String, DateTime<Utc>) = {
        let client = env.db.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT uid, create_ts FROM order_header ORDER BY uid LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let ulid = ulid::Ulid::from_string(&uid[4..]).unwrap();
    assert_eq!(ulid.timestamp_ms() as i64, created.timestamp_millis());

    // Products and tags: every product the lines show, with its phase, times, handle, tags.
    let mut products: BTreeMap<u64, &strata_shopify::ProductRef> = BTreeMap::new();
    for p in orders
        .iter()
        .flat_map(|o| &o.line_items)
        .filter_map(|l| l.product.as_ref())
    {
        products.insert(p.id.id(), p);
    }
    let tags: BTreeSet<&str> = products
        .values()
        .flat_map(|p| p.tags.iter().map(String::as_str))
        .collect();
    assert_eq!(first.products_new, products.len() as u64);
    assert_eq!(first.tags_new, tags.len() as u64);
    assert_eq!(
        env.int("SELECT count(*) FROM product").await,
        products.len() as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM product_tag WHERE category_name = 'shopify'")
            .await,
        tags.len() as i64
    );
    let client = env.db.client().await.unwrap();
    for p in products.values() {
        let row = client
            .query_one(
                "SELECT title, vendor, status->>'phase', published_ts, create_ts, handle, \
                   (SELECT coalesce(array_agg(t.tag_name ORDER BY t.tag_name), '{}') FROM product_tag t \
                     WHERE tag_uids ? t.uid) \
                 FROM product WHERE external_id = $1",
                &[&p.id.to_string()],
            )
            .await
            .expect("the product has a row");
        let phase = match p.status.as_ref().map(|s| s.as_str()) {
            Some("ACTIVE") => "published",
            Some("ARCHIVED") => "archived",
            _ => "draft",
        };
        assert_eq!(row.get::<_, String>(0), p.title);
        assert_eq!(row.get::<_, Option<String>>(1), p.vendor);
        assert_eq!(row.get::<_, String>(2), phase);
        assert_eq!(row.get::<_, Option<DateTime<Utc>>>(3), p.published_at);
        assert_eq!(Some(row.get::<_, DateTime<Utc>>(4)), p.created_at);
        assert!(
            row.get::<_, String>(5)
                .ends_with(&format!("-{}", p.id.id()))
        );
        let mut expected: Vec<String> = p.tags.clone();
        expected.sort();
        assert_eq!(row.get::<_, Vec<String>>(6), expected, "tags of {}", p.id);
    }
    assert_eq!(
        env.int(
            "SELECT count(*) FROM order_line_item l LEFT JOIN product p ON p.uid = l.product_uid \
                 WHERE p.uid IS NULL OR l.product_handle IS DISTINCT FROM p.handle"
        )
        .await,
        0,
        "every line points at its product"
    );
    drop(client);

    // Events: one order_created per order with its units, and the facts the state shows.
    let events = env.events().await;
    assert_eq!(first.events_appended, events.len() as u64);
    assert_eq!(first.events_duplicate, 0);
    let created: Vec<&CommerceEvent> = events
        .iter()
        .filter(|e| matches!(e.body.kind, CommerceKind::OrderCreated))
        .collect();
    assert_eq!(created.len(), 300);
    let by_number: HashMap<&str, &Order> = orders.iter().map(|o| (o.name.as_str(), o)).collect();
    for e in &created {
        let o = by_number[e.body.order.order_number.as_str()];
        assert_eq!(units(e), o.total_quantity(), "units of {}", o.name);
        assert_eq!(e.occurred_ts, o.processed_at.unwrap_or(o.created_at));
        assert_eq!(e.body.order.total.value(), o.total_price.amount);
        assert!(e.body.order.lines.iter().all(|l| l.product_uid.is_some()));
    }
    let count = |f: fn(&CommerceKind) -> bool| events.iter().filter(|e| f(&e.body.kind)).count();
    let paid = orders
        .iter()
        .filter(|o| is_paid(o) && o.total_price.amount > Decimal::ZERO)
        .count();
    let fulfilled = orders
        .iter()
        .filter(|o| o.display_fulfillment_status == Some(FulfillmentStatus::Fulfilled))
        .count();
    let refunded = orders
        .iter()
        .filter(|o| o.display_financial_status == Some(FinancialStatus::Refunded))
        .count();
    assert_eq!(
        count(|k| matches!(k, CommerceKind::PaymentCaptured { .. })),
        paid
    );
    assert_eq!(
        count(|k| matches!(k, CommerceKind::FulfillmentShipped { .. })),
        fulfilled
    );
    assert_eq!(
        count(|k| matches!(k, CommerceKind::OrderCompleted)),
        completed
    );
    assert_eq!(
        count(|k| matches!(k, CommerceKind::ReturnRequested { .. })),
        refunded
    );
    assert!(
        refunded > 0 && fulfilled > 0,
        "the store has refunds and shipments to check"
    );

    // --- Second ingest of the same data (other batch boundaries, through a pipeline): nothing
    // changes.
    let before = env.fingerprint().await;
    let again = OrderIngest::new(
        env.db.clone(),
        env.log.clone(),
        "https://Strata-Stand-In.myshopify.com/",
    )
    .await
    .expect("the same shop");
    assert_eq!(again.store_uid(), store, "the shop's store is found again");
    let second = pipeline_all(&again, &orders, 120).await;
    assert_eq!(second.orders_unchanged, 300);
    assert_eq!(
        second.orders_new + second.orders_changed + second.orders_stale,
        0
    );
    assert_eq!(
        (second.line_items, second.tax_lines, second.addresses),
        (0, 0, 0)
    );
    assert_eq!(
        (
            second.products_new,
            second.products_changed,
            second.tags_new,
            second.customers_new
        ),
        (0, 0, 0, 0)
    );
    assert!(second.products_unchanged >= products.len() as u64);
    assert_eq!(second.events_appended, 0);
    assert_eq!(second.events_duplicate, first.events_appended);
    assert_eq!(
        env.fingerprint().await,
        before,
        "no row written, no update_ts moved"
    );
    assert_eq!(env.events().await.len(), events.len());
    assert_eq!(env.int("SELECT count(*) FROM store").await, 1);
    shop.shutdown().await;
}

#[tokio::test]
async fn updates_cancellations_and_new_orders_since_a_watermark() {
    let env = env().await;
    let shop = StandIn::start(options(200)).await.expect("stand-in");
    let orders = fetch(&shop, None).await;
    let ingest = env.ingest().await;
    let first = ingest_all(&ingest, &orders, 100).await;
    let watermark = first.max_updated_at.expect("a watermark");

    // Between two syncs: an order edited (one more unit), one canceled (pick a paid, fulfilled
    // one), a product's tags changed, three new orders.
    let at = Utc.with_ymd_and_hms(2024, 4, 2, 12, 0, 0).unwrap();
    let edited = &orders[10];
    let canceled = orders
        .iter()
        .find(|o| {
            o.id != edited.id
                && o.cancelled_at.is_none()
                && o.display_fulfillment_status == Some(FulfillmentStatus::Fulfilled)
        })
        .expect("a fulfilled order");
    let product = edited.line_items[0]
        .product
        .as_ref()
        .expect("a product")
        .clone();
    let product_before: (String, DateTime<Utc>, String) = {
        let client = env.db.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT uid, update_ts, title FROM product WHERE external_id = $1",
                &[&product.id.to_string()],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let edited_line_before = env
        .int(&format!(
            "SELECT quantity::bigint FROM order_line_item WHERE external_id = '{}'",
            edited.line_items[0].id
        ))
        .await;
    shop.update_order(edited.id.id(), at).unwrap();
    shop.cancel_order(canceled.id.id(), at).unwrap();
    shop.update_product(product.id.id(), at).unwrap();
    let added = shop.add_orders(3, at);

    let since = fetch(&shop, Some(watermark)).await;
    let fetched: BTreeSet<u64> = since.iter().map(|o| o.id.id()).collect();
    assert!(fetched.contains(&edited.id.id()) && fetched.contains(&canceled.id.id()));
    assert!(added.iter().all(|id| fetched.contains(id)));
    let events_before = env.events().await.len();
    let report = ingest.apply(&since).await.expect("the incremental batch");
    assert_eq!(report.orders_new, 3);
    assert_eq!(report.orders_changed, 2);
    assert_eq!(
        report.orders_unchanged,
        since.len() as u64 - 5,
        "orders updated at the watermark come again, unchanged"
    );
    assert!(report.products_changed >= 1);
    assert_eq!(report.max_updated_at, Some(at));
    assert_matches_summary(&env, &shop).await;

    // The edit: one more unit on the first line, no line or tax line doubled.
    let edited_now = since.iter().find(|o| o.id == edited.id).unwrap();
    assert_eq!(
        env.int(&format!(
            "SELECT quantity::bigint FROM order_line_item WHERE external_id = '{}'",
            edited.line_items[0].id
        ))
        .await,
        edited_line_before + 1
    );
    assert_eq!(
        env.int(&format!(
            "SELECT count(*) FROM order_line_item l JOIN order_header h ON h.uid = l.order_uid WHERE h.external_id = '{}'",
            edited.id
        )).await,
        edited_now.line_items.len() as i64
    );
    assert_eq!(
        env.text(&format!("SELECT annotations->>'shopify.com/updated-at' FROM order_header WHERE external_id = '{}'", edited.id)).await.as_deref(),
        Some("2024-04-02T12:00:00.000Z")
    );
    // The cancellation.
    assert_eq!(
        env.text(&format!(
            "SELECT status->>'phase' FROM order_header WHERE external_id = '{}'",
            canceled.id
        ))
        .await
        .as_deref(),
        Some("canceled")
    );
    assert_eq!(
        env.int(&format!("SELECT count(*) FROM order_header WHERE external_id = '{}' AND canceled_ts = '2024-04-02T12:00:00Z'", canceled.id)).await,
        1
    );
    // The product: tag `updated` added, same uid and title, update_ts moved.
    let client = env.db.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT uid, update_ts, title, (SELECT array_agg(t.tag_name) FROM product_tag t WHERE tag_uids ? t.uid), \
               annotations->>'shopify.com/updated-at' FROM product WHERE external_id = $1",
            &[&product.id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), product_before.0);
    assert!(row.get::<_, DateTime<Utc>>(1) > product_before.1);
    assert_eq!(row.get::<_, String>(2), product_before.2);
    assert!(row.get::<_, Vec<String>>(3).contains(&"updated".to_owned()));
    assert_eq!(
        row.get::<_, Option<String>>(4).as_deref(),
        Some("2024-04-02T12:00:00.000Z")
    );
    drop(client);

    // Events: the new orders' order_created; nothing twice.
    let events = env.events().await;
    assert_eq!(
        events.len() as u64,
        events_before as u64 + report.events_appended
    );
    let created: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.body.kind, CommerceKind::OrderCreated))
        .collect();
    assert_eq!(created.len(), 203);
    let ids: BTreeSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), events.len());

    // An older copy of the edited order (a re-run of the first file) is stale: not written.
    let before = env.fingerprint().await;
    let stale = ingest
        .apply(std::slice::from_ref(edited))
        .await
        .expect("the stale batch");
    assert_eq!((stale.orders_stale, stale.orders_changed), (1, 0));
    assert_eq!(env.fingerprint().await, before);

    // A line removed on Shopify's side does not linger.
    let mut shrunk = edited_now.clone();
    let removed = shrunk.line_items.pop().expect("a line to remove");
    shrunk.updated_at = at + chrono::Duration::hours(1);
    let report = ingest
        .apply(std::slice::from_ref(&shrunk))
        .await
        .expect("the shrunk order");
    assert_eq!(report.orders_changed, 1);
    assert_eq!(
        env.int(&format!(
            "SELECT count(*) FROM order_line_item WHERE external_id = '{}'",
            removed.id
        ))
        .await,
        0
    );
    assert_eq!(
        env.int(&format!(
            "SELECT count(*) FROM order_line_item_tax_line t JOIN order_line_item l ON l.uid = t.line_item_uid \
             JOIN order_header h ON h.uid = l.order_uid WHERE h.external_id = '{}'",
            edited.id
        )).await,
        shrunk.line_items.iter().map(|l| l.tax_lines.len()).sum::<usize>() as i64
    );
    assert_eq!(
        env.int("SELECT count(*) FROM order_line_item_tax_line t LEFT JOIN order_line_item l ON l.uid = t.line_item_uid WHERE l.uid IS NULL").await,
        0,
        "no orphaned tax lines"
    );
    shop.shutdown().await;
}

#[tokio::test]
async fn the_products_query_refreshes_the_whole_catalogue() {
    let env = env().await;
    let shop = StandIn::start(options(10)).await.expect("stand-in");
    let client = AdminClient::new(shop.config()).expect("client");
    let op = client
        .run_bulk_query(&products::products_bulk_query(None))
        .await
        .expect("bulk query");
    let op = client
        .wait_for_bulk(&op.id, Duration::from_millis(10), None)
        .await
        .expect("bulk operation");
    let mut bytes = Vec::new();
    client
        .download_operation(&op, &mut bytes)
        .await
        .expect("download");
    let catalogue = ProductsReader::new(&bytes[..])
        .read_all()
        .await
        .expect("parse")
        .items;
    assert_eq!(catalogue.len() as u64, shop.summary(None).products);
    let ingest = env.ingest().await;

    // Products the orders show first, then the whole catalogue: those are found, not doubled.
    let orders = fetch(&shop, None).await;
    let from_orders = ingest_all(&ingest, &orders, 10).await.products_new;
    let report = ingest
        .apply_products(&catalogue)
        .await
        .expect("the catalogue");
    assert_eq!(report.products_new + from_orders, catalogue.len() as u64);
    assert_eq!(report.products_unchanged, from_orders);
    assert_eq!(
        env.int("SELECT count(*) FROM product").await,
        catalogue.len() as i64
    );
    let archived = catalogue
        .iter()
        .filter(|p| p.status.as_ref().map(|s| s.as_str()) == Some("ARCHIVED"))
        .count();
    assert_eq!(
        env.int("SELECT count(*) FROM product WHERE status->>'phase' = 'archived'")
            .await,
        archived as i64
    );
    let before = env.fingerprint().await;
    let again = ingest.apply_products(&catalogue).await.expect("again");
    assert_eq!(again.products_unchanged, catalogue.len() as u64);
    assert_eq!(env.fingerprint().await, before);
    shop.shutdown().await;
}

#[tokio::test]
async fn a_bad_order_fails_its_batch_and_nothing_of_it_is_written() {
    let env = env().await;
    let shop = StandIn::start(options(20)).await.expect("stand-in");
    let mut orders = fetch(&shop, None).await;
    let ingest = env.ingest().await;
    let empty = env.fingerprint().await;

    // A negative quantity: refused before anything is written, the order named.
    let bad_id = orders[5].id.to_string();
    let bad_name = orders[5].name.clone();
    orders[5].line_items[0].quantity = -2;
    let err = ingest
        .apply(&orders)
        .await
        .expect_err("a negative quantity");
    let text = err.to_string();
    assert!(
        matches!(&err, IngestError::InvalidOrders { problems } if problems.len() == 1),
        "{text}"
    );
    assert!(
        text.contains(&bad_id) && text.contains(&bad_name) && text.contains("negative"),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert_eq!(env.fingerprint().await, empty);
    assert!(env.events().await.is_empty());

    // A batch PostgreSQL refuses (two orders with one number): rolled back as a whole.
    let mut clash = orders.clone();
    clash[5].line_items[0].quantity = 1;
    clash[3].name = clash[2].name.clone();
    let err = ingest
        .apply(&clash)
        .await
        .expect_err("a duplicate order number");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            IngestError::Postgres {
                retryable: false,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        (text.contains("order_header_order_number_key")
            || text.contains("order_header_display_id_key"))
            && text.contains("rolled back"),
        "{text}"
    );
    assert_eq!(env.fingerprint().await, empty);
    assert!(env.events().await.is_empty());

    // Through a pipeline: the batches before the bad one are committed with their events, the
    // bad one writes nothing, and the error names it.
    let mut pipeline = ingest.pipeline();
    pipeline
        .push(orders[..3].to_vec())
        .await
        .expect("a good batch");
    let err = pipeline
        .push(orders[3..].to_vec())
        .await
        .expect_err("the batch with the bad order");
    assert!(err.to_string().contains(&bad_id), "{err}");
    assert_eq!(
        pipeline.report().orders_new,
        3,
        "the good batch completed first"
    );
    assert_eq!(env.int("SELECT count(*) FROM order_header").await, 3);
    assert_eq!(
        env.events()
            .await
            .iter()
            .filter(|e| matches!(e.body.kind, CommerceKind::OrderCreated))
            .count(),
        3
    );

    // With skip_invalid the others go in, and the bad one is listed.
    let lenient = env.ingest().await.skip_invalid(true);
    let report = lenient.apply(&orders).await.expect("the rest of the batch");
    assert_eq!(
        (
            report.orders_new,
            report.orders_unchanged,
            report.orders_skipped
        ),
        (16, 3, 1)
    );
    assert_eq!(report.skipped[0].order_id, bad_id);
    assert_eq!(env.int("SELECT count(*) FROM order_header").await, 19);
    assert_eq!(
        env.int(&format!(
            "SELECT count(*) FROM order_header WHERE external_id = '{bad_id}'"
        ))
        .await,
        0
    );
    let created = env
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e.body.kind, CommerceKind::OrderCreated))
        .count();
    assert_eq!(created, 19);
    shop.shutdown().await;
}

#[tokio::test]
async fn a_crash_between_commit_and_append_is_repaired_by_running_the_batch_again() {
    let env = env().await;
    let shop = StandIn::start(options(30)).await.expect("stand-in");
    let orders = fetch(&shop, None).await;

    // The first run commits, but its log refuses every append.
    let failing: Arc<dyn EventLog> = Arc::new(FailingLog);
    let ingest = OrderIngest::new(env.db.clone(), failing, SHOP)
        .await
        .unwrap();
    let err = ingest.apply(&orders).await.expect_err("the log fails");
    assert!(matches!(err, IngestError::EventLog { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("committed"), "{err}");
    assert_eq!(env.int("SELECT count(*) FROM order_header").await, 30);

    // The re-run writes nothing and appends every event.
    let before = env.fingerprint().await;
    let ingest = env.ingest().await;
    let report = ingest.apply(&orders).await.expect("the re-run");
    assert_eq!(report.orders_unchanged, 30);
    assert_eq!(env.fingerprint().await, before);
    assert_eq!(report.events_duplicate, 0);
    let created = env
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e.body.kind, CommerceKind::OrderCreated))
        .count();
    assert_eq!(created, 30);
    assert_eq!(report.events_appended as usize, env.events().await.len());
    shop.shutdown().await;
}

/// PGlite serves one connection and runs beside the runtime's workers: a multi-threaded
/// runtime, and an explicit shutdown that stops the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_engine_ingests_too() {
    let (db, dir) = strata_testkit::open_embedded().await;
    apply_schema(&db).await;
    let (log, log_dir) = open_log();
    let env = Env {
        db: Arc::new(db),
        log,
        _test_db: None,
        _dirs: vec![dir, log_dir],
    };
    let shop = StandIn::start(options(25)).await.expect("stand-in");
    let orders = fetch(&shop, None).await;
    let ingest = env.ingest().await;
    let first = ingest_all(&ingest, &orders, 10).await;
    assert_eq!(first.orders_new, 25);
    assert_matches_summary(&env, &shop).await;
    assert_matches_orders(&env, &orders).await;
    let before = env.fingerprint().await;
    let second = ingest.apply(&orders).await.expect("the re-run");
    assert_eq!(second.orders_unchanged, 25);
    assert_eq!(second.events_duplicate, first.events_appended);
    assert_eq!(env.fingerprint().await, before);
    shop.shutdown().await;
    drop(ingest);
    let Env { db, _dirs, .. } = env;
    let db = Arc::try_unwrap(db).expect("the only handle on the database");
    db.shutdown().await.expect("the embedded engine stops");
    drop(_dirs);
}

/// An event log that refuses every append.
struct FailingLog;

#[async_trait::async_trait]
impl EventLog for FailingLog {
    async fn append(
        &self,
        _stream: StreamName,
        _events: Vec<Event>,
    ) -> Result<strata_events::AppendReceipt, strata_events::LogError> {
        Err(strata_events::LogError::Open {
            path: "/nowhere".into(),
            reason: "the disk is gone".into(),
        })
    }

    async fn read(
        &self,
        _stream: StreamName,
        _consumer: &str,
        _max: usize,
    ) -> Result<Vec<strata_events::Delivery>, strata_events::LogError> {
        Ok(Vec::new())
    }

    async fn commit(
        &self,
        _stream: StreamName,
        _consumer: &str,
        offset: strata_events::Offset,
    ) -> Result<strata_events::Offset, strata_events::LogError> {
        Ok(offset)
    }

    async fn stats(
        &self,
        _stream: StreamName,
    ) -> Result<strata_events::StreamStats, strata_events::LogError> {
        Err(strata_events::LogError::Open {
            path: "/nowhere".into(),
            reason: "the disk is gone".into(),
        })
    }
}

/// The ingest's throughput, recorded in the report: `--release -- --ignored --nocapture`.
/// `STRATA_INGEST_ORDERS` (default 10,000) and `STRATA_INGEST_BATCH` (default 1,000) size it;
/// the first ingest goes through a pipeline, or batch after batch with `STRATA_INGEST_SEQUENTIAL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing run: cargo test -p strata-sync --release --test ingest -- --ignored --nocapture"]
async fn throughput() {
    let n: usize = std::env::var("STRATA_INGEST_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let batch: usize = std::env::var("STRATA_INGEST_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let env = env().await;
    let shop = StandIn::start(StandInOptions {
        products: 500,
        ..options(n)
    })
    .await
    .expect("stand-in");
    let t = Instant::now();
    let orders = fetch(&shop, None).await;
    let read = t.elapsed();
    let ingest = env.ingest().await;
    let t = Instant::now();
    let first = if std::env::var_os("STRATA_INGEST_SEQUENTIAL").is_some() {
        ingest_all(&ingest, &orders, batch).await
    } else {
        pipeline_all(&ingest, &orders, batch).await
    };
    let cold = t.elapsed();
    let t = Instant::now();
    let second = pipeline_all(&ingest, &orders, batch).await;
    let warm = t.elapsed();
    assert_eq!(first.orders_new, n as u64);
    assert_eq!(second.orders_unchanged, n as u64);
    assert_matches_summary(&env, &shop).await;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{n} orders ({} line items, {} events), batches of {batch}: read (bulk+download+parse) {:.2} s; \
         first ingest {:.2} s = {:.0} orders/s; unchanged re-run {:.2} s = {:.0} orders/s",
        first.line_items,
        first.events_appended,
        read.as_secs_f64(),
        cold.as_secs_f64(),
        rate(cold),
        warm.as_secs_f64(),
        rate(warm),
    );
    shop.shutdown().await;
}
