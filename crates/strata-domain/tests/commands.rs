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
async fn place_order_writes_the_order_and_one_enriched_event() {
    let f = setup().await;
    let before = counts(&f.db).await;
    let placed = place_order(&f.db, f.log.as_ref(), order(&f.cat))
        .await
        .expect("place the order");
    assert_eq!(placed.display_id, 1001);
    assert_eq!(placed.order_number, "#1001");
    assert_eq!(placed.line_item_uids.len(), 2);

    // Rows: exactly the order's.
    let after = counts(&f.db).await;
    let written: BTreeMap<&str, i64> = after
        .iter()
        .map(|(t, n)| (*t, n - before[t]))
        .filter(|(_, n)| *n != 0)
        .collect();
    let expected: BTreeMap<&str, i64> = [
        ("order_header", 1),
        ("order_line_item", 2),
        ("order_line_item_tax_line", 2),
        ("order_line_item_adjustment", 2),
        ("order_summary", 1),
        ("order_address", 1),
        ("link_order_referral", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(written, expected);

    // Totals, exact. Line A: 2 × 19.99 = 39.98, −4.00 (10 %), tax round(35.98 × 8.25 %) = 2.97,
    // total 38.95. Line B: 30.00 − 5.00, tax round(25.00 × 8.25 %) = 2.06, total 27.06.
    let o = &placed.order_uid;
    let header = text(
        &f.db,
        "SELECT concat_ws('|', subtotal, discount_total, tax_total, shipping_total, item_total, \
           total, quantity, tax_rate, email, currency_code, status->>'phase', \
           raw_total->>'value', raw_total->>'currency_code') FROM order_header WHERE uid = $1",
        o,
    )
    .await;
    assert_eq!(
        header,
        "69.9800|9.0000|5.0300|0.0000|66.0100|66.0100|3|8.250000|ava@example.com|usd|pending|66.01|usd"
    );
    let lines = text(
        &f.db,
        "SELECT string_agg(concat_ws('|', variant_sku, product_title, variant_title, quantity, \
           unit_price, subtotal, discount_total, tax_total, total, is_custom_price, \
           raw_unit_price->>'value'), ';' ORDER BY uid) FROM order_line_item WHERE order_uid = $1",
        o,
    )
    .await;
    assert_eq!(
        lines,
        "MDC-IP16P|Matte Daisy Case|iPhone 16 Pro|2|19.9900|39.9800|4.0000|2.9700|38.9500|f|19.99;\
         NTC-PX9|Neon Tiger Case|Pixel 9|1|30.0000|30.0000|5.0000|2.0600|27.0600|t|30.00"
    );
    let taxes = text(
        &f.db,
        "SELECT string_agg(concat_ws('|', t.code, t.rate, t.amount), ';' ORDER BY l.uid) \
         FROM order_line_item_tax_line t JOIN order_line_item l ON l.uid = t.line_item_uid \
         WHERE l.order_uid = $1",
        o,
    )
    .await;
    assert_eq!(taxes, "US-TX|8.250000|2.9700;US-TX|8.250000|2.0600");
    let adjustments = text(
        &f.db,
        "SELECT string_agg(concat_ws('|', a.code, a.amount, a.promotion_uid IS NOT NULL), ';' \
           ORDER BY l.uid) \
         FROM order_line_item_adjustment a JOIN order_line_item l ON l.uid = a.line_item_uid \
         WHERE l.order_uid = $1",
        o,
    )
    .await;
    assert_eq!(adjustments, "CREATOR10|4.0000|t;WELCOME5|5.0000|f");
    let summary = text(
        &f.db,
        "SELECT concat_ws('|', version, totals->>'total', totals->>'tax_total', \
           totals->>'paid_total') FROM order_summary WHERE order_uid = $1",
        o,
    )
    .await;
    assert_eq!(summary, "1|66.01|5.03|0.00");
    let addr = text(
        &f.db,
        "SELECT concat_ws('|', address_role, customer_uid IS NOT NULL, city, country_code) \
         FROM order_address WHERE order_uid = $1",
        o,
    )
    .await;
    assert_eq!(addr, "shipping|t|Austin|us");

    // Exactly one event, with everything analytics needs.
    let logged = events(f.log.as_ref()).await;
    assert_eq!(logged.len(), 1);
    let e = &logged[0];
    assert_eq!(e, &placed.event);
    assert_eq!(e.event_type(), "order_created");
    assert_eq!(e.source.as_str(), "strata-domain");
    let s = &e.body.order;
    assert_eq!(s.order_uid.as_str(), o);
    assert_eq!(s.order_number, "#1001");
    assert_eq!(s.store_uid.as_str(), f.cat.store);
    assert_eq!(
        s.customer_uid.as_ref().map(|c| c.as_str()),
        Some(f.cat.customer.as_str())
    );
    assert_eq!(s.customer_email.as_deref(), Some("ava@example.com"));
    assert_eq!(
        s.region_uid.as_ref().map(|r| r.as_str()),
        Some(f.cat.region.as_str())
    );
    assert_eq!(
        s.sales_channel_uid.as_ref().map(|r| r.as_str()),
        Some(f.cat.channel.as_str())
    );
    assert_eq!(s.currency_code.as_str(), "usd");
    assert_eq!(s.subtotal.value(), dec("69.98"));
    assert_eq!(s.discount_total.value(), dec("9.00"));
    assert_eq!(s.tax_total.value(), dec("5.03"));
    assert_eq!(s.shipping_total.value(), dec("0"));
    assert_eq!(s.item_total.value(), dec("66.01"));
    assert_eq!(s.total.value(), dec("66.01"));
    assert_eq!(s.lines.len(), 2);
    let a = &s.lines[0];
    assert_eq!(a.line_item_uid.as_str(), placed.line_item_uids[0]);
    assert_eq!(
        a.product_uid.as_ref().map(|p| p.as_str()),
        Some(f.cat.product_a.as_str())
    );
    assert_eq!(a.product_title.as_deref(), Some("Matte Daisy Case"));
    assert_eq!(a.product_handle.as_deref(), Some("matte-daisy-case"));
    assert_eq!(
        a.variant_uid.as_ref().map(|v| v.as_str()),
        Some(f.cat.variant_a.as_str())
    );
    assert_eq!(a.variant_title.as_deref(), Some("iPhone 16 Pro"));
    assert_eq!(a.sku.as_deref(), Some("MDC-IP16P"));
    assert_eq!(a.quantity, 2);
    assert_eq!(a.unit_price.value(), dec("19.99"));
    assert_eq!(a.subtotal.value(), dec("39.98"));
    assert_eq!(a.discount_total.value(), dec("4.00"));
    assert_eq!(a.tax_total.value(), dec("2.97"));
    assert_eq!(a.total.value(), dec("38.95"));
    let b = &s.lines[1];
    assert_eq!(b.sku.as_deref(), Some("NTC-PX9"));
    assert_eq!(b.product_title.as_deref(), Some("Neon Tiger Case"));
    assert_eq!(b.quantity, 1);
    assert_eq!(b.unit_price.value(), dec("30"));
    assert_eq!(b.total.value(), dec("27.06"));
    let attribution = e.body.attribution.as_ref().expect("attribution");
    assert_eq!(attribution.publisher_uid.as_str(), f.cat.publisher);
    assert_eq!(
        attribution.referral_uid.as_ref().map(|r| r.as_str()),
        Some(f.cat.referral.as_str())
    );
    assert_eq!(
        attribution.referral_link_uid.as_ref().map(|r| r.as_str()),
        Some(f.cat.referral_link.as_str())
    );
    // The wire form carries the amounts as exact decimal strings.
    let json: serde_json::Value =
        serde_json::from_str(&Event::Commerce(e.clone()).to_json().expect("json")).expect("parse");
    assert_eq!(json["total"], "66.0100");
    assert_eq!(json["lines"][0]["sku"], "MDC-IP16P");
    assert_eq!(
        json["attribution"]["publisher_uid"],
        f.cat.publisher.as_str()
    );
    // The id is deterministic: order_created, the order, sequence 1, at placed_ts.
    assert_eq!(
        e.event_id,
        strata_domain::commands::event_id(
            strata_events::CommerceEventType::OrderCreated,
            o,
            1,
            e.occurred_ts
        )
    );
    let placed_ts: DateTime<Utc> =
        f.db.client()
            .await
            .expect("client")
            .query_one("SELECT placed_ts FROM order_header WHERE uid = $1", &[o])
            .await
            .expect("placed_ts")
            .get(0);
    assert_eq!(e.occurred_ts, placed_ts);

    // A guest order: no customer, no attribution, the email given.
    let guest = place_order(&f.db, f.log.as_ref(), guest_order(&f.cat, 3))
        .await
        .expect("guest order");
    assert_eq!(guest.order_number, "#1002");
    assert!(guest.event.body.order.customer_uid.is_none());
    assert!(guest.event.body.attribution.is_none());
    assert_eq!(
        guest.event.body.order.customer_email.as_deref(),
        Some("guest@example.com")
    );
    assert_eq!(guest.event.body.order.total.value(), dec("30"));
    assert_eq!(head(f.log.as_ref()).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_placement_writes_nothing_and_emits_nothing() {
    let f = setup().await;
    let before = counts(&f.db).await;

    let mut unknown_variant = order(&f.cat);
    unknown_variant.lines[1].variant_uid = uid("var");
    let err = place_order(&f.db, f.log.as_ref(), unknown_variant)
        .await
        .expect_err("unknown variant");
    match &err {
        CommandError::Invalid { field, message } => {
            assert_eq!(field, "lines[1].variant_uid");
            assert!(message.contains("unknown variant"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }

    let mut zero = order(&f.cat);
    zero.lines[0].quantity = 0;
    let err = place_order(&f.db, f.log.as_ref(), zero)
        .await
        .expect_err("zero quantity");
    assert!(
        matches!(&err, CommandError::Invalid { field, .. } if field == "lines[0].quantity"),
        "{err:?}"
    );

    let mut mismatch = order(&f.cat);
    mismatch.region_uid = f.cat.eur_region.clone();
    let err = place_order(&f.db, f.log.as_ref(), mismatch)
        .await
        .expect_err("currency mismatch");
    assert!(
        matches!(&err, CommandError::Invalid { field, .. } if field == "currency_code"),
        "{err:?}"
    );

    let mut no_price = guest_order(&f.cat, 1);
    no_price.lines[0].unit_price = None;
    let err = place_order(&f.db, f.log.as_ref(), no_price)
        .await
        .expect_err("no price");
    assert!(
        matches!(&err, CommandError::Invalid { field, .. } if field == "lines[0].unit_price"),
        "{err:?}"
    );

    let mut too_much_off = order(&f.cat);
    too_much_off.lines[1].discount = Some(LineDiscount::Amount {
        amount: dec("31.00"),
        code: None,
    });
    let err = place_order(&f.db, f.log.as_ref(), too_much_off)
        .await
        .expect_err("discount above the subtotal");
    assert!(matches!(err, CommandError::Invalid { .. }), "{err:?}");

    let mut unknown_code = order(&f.cat);
    unknown_code.lines[0].discount = Some(LineDiscount::Code("NOPE".into()));
    let err = place_order(&f.db, f.log.as_ref(), unknown_code)
        .await
        .expect_err("unknown promotion code");
    assert!(
        matches!(&err, CommandError::Invalid { field, .. } if field == "lines[0].discount.code"),
        "{err:?}"
    );

    let mut no_store = order(&f.cat);
    no_store.store_uid = uid("sto");
    let err = place_order(&f.db, f.log.as_ref(), no_store)
        .await
        .expect_err("unknown store");
    assert!(
        matches!(err, CommandError::NotFound { what: "store", .. }),
        "{err:?}"
    );

    let mut no_referral = order(&f.cat);
    no_referral.referral_uid = Some(uid("rfl"));
    let err = place_order(&f.db, f.log.as_ref(), no_referral)
        .await
        .expect_err("unknown referral");
    assert!(
        matches!(
            err,
            CommandError::NotFound {
                what: "referral",
                ..
            }
        ),
        "{err:?}"
    );

    assert_eq!(counts(&f.db).await, before, "nothing may be written");
    assert_eq!(head(f.log.as_ref()).await, 0, "no event may be emitted");

    // The failures used no order number.
    let placed = place_order(&f.db, f.log.as_ref(), order(&f.cat))
        .await
        .expect("a valid order");
    assert_eq!(placed.order_number, "#1001");
}

/// Asserts that exactly one new event arrived, of `event_type`, and returns it.
async fn one_new_event(log: &dyn EventLog, seen: &mut usize, event_type: &str) -> CommerceEvent {
    let all = events(log).await;
    assert_eq!(all.len(), *seen + 1, "exactly one new event ({event_type})");
    *seen += 1;
    let e = all.last().cloned().expect("an event");
    assert_eq!(e.event_type(), event_type);
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn the_order_lifecycle_writes_its_rows_and_one_event_per_step() {
    let f = setup().await;
    let log = f.log.as_ref();
    let placed = place_order(&f.db, log, order(&f.cat)).await.expect("place");
    let o = placed.order_uid.clone();
    let (line_a, line_b) = (
        placed.line_item_uids[0].clone(),
        placed.line_item_uids[1].clone(),
    );
    let mut seen = 1;

    // Nothing shipped yet: nothing can be returned.
    let err = request_return(
        &f.db,
        log,
        RequestReturn {
            order_uid: o.clone(),
            lines: vec![ReturnLineInput {
                line_item_uid: line_a.clone(),
                quantity: 1,
                reason_uid: None,
            }],
            note: None,
        },
    )
    .await
    .expect_err("return before shipping");
    assert!(
        matches!(&err, CommandError::Invalid { field, .. } if field == "lines[0].quantity"),
        "{err:?}"
    );

    // Capture 20.00, then the rest (46.01); a third capture has nothing left.
    let before = counts(&f.db).await;
    let first = capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: Some(dec("20.00")),
            provider_uid: None,
        },
    )
    .await
    .expect("first capture");
    assert_eq!(first.amount, dec("20.00"));
    let e1 = one_new_event(log, &mut seen, "payment_captured").await;
    assert_eq!(e1, first.event);
    match &e1.body.kind {
        CommerceKind::PaymentCaptured {
            payment_uid,
            amount,
        } => {
            assert_eq!(payment_uid.as_str(), first.payment_uid);
            assert_eq!(amount.value(), dec("20"));
        }
        other => panic!("unexpected kind {other:?}"),
    }
    assert_eq!(e1.body.order.total.value(), dec("66.01"));
    assert!(e1.body.attribution.is_some());
    let after = counts(&f.db).await;
    for (table, n) in [
        ("payment_collection", 1),
        ("payment", 1),
        ("payment_capture", 1),
        ("link_order_payment_collection", 1),
        ("order_transaction", 1),
    ] {
        assert_eq!(after[table] - before[table], n, "{table}");
    }
    let too_much = capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: Some(dec("50.00")),
            provider_uid: None,
        },
    )
    .await
    .expect_err("more than is left");
    assert!(
        matches!(&too_much, CommandError::Invalid { field, .. } if field == "amount"),
        "{too_much:?}"
    );
    let second = capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: None,
            provider_uid: None,
        },
    )
    .await
    .expect("second capture");
    assert_eq!(second.amount, dec("46.01"));
    assert_eq!(second.captured_total, dec("66.01"));
    assert_eq!(second.payment_uid, first.payment_uid);
    let e2 = one_new_event(log, &mut seen, "payment_captured").await;
    assert_ne!(e2.event_id, e1.event_id);
    let err = capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: None,
            provider_uid: None,
        },
    )
    .await
    .expect_err("fully captured");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");
    let paid = text(
        &f.db,
        "SELECT concat_ws('|', pc.status->>'phase', pc.captured_amount, p.status->>'phase', \
           s.totals->>'paid_total') \
         FROM link_order_payment_collection l \
         JOIN payment_collection pc ON pc.uid = l.payment_collection_uid \
         JOIN payment p ON p.payment_collection_uid = pc.uid \
         JOIN order_summary s ON s.order_uid = l.order_uid WHERE l.order_uid = $1",
        &o,
    )
    .await;
    assert_eq!(paid, "completed|66.0100|captured|66.01");

    // Ship one unit of line A, then the rest; nothing is left after that.
    let before = counts(&f.db).await;
    let ship1 = ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: f.cat.location.clone(),
            lines: Some(vec![LineQuantityInput {
                line_item_uid: line_a.clone(),
                quantity: 1,
            }]),
        },
    )
    .await
    .expect("first shipment");
    let e3 = one_new_event(log, &mut seen, "fulfillment_shipped").await;
    match &e3.body.kind {
        CommerceKind::FulfillmentShipped {
            fulfillment_uid,
            location_uid,
            lines,
        } => {
            assert_eq!(fulfillment_uid.as_str(), ship1.fulfillment_uid);
            assert_eq!(location_uid.as_str(), f.cat.location);
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].line_item_uid.as_str(), line_a);
            assert_eq!(lines[0].quantity, 1);
        }
        other => panic!("unexpected kind {other:?}"),
    }
    let err = ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: f.cat.location.clone(),
            lines: Some(vec![LineQuantityInput {
                line_item_uid: line_b.clone(),
                quantity: 2,
            }]),
        },
    )
    .await
    .expect_err("more than ordered");
    assert!(matches!(err, CommandError::Invalid { .. }), "{err:?}");
    let err = ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: uid("sloc"),
            lines: None,
        },
    )
    .await
    .expect_err("unknown location");
    assert!(
        matches!(
            err,
            CommandError::NotFound {
                what: "stock_location",
                ..
            }
        ),
        "{err:?}"
    );
    let ship2 = ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: f.cat.location.clone(),
            lines: None,
        },
    )
    .await
    .expect("second shipment");
    assert_eq!(
        ship2.lines,
        vec![
            LineQuantityInput {
                line_item_uid: line_a.clone(),
                quantity: 1
            },
            LineQuantityInput {
                line_item_uid: line_b.clone(),
                quantity: 1
            },
        ]
    );
    let e4 = one_new_event(log, &mut seen, "fulfillment_shipped").await;
    assert_ne!(e4.event_id, e3.event_id);
    let err = ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: f.cat.location.clone(),
            lines: None,
        },
    )
    .await
    .expect_err("nothing left to ship");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");
    let after = counts(&f.db).await;
    for (table, n) in [
        ("fulfillment", 2),
        ("fulfillment_item", 3),
        ("link_order_fulfillment", 2),
    ] {
        assert_eq!(after[table] - before[table], n, "{table}");
    }
    let shipped = text(
        &f.db,
        "SELECT string_agg(concat_ws('|', quantity, shipped_quantity, fulfilled_quantity), ';' \
           ORDER BY uid) FROM order_line_item WHERE order_uid = $1",
        &o,
    )
    .await;
    assert_eq!(shipped, "2|2|2;1|1|1");
    let fulfillment = text(
        &f.db,
        "SELECT concat_ws('|', status->>'phase', shipped_ts IS NOT NULL, \
           delivery_address->>'city') FROM fulfillment WHERE uid = $1",
        &ship1.fulfillment_uid,
    )
    .await;
    assert_eq!(fulfillment, "shipped|t|Austin");

    // Return one unit of line A; asking back two more is too many.
    let before = counts(&f.db).await;
    let ret = request_return(
        &f.db,
        log,
        RequestReturn {
            order_uid: o.clone(),
            lines: vec![ReturnLineInput {
                line_item_uid: line_a.clone(),
                quantity: 1,
                reason_uid: Some(f.cat.reason.clone()),
            }],
            note: Some("cracked corner".into()),
        },
    )
    .await
    .expect("return");
    assert_eq!(ret.display_id, 1);
    // Half of line A's 38.95.
    assert_eq!(ret.refund_amount, dec("19.48"));
    let e5 = one_new_event(log, &mut seen, "return_requested").await;
    match &e5.body.kind {
        CommerceKind::ReturnRequested { return_uid, lines } => {
            assert_eq!(return_uid.as_str(), ret.return_uid);
            assert_eq!(lines.len(), 1);
            assert_eq!(lines[0].line_item_uid.as_str(), line_a);
            assert_eq!(lines[0].quantity, 1);
        }
        other => panic!("unexpected kind {other:?}"),
    }
    let err = request_return(
        &f.db,
        log,
        RequestReturn {
            order_uid: o.clone(),
            lines: vec![ReturnLineInput {
                line_item_uid: line_a.clone(),
                quantity: 2,
                reason_uid: None,
            }],
            note: None,
        },
    )
    .await
    .expect_err("more than is left to return");
    match &err {
        CommandError::Invalid { field, message } => {
            assert_eq!(field, "lines[0].quantity");
            assert!(message.contains("at most 1"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let err = request_return(
        &f.db,
        log,
        RequestReturn {
            order_uid: o.clone(),
            lines: vec![ReturnLineInput {
                line_item_uid: line_b.clone(),
                quantity: 1,
                reason_uid: Some(uid("rr")),
            }],
            note: None,
        },
    )
    .await
    .expect_err("unknown reason");
    assert!(
        matches!(
            err,
            CommandError::NotFound {
                what: "return_reason",
                ..
            }
        ),
        "{err:?}"
    );
    let after = counts(&f.db).await;
    assert_eq!(after["return_request"] - before["return_request"], 1);
    assert_eq!(after["return_item"] - before["return_item"], 1);

    // Complete; completing again is a conflict.
    let done = complete_order(&f.db, log, &o).await.expect("complete");
    let e6 = one_new_event(log, &mut seen, "order_completed").await;
    assert_eq!(e6, done.event);
    assert_eq!(
        text(
            &f.db,
            "SELECT concat_ws('|', status->>'phase', status->'conditions'->0->>'type') \
             FROM order_header WHERE uid = $1",
            &o
        )
        .await,
        "completed|Completed"
    );
    let err = complete_order(&f.db, log, &o)
        .await
        .expect_err("already completed");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");

    // A canceled order takes no command.
    let canceled = place_order(&f.db, log, guest_order(&f.cat, 1))
        .await
        .expect("second order");
    seen += 1;
    f.db.client()
        .await
        .expect("client")
        .execute(
            "UPDATE order_header SET status = '{\"phase\": \"canceled\", \"conditions\": []}' \
             WHERE uid = $1",
            &[&canceled.order_uid],
        )
        .await
        .expect("cancel");
    let c = &canceled.order_uid;
    let err = complete_order(&f.db, log, c).await.expect_err("canceled");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");
    let capture = CapturePayment {
        order_uid: c.clone(),
        amount: None,
        provider_uid: None,
    };
    let err = capture_payment(&f.db, log, capture)
        .await
        .expect_err("canceled");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");
    let ship = ShipFulfillment {
        order_uid: c.clone(),
        location_uid: f.cat.location.clone(),
        lines: None,
    };
    let err = ship_fulfillment(&f.db, log, ship)
        .await
        .expect_err("canceled");
    assert!(matches!(err, CommandError::Conflict(_)), "{err:?}");
    let err = complete_order(&f.db, log, &uid("ord"))
        .await
        .expect_err("unknown order");
    assert!(
        matches!(
            err,
            CommandError::NotFound {
                what: "order_header",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(head(log).await as usize, seen, "failures emit nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn reemit_rebuilds_the_same_events_and_adds_no_duplicates() {
    let f = setup().await;
    let since = Utc::now() - chrono::Duration::hours(1);
    let log = f.log.as_ref();
    let placed = place_order(&f.db, log, order(&f.cat)).await.expect("place");
    let o = placed.order_uid.clone();
    capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: Some(dec("10.00")),
            provider_uid: None,
        },
    )
    .await
    .expect("capture 1");
    capture_payment(
        &f.db,
        log,
        CapturePayment {
            order_uid: o.clone(),
            amount: None,
            provider_uid: None,
        },
    )
    .await
    .expect("capture 2");
    ship_fulfillment(
        &f.db,
        log,
        ShipFulfillment {
            order_uid: o.clone(),
            location_uid: f.cat.location.clone(),
            lines: None,
        },
    )
    .await
    .expect("ship");
    request_return(
        &f.db,
        log,
        RequestReturn {
            order_uid: o.clone(),
            lines: vec![ReturnLineInput {
                line_item_uid: placed.line_item_uids[1].clone(),
                quantity: 1,
                reason_uid: None,
            }],
            note: None,
        },
    )
    .await
    .expect("return");
    complete_order(&f.db, log, &o).await.expect("complete");
    place_order(&f.db, log, guest_order(&f.cat, 2))
        .await
        .expect("second order");
    let original = events(log).await;
    assert_eq!(original.len(), 7);

    // Re-emitting into the same log adds nothing.
    let report = reemit_order_events(&f.db, log, since)
        .await
        .expect("reemit");
    assert_eq!(report.orders, 2);
    assert_eq!(report.events, 7);
    assert_eq!(report.appended, 0);
    assert_eq!(report.duplicates, 7);
    assert_eq!(report.skipped, 0);
    assert_eq!(head(log).await, 7);

    // The log file is lost: a fresh log gets the very same events back from PostgreSQL.
    drop(f.log);
    std::fs::remove_dir_all(f.log_dir.path()).expect("delete the log");
    let fresh = open_log(&f.log_dir);
    let report = reemit_order_events(&f.db, fresh.as_ref(), since)
        .await
        .expect("reemit into a fresh log");
    assert_eq!(report.appended, 7);
    assert_eq!(report.duplicates, 0);
    let rebuilt = events(fresh.as_ref()).await;
    let by_id = |events: &[CommerceEvent]| {
        events
            .iter()
            .map(|e| (e.event_id.clone(), e.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(by_id(&rebuilt), by_id(&original));
    // Same JSON too (what the lake receives).
    for e in &rebuilt {
        let other = &by_id(&original)[&e.event_id];
        assert_eq!(
            Event::Commerce(e.clone()).to_json().expect("json"),
            Event::Commerce(other.clone()).to_json().expect("json")
        );
    }

    // Running it again adds no duplicates.
    let again = reemit_order_events(&f.db, fresh.as_ref(), since)
        .await
        .expect("reemit again");
    assert_eq!(again.appended, 0);
    assert_eq!(again.duplicates, 7);
    assert_eq!(head(fresh.as_ref()).await, 7);

    // Nothing changed since now: nothing to re-emit.
    let none = reemit_order_events(
        &f.db,
        fresh.as_ref(),
        Utc::now() + chrono::Duration::hours(1),
    )
    .await
    .expect("reemit nothing");
    assert_eq!(none.orders, 0);
    assert_eq!(none.events, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_placements_get_unique_order_numbers() {
    let f = setup().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = Arc::clone(&f.db);
            let log = Arc::clone(&f.log);
            let cmd = guest_order(&f.cat, 1 + i % 3);
            tokio::spawn(async move { place_order(&db, log.as_ref(), cmd).await })
        })
        .collect();
    let mut numbers = HashSet::new();
    let mut ids = Vec::new();
    for task in tasks {
        let placed = task.await.expect("task").expect("place_order");
        assert!(numbers.insert(placed.order_number.clone()));
        ids.push(placed.display_id);
    }
    ids.sort_unstable();
    assert_eq!(ids, (1001..=1020).collect::<Vec<i64>>());
    assert_eq!(head(f.log.as_ref()).await, 20);
    let logged: HashSet<String> = events(f.log.as_ref())
        .await
        .into_iter()
        .map(|e| e.body.order.order_number)
        .collect();
    assert_eq!(logged, numbers);
}

#[tokio::test(flavor = "multi_thread")]
async fn numbering_continues_after_imported_orders() {
    let f = setup().await;
    // An imported (or seeded) order whose number runs 1000 ahead of its display id.
    f.db.client()
        .await
        .expect("client")
        .execute(
            "INSERT INTO order_header (uid, order_number, display_id, store_uid, currency_code, \
               item_total, raw_item_total, subtotal, raw_subtotal, shipping_total, \
               raw_shipping_total, tax_total, raw_tax_total, total, raw_total, quantity, placed_ts) \
             VALUES ($1, '#2500', 1500, $2, 'usd', 0, '{}', 0, '{}', 0, '{}', 0, '{}', 0, '{}', \
               0, now())",
            &[&uid("ord"), &f.cat.store],
        )
        .await
        .expect("insert an imported order");
    let placed = place_order(&f.db, f.log.as_ref(), guest_order(&f.cat, 1))
        .await
        .expect("place after the import");
    assert_eq!(placed.order_number, "#2501");
    assert_eq!(placed.display_id, 2501);
    let next = place_order(&f.db, f.log.as_ref(), guest_order(&f.cat, 1))
        .await
        .expect("and the next");
    assert_eq!(next.order_number, "#2502");
}

/// A log that refuses every append (a full disk, a lost volume).
struct BrokenLog;

type LogFuture<'a, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, strata_events::LogError>> + Send + 'a>,
>;

fn broken() -> strata_events::LogError {
    strata_events::LogError::Open {
        path: "/lost/events.sqlite".into(),
        reason: "disk full".into(),
    }
}

// `EventLog` is an `async_trait`; this is its expansion, written out.
impl EventLog for BrokenLog {
    fn append<'s, 'f>(
        &'s self,
        _stream: StreamName,
        _events: Vec<Event>,
    ) -> LogFuture<'f, strata_events::AppendReceipt>
    where
        's: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(broken()) })
    }

    fn read<'s, 'c, 'f>(
        &'s self,
        _stream: StreamName,
        _consumer: &'c str,
        _max: usize,
    ) -> LogFuture<'f, Vec<strata_events::Delivery>>
    where
        's: 'f,
        'c: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(broken()) })
    }

    fn commit<'s, 'c, 'f>(
        &'s self,
        _stream: StreamName,
        _consumer: &'c str,
        _offset: u64,
    ) -> LogFuture<'f, u64>
    where
        's: 'f,
        'c: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(broken()) })
    }

    fn stats<'s, 'f>(&'s self, _stream: StreamName) -> LogFuture<'f, strata_events::StreamStats>
    where
        's: 'f,
        Self: 'f,
    {
        Box::pin(async { Err(broken()) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_log_is_reported_and_reemit_repairs_it() {
    let f = setup().await;
    let since = Utc::now() - chrono::Duration::hours(1);
    let err = place_order(&f.db, &BrokenLog, order(&f.cat))
        .await
        .expect_err("the log refuses the event");
    let CommandError::EventLog {
        order_uid,
        event_id,
        attempts,
        ..
    } = &err
    else {
        panic!("expected EventLog, got {err:?}");
    };
    assert_eq!(*attempts, strata_domain::commands::APPEND_ATTEMPTS);
    let message = err.to_string();
    assert!(message.contains("IS committed"), "{message}");
    assert!(message.contains("reemit_order_events"), "{message}");
    // The order is committed…
    assert_eq!(counts(&f.db).await["order_header"], 1);
    assert_eq!(head(f.log.as_ref()).await, 0);
    // …and the recovery path appends its event, under the id the error named.
    let report = reemit_order_events(&f.db, f.log.as_ref(), since)
        .await
        .expect("reemit");
    assert_eq!(report.appended, 1);
    let logged = events(f.log.as_ref()).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(&logged[0].event_id, event_id);
    assert_eq!(logged[0].body.order.order_uid.as_str(), order_uid);
    assert_eq!(logged[0].event_type(), "order_created");
}
