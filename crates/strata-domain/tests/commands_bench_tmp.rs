//! The domain commands against the real PostgreSQL server, with a real SQLite event log: rows
//! written per table, exact totals, exactly one event per command with the denormalized fields,
//! nothing written on failure, phase conflicts, re-emission with identical ids, and concurrent
//! order numbering.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use strata_domain::Database;
use strata_domain::commands::{
    Address, CapturePayment, CommandError, LineDiscount, LineQuantityInput, OrderLineInput,
    PlaceOrder, RequestReturn, ReturnLineInput, ShipFulfillment, capture_payment, complete_order,
    place_order, reemit_order_events, request_return, ship_fulfillment,
};
use strata_events::{
    CommerceEvent, CommerceKind, Event, EventLog, SqliteLog, SqliteOptions, StreamName,
};
use strata_schema::SchemaSource;
use tempfile::TempDir;
use ulid::Ulid;

fn uid(prefix: &str) -> String {
    format!("{prefix}_{}", Ulid::new())
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// The catalogue the tests order from.
struct Catalog {
    store: String,
    region: String,
    eur_region: String,
    channel: String,
    customer: String,
    location: String,
    /// Priced at 19.99 usd, product "Matte Daisy Case".
    variant_a: String,
    /// Priced at 24.99 usd, product "Neon Tiger Case".
    variant_b: String,
    /// No price: needs a unit_price in the command.
    variant_c: String,
    product_a: String,
    referral: String,
    publisher: String,
    referral_link: String,
    reason: String,
}

struct Fixture {
    db: Arc<Database>,
    _tdb: common::TestDb,
    _dir: TempDir,
    log_dir: TempDir,
    log: Arc<dyn EventLog>,
    cat: Catalog,
}

fn open_log(dir: &TempDir) -> Arc<dyn EventLog> {
    Arc::new(SqliteLog::open(dir.path(), SqliteOptions::default()).expect("open the event log"))
}

async fn setup() -> Fixture {
    let (db, tdb, dir) = common::open_server().await;
    {
        let mut client = db.client().await.expect("client");
        strata_schema::migrate::apply(&mut client, &SchemaSource::embedded(), |_, _, _| {})
            .await
            .expect("apply the schema");
    }
    let cat = Catalog {
        store: uid("sto"),
        region: uid("reg"),
        eur_region: uid("reg"),
        channel: uid("sc"),
        customer: uid("cus"),
        location: uid("sloc"),
        variant_a: uid("var"),
        variant_b: uid("var"),
        variant_c: uid("var"),
        product_a: uid("prd"),
        referral: uid("rfl"),
        publisher: uid("pub"),
        referral_link: uid("rlnk"),
        reason: uid("rr"),
    };
    let product_b = uid("prd");
    let (pset_a, pset_b) = (uid("pset"), uid("pset"));
    let sql = format!(
        "INSERT INTO store (uid, name, default_currency_code) VALUES ('{store}', 'Casestry', 'usd');
         INSERT INTO region (uid, name, currency_code) VALUES ('{region}', 'United States', 'usd'),
           ('{eur_region}', 'Europe', 'eur');
         INSERT INTO sales_channel (uid, name) VALUES ('{channel}', 'Online Store');
         INSERT INTO stock_location (uid, name) VALUES ('{location}', 'Austin fulfillment center');
         INSERT INTO customer (uid, email, first_name, last_name)
           VALUES ('{customer}', 'ava@example.com', 'Ava', 'Chen');
         INSERT INTO product (uid, title, handle, status) VALUES
           ('{product_a}', 'Matte Daisy Case', 'matte-daisy-case', '{{\"phase\": \"published\", \"conditions\": []}}'),
           ('{product_b}', 'Neon Tiger Case', 'neon-tiger-case', '{{\"phase\": \"published\", \"conditions\": []}}');
         INSERT INTO product_variant (uid, product_uid, title, sku) VALUES
           ('{variant_a}', '{product_a}', 'iPhone 16 Pro', 'MDC-IP16P'),
           ('{variant_b}', '{product_b}', 'Pixel 9', 'NTC-PX9'),
           ('{variant_c}', '{product_b}', 'Galaxy S25', 'NTC-GS25');
         INSERT INTO price_set (uid) VALUES ('{pset_a}'), ('{pset_b}');
         INSERT INTO link_product_variant_price_set (uid, product_variant_uid, price_set_uid) VALUES
           ('{lvps_a}', '{variant_a}', '{pset_a}'), ('{lvps_b}', '{variant_b}', '{pset_b}');
         INSERT INTO price (uid, price_set_uid, currency_code, amount, raw_amount) VALUES
           ('{price_a}', '{pset_a}', 'usd', 19.99, '{{\"value\": \"19.99\", \"currency_code\": \"usd\"}}'),
           ('{price_b}', '{pset_b}', 'usd', 24.99, '{{\"value\": \"24.99\", \"currency_code\": \"usd\"}}');
         INSERT INTO promotion (uid, code, status) VALUES
           ('{promo}', 'CREATOR10', '{{\"phase\": \"active\", \"conditions\": []}}');
         INSERT INTO application_method (uid, promotion_uid, application_type, target_type, value)
           VALUES ('{apm}', '{promo}', 'percentage', 'items', 10);
         INSERT INTO referral (uid, referral_link_uid, publisher_uid, landing_ts, session_key_hash)
           VALUES ('{referral}', '{referral_link}', '{publisher}', now(), repeat('a', 64));
         INSERT INTO return_reason (uid, value, label) VALUES ('{reason}', 'damaged', 'Arrived damaged');",
        store = cat.store,
        region = cat.region,
        eur_region = cat.eur_region,
        channel = cat.channel,
        location = cat.location,
        customer = cat.customer,
        product_a = cat.product_a,
        variant_a = cat.variant_a,
        variant_b = cat.variant_b,
        variant_c = cat.variant_c,
        lvps_a = uid("lvps"),
        lvps_b = uid("lvps"),
        price_a = uid("price"),
        price_b = uid("price"),
        promo = uid("promo"),
        apm = uid("proapm"),
        referral = cat.referral,
        referral_link = cat.referral_link,
        publisher = cat.publisher,
        reason = cat.reason,
    );
    db.client()
        .await
        .expect("client")
        .batch_execute(&sql)
        .await
        .expect("create the catalogue");
    let log_dir = tempfile::tempdir().expect("log dir");
    let log = open_log(&log_dir);
    Fixture {
        db: Arc::new(db),
        _tdb: tdb,
        _dir: dir,
        log_dir,
        log,
        cat,
    }
}

fn address() -> Address {
    Address {
        first_name: Some("Ava".into()),
        last_name: Some("Chen".into()),
        address_1: Some("1 Main Street".into()),
        city: Some("Austin".into()),
        country_code: Some("us".into()),
        postal_code: Some("78701".into()),
        ..Address::default()
    }
}

/// Two lines: 2 × variant A at its catalogue price with CREATOR10 (10 %), and 1 × variant B at
/// 30.00 with 5.00 off; 8.25 % tax; the customer; attributed to the referral.
fn order(cat: &Catalog) -> PlaceOrder {
    PlaceOrder {
        store_uid: cat.store.clone(),
        customer_uid: Some(cat.customer.clone()),
        email: None,
        region_uid: cat.region.clone(),
        sales_channel_uid: cat.channel.clone(),
        currency_code: "usd".into(),
        lines: vec![
            OrderLineInput {
                variant_uid: cat.variant_a.clone(),
                quantity: 2,
                unit_price: None,
                discount: Some(LineDiscount::Code("CREATOR10".into())),
            },
            OrderLineInput {
                variant_uid: cat.variant_b.clone(),
                quantity: 1,
                unit_price: Some(dec("30.00")),
                discount: Some(LineDiscount::Amount {
                    amount: dec("5.00"),
                    code: Some("WELCOME5".into()),
                }),
            },
        ],
        tax_rate_percent: dec("8.25"),
        tax_code: Some("US-TX".into()),
        shipping_address: address(),
        referral_uid: Some(cat.referral.clone()),
        source_channel: None,
    }
}

/// A plain guest order of `quantity` × variant C at 10.00, no tax.
fn guest_order(cat: &Catalog, quantity: i64) -> PlaceOrder {
    PlaceOrder {
        store_uid: cat.store.clone(),
        customer_uid: None,
        email: Some("guest@example.com".into()),
        region_uid: cat.region.clone(),
        sales_channel_uid: cat.channel.clone(),
        currency_code: "usd".into(),
        lines: vec![OrderLineInput {
            variant_uid: cat.variant_c.clone(),
            quantity,
            unit_price: Some(dec("10.00")),
            discount: None,
        }],
        tax_rate_percent: Decimal::ZERO,
        tax_code: None,
        shipping_address: Address::default(),
        referral_uid: None,
        source_channel: Some("api".into()),
    }
}

const ORDER_TABLES: &[&str] = &[
    "order_header",
    "order_line_item",
    "order_line_item_tax_line",
    "order_line_item_adjustment",
    "order_summary",
    "order_address",
    "link_order_referral",
    "payment_collection",
    "payment",
    "payment_capture",
    "link_order_payment_collection",
    "order_transaction",
    "fulfillment",
    "fulfillment_item",
    "link_order_fulfillment",
    "return_request",
    "return_item",
];

async fn counts(db: &Database) -> BTreeMap<&'static str, i64> {
    let client = db.client().await.expect("client");
    let mut out = BTreeMap::new();
    for table in ORDER_TABLES {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("count");
        out.insert(*table, row.get::<_, i64>(0));
    }
    out
}

