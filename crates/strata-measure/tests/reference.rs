//! The measurements against an independent reference: the same numbers computed here by plain
//! loops over the events as generated (no SQL, no lake, no DuckDB), on stores built for the edge
//! cases: products launched near the as-of day, returns larger than the day's sales, ties at the
//! banana boundary, inactive products with late sales, a threshold change between two
//! refreshes, events either side of midnight in a non-UTC reporting zone. Products live in a
//! real PostgreSQL, events in a real lake on disk.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use strata_events::{
    CommerceKind, Event, LineQuantity, OrderUid, ProductUid, StreamName,
    fixtures::{order_event, product_line, uid},
};
use strata_lake::{Lake, LakeConfig};
use strata_measure::{AppliedSpec, Measurements, ReportingZone, SalesScope, load_products, tables};
use strata_query::arrow::{
    array::{AsArray, RecordBatch},
    datatypes::DataType,
};
use strata_testkit::TestDb;

/// A tiny deterministic generator (xorshift), so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone)]
struct Product {
    uid: String,
    title: String,
    phase: &'static str,
    published: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
}

impl Product {
    fn launch(&self, tz: Tz) -> NaiveDate {
        self.published
            .unwrap_or(self.created)
            .with_timezone(&tz)
            .date_naive()
    }
}

/// One order line as the reference sees it.
#[derive(Debug, Clone)]
struct Line {
    line_uid: String,
    product: String,
    units: i64,
    unit_cents: i64,
    discount_cents: i64,
}

#[derive(Debug, Clone)]
enum Happening {
    Ordered {
        order: String,
        currency: &'static str,
        at: DateTime<Utc>,
        lines: Vec<Line>,
    },
    Returned {
        currency: &'static str,
        at: DateTime<Utc>,
        /// The order's lines, and units returned per line uid.
        lines: Vec<Line>,
        returned: Vec<(String, i64)>,
    },
}

struct Store {
    products: Vec<Product>,
    happenings: Vec<Happening>,
    /// The same happenings as commerce events.
    events: Vec<Event>,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn at(d: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(hour, minute, 0).expect("time"))
}

const AS_OF: &str = "2025-06-30";

