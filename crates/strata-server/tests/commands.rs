//! The domain commands over real HTTP against the real PostgreSQL server: place an order, capture,
//! ship, return and complete it; the rows, the audit trail and exactly one enriched event per
//! command; every error class as problem+json with nothing written; the OpenAPI document and the
//! server agreeing on which bodies are valid; an unwritable event log.

mod common;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use strata_events::{EventLog, StreamName};
use ulid::Ulid;

use common::{Schemas, Server, is_problem, start};

fn uid(prefix: &str) -> String {
    format!("{prefix}_{}", Ulid::new())
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
    .expect("decimal")
}

/// The catalogue the tests order from (the rows the domain's command tests use).
struct Catalog {
    store: String,
    region: String,
    eur_region: String,
    channel: String,
    customer: String,
    location: String,
    /// 19.99 usd, product "Matte Daisy Case".
    variant_a: String,
    /// 24.99 usd, product "Neon Tiger Case".
    variant_b: String,
    /// No price.
    variant_c: String,
    product_a: String,
    product_b: String,
    referral: String,
    publisher: String,
    referral_link: String,
    reason: String,
}

async fn seed(s: &Server) -> Catalog {
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
        product_b: uid("prd"),
        referral: uid("rfl"),
        publisher: uid("pub"),
        referral_link: uid("rlnk"),
        reason: uid("rr"),
    };
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
        product_b = cat.product_b,
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
    s.db.client()
        .await
        .expect("client")
        .batch_execute(&sql)
        .await
        .expect("create the catalogue");
    cat
}

/// Two lines: 2 × variant A at its catalogue price with CREATOR10 (10 %), 1 × variant B at 30.00
/// with 5.00 off; 8.25 % tax; the customer; attributed to the referral. Total 66.01.
fn order_body(cat: &Catalog) -> Value {
    json!({
        "store_uid": cat.store,
        "customer_uid": cat.customer,
        "region_uid": cat.region,
        "sales_channel_uid": cat.channel,
        "currency_code": "usd",
        "lines": [
            {"variant_uid": cat.variant_a, "quantity": 2, "discount": {"code": "CREATOR10"}},
            {"variant_uid": cat.variant_b, "quantity": 1, "unit_price": "30.00",
             "discount": {"amount": {"amount": "5.00", "code": "WELCOME5"}}},
        ],
        "tax_rate_percent": "8.25",
        "tax_code": "US-TX",
        "shipping_address": {"first_name": "Ava", "last_name": "Chen", "address_1": "1 Main Street",
                             "city": "Austin", "country_code": "us", "postal_code": "78701"},
        "referral_uid": cat.referral,
    })
}

/// A guest order of `quantity` × variant C at 10.00, no tax.
fn guest_body(cat: &Catalog, quantity: i64) -> Value {
    json!({
        "store_uid": cat.store,
        "email": "guest@example.com",
        "region_uid": cat.region,
        "sales_channel_uid": cat.channel,
        "currency_code": "usd",
        "lines": [{"variant_uid": cat.variant_c, "quantity": quantity, "unit_price": 10}],
        "tax_rate_percent": 0,
        "shipping_address": {},
        "source_channel": "api",
    })
}

/// Every table a command writes, and the audit trail.
const TABLES: &[&str] = &[
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
    "audit_event",
];

async fn counts(s: &Server) -> BTreeMap<&'static str, i64> {
    let client = s.db.client().await.expect("client");
    let mut out = BTreeMap::new();
    for table in TABLES {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("count");
        out.insert(*table, row.get::<_, i64>(0));
    }
    out
}

fn written(
    before: &BTreeMap<&'static str, i64>,
    after: &BTreeMap<&'static str, i64>,
) -> BTreeMap<&'static str, i64> {
    after
        .iter()
        .map(|(t, n)| (*t, n - before[t]))
        .filter(|(_, n)| *n != 0)
        .collect()
}

/// Every commerce event in the log, as the stream stores it, in offset order.
async fn events(s: &Server) -> Vec<Value> {
    s.log
        .read(StreamName::Commerce, "commands-http-test", 10_000)
        .await
        .expect("read the log")
        .into_iter()
        .map(|d| serde_json::from_str(&d.event.to_json().expect("json")).expect("parse"))
        .collect()
}

fn location(h: &reqwest::header::HeaderMap) -> Option<&str> {
    h.get("location").and_then(|v| v.to_str().ok())
}