/// Every event in the log, in offset order.
async fn events(log: &dyn EventLog) -> Vec<CommerceEvent> {
    log.read(StreamName::Commerce, "commands-test", 10_000)
        .await
        .expect("read the log")
        .into_iter()
        .map(|d| match d.event {
            Event::Commerce(e) => e,
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

async fn head(log: &dyn EventLog) -> u64 {
    log.stats(StreamName::Commerce)
        .await
        .expect("stats")
        .head_offset
}

async fn text(db: &Database, sql: &str, uid: &str) -> String {
    db.client()
        .await
        .expect("client")
        .query_one(sql, &[&uid])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}


#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn bench_tmp() {
    let f = setup().await;
    let n = 300;
    // warm-up
    for _ in 0..20 { place_order(&f.db, f.log.as_ref(), order(&f.cat)).await.expect("place"); }
    let fast_dir = tempfile::tempdir().unwrap();
    let fast: Arc<dyn EventLog> = Arc::new(SqliteLog::open(fast_dir.path(), SqliteOptions { fsync: strata_events::FsyncPolicy::Normal, ..SqliteOptions::default() }).unwrap());
    let t = std::time::Instant::now();
    for _ in 0..n { place_order(&f.db, fast.as_ref(), order(&f.cat)).await.expect("place"); }
    let cmd = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..n { place_order(&f.db, f.log.as_ref(), order(&f.cat)).await.expect("place"); }
    let cmd_full = t.elapsed();
    // raw: same 10 rows, one batch per transaction
    let client = f.db.client().await.unwrap();
    let t = std::time::Instant::now();
    for i in 0..n {
        let o = uid("ord");
        let (l1, l2) = (uid("ordli"), uid("ordli"));
        let m = r#"'{"value": "1.00", "currency_code": "usd"}'"#;
        let sql = format!("BEGIN;
INSERT INTO order_header (uid, order_number, display_id, store_uid, currency_code, item_total, raw_item_total, subtotal, raw_subtotal, shipping_total, raw_shipping_total, tax_total, raw_tax_total, total, raw_total, quantity, placed_ts) VALUES ('{o}', 'R{i}', {d}, 'sto_raw', 'usd', 1, {m}, 1, {m}, 0, {m}, 1, {m}, 1, {m}, 3, now());
INSERT INTO order_line_item (uid, order_uid, title, quantity, unit_price, raw_unit_price, subtotal, raw_subtotal, discount_total, raw_discount_total, tax_total, raw_tax_total, total, raw_total) VALUES ('{l1}', '{o}', 'A', 2, 1, {m}, 1, {m}, 1, {m}, 1, {m}, 1, {m}), ('{l2}', '{o}', 'B', 1, 1, {m}, 1, {m}, 1, {m}, 1, {m}, 1, {m});
INSERT INTO order_line_item_tax_line (uid, line_item_uid, code, rate, amount, raw_amount) VALUES ('{t1}', '{l1}', 'T', 8.25, 1, {m}), ('{t2}', '{l2}', 'T', 8.25, 1, {m});
INSERT INTO order_line_item_adjustment (uid, line_item_uid, amount, raw_amount) VALUES ('{a1}', '{l1}', 1, {m}), ('{a2}', '{l2}', 1, {m});
INSERT INTO order_summary (uid, order_uid, version, totals) VALUES ('{s}', '{o}', 1, '{{}}');
INSERT INTO order_address (uid, order_uid, address_role, city) VALUES ('{ad}', '{o}', 'shipping', 'Austin');
INSERT INTO link_order_referral (uid, order_uid, referral_uid) VALUES ('{lr}', '{o}', 'rfl_x');
COMMIT;", d = 100000 + i, t1 = uid("ordlitx"), t2 = uid("ordlitx"), a1 = uid("ordliadj"), a2 = uid("ordliadj"), s = uid("ordsum"), ad = uid("ordaddr"), lr = uid("lorf"));
        client.batch_execute(&sql).await.unwrap();
    }
    let raw = t.elapsed();
    println!("BENCH n={n} raw={:?} ({:.0}/s) command+log(normal)={:?} ({:.0}/s) command+log(full fsync)={:?} ({:.0}/s) ratio={:.2} ratio_full={:.2}",
        raw, n as f64 / raw.as_secs_f64(), cmd, n as f64 / cmd.as_secs_f64(), cmd_full, n as f64 / cmd_full.as_secs_f64(),
        raw.as_secs_f64() / cmd.as_secs_f64(), raw.as_secs_f64() / cmd_full.as_secs_f64());
}
