//! The staff analytics endpoints over a real lake and PostgreSQL: a four-product store whose
//! orders go into the lake as commerce events, measured by `strata_measure`, then read through
//! the API and checked against hand-computed values and DuckDB directly.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strata_events::fixtures::{order_event, product_line};
use strata_events::{CommerceKind, StreamName};
use strata_measure::{Measurements, ReportingZone, SalesScope, load_products};

use common::{Options, Schemas, Server, is_problem};

fn uid(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

fn noon(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(12, 0, 0).expect("time").and_utc()
}

/// The store: uids by name, and the last measured day.
struct Store {
    p: BTreeMap<&'static str, String>,
    style_uid: String,
    day: NaiveDate,
}

async fn seed(s: &Server) -> Store {
    let today = Utc::now().date_naive();
    let d = today - Duration::days(1);
    let client = s.db.client().await.expect("client");
    let style_uid = uid("pcat");
    let theme_uid = uid("pcat");
    for (cat, name) in [(&style_uid, "style"), (&theme_uid, "theme")] {
        client
            .execute(
                "INSERT INTO product_category (uid, name, handle, mpath) VALUES ($1, $2, $2, $1)",
                &[cat, &name],
            )
            .await
            .expect("category");
    }
    let mut tags = BTreeMap::new();
    for (cat_uid, cat, name) in [
        (&style_uid, "style", "floral"),
        (&style_uid, "style", "plain"),
        (&theme_uid, "theme", "summer"),
    ] {
        let t = uid("ptag");
        client
            .execute(
                "INSERT INTO product_tag (uid, category_name, tag_name, category_uid) VALUES ($1, $2, $3, $4)",
                &[&t, &cat, &name, cat_uid],
            )
            .await
            .expect("tag");
        tags.insert(name, t);
    }
    // (name, title, phase, launched days before d, tags)
    let products: [(&str, &str, &str, i64, Vec<&str>); 4] = [
        (
            "p1",
            "Alpha Floral Case",
            "published",
            40,
            vec!["floral", "summer"],
        ),
        ("p2", "Beta Plain Case", "published", 3, vec!["plain"]),
        ("p3", "Gamma Floral Case", "draft", 60, vec!["floral"]),
        ("p4", "Delta Case", "published", 100, vec![]),
    ];
    let mut p = BTreeMap::new();
    for (i, (name, title, phase, back, tag_names)) in products.iter().enumerate() {
        let u = uid("prd");
        let launched = noon(d - Duration::days(*back));
        let published = (*phase == "published").then_some(launched);
        let tag_uids: Vec<&String> = tag_names.iter().map(|t| &tags[t]).collect();
        client
            .execute(
                "INSERT INTO product (uid, title, handle, status, published_ts, create_ts, tag_uids)
                 VALUES ($1, $2, $3, jsonb_build_object('phase', $4::text, 'conditions', '[]'::jsonb), $5, $6, $7)",
                &[&u, title, &format!("product-{i}"), phase, &published, &launched, &json!(tag_uids)],
            )
            .await
            .expect("product");
        p.insert(*name, u);
    }
    // Orders in PostgreSQL for the orders-by-phase count (the lake's events are separate).
    for (i, (phase, back)) in [
        ("completed", 1),
        ("completed", 2),
        ("canceled", 2),
        ("pending", 90),
    ]
    .iter()
    .enumerate()
    {
        let money = json!({"value": "10", "precision": 20});
        client
            .execute(
                "INSERT INTO order_header (uid, order_number, display_id, store_uid, currency_code,
                    item_total, raw_item_total, subtotal, raw_subtotal, shipping_total,
                    raw_shipping_total, tax_total, raw_tax_total, total, raw_total, quantity,
                    placed_ts, status)
                 VALUES ($1, $2, $3, 'sto_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'usd', 10, $4, 10, $4, 0, $4,
                    0, $4, 10, $4, 1, $5, jsonb_build_object('phase', $6::text, 'conditions', '[]'::jsonb))",
                &[
                    &uid("ord"),
                    &format!("#{}", 1000 + i),
                    &(i as i64 + 1),
                    &money,
                    &noon(d - Duration::days(*back)),
                    phase,
                ],
            )
            .await
            .expect("order");
    }
    for (back, loc, total, ok, failed) in [
        (1, "sloc_a", 10, 8, 1),
        (2, "sloc_a", 5, 5, 0),
        (2, "sloc_b", 3, 1, 2),
        (60, "sloc_a", 7, 7, 0),
    ] {
        client
            .execute(
                "INSERT INTO fulfillment_daily_summary (uid, summary_day, stock_location_uid, total_count, successful_count, failed_count)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&uid("fds"), &(d - Duration::days(back)), &loc, &total, &ok, &failed],
            )
            .await
            .expect("fulfillment summary");
    }
    drop(client);

    let pu = |n: &str| p[n].parse().expect("product uid");
    let events = vec![
        order_event(
            uid("ord").parse().expect("order uid"),
            "usd",
            noon(d - Duration::days(2)),
            vec![
                product_line(pu("p1"), 5, 1000, 100),
                product_line(pu("p2"), 12, 2000, 0),
            ],
            CommerceKind::OrderCreated,
        ),
        order_event(
            uid("ord").parse().expect("order uid"),
            "usd",
            noon(d - Duration::days(1)),
            vec![product_line(pu("p1"), 30, 1000, 0)],
            CommerceKind::OrderCreated,
        ),
        order_event(
            uid("ord").parse().expect("order uid"),
            "eur",
            noon(d - Duration::days(1)),
            vec![
                product_line(pu("p1"), 2, 1500, 0),
                product_line(pu("p4"), 1, 500, 0),
            ],
            CommerceKind::OrderCreated,
        ),
    ];
    let lake = s.lake.clone().expect("lake");
    lake.write_events(StreamName::Commerce, &events, None)
        .await
        .expect("write events");
    let m = measurements(s).await;
    m.refresh_sales(SalesScope::Changed, &mut |_| {})
        .await
        .expect("sales");
    let dims = load_products(&s.db).await.expect("products");
    m.refresh_performance(d - Duration::days(5), d, &dims, &[], &mut |_| {})
        .await
        .expect("performance");
    Store {
        p,
        style_uid,
        day: d,
    }
}