/// A store of 30 products over the 120 days up to [`AS_OF`] (and a few events after it).
fn store(seed: u64) -> Store {
    let mut rng = Rng(seed);
    let as_of = day(AS_OF);
    let start = as_of - Duration::days(120);
    let mut products = Vec::new();
    for i in 0..30u64 {
        let launch_offset = match i {
            0 => 120, // launched on the first day
            1 => 0,   // launched on the as-of day
            2 => 2,   // launched 2 days before
            3 => 6,   // the first-7 window closes on the as-of day
            4 => 13,  // the first-14 window closes on the as-of day
            _ => rng.below(115) as i64,
        };
        let launch = as_of - Duration::days(launch_offset);
        // Launch late in the UTC evening for some: the local day differs in New York.
        let hour = if i % 4 == 0 { 2 } else { 15 };
        let launched_at = at(launch, hour as u32, 30);
        let phase = match i % 7 {
            5 => "archived",
            6 => "draft",
            _ => "published",
        };
        let published = (phase == "published" || i % 3 == 0).then_some(launched_at);
        let created = if published.is_some() {
            launched_at - Duration::days(3)
        } else {
            launched_at
        };
        products.push(Product {
            uid: uid::<ProductUid>("prd").to_string(),
            title: format!("Product {i:02}"),
            phase,
            published,
            created,
        });
    }
    // The last products never sell: ties at the banana boundary (all at 0).
    let sellers = &products[..22];
    let mut happenings = Vec::new();
    for d in start
        .iter_days()
        .take_while(|d| *d <= as_of + Duration::days(2))
    {
        let orders = rng.below(6);
        for _ in 0..orders {
            let n_lines = 1 + rng.below(3) as usize;
            let mut lines = Vec::new();
            for _ in 0..n_lines {
                let p = &sellers[rng.below(sellers.len() as u64) as usize];
                // Inactive products sell rarely (late sales after archiving).
                if p.phase != "published" && rng.below(4) != 0 {
                    continue;
                }
                if lines.iter().any(|l: &Line| l.product == p.uid) {
                    continue;
                }
                let units = 1 + rng.below(5) as i64;
                let unit_cents = 500 + rng.below(5_000) as i64;
                lines.push(Line {
                    line_uid: uid::<strata_events::OrderLineItemUid>("ordli").to_string(),
                    product: p.uid.clone(),
                    units,
                    unit_cents,
                    discount_cents: if rng.below(3) == 0 { 100 } else { 0 },
                });
            }
            if lines.is_empty() {
                continue;
            }
            // Minutes either side of midnight UTC: different local days in New York.
            let (h, m) = match rng.below(4) {
                0 => (0, 10),
                1 => (23, 50),
                2 => (4, 59),
                _ => (12, 0),
            };
            let currency = if rng.below(10) == 0 { "eur" } else { "usd" };
            let order = uid::<OrderUid>("ord").to_string();
            let ordered_at = at(d, h, m);
            happenings.push(Happening::Ordered {
                order: order.clone(),
                currency,
                at: ordered_at,
                lines: lines.clone(),
            });
            // Some orders come back, whole or in part, 0–3 days later.
            if rng.below(4) == 0 {
                let mut returned: Vec<(String, i64)> = Vec::new();
                for l in &lines {
                    if rng.below(2) == 0 {
                        returned.push((l.line_uid.clone(), 1 + rng.below(l.units as u64) as i64));
                    }
                }
                if !returned.is_empty() {
                    happenings.push(Happening::Returned {
                        currency,
                        at: ordered_at + Duration::days(rng.below(4) as i64) + Duration::hours(1),
                        lines,
                        returned,
                    });
                }
            }
        }
    }
    // Returns larger than the day's sales: a big order early, returned on a quiet day.
    let big_product = products[0].uid.clone();
    let big_line = Line {
        line_uid: uid::<strata_events::OrderLineItemUid>("ordli").to_string(),
        product: big_product,
        units: 40,
        unit_cents: 1_000,
        discount_cents: 0,
    };
    happenings.push(Happening::Ordered {
        order: uid::<OrderUid>("ord").to_string(),
        currency: "usd",
        at: at(start + Duration::days(1), 10, 0),
        lines: vec![big_line.clone()],
    });
    happenings.push(Happening::Returned {
        currency: "usd",
        at: at(as_of - Duration::days(5), 10, 0),
        lines: vec![big_line.clone()],
        returned: vec![(big_line.line_uid.clone(), 35)],
    });
    let events = happenings.iter().map(to_event).collect();
    Store {
        products,
        happenings,
        events,
    }
}

fn to_event(h: &Happening) -> Event {
    let lines = |lines: &[Line]| {
        lines
            .iter()
            .map(|l| {
                let mut line = product_line(
                    l.product.parse().expect("product uid"),
                    l.units,
                    l.unit_cents,
                    l.discount_cents,
                );
                line.line_item_uid = l.line_uid.parse().expect("line uid");
                line
            })
            .collect::<Vec<_>>()
    };
    match h {
        Happening::Ordered {
            order,
            currency,
            at,
            lines: ls,
        } => order_event(
            order.parse().expect("order uid"),
            currency,
            *at,
            lines(ls),
            CommerceKind::OrderCreated,
        ),
        Happening::Returned {
            currency,
            at,
            lines: ls,
            returned,
        } => order_event(
            uid("ord"),
            currency,
            *at,
            lines(ls),
            CommerceKind::ReturnRequested {
                return_uid: uid("ret"),
                lines: returned
                    .iter()
                    .map(|(line, q)| LineQuantity {
                        line_item_uid: line.parse().expect("line uid"),
                        quantity: *q,
                    })
                    .collect(),
            },
        ),
    }
}

// ---------------------------------------------------------------- the reference computation

/// (day, product, currency) → orders, units, returned, net, gross, discounts, net revenue.
type SalesRow = (i64, i64, i64, i64, Decimal, Decimal, Decimal);
type SalesKey = (NaiveDate, String, String);
/// Orders, units, returned units, gross cents, discount cents.
type SalesAcc = (BTreeSet<String>, i64, i64, i64, i64);