async fn one_text(s: &Server, sql: &str, key: &str) -> String {
    s.db.client()
        .await
        .expect("client")
        .query_one(sql, &[&key])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn place_capture_ship_return_and_complete_over_http() {
    let s = start().await;
    let cat = seed(&s).await;
    let schemas = Schemas::of(&s.openapi().await);

    // ---- place ----
    let before = counts(&s).await;
    let (st, h, placed) = s.post("/v1/orders", order_body(&cat)).await;
    assert_eq!(st, StatusCode::CREATED, "{placed}");
    schemas.assert_valid("PlacedOrder", &placed);
    let o = placed["order_uid"].as_str().expect("order uid").to_string();
    assert_eq!(location(&h), Some(format!("/v1/orders/{o}").as_str()));
    assert_eq!(placed["order_number"], "#1001");
    assert_eq!(placed["display_id"], 1001);
    assert_eq!(placed["event_appended"], true);
    let lines: Vec<String> = placed["line_item_uids"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|v| v.as_str().expect("uid").to_string())
        .collect();
    assert_eq!(lines.len(), 2);

    // Every row of the order, and one audit row.
    let expected: BTreeMap<&str, i64> = [
        ("order_header", 1),
        ("order_line_item", 2),
        ("order_line_item_tax_line", 2),
        ("order_line_item_adjustment", 2),
        ("order_summary", 1),
        ("order_address", 1),
        ("link_order_referral", 1),
        ("audit_event", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(written(&before, &counts(&s).await), expected);
    let header = one_text(
        &s,
        "SELECT concat_ws('|', order_number, total, tax_total, email, status->>'phase') \
         FROM order_header WHERE uid = $1",
        &o,
    )
    .await;
    assert_eq!(header, "#1001|66.0100|5.0300|ava@example.com|pending");
    let taxes = one_text(
        &s,
        "SELECT string_agg(concat_ws('|', t.code, t.amount), ';' ORDER BY l.uid) \
         FROM order_line_item_tax_line t JOIN order_line_item l ON l.uid = t.line_item_uid \
         WHERE l.order_uid = $1",
        &o,
    )
    .await;
    assert_eq!(taxes, "US-TX|2.9700;US-TX|2.0600");
    let summary = one_text(
        &s,
        "SELECT concat_ws('|', version, totals->>'total', totals->>'paid_total') \
         FROM order_summary WHERE order_uid = $1",
        &o,
    )
    .await;
    assert_eq!(summary, "1|66.01|0.00");
    let audit = one_text(
        &s,
        "SELECT concat_ws('|', action, target_table, actor_principal_uid, api_key_uid, \
           change->>'command', change->'input'->>'store_uid', request_id IS NOT NULL) \
         FROM audit_event WHERE target_key = $1",
        &o,
    )
    .await;
    assert_eq!(
        audit,
        format!(
            "create|order_header|{}|{}|place_order|{}|t",
            s.admin_principal, s.admin_key_uid, cat.store
        )
    );

    // Exactly one event, denormalized, identical to the one in the answer.
    let logged = events(&s).await;
    assert_eq!(logged.len(), 1);
    let e = &logged[0];
    assert_eq!(e, &placed["event"]);
    assert_eq!(e["event_type"], "order_created");
    assert_eq!(e["order_uid"], o.as_str());
    assert_eq!(e["order_number"], "#1001");
    assert_eq!(e["store_uid"], cat.store.as_str());
    assert_eq!(e["customer_uid"], cat.customer.as_str());
    assert_eq!(e["customer_email"], "ava@example.com");
    assert_eq!(e["region_uid"], cat.region.as_str());
    assert_eq!(e["sales_channel_uid"], cat.channel.as_str());
    assert_eq!(e["currency_code"], "usd");
    assert_eq!(dec(&e["total"]), Decimal::new(6601, 2));
    assert_eq!(dec(&e["discount_total"]), Decimal::new(900, 2));
    assert_eq!(dec(&e["tax_total"]), Decimal::new(503, 2));
    assert_eq!(e["attribution"]["publisher_uid"], cat.publisher.as_str());
    assert_eq!(e["attribution"]["referral_uid"], cat.referral.as_str());
    let l = &e["lines"];
    assert_eq!(l[0]["line_item_uid"], lines[0].as_str());
    assert_eq!(l[0]["product_uid"], cat.product_a.as_str());
    assert_eq!(l[0]["variant_uid"], cat.variant_a.as_str());
    assert_eq!(l[0]["product_title"], "Matte Daisy Case");
    assert_eq!(l[0]["variant_title"], "iPhone 16 Pro");
    assert_eq!(l[0]["sku"], "MDC-IP16P");
    assert_eq!(l[0]["quantity"], 2);
    assert_eq!(dec(&l[0]["unit_price"]), Decimal::new(1999, 2));
    assert_eq!(dec(&l[0]["total"]), Decimal::new(3895, 2));
    assert_eq!(l[1]["product_uid"], cat.product_b.as_str());
    assert_eq!(l[1]["variant_uid"], cat.variant_b.as_str());
    assert_eq!(l[1]["sku"], "NTC-PX9");
    assert_eq!(l[1]["quantity"], 1);
    assert_eq!(dec(&l[1]["unit_price"]), Decimal::new(30, 0));

    // The order reads back through the existing route.
    let (st, _, got) = s.get(&format!("/v1/orders/{o}?include=lineItems")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got["line_items"].as_array().map(Vec::len), Some(2));

    // ---- capture: part, then the rest (no body at all), then nothing is left ----
    let payments = format!("/v1/orders/{o}/payments");
    let (st, h, first) = s.post(&payments, json!({"amount": "16.01"})).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    schemas.assert_valid("CapturedPayment", &first);
    assert_eq!(
        (&first["amount"], &first["captured_total"]),
        (&json!("16.01"), &json!("16.01"))
    );
    let capture_uid = first["capture_uid"].as_str().expect("capture").to_string();
    let capture_at = format!("/v1/resources/payment_capture/{capture_uid}");
    assert_eq!(location(&h), Some(capture_at.as_str()));
    assert_eq!(s.get(&capture_at).await.0, StatusCode::OK);
    let (st, _, rest) = s.post_raw(&payments, None, "").await;
    assert_eq!(st, StatusCode::CREATED, "{rest}");
    assert_eq!(
        (&rest["amount"], &rest["captured_total"]),
        (&json!("50.00"), &json!("66.01"))
    );
    assert_eq!(
        rest["payment_collection_uid"],
        first["payment_collection_uid"]
    );
    let (st, h, more) = s.post(&payments, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{more}");
    assert!(is_problem(&h));

    // ---- ship one unit, then the rest; then nothing is left ----
    let fulfillments = format!("/v1/orders/{o}/fulfillments");
    let (st, h, ship1) = s
        .post(
            &fulfillments,
            json!({"location_uid": cat.location, "lines": [{"line_item_uid": lines[0], "quantity": 1}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ship1}");
    schemas.assert_valid("ShippedFulfillment", &ship1);
    let ful = ship1["fulfillment_uid"].as_str().expect("fulfillment");
    assert_eq!(
        location(&h),
        Some(format!("/v1/fulfillments/{ful}").as_str())
    );
    assert_eq!(
        s.get(&format!("/v1/fulfillments/{ful}")).await.0,
        StatusCode::OK
    );
    let (st, _, ship2) = s
        .post(&fulfillments, json!({"location_uid": cat.location}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ship2}");
    assert_eq!(
        ship2["lines"],
        json!([{"line_item_uid": lines[0], "quantity": 1}, {"line_item_uid": lines[1], "quantity": 1}])
    );
    let (st, _, none) = s
        .post(&fulfillments, json!({"location_uid": cat.location}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{none}");

    // ---- return one unit ----
    let (st, h, ret) = s
        .post(
            &format!("/v1/orders/{o}/returns"),
            json!({"lines": [{"line_item_uid": lines[0], "quantity": 1, "reason_uid": cat.reason}], "note": "cracked"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ret}");
    schemas.assert_valid("RequestedReturn", &ret);
    let ret_uid = ret["return_uid"].as_str().expect("return");
    assert_eq!(
        location(&h),
        Some(format!("/v1/resources/return_request/{ret_uid}").as_str())
    );
    assert_eq!(ret["display_id"], 1);
    let refund = one_text(
        &s,
        "SELECT refund_amount::text FROM return_request WHERE uid = $1",
        ret_uid,
    )
    .await;
    assert_eq!(
        dec(&ret["refund_amount"]),
        Decimal::from_str(&refund).expect("refund")
    );

    // ---- complete (no body), then again: a conflict ----
    let complete = format!("/v1/orders/{o}/complete");
    let (st, h, done) = s.post_raw(&complete, None, "").await;
    assert_eq!(st, StatusCode::OK, "{done}");
    schemas.assert_valid("CompletedOrder", &done);
    assert!(location(&h).is_none());
    let (_, _, got) = s.get(&format!("/v1/orders/{o}")).await;
    assert_eq!(got["status"]["phase"], "completed");
    let (st, _, again) = s.post(&complete, json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");

    // One event per successful command, in order, each the one its answer carried.
    let logged = events(&s).await;
    let types: Vec<&str> = logged
        .iter()
        .map(|e| e["event_type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "order_created",
            "payment_captured",
            "payment_captured",
            "fulfillment_shipped",
            "fulfillment_shipped",
            "return_requested",
            "order_completed",
        ]
    );
    for (answer, e) in [&placed, &first, &rest, &ship1, &ship2, &ret, &done]
        .iter()
        .zip(&logged)
    {
        assert_eq!(&answer["event"], e);
        assert_eq!(answer["event_appended"], true);
    }
    assert_eq!(dec(&logged[1]["payment_amount"]), Decimal::new(1601, 2));
    assert_eq!(logged[3]["location_uid"], cat.location.as_str());
    assert_eq!(logged[5]["return_uid"], ret_uid);

    // One audit row per successful command, none for the conflicts.
    let client = s.db.client().await.expect("client");
    let rows = client
        .query(
            "SELECT action, target_table, change->>'command' FROM audit_event \
             WHERE actor_principal_uid = $1 ORDER BY occurred_ts, uid",
            &[&s.admin_principal],
        )
        .await
        .expect("audit");
    let trail: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expect = |a: &str, t: &str, c: &str| (a.to_string(), t.to_string(), c.to_string());
    assert_eq!(
        trail,
        vec![
            expect("create", "order_header", "place_order"),
            expect("create", "payment_capture", "capture_payment"),
            expect("create", "payment_capture", "capture_payment"),
            expect("create", "fulfillment", "ship_fulfillment"),
            expect("create", "fulfillment", "ship_fulfillment"),
            expect("create", "return_request", "request_return"),
            expect("status", "order_header", "complete_order"),
        ]
    );
}

/// `(method path, key, content type, body)` → expected status and, for a 422, the field.
struct Case {
    path: String,
    key: Option<String>,
    content_type: Option<&'static str>,
    body: String,
    status: StatusCode,
    field: Option<&'static str>,
}

fn case(
    path: &str,
    key: &str,
    body: Value,
    status: StatusCode,
    field: Option<&'static str>,
) -> Case {
    Case {
        path: path.to_string(),
        key: Some(key.to_string()),
        content_type: Some("application/json"),
        body: body.to_string(),
        status,
        field,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_commands_are_problems_and_write_nothing() {
    let s = start().await;
    let cat = seed(&s).await;
    let (st, _, placed) = s.post("/v1/orders", guest_body(&cat, 2)).await;
    assert_eq!(st, StatusCode::CREATED, "{placed}");
    let o = placed["order_uid"].as_str().expect("order").to_string();
    let line = placed["line_item_uids"][0]
        .as_str()
        .expect("line")
        .to_string();
    let before = counts(&s).await;
    let events_before = events(&s).await.len();

    let admin = s.admin_key.clone();
    let unknown_variant = {
        let mut b = guest_body(&cat, 1);
        b["lines"][0]["variant_uid"] = json!(uid("var"));
        b
    };
    let unknown_store = {
        let mut b = guest_body(&cat, 1);
        b["store_uid"] = json!(uid("sto"));
        b
    };
    let mut wrong_currency = guest_body(&cat, 1);
    wrong_currency["currency_code"] = json!("eur");
    let mut guest_without_email = guest_body(&cat, 1);
    guest_without_email
        .as_object_mut()
        .expect("object")
        .remove("email");
    let mut unknown_field = guest_body(&cat, 1);
    unknown_field["colour"] = json!("red");
    let mut wrong_type = guest_body(&cat, 1);
    wrong_type["lines"][0]["quantity"] = json!("2");
    let mut no_price = guest_body(&cat, 1);
    no_price["lines"][0] = json!({"variant_uid": cat.variant_c, "quantity": 1});

    let u = StatusCode::UNPROCESSABLE_ENTITY;
    let mut cases = vec![
        case(
            "/v1/orders",
            &admin,
            unknown_variant.clone(),
            u,
            Some("lines[0].variant_uid"),
        ),
        case(
            "/v1/orders",
            &admin,
            unknown_store.clone(),
            StatusCode::NOT_FOUND,
            None,
        ),
        // order:write is enough to place; the unknown store still stops it.
        case(
            "/v1/orders",
            &s.order_key,
            unknown_store.clone(),
            StatusCode::NOT_FOUND,
            None,
        ),
        case(
            "/v1/orders",
            &admin,
            wrong_currency,
            u,
            Some("currency_code"),
        ),
        case("/v1/orders", &admin, guest_without_email, u, Some("email")),
        case("/v1/orders", &admin, unknown_field, u, Some("colour")),
        case(
            "/v1/orders",
            &admin,
            wrong_type,
            u,
            Some("lines[0].quantity"),
        ),
        case(
            "/v1/orders",
            &admin,
            no_price,
            u,
            Some("lines[0].unit_price"),
        ),
        case("/v1/orders", &admin, json!([]), u, Some("")),
        case(
            "/v1/orders?dry_run=1",
            &admin,
            guest_body(&cat, 1),
            StatusCode::BAD_REQUEST,
            None,
        ),
        case(
            "/v1/orders",
            &s.read_key,
            guest_body(&cat, 1),
            StatusCode::FORBIDDEN,
            None,
        ),
        case(
            &format!("/v1/orders/{o}/payments"),
            &s.order_key,
            json!({}),
            StatusCode::FORBIDDEN,
            None,
        ),
        case(
            &format!("/v1/orders/{o}/payments"),
            &admin,
            json!({"amount": "20.01"}),
            u,
            Some("amount"),
        ),
        case(
            &format!("/v1/orders/{o}/payments"),
            &admin,
            json!({"order_uid": o}),
            u,
            Some("order_uid"),
        ),
        case(
            &format!("/v1/orders/{}/payments", uid("ord")),
            &admin,
            json!({}),
            StatusCode::NOT_FOUND,
            None,
        ),
        case(
            "/v1/orders/nope/payments",
            &admin,
            json!({}),
            StatusCode::NOT_FOUND,
            None,
        ),
        case(
            &format!("/v1/orders/{o}/fulfillments"),
            &admin,
            json!({"location_uid": uid("sloc")}),
            StatusCode::NOT_FOUND,
            None,
        ),
        case(
            &format!("/v1/orders/{o}/fulfillments"),
            &admin,
            json!({"location_uid": cat.location, "lines": [{"line_item_uid": uid("ordli"), "quantity": 1}]}),
            u,
            Some("lines[0].line_item_uid"),
        ),
        case(
            &format!("/v1/orders/{o}/fulfillments"),
            &admin,
            json!({"location_uid": cat.location, "lines": [{"line_item_uid": line, "quantity": 3}]}),
            u,
            Some("lines[0].quantity"),
        ),
        case(
            &format!("/v1/orders/{o}/returns"),
            &admin,
            json!({"lines": [{"line_item_uid": line, "quantity": 1}]}),
            u,
            Some("lines[0].quantity"),
        ),
        case(
            &format!("/v1/orders/{o}/returns"),
            &admin,
            json!({"lines": [{"line_item_uid": line, "quantity": 1, "reason_uid": uid("rr")}]}),
            StatusCode::NOT_FOUND,
            None,
        ),
        case(
            &format!("/v1/orders/{o}/complete"),
            &admin,
            json!({"now": true}),
            u,
            Some("now"),
        ),
        case(
            &format!("/v1/orders/{}/complete", uid("ord")),
            &admin,
            json!({}),
            StatusCode::NOT_FOUND,
            None,
        ),
    ];
    cases.push(Case {
        content_type: Some("application/json"),
        body: "{not json".into(),
        ..case(
            "/v1/orders",
            &admin,
            json!(null),
            StatusCode::BAD_REQUEST,
            None,
        )
    });
    cases.push(Case {
        content_type: Some("text/plain"),
        ..case(
            "/v1/orders",
            &admin,
            guest_body(&cat, 1),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        )
    });
    cases.push(Case {
        content_type: None,
        ..case(
            &format!("/v1/orders/{o}/returns"),
            &admin,
            json!({"lines": [{"line_item_uid": line, "quantity": 1}]}),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        )
    });
    cases.push(Case {
        key: None,
        ..case(
            "/v1/orders",
            &admin,
            guest_body(&cat, 1),
            StatusCode::UNAUTHORIZED,
            None,
        )
    });
    cases.push(Case {
        key: Some("sk_not_a_key".into()),
        ..case(
            &format!("/v1/orders/{o}/complete"),
            &admin,
            json!({}),
            StatusCode::UNAUTHORIZED,
            None,
        )
    });

    for c in &cases {
        let mut r = s.http.post(s.url(&c.path)).body(c.body.clone());
        if let Some(k) = &c.key {
            r = r.bearer_auth(k);
        }
        if let Some(ct) = c.content_type {
            r = r.header("content-type", ct);
        }
        let (st, h, body) = common::answer(r.send().await.expect("send")).await;
        assert_eq!(st, c.status, "POST {} {}: {body}", c.path, c.body);
        assert!(is_problem(&h), "POST {}: {h:?}", c.path);
        assert_eq!(body["status"], c.status.as_u16(), "{body}");
        if let Some(field) = c.field {
            let fields: Vec<&str> = body["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(fields, vec![field], "POST {} {}: {body}", c.path, c.body);
        }
    }

    // Nothing was written by any of them: no row, no audit row, no event.
    assert_eq!(written(&before, &counts(&s).await), BTreeMap::new());
    assert_eq!(events(&s).await.len(), events_before);
}

/// The bodies the document accepts are the ones the server takes (201 on a real catalogue), and
/// the bodies it refuses are refused by the server with a 4xx.
#[tokio::test(flavor = "multi_thread")]
async fn the_document_and_the_server_agree_on_bodies() {
    let s = start().await;
    let cat = seed(&s).await;
    let schemas = Schemas::of(&s.openapi().await);

    let with = |base: Value, edit: &dyn Fn(&mut Value)| {
        let mut b = base;
        edit(&mut b);
        b
    };
    let guest = || guest_body(&cat, 2);
    let valid_orders = vec![
        order_body(&cat),
        guest(),
        with(guest(), &|b| {
            b["tax_rate_percent"] = json!("100");
            b["tax_code"] = json!(null);
            b["referral_uid"] = json!(null);
            b["source_channel"] = json!(null);
            b["lines"][0]["discount"] = json!(null);
            b["shipping_address"] = json!({"country_code": null, "city": "Lyon"});
        }),
        with(order_body(&cat), &|b| {
            b["tax_rate_percent"] = json!(7);
            b["lines"][1]["unit_price"] = json!(30);
            b["lines"][1]["discount"] = json!({"amount": {"amount": 5}});
        }),
    ];
    let invalid_orders = vec![
        with(guest(), &|b| b["lines"] = json!([])),
        with(guest(), &|b| b["lines"][0]["quantity"] = json!(0)),
        with(guest(), &|b| b["lines"][0]["quantity"] = json!(1_000_001)),
        with(guest(), &|b| b["lines"][0]["unit_price"] = json!("1.234")),
        with(guest(), &|b| b["lines"][0]["unit_price"] = json!(-1)),
        with(guest(), &|b| {
            b["lines"][0]["variant_uid"] = json!("var_123")
        }),
        with(guest(), &|b| {
            b["lines"][0]["discount"] = json!({"code": "  "})
        }),
        with(guest(), &|b| {
            b["lines"][0]["discount"] = json!({"amount": 5})
        }),
        with(guest(), &|b| {
            b["lines"][0]["discount"] = json!({"amount": {"amount": "1"}, "code": "X"})
        }),
        with(guest(), &|b| b["tax_rate_percent"] = json!("100.5")),
        with(guest(), &|b| b["tax_rate_percent"] = json!("8.1234567")),
        with(guest(), &|b| b["currency_code"] = json!("USD")),
        with(guest(), &|b| b["email"] = json!("nope")),
        with(guest(), &|b| b["email"] = json!(null)),
        with(guest(), &|b| b["store_uid"] = json!("sto_1")),
        with(guest(), &|b| b["source_channel"] = json!("fax")),
        with(guest(), &|b| {
            b["shipping_address"] = json!({"country_code": "USA"})
        }),
        with(guest(), &|b| {
            b["shipping_address"] = json!({"zip": "78701"})
        }),
        with(guest(), &|b| b["tax_code"] = json!(" ")),
        with(guest(), &|b| b["note"] = json!("hi")),
        json!([]),
    ];
    let mut placed = Vec::new();
    for body in &valid_orders {
        schemas.assert_valid("PlaceOrderRequest", body);
        let (st, _, answer) = s.post("/v1/orders", body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{body}: {answer}");
        placed.push(answer);
    }
    for body in &invalid_orders {
        assert!(
            !schemas.errors("PlaceOrderRequest", body).is_empty(),
            "the document accepts {body}"
        );
        let (st, _, answer) = s.post("/v1/orders", body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
    }

    // The lifecycle bodies, on the first order (total 66.01).
    let o = placed[0]["order_uid"].as_str().expect("order").to_string();
    let line = placed[0]["line_item_uids"][0]
        .as_str()
        .expect("line")
        .to_string();
    let checks: Vec<(&str, String, Vec<Value>, Vec<Value>)> = vec![
        (
            CAPTURE,
            format!("/v1/orders/{o}/payments"),
            vec![
                json!({"amount": "1.00"}),
                json!({"amount": 1, "provider_uid": "pp_test"}),
                json!({"amount": null, "provider_uid": null}),
            ],
            vec![
                json!({"amount": "0"}),
                json!({"amount": 0}),
                json!({"amount": "1.001"}),
                json!({"provider_uid": " "}),
                json!({"order_uid": o}),
            ],
        ),
        (
            SHIP,
            format!("/v1/orders/{o}/fulfillments"),
            vec![
                json!({"location_uid": cat.location, "lines": [{"line_item_uid": line, "quantity": 1}]}),
                json!({"location_uid": cat.location, "lines": null}),
            ],
            vec![
                json!({"location_uid": cat.location, "lines": []}),
                json!({"location_uid": "sloc_1"}),
                json!({"location_uid": cat.location, "lines": [{"line_item_uid": line, "quantity": 0}]}),
                json!({"lines": null}),
            ],
        ),
        (
            RETURN,
            format!("/v1/orders/{o}/returns"),
            vec![
                json!({"lines": [{"line_item_uid": line, "quantity": 1, "reason_uid": cat.reason}], "note": null}),
            ],
            vec![
                json!({"lines": []}),
                json!({"lines": [{"line_item_uid": line, "quantity": 0}]}),
                json!({"lines": [{"line_item_uid": line, "quantity": 1, "reason_uid": "rr_1"}]}),
                json!({"lines": [{"line_item_uid": line, "quantity": 1}], "why": "x"}),
            ],
        ),
        (
            COMPLETE,
            format!("/v1/orders/{o}/complete"),
            vec![json!({})],
            vec![json!({"x": 1}), json!([])],
        ),
    ];
    for (schema, path, valid, invalid) in checks {
        for body in &invalid {
            assert!(
                !schemas.errors(schema, body).is_empty(),
                "the document accepts {body} for {path}"
            );
            let (st, _, answer) = s.post(&path, body.clone()).await;
            assert_eq!(
                st,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {body}: {answer}"
            );
        }
        for body in &valid {
            schemas.assert_valid(schema, body);
            let (st, _, answer) = s.post(&path, body.clone()).await;
            assert!(st.is_success(), "{path} {body}: {st} {answer}");
        }
    }
}

const CAPTURE: &str = "CapturePaymentRequest";
const SHIP: &str = "ShipFulfillmentRequest";
const RETURN: &str = "RequestReturnRequest";
const COMPLETE: &str = "CompleteOrderRequest";

/// The event log is unwritable: the order is committed anyway, the answer says its event is not
/// in the log yet (not a 5xx that would invite a second order), and the event arrives once the
/// log recovers.
#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_event_log_does_not_hide_a_committed_order() {
    let s = start().await;
    let cat = seed(&s).await;
    s.log.set_failing(true);
    let (st, h, placed) = s.post("/v1/orders", guest_body(&cat, 1)).await;
    assert_eq!(st, StatusCode::CREATED, "{placed}");
    assert_eq!(placed["event_appended"], false);
    let o = placed["order_uid"].as_str().expect("order").to_string();
    assert_eq!(location(&h), Some(format!("/v1/orders/{o}").as_str()));
    assert_eq!(s.get(&format!("/v1/orders/{o}")).await.0, StatusCode::OK);
    assert!(events(&s).await.is_empty());

    s.log.set_failing(false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let logged = events(&s).await;
        if let Some(e) = logged.first() {
            assert_eq!(logged.len(), 1);
            assert_eq!(e, &placed["event"]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