async fn measurements(s: &Server) -> Measurements {
    Measurements::open(
        s.lake.clone().expect("lake"),
        &s.dir.join("measure"),
        ReportingZone::default(),
    )
    .await
    .expect("measurements")
}

async fn start() -> Server {
    common::start_with(Options {
        lake: true,
        analytics: true,
        ..Options::default()
    })
    .await
}

async fn ok(s: &Server, path: &str) -> Value {
    let (st, h, body) = s.get(path).await;
    assert_eq!(st, StatusCode::OK, "{path}: {body}");
    assert!(!is_problem(&h));
    body
}

async fn status(s: &Server, path: &str) -> StatusCode {
    let (st, h, body) = s.get(path).await;
    if !st.is_success() {
        assert!(is_problem(&h), "{path}: {body}");
    }
    st
}

fn uids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["product_uid"].as_str().expect("uid").to_owned())
        .collect()
}

#[tokio::test]
async fn performance_metrics_list_filter_sort_page_and_summarize_the_day() {
    let s = start().await;
    let store = seed(&s).await;
    let schemas = Schemas::of(&s.openapi().await);
    let p = |n: &str| store.p[n].clone();
    let d = store.day;

    let page = ok(&s, "/api/performance-metrics").await;
    schemas.assert_valid("PerformanceMetricPage", &page);
    assert_eq!(page["as_of_day"], json!(d));
    assert_eq!(page["total"], 4);
    // Default sort: units over the last 30 days, descending; ties by uid.
    assert_eq!(uids(&page), vec![p("p1"), p("p2"), p("p4"), p("p3")]);
    let first = &page["items"][0];
    assert_eq!(first["product_title"], "Alpha Floral Case");
    assert_eq!(first["aggregate_measurement_value"], 37);
    assert_eq!(first["sales_last_7_days"], 37);
    assert_eq!(first["nominal_classification"], "winner");
    let tag_names: Vec<&str> = first["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["tag_name"].as_str().expect("name"))
        .collect();
    assert_eq!(tag_names, vec!["floral", "summer"]);
    let by_uid: BTreeMap<String, &Value> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (i["product_uid"].as_str().expect("uid").to_owned(), i))
        .collect();
    assert_eq!(by_uid[&p("p2")]["nominal_classification"], "top_riser");
    assert_eq!(by_uid[&p("p2")]["sales_first_7_days"], 12);
    assert_eq!(
        by_uid[&p("p3")]["nominal_classification"],
        "archive_candidate"
    );
    assert_eq!(by_uid[&p("p4")]["nominal_classification"], "banana");

    // The same numbers as DuckDB reads them from the lake.
    let m = measurements(&s).await;
    let direct = m
        .engine()
        .query(&format!(
            "SELECT product_uid, aggregate_measurement_value, sales_last_30_days, nominal_classification
             FROM measurement.performance WHERE as_of_day = DATE '{d}' ORDER BY product_uid"
        ))
        .await
        .expect("direct query");
    let mut seen = 0;
    for b in &direct.batches {
        let cast = |i: usize| {
            strata_query::arrow::compute::cast(
                b.column(i),
                &strata_query::arrow::datatypes::DataType::Utf8,
            )
            .expect("cast")
        };
        let (u, agg, l30, tier) = (cast(0), cast(1), cast(2), cast(3));
        use strata_query::arrow::array::AsArray;
        for r in 0..b.num_rows() {
            let item = by_uid[u.as_string::<i32>().value(r)];
            assert_eq!(
                item["aggregate_measurement_value"].to_string(),
                agg.as_string::<i32>().value(r)
            );
            assert_eq!(
                item["sales_last_30_days"].to_string(),
                l30.as_string::<i32>().value(r)
            );
            assert_eq!(
                item["nominal_classification"],
                tier.as_string::<i32>().value(r)
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 4);

    // Filters.
    for (query, want) in [
        ("tier=winner", vec![p("p1")]),
        ("tier=none", vec![]),
        ("is_archive=true", vec![p("p3")]),
        ("is_active=false", vec![p("p3")]),
        (
            "is_banana=true&is_active=true",
            vec![p("p1"), p("p2"), p("p4")],
        ),
        ("tag=floral", vec![p("p1"), p("p3")]),
        ("category=theme", vec![p("p1")]),
        ("tag=plain&category=style", vec![p("p2")]),
        ("tag=nope", vec![]),
        ("search=FLORAL", vec![p("p1"), p("p3")]),
        (&format!("search={}", &p("p4")[..20]), vec![p("p4")]),
        (
            "sort=product_title",
            vec![p("p1"), p("p2"), p("p4"), p("p3")],
        ),
        ("sort=-launch_day", vec![p("p2"), p("p1"), p("p3"), p("p4")]),
        (
            "sort=aggregate_measurement_value&limit=2&offset=1",
            vec![p("p4"), p("p2")],
        ),
        ("offset=10", vec![]),
    ] {
        let page = ok(&s, &format!("/api/performance-metrics?{query}")).await;
        schemas.assert_valid("PerformanceMetricPage", &page);
        assert_eq!(uids(&page), want, "{query}");
    }
    let page = ok(&s, "/api/performance-metrics?limit=1&offset=1").await;
    assert_eq!(
        (
            page["total"].clone(),
            page["limit"].clone(),
            page["offset"].clone()
        ),
        (json!(4), json!(1), json!(1))
    );

    // Another day: two days before, p1 had sold 5 and p2 12.
    let earlier = d - Duration::days(2);
    let page = ok(
        &s,
        &format!("/api/performance-metrics?as_of={earlier}&sort=product_uid"),
    )
    .await;
    assert_eq!(page["as_of_day"], json!(earlier));
    let one = ok(
        &s,
        &format!("/api/performance-metrics/{}?as_of={earlier}", p("p1")),
    )
    .await;
    schemas.assert_valid("PerformanceMetricOne", &one);
    assert_eq!(one["item"]["aggregate_measurement_value"], 5);
    let one = ok(&s, &format!("/api/performance-metrics/{}", p("p2"))).await;
    assert_eq!(one["as_of_day"], json!(d));
    assert_eq!(one["item"]["product_title"], "Beta Plain Case");
    assert_eq!(one["item"]["tags"][0]["category_name"], "style");

    let summary = ok(&s, "/api/performance-metrics/stats/summary").await;
    schemas.assert_valid("PerformanceSummary", &summary);
    assert_eq!(
        summary["totals"],
        json!({
            "products": 4, "active_products": 3,
            "tiers": {"winner": 1, "top_riser": 1, "archive_candidate": 1, "banana": 1, "none": 0},
            "flags": {"is_top_riser": 1, "is_winner": 1, "is_banana": 4, "is_archive": 1},
            "sales_last_7_days": 50, "sales_last_30_days": 50, "sales_last_90_days": 50,
            "aggregate_measurement_value": 50,
        })
    );

    // Client mistakes: 400 or 404, never 500.
    for bad in [
        "tier=gold",
        "limit=0",
        "limit=501",
        "offset=-1",
        "sort=price",
        "sort=-",
        "as_of=2026-13-01",
        "as_of=yesterday",
        "is_winner=yes",
        "foo=1",
        "tier=winner&tier=banana",
        "search=",
        "tag=%20",
    ] {
        assert_eq!(
            status(&s, &format!("/api/performance-metrics?{bad}")).await,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        status(&s, "/api/performance-metrics?as_of=2001-01-01").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(
            &s,
            "/api/performance-metrics/stats/summary?as_of=2001-01-01"
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&s, "/api/performance-metrics/prd_nope").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&s, "/api/performance-metrics/stats/summary?x=1").await,
        StatusCode::BAD_REQUEST
    );
    // p2 launched three days before d: no row five days before.
    assert_eq!(
        status(
            &s,
            &format!(
                "/api/performance-metrics/{}?as_of={}",
                p("p2"),
                d - Duration::days(5)
            )
        )
        .await,
        StatusCode::NOT_FOUND
    );

    // Scopes: macrodata:read (the admin has `*`); order:read and product:read are refused.
    for key in [&s.read_key, &s.product_read_key] {
        let (st, _, _) = s
            .req(Method::GET, "/api/performance-metrics", Some(key), None)
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
    let (st, _, _) = s
        .req(Method::GET, "/api/performance-metrics", None, None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // A refresh commits a new snapshot: the cache notices.
    let before = page_snapshot(&ok(&s, "/api/performance-metrics").await);
    let dims = load_products(&s.db).await.expect("products");
    m.refresh_performance(d, d, &dims, &[], &mut |_| {})
        .await
        .expect("refresh");
    let after = page_snapshot(&ok(&s, "/api/performance-metrics").await);
    assert_ne!(before, after);
}

fn page_snapshot(v: &Value) -> i64 {
    v["snapshot_id"].as_i64().expect("snapshot id")
}

#[tokio::test]
async fn commerce_tags_and_fulfillment() {
    let s = start().await;
    let store = seed(&s).await;
    let schemas = Schemas::of(&s.openapi().await);
    let p = |n: &str| store.p[n].clone();
    let d = store.day;
    let range = format!("from={}&to={d}", d - Duration::days(2));

    let overview = ok(&s, &format!("/analytics/commerce/overview?{range}")).await;
    schemas.assert_valid("CommerceOverview", &overview);
    assert_eq!(
        overview["currencies"],
        json!([
            {"currency_code": "eur", "orders": 1, "units": 3, "units_returned": 0,
             "gross_revenue": "35.0000", "discounts": "0.0000", "net_revenue": "35.0000",
             "average_order_value": "35.0000"},
            {"currency_code": "usd", "orders": 2, "units": 47, "units_returned": 0,
             "gross_revenue": "590.0000", "discounts": "1.0000", "net_revenue": "589.0000",
             "average_order_value": "294.5000"},
        ])
    );
    // The default range (the 30 days ending today) holds the same orders.
    let default = ok(&s, "/analytics/commerce/overview").await;
    assert_eq!(default["currencies"], overview["currencies"]);
    assert_eq!(default["to"], json!(Utc::now().date_naive()));
    // The sums agree with DuckDB over measurement.sales.
    let m = measurements(&s).await;
    let direct = m
        .engine()
        .query("SELECT CAST(sum(net_revenue) AS VARCHAR) FROM measurement.sales WHERE currency_code = 'usd'")
        .await
        .expect("direct");
    use strata_query::arrow::array::AsArray;
    let net = direct.batches[0]
        .column(0)
        .as_string::<i32>()
        .value(0)
        .to_owned();
    assert_eq!(net.parse::<f64>().ok(), Some(589.0));
    let empty = ok(&s, &format!("/analytics/commerce/overview?from={d}&to={d}")).await;
    assert_eq!(empty["currencies"], json!([]));

    let top = ok(&s, &format!("/analytics/commerce/products?{range}")).await;
    schemas.assert_valid("CommerceTopProducts", &top);
    assert_eq!(top["by"], "revenue");
    let usd = &top["currencies"][1];
    assert_eq!(usd["currency_code"], "usd");
    assert_eq!(usd["items"][0]["product_uid"], json!(p("p1")));
    assert_eq!(usd["items"][0]["net_revenue"], "349.0000");
    assert_eq!(usd["items"][0]["orders"], 2);
    assert_eq!(usd["items"][0]["product_title"], "Alpha Floral Case");
    assert_eq!(usd["items"][1]["product_uid"], json!(p("p2")));
    let top = ok(
        &s,
        &format!("/analytics/commerce/products?{range}&by=units&currency=eur&limit=1"),
    )
    .await;
    assert_eq!(
        top["currencies"],
        json!([{"currency_code": "eur", "items": [{
            "rank": 1, "product_uid": p("p1"), "product_title": "Alpha Floral Case", "orders": 1,
            "units": 2, "units_returned": 0, "gross_revenue": "30.0000", "discounts": "0.0000",
            "net_revenue": "30.0000"}]}])
    );

    let orders = ok(&s, &format!("/analytics/commerce/orders?{range}")).await;
    schemas.assert_valid("CommerceOrdersByPhase", &orders);
    assert_eq!(orders["total"], 3);
    assert_eq!(orders["phases"]["completed"], 2);
    assert_eq!(orders["phases"]["canceled"], 1);
    assert_eq!(orders["phases"]["pending"], 0);

    for bad in [
        format!("from={d}&to={}", d - Duration::days(1)),
        "from=2026-02-30".to_owned(),
        "to=soon".to_owned(),
        "by=price".to_owned(),
        "limit=101".to_owned(),
        "currency=USD".to_owned(),
    ] {
        let path =
            if bad.starts_with("by") || bad.starts_with("limit") || bad.starts_with("currency") {
                format!("/analytics/commerce/products?{bad}")
            } else {
                format!("/analytics/commerce/overview?{bad}")
            };
        assert_eq!(status(&s, &path).await, StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(
        status(&s, "/analytics/commerce/orders?from=x").await,
        StatusCode::BAD_REQUEST
    );
    // order:read is enough for the commerce figures.
    let (st, _, _) = s
        .req(
            Method::GET,
            "/analytics/commerce/overview",
            Some(&s.read_key),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // Tag analytics.
    let (st_, _, tp) = s
        .post(
            "/api/tag-analytics/performance",
            json!({"tagNames": ["floral", "plain", "nope", "floral"]}),
        )
        .await;
    assert_eq!(st_, StatusCode::OK, "{tp}");
    schemas.assert_valid("TagPerformance", &tp);
    let items = tp["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["tag_name"], "floral");
    assert_eq!(items[0]["figures"]["products"], 2);
    assert_eq!(items[0]["figures"]["tiers"]["winner"], 1);
    assert_eq!(items[0]["figures"]["tiers"]["archive_candidate"], 1);
    assert_eq!(items[0]["figures"]["sales_last_30_days"], 37);
    assert_eq!(items[1]["figures"]["products"], 1);
    assert_eq!(items[1]["figures"]["tiers"]["top_riser"], 1);
    assert_eq!(items[2]["tag_uids"], json!([]));
    assert_eq!(items[2]["figures"]["products"], 0);
    let earlier = d - Duration::days(2);
    let (_, _, tp) = s
        .post(
            "/api/tag-analytics/performance",
            json!({"tagNames": ["floral"], "as_of": earlier}),
        )
        .await;
    assert_eq!(tp["as_of_day"], json!(earlier));
    assert_eq!(tp["items"][0]["figures"]["sales_last_30_days"], 5);
    for bad in [
        json!({}),
        json!({"tagNames": []}),
        json!({"tagNames": [1]}),
        json!({"tagNames": ["a"], "colour": "red"}),
        json!({"tagNames": ["a"], "as_of": "someday"}),
        json!(["floral"]),
    ] {
        let (st, h, _) = s.post("/api/tag-analytics/performance", bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
        assert!(is_problem(&h));
    }
    let (st_, _, _) = s
        .post(
            "/api/tag-analytics/performance",
            json!({"tagNames": ["a"], "as_of": "2001-01-01"}),
        )
        .await;
    assert_eq!(st_, StatusCode::NOT_FOUND);

    let dist = ok(&s, "/api/tag-analytics/distribution/style").await;
    schemas.assert_valid("TagDistribution", &dist);
    assert_eq!(dist["totals"]["products"], 3);
    let per: Vec<(String, i64)> = dist["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["tag_name"].as_str().expect("n").to_owned(),
                i["figures"]["products"].as_i64().expect("p"),
            )
        })
        .collect();
    assert_eq!(per, vec![("floral".to_owned(), 2), ("plain".to_owned(), 1)]);
    assert_eq!(
        status(&s, "/api/tag-analytics/distribution/colour").await,
        StatusCode::NOT_FOUND
    );

    let group = ok(
        &s,
        &format!("/api/tag-analytics/group-performance/{}", store.style_uid),
    )
    .await;
    schemas.assert_valid("TagGroupPerformance", &group);
    assert_eq!(group["group_name"], "style");
    assert_eq!(group["totals"], dist["totals"]);
    assert_eq!(group["items"], dist["items"]);
    assert_eq!(
        status(&s, "/api/tag-analytics/group-performance/pcat_nope").await,
        StatusCode::NOT_FOUND
    );

    // Fulfillment summary.
    let f = ok(&s, &format!("/api/fulfillment-daily-summary?{range}")).await;
    schemas.assert_valid("FulfillmentDailySummaryReport", &f);
    assert_eq!(f["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        f["totals"],
        json!({"total_count": 18, "successful_count": 14, "failed_count": 3})
    );
    let f = ok(
        &s,
        &format!("/api/fulfillment-daily-summary?{range}&stock_location_uid=sloc_b"),
    )
    .await;
    assert_eq!(
        f["totals"],
        json!({"total_count": 3, "successful_count": 1, "failed_count": 2})
    );
    let f = ok(&s, "/api/fulfillment-daily-summary").await;
    assert_eq!(
        f["totals"]["total_count"], 18,
        "the default range: the last 30 days"
    );
    assert_eq!(
        status(&s, "/api/fulfillment-daily-summary?from=1").await,
        StatusCode::BAD_REQUEST
    );
    let (st, _, _) = s
        .req(
            Method::GET,
            "/api/fulfillment-daily-summary",
            Some(&s.read_key),
            None,
        )
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "fulfillment:read, not order:read"
    );
}

#[tokio::test]
async fn without_a_lake_the_analytics_answer_503_and_the_rest_serves() {
    let s = common::start().await;
    for path in [
        "/api/performance-metrics",
        "/api/performance-metrics/stats/summary",
        "/analytics/commerce/overview",
    ] {
        assert_eq!(
            status(&s, path).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
    // From PostgreSQL alone.
    assert_eq!(
        status(&s, "/analytics/commerce/orders").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&s, "/api/fulfillment-daily-summary").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn before_any_refresh_the_lists_are_empty() {
    let s = start().await;
    let page = ok(&s, "/api/performance-metrics").await;
    assert_eq!(page["as_of_day"], Value::Null);
    assert_eq!(page["items"], json!([]));
    let summary = ok(&s, "/api/performance-metrics/stats/summary").await;
    assert_eq!(summary["totals"]["products"], 0);
    let overview = ok(&s, "/analytics/commerce/overview").await;
    assert_eq!(overview["currencies"], json!([]));
    assert_eq!(
        status(&s, "/api/performance-metrics?as_of=2026-01-01").await,
        StatusCode::NOT_FOUND
    );
}