fn reference_sales(store: &Store, tz: Tz) -> BTreeMap<(NaiveDate, String, String), SalesRow> {
    let mut acc: BTreeMap<SalesKey, SalesAcc> = BTreeMap::new();
    for h in &store.happenings {
        match h {
            Happening::Ordered {
                order,
                currency,
                at,
                lines,
            } => {
                let d = at.with_timezone(&tz).date_naive();
                for l in lines {
                    let e = acc
                        .entry((d, l.product.clone(), currency.to_string()))
                        .or_default();
                    e.0.insert(order.clone());
                    e.1 += l.units;
                    e.3 += l.units * l.unit_cents;
                    e.4 += l.discount_cents;
                }
            }
            Happening::Returned {
                currency,
                at,
                lines,
                returned,
            } => {
                let d = at.with_timezone(&tz).date_naive();
                for (line, q) in returned {
                    let product = &lines
                        .iter()
                        .find(|l| &l.line_uid == line)
                        .expect("returned line")
                        .product;
                    acc.entry((d, product.clone(), currency.to_string()))
                        .or_default()
                        .2 += q;
                }
            }
        }
    }
    acc.into_iter()
        .map(|(k, (orders, units, returned, gross, disc))| {
            let cents = |c: i64| Decimal::new(c, 2);
            (
                k,
                (
                    orders.len() as i64,
                    units,
                    returned,
                    units - returned,
                    cents(gross),
                    cents(disc),
                    cents(gross - disc),
                ),
            )
        })
        .collect()
}

/// One performance row, as compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PerfRow {
    as_of: NaiveDate,
    product: String,
    launch: NaiveDate,
    active: bool,
    windows: [i64; 6],
    flags: [bool; 4],
    classification: String,
    spec_version: i32,
}

fn reference_performance(
    store: &Store,
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
    versions: &[AppliedSpec],
) -> Vec<PerfRow> {
    // Units per product per local day, all currencies.
    let mut units: BTreeMap<(String, NaiveDate), i64> = BTreeMap::new();
    for ((d, p, _), row) in reference_sales(store, tz) {
        *units.entry((p, d)).or_default() += row.1;
    }
    let sum = |p: &str, a: NaiveDate, b: NaiveDate| -> i64 {
        let mut total = 0;
        let mut d = a;
        while d <= b {
            total += units.get(&(p.to_owned(), d)).copied().unwrap_or(0);
            d = d.succ_opt().expect("next day");
        }
        total
    };
    let mut out = Vec::new();
    let mut as_of = from;
    while as_of <= to {
        // The spec in effect at the end of the as-of day.
        let end = tz
            .from_local_datetime(&(as_of + Duration::days(1)).and_hms_opt(0, 0, 0).expect("t"))
            .earliest()
            .expect("midnight")
            .with_timezone(&Utc);
        let spec = versions
            .iter()
            .filter(|v| v.effective_ts < end)
            .max_by_key(|v| v.effective_ts)
            .cloned()
            .unwrap_or_else(AppliedSpec::defaults);
        let mut rows: Vec<PerfRow> = Vec::new();
        for p in &store.products {
            let launch = p.launch(tz);
            if launch > as_of {
                continue;
            }
            let window =
                |start: NaiveDate, end: NaiveDate| sum(&p.uid, start.max(launch), end.min(as_of));
            let first7 = window(launch, launch + Duration::days(6));
            let first14 = window(launch, launch + Duration::days(13));
            let last7 = window(as_of - Duration::days(6), as_of);
            let last30 = window(as_of - Duration::days(29), as_of);
            let last90 = window(as_of - Duration::days(89), as_of);
            let aggregate = window(launch, as_of);
            let active = p.phase == "published";
            rows.push(PerfRow {
                as_of,
                product: p.uid.clone(),
                launch,
                active,
                windows: [first7, first14, last7, last30, last90, aggregate],
                flags: [
                    first7 >= spec.top_riser_7_day_threshold
                        || first14 >= spec.top_riser_14_day_threshold,
                    last30 >= spec.winner_30_day_threshold,
                    false,
                    !active && last30 == 0,
                ],
                classification: String::new(),
                spec_version: spec.version,
            });
        }
        let mut by_aggregate: Vec<(i64, String)> = rows
            .iter()
            .map(|r| (r.windows[5], r.product.clone()))
            .collect();
        by_aggregate.sort();
        let bananas: BTreeSet<String> = by_aggregate
            .into_iter()
            .take(spec.banana_count as usize)
            .map(|(_, p)| p)
            .collect();
        for r in &mut rows {
            r.flags[2] = bananas.contains(&r.product);
            let [riser, winner, banana, archive] = r.flags;
            r.classification = spec
                .precedence
                .iter()
                .find(|t| match t.as_str() {
                    "winner" => winner,
                    "top_riser" => riser,
                    "archive_candidate" => archive,
                    "banana" => banana,
                    _ => false,
                })
                .cloned()
                .unwrap_or_else(|| "none".to_owned());
        }
        out.extend(rows);
        as_of = as_of.succ_opt().expect("next day");
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- reading what was written

fn text(batch: &RecordBatch, name: &str, row: usize) -> String {
    let col = batch.column_by_name(name).expect(name);
    let col = strata_query::arrow::compute::cast(col, &DataType::Utf8).expect("to text");
    col.as_string::<i32>().value(row).to_owned()
}

async fn lake_sales(m: &Measurements) -> BTreeMap<(NaiveDate, String, String), SalesRow> {
    let out = m
        .engine()
        .query("SELECT * FROM measurement.sales ORDER BY day, product_uid, currency_code")
        .await
        .expect("read sales");
    let mut rows = BTreeMap::new();
    for b in &out.batches {
        for i in 0..b.num_rows() {
            let int = |n: &str| text(b, n, i).parse::<i64>().expect(n);
            let dec = |n: &str| text(b, n, i).parse::<Decimal>().expect(n).normalize();
            let key = (
                day(&text(b, "day", i)),
                text(b, "product_uid", i),
                text(b, "currency_code", i),
            );
            let row = (
                int("orders"),
                int("units"),
                int("units_returned"),
                int("units_net"),
                dec("gross_revenue"),
                dec("discounts"),
                dec("net_revenue"),
            );
            assert!(
                rows.insert(key.clone(), row).is_none(),
                "duplicate sales row {key:?}"
            );
        }
    }
    rows
}

fn normalize(
    rows: BTreeMap<(NaiveDate, String, String), SalesRow>,
) -> BTreeMap<(NaiveDate, String, String), SalesRow> {
    rows.into_iter()
        .map(|(k, (a, b, c, d, e, f, g))| {
            (k, (a, b, c, d, e.normalize(), f.normalize(), g.normalize()))
        })
        .collect()
}

async fn lake_performance(m: &Measurements, from: NaiveDate, to: NaiveDate) -> Vec<PerfRow> {
    let out = m
        .engine()
        .query(&format!(
            "SELECT * FROM measurement.performance
             WHERE as_of_day BETWEEN DATE '{from}' AND DATE '{to}'
             ORDER BY as_of_day, product_uid"
        ))
        .await
        .expect("read performance");
    let mut rows = Vec::new();
    for b in &out.batches {
        for i in 0..b.num_rows() {
            let int = |n: &str| text(b, n, i).parse::<i64>().expect(n);
            let flag = |n: &str| text(b, n, i) == "true";
            rows.push(PerfRow {
                as_of: day(&text(b, "as_of_day", i)),
                product: text(b, "product_uid", i),
                launch: day(&text(b, "launch_day", i)),
                active: flag("is_active"),
                windows: [
                    int("sales_first_7_days"),
                    int("sales_first_14_days"),
                    int("sales_last_7_days"),
                    int("sales_last_30_days"),
                    int("sales_last_90_days"),
                    int("aggregate_measurement_value"),
                ],
                flags: [
                    flag("is_top_riser"),
                    flag("is_winner"),
                    flag("is_banana"),
                    flag("is_archive"),
                ],
                classification: text(b, "nominal_classification", i),
                spec_version: int("spec_version") as i32,
            });
        }
    }
    rows.sort();
    rows
}

// ---------------------------------------------------------------- setup

async fn products_in_postgres(
    store: &Store,
) -> (TestDb, strata_domain::Database, tempfile::TempDir) {
    let (db, test_db, dir) = strata_testkit::open_server().await;
    let mut client = db.client().await.expect("client");
    strata_schema::migrate::apply(
        &mut client,
        &strata_schema::SchemaSource::embedded(),
        |_, _, _| {},
    )
    .await
    .expect("apply the schema");
    for (i, p) in store.products.iter().enumerate() {
        client
            .execute(
                "INSERT INTO product (uid, title, handle, status, published_ts, create_ts)
                 VALUES ($1, $2, $3, jsonb_build_object('phase', $4::text, 'conditions', '[]'::jsonb), $5, $6)",
                &[
                    &p.uid,
                    &p.title,
                    &format!("product-{i}"),
                    &p.phase,
                    &p.published,
                    &p.created,
                ],
            )
            .await
            .expect("insert product");
    }
    drop(client);
    (test_db, db, dir)
}

async fn open(dir: &std::path::Path, zone: &str) -> (Lake, Measurements) {
    let lake = Lake::open(LakeConfig::embedded(dir)).await.expect("lake");
    let m = Measurements::open(
        lake.clone(),
        dir,
        zone.parse::<ReportingZone>().expect("zone"),
    )
    .await
    .expect("measurements");
    (lake, m)
}

fn no_progress() -> impl FnMut(strata_measure::Progress) {
    |_| {}
}

fn assert_same_performance(got: &[PerfRow], want: &[PerfRow]) {
    assert_eq!(got.len(), want.len(), "performance row count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "performance row differs");
    }
}

// ---------------------------------------------------------------- the tests

#[tokio::test]
async fn sales_and_performance_equal_the_reference_in_utc_and_new_york() {
    for (zone, seed) in [("UTC", 7), ("America/New_York", 11)] {
        let tz: Tz = zone.parse().expect("tz");
        let store = store(seed);
        let (_test_db, db, dir) = products_in_postgres(&store).await;
        let (lake, m) = open(dir.path(), zone).await;
        lake.write_events(StreamName::Commerce, &store.events, None)
            .await
            .expect("write events");

        let sales = m
            .refresh_sales(SalesScope::Changed, &mut no_progress())
            .await
            .expect("refresh sales");
        assert!(sales.rows > 0);
        assert_eq!(
            normalize(lake_sales(&m).await),
            normalize(reference_sales(&store, tz)),
            "{zone}: sales differ from the reference"
        );

        let products = load_products(&db).await.expect("products");
        assert_eq!(products.len(), store.products.len());
        let as_of = day(AS_OF);
        let from = as_of - Duration::days(40);
        m.refresh_performance(from, as_of, &products, &[], &mut no_progress())
            .await
            .expect("refresh performance");
        let want = reference_performance(&store, tz, from, as_of, &[]);
        assert_same_performance(&lake_performance(&m, from, as_of).await, &want);
        // One as-of day alone: its dense series starts 89 days back, after the early launches,
        // so their sales before that enter as one sum per product. Same rows as the reference.
        m.refresh_performance(as_of, as_of, &products, &[], &mut no_progress())
            .await
            .expect("refresh one as-of day");
        let one_day = reference_performance(&store, tz, as_of, as_of, &[]);
        assert!(
            one_day
                .iter()
                .any(|r| r.launch < as_of - Duration::days(89) && r.windows[5] > r.windows[4]),
            "{zone}: a product with sales before the series starts"
        );
        assert_same_performance(&lake_performance(&m, as_of, as_of).await, &one_day);
        // The edge cases are really in the data.
        let last: Vec<&PerfRow> = want.iter().filter(|r| r.as_of == as_of).collect();
        assert!(
            last.iter().any(|r| r.launch == as_of),
            "{zone}: a product launched on the as-of day"
        );
        assert!(
            last.iter().filter(|r| r.windows[5] == 0).count() > 10,
            "{zone}: ties at the banana boundary"
        );
        assert!(last.iter().any(|r| r.flags[1]), "{zone}: a winner");
        assert!(
            last.iter().any(|r| r.flags[3]),
            "{zone}: an archive candidate"
        );
        assert!(
            reference_sales(&store, tz).values().any(|r| r.3 < 0),
            "{zone}: a day with more returns than sales"
        );

        // Recomputing changes nothing: same rows, and the sales see no new commerce data.
        let again = m
            .refresh_sales(SalesScope::Changed, &mut no_progress())
            .await
            .expect("refresh sales again");
        assert_eq!(
            again.days, 0,
            "no commerce data since: nothing to recompute"
        );
        m.refresh_performance(from, as_of, &products, &[], &mut no_progress())
            .await
            .expect("refresh performance again");
        assert_same_performance(&lake_performance(&m, from, as_of).await, &want);
        let full = m
            .refresh_sales(SalesScope::All, &mut no_progress())
            .await
            .expect("full sales refresh");
        assert_eq!(
            full.rows, full.replaced_rows,
            "a full recompute writes what was there"
        );
        assert_eq!(
            normalize(lake_sales(&m).await),
            normalize(reference_sales(&store, tz))
        );
    }
}

#[tokio::test]
async fn late_events_and_a_threshold_change_are_picked_up() {
    let zone = "Europe/Berlin";
    let tz: Tz = zone.parse().expect("tz");
    let mut store = store(23);
    let (_test_db, db, dir) = products_in_postgres(&store).await;
    let (lake, m) = open(dir.path(), zone).await;
    lake.write_events(StreamName::Commerce, &store.events, None)
        .await
        .expect("write events");
    m.refresh_sales(SalesScope::Changed, &mut no_progress())
        .await
        .expect("sales");
    let products = load_products(&db).await.expect("products");
    let as_of = day(AS_OF);
    let from = as_of - Duration::days(10);
    m.refresh_performance(from, as_of, &products, &[], &mut no_progress())
        .await
        .expect("performance");

    // Late events for two old days (one just before midnight Berlin) arrive afterwards.
    let p = store.products[2].uid.clone();
    let late: Vec<Happening> = [
        (as_of - Duration::days(1), 21, 30),
        (as_of - Duration::days(3), 22, 59),
    ]
    .into_iter()
    .map(|(d, h, m)| Happening::Ordered {
        order: uid::<OrderUid>("ord").to_string(),
        currency: "usd",
        at: at(d, h, m),
        lines: vec![Line {
            line_uid: uid::<strata_events::OrderLineItemUid>("ordli").to_string(),
            product: p.clone(),
            units: 50,
            unit_cents: 700,
            discount_cents: 0,
        }],
    })
    .collect();
    let late_events: Vec<Event> = late.iter().map(to_event).collect();
    store.happenings.extend(late);
    lake.write_events(StreamName::Commerce, &late_events, None)
        .await
        .expect("late events");
    let report = m
        .refresh_sales(SalesScope::Changed, &mut no_progress())
        .await
        .expect("incremental sales");
    assert!(
        report.days <= 6,
        "only the days the new files can touch are recomputed, got {}",
        report.days
    );
    assert_eq!(
        normalize(lake_sales(&m).await),
        normalize(reference_sales(&store, tz))
    );

    // A new spec version takes effect mid-range: days after it use it, days before keep theirs.
    let change_day = as_of - Duration::days(4);
    let v1 = AppliedSpec {
        uid: "mda_01JTESTSPEC000000000000000".to_owned(),
        version: 1,
        effective_ts: at(change_day, 9, 0),
        top_riser_7_day_threshold: 3,
        top_riser_14_day_threshold: 5,
        winner_30_day_threshold: 12,
        banana_count: 4,
        precedence: ["banana", "archive_candidate", "top_riser", "winner"]
            .map(str::to_owned)
            .to_vec(),
    };
    let versions = vec![v1.clone()];
    m.replicate_spec(&versions).await.expect("replicate spec");
    assert!(
        m.replicate_spec(&versions).await.expect("again").is_none(),
        "replicating the same versions twice writes nothing"
    );
    let spec_rows = m
        .engine()
        .query("SELECT version, banana_count, precedence FROM configuration.objective_spec ORDER BY version")
        .await
        .expect("read specs");
    assert_eq!(spec_rows.rows(), 2, "the defaults and version 1");

    m.refresh_performance(from, as_of, &products, &versions, &mut no_progress())
        .await
        .expect("performance with the new spec");
    let want = reference_performance(&store, tz, from, as_of, &versions);
    assert_same_performance(&lake_performance(&m, from, as_of).await, &want);
    assert!(want.iter().any(|r| r.spec_version == 0) && want.iter().any(|r| r.spec_version == 1));
    assert!(
        want.iter()
            .any(|r| r.as_of >= change_day && r.classification == "banana")
    );

    // Each as-of day lives in exactly one partition of its own rows.
    let per_day = m
        .engine()
        .query("SELECT as_of_day, count(*) AS n, count(DISTINCT product_uid) AS d FROM measurement.performance GROUP BY ALL HAVING n <> d")
        .await
        .expect("per day");
    assert_eq!(per_day.rows(), 0, "no product twice on one as-of day");
    let _ = tables::performance();
}
