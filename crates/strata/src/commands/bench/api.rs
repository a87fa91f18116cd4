//! `strata bench api`: the HTTP API under concurrent clients, over real HTTP, against a scratch
//! database on the PostgreSQL server of `--database-url`.
//!
//! 1. Apply the schema, seed a small store, create an API key.
//! 2. Start the API server in this process (the router `strata serve` serves, with the durable
//!    event log in a temporary directory and no rate limit) on an ephemeral 127.0.0.1 port.
//! 3. Measure, with `--clients` concurrent clients each sending one request at a time:
//!    - place-order, `POST /v1/orders` (3 lines), against the raw-SQL ceiling: the same
//!      `order_header` + 3 `order_line_item` + 3 tax lines + `order_summary` INSERTs sent
//!      directly with tokio-postgres, one connection per client, one transaction per order
//!      (pipelined: BEGIN, the four INSERTs and COMMIT in one round trip). The two alternate in
//!      halves of `--duration`, so drift (autovacuum, checkpoints, a neighbour's build) hits both;
//!    - `GET /v1/orders/{uid}` by random seeded uid;
//!    - a list page: `GET /v1/orders?limit=100&labelSelector=strata.dev/seeded=true&region_uid=…
//!      &placed_ts.lt=…&sort=-placed_ts` with a random region and instant;
//!    - the two reads again from a single client: their service time, without queueing behind
//!      31 other clients for the machine's cores;
//!    - on request, two diagnostics: `--phases raw-locked`, the raw ceiling with place-order's
//!      per-store advisory lock held until COMMIT; `--phases place-spread`, place-order with
//!      each client in a store of its own, so no two orders wait for the same numbering lock.
//!
//! Latency is measured per request from send to the last byte of the answer; throughput is the
//! successful requests over the phase's wall time. Client, server and PostgreSQL share the machine.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use strata_domain::commands::{Address, OrderLineInput, PlaceOrder};
use strata_domain::identity::Scopes;
use strata_schema::SchemaSource;

use super::harness::{Body, Http, Server};
use super::{Scratch, engine_label, schema, scratch, seed};
use crate::cli::{ApiBenchArgs, ApiPhase, EventLogFsync, GlobalOpts, SeedArgs};

/// The place-order targets: throughput relative to the raw ceiling, and p99.
const PLACE_RATIO_TARGET: f64 = 0.60;
const PLACE_P99_TARGET_MS: f64 = 25.0;
const GET_P99_TARGET_MS: f64 = 5.0;
const LIST_P99_TARGET_MS: f64 = 20.0;

/// Lines per order and the US tax rate the seed uses.
const LINES: usize = 3;
const TAX_RATE_PERCENT: i64 = 8;
/// Unit prices the seed gives its products, in cents.
const PRICES: [i64; 6] = [1999, 2499, 2999, 3499, 3999, 4999];
/// Rows per list page.
const PAGE: usize = 100;

pub async fn run(global: &GlobalOpts, args: &ApiBenchArgs) -> Result<ExitCode> {
    if global.database_url.is_none() {
        bail!(
            "bench api needs --database-url (a PostgreSQL server that allows CREATE DATABASE): \
             the embedded engine serves one connection at a time"
        );
    }
    let s = scratch(global, "api").await?;
    let result = bench(global, args, &s).await;
    s.drop_it().await?;
    result
}

async fn bench(global: &GlobalOpts, args: &ApiBenchArgs, s: &Scratch) -> Result<ExitCode> {
    let url = s.url.clone().context("scratch database URL")?;
    let clients = args.clients as usize;
    let duration = Duration::from_secs_f64(args.duration);
    let warmup = Duration::from_secs_f64(args.warmup);

    eprintln!(
        "applying the schema and seeding {} products x {} days",
        args.products, args.days
    );
    schema::apply_schema(&s.db, &SchemaSource::embedded()).await?;
    let seeded = seed::seed_store(
        &s.db,
        &SeedArgs {
            products: args.products,
            days: args.days,
            seed: args.seed,
            end_date: None,
            no_progress: true,
        },
    )
    .await?;
    let fixtures = Arc::new(Fixtures::load(&s.db).await?);
    eprintln!(
        "seeded {} orders ({} rows); {} sellable variants, {} customers",
        seeded.orders,
        seeded.total_rows(),
        fixtures.variants.len(),
        fixtures.customers.len()
    );

    let key = {
        let mut client = s.db.client().await?;
        let (_, key) = strata_domain::identity::create_key(
            &mut **client,
            "bench-api",
            &Scopes::parse_list("*").context("scopes")?,
            None,
        )
        .await
        .context("create the bench API key")?;
        key
    };
    let log_dir = tempfile::tempdir().context("create the event log's directory")?;
    let fsync = match args.event_log_fsync {
        EventLogFsync::Always => strata_events::FsyncPolicy::Always,
        EventLogFsync::Normal => strata_events::FsyncPolicy::Normal,
    };
    let options = strata_events::SqliteOptions {
        fsync,
        ..strata_events::SqliteOptions::default()
    };
    let log =
        strata_events::SqliteLog::open(log_dir.path(), options).context("open the event log")?;
    let server = Server::start(s.db.clone(), Arc::new(log.clone())).await?;
    let http = Http::new(&server.base, &key, clients)?;

    let want = |p: ApiPhase| args.phases.contains(&p);
    let mut rng = StdRng::seed_from_u64(args.seed);
    // Does this build serve POST /v1/orders?
    let place_served = if want(ApiPhase::Place) || want(ApiPhase::PlaceSpread) {
        match place_via_http(&http, &fixtures, &mut rng).await {
            Ok(()) => true,
            Err(e) if e.to_string().contains("HTTP 404") || e.to_string().contains("HTTP 405") => {
                eprintln!(
                    "POST /v1/orders is not served by this build ({e:#}); skipping place-order"
                );
                false
            }
            Err(e) => bail!("the first POST /v1/orders failed: {e:#}"),
        }
    } else {
        false
    };
    let raw_op = if want(ApiPhase::Raw) {
        Some(
            Raw::connect(&url, clients, &fixtures, false)
                .await?
                .op(&fixtures),
        )
    } else {
        None
    };
    let locked_op = if want(ApiPhase::RawLocked) {
        Some(
            Raw::connect(&url, clients, &fixtures, true)
                .await?
                .op(&fixtures),
        )
    } else {
        None
    };
    let place_op =
        (place_served && want(ApiPhase::Place)).then(|| place_order_op(&http, &fixtures, None));
    let spread_op = if place_served && want(ApiPhase::PlaceSpread) {
        let stores = fixtures.extra_stores(&s.db, clients).await?;
        Some(place_order_op(&http, &fixtures, Some(Arc::new(stores))))
    } else {
        None
    };

    eprintln!(
        "warming up ({:.1} s per write path), then measuring with {clients} clients",
        args.warmup
    );
    for op in [&raw_op, &locked_op, &place_op, &spread_op]
        .into_iter()
        .flatten()
    {
        run_phase(clients, warmup, args.seed, op).await;
    }
    // The write paths alternate in halves, so drift hits both alike.
    let mut raw_samples = raw_op.as_ref().map(|_| Samples::default());
    let mut locked_samples = locked_op.as_ref().map(|_| Samples::default());
    let mut place_samples = place_op.as_ref().map(|_| Samples::default());
    let mut spread_samples = spread_op.as_ref().map(|_| Samples::default());
    for half in 0..2u64 {
        if let (Some(op), Some(all)) = (&spread_op, &mut spread_samples) {
            let r = run_phase(clients, duration / 2, args.seed + 60 + half, op).await;
            eprintln!(
                "  place order, a store per client, half {}: {}",
                half + 1,
                r.summary()
            );
            all.merge(r);
        }
        if let (Some(op), Some(all)) = (&locked_op, &mut locked_samples) {
            let r = run_phase(clients, duration / 2, args.seed + 50 + half, op).await;
            eprintln!(
                "  raw SQL + per-store lock, half {}: {}",
                half + 1,
                r.summary()
            );
            all.merge(r);
        }
        if let (Some(op), Some(all)) = (&raw_op, &mut raw_samples) {
            let r = run_phase(clients, duration / 2, args.seed + 10 + half, op).await;
            eprintln!("  raw SQL, half {}: {}", half + 1, r.summary());
            all.merge(r);
        }
        if let (Some(op), Some(all)) = (&place_op, &mut place_samples) {
            let p = run_phase(clients, duration / 2, args.seed + 20 + half, op).await;
            eprintln!("  place order, half {}: {}", half + 1, p.summary());
            all.merge(p);
        }
    }
    // Reads at full concurrency (throughput, latency under saturation) and from one client
    // (service time: no queueing behind the other clients on this machine's cores).
    let mut read_levels = vec![clients];
    if clients > 1 {
        read_levels.push(1);
    }
    let mut gets = Vec::new();
    let mut lists = Vec::new();
    for &n in &read_levels {
        if want(ApiPhase::Get) {
            let get = run_phase(n, duration, args.seed + 30, &get_op(&http, &fixtures)).await;
            eprintln!("  get, {}: {}", clients_label(n), get.summary());
            gets.push((n, get));
        }
    }
    if want(ApiPhase::List) {
        check_list_page(&http, &fixtures, &mut rng)
            .await
            .context("list pages")?;
    }
    for &n in &read_levels {
        if want(ApiPhase::List) {
            let list = run_phase(n, duration, args.seed + 40, &list_op(&http, &fixtures)).await;
            eprintln!("  list, {}: {}", clients_label(n), list.summary());
            lists.push((n, list));
        }
    }
    eprintln!(
        "  event log: {} writes still queued at the end (0 expected)",
        log.queued_writes()
    );

    server.stop().await;
    drop(log_dir);

    // The report.
    let engine = engine_label(global);
    let mut met = true;
    println!("| what | engine | result | target |");
    println!("|---|---|---|---|");
    let ratio = match (&place_samples, &raw_samples) {
        (Some(p), Some(r)) => Some(p.throughput() / r.throughput().max(f64::MIN_POSITIVE)),
        _ => None,
    };
    if let Some(place) = &place_samples {
        let p99 = place.percentile_ms(0.99);
        let ok = ratio.is_none_or(|r| r >= PLACE_RATIO_TARGET) && p99 < PLACE_P99_TARGET_MS;
        met &= ok;
        println!(
            "| place order, `POST /v1/orders` (3 lines; header, lines, tax lines, summary, address, audit row, event), {clients} clients | {engine} | {} | ≥ 60% of raw, p99 < {PLACE_P99_TARGET_MS} ms: {} |",
            place.result(),
            verdict(ok)
        );
    }
    if let Some(raw) = &raw_samples {
        println!(
            "| raw-SQL ceiling: the same header, 3 lines, 3 tax lines and summary INSERTs, tokio-postgres, 1 connection per client, 1 transaction per order, {clients} clients | {engine} | {} | (reference) |",
            raw.result()
        );
    }
    if let Some(locked) = &locked_samples {
        println!(
            "| diagnostic: the raw-SQL ceiling with place-order's per-store `pg_advisory_xact_lock` held until COMMIT, {clients} clients | {engine} | {} | (diagnostic) |",
            locked.result()
        );
    }
    if let Some(spread) = &spread_samples {
        let vs_raw = raw_samples.as_ref().map_or(String::new(), |r| {
            format!(
                " = {:.0}% of raw",
                spread.throughput() / r.throughput().max(f64::MIN_POSITIVE) * 100.0
            )
        });
        println!(
            "| diagnostic: place order with each client in a store of its own (no shared numbering lock), {clients} clients | {engine} | {}{vs_raw} | (diagnostic) |",
            spread.result()
        );
    }
    if let Some(ratio) = ratio {
        println!(
            "| place order / raw-SQL ceiling | {engine} | {:.0}% | ≥ 60%: {} |",
            ratio * 100.0,
            verdict(ratio >= PLACE_RATIO_TARGET)
        );
    }
    for (n, get) in &gets {
        let ok = get.percentile_ms(0.99) < GET_P99_TARGET_MS;
        met &= ok;
        println!(
            "| `GET /v1/orders/{{uid}}`, random seeded order, {} | {engine} | {} | p99 < {GET_P99_TARGET_MS} ms: {} |",
            clients_label(*n),
            get.result(),
            verdict(ok)
        );
    }
    for (n, list) in &lists {
        let ok = list.percentile_ms(0.99) < LIST_P99_TARGET_MS;
        met &= ok;
        println!(
            "| list page of {PAGE}, `GET /v1/orders?limit=100&labelSelector=strata.dev/seeded=true&region_uid=…&placed_ts.lt=…&sort=-placed_ts`, {} | {engine} | {} | p99 < {LIST_P99_TARGET_MS} ms: {} |",
            clients_label(*n),
            list.result(),
            verdict(ok)
        );
    }
    eprintln!(
        "store: {} orders seeded ({} products x {} days); {:.0} s per measurement; event log fsync: {:?} (group commit)",
        seeded.orders, args.products, args.days, args.duration, fsync
    );
    if !met {
        eprintln!("some targets were missed (see the rows above)");
    }
    Ok(ExitCode::SUCCESS)
}

fn clients_label(n: usize) -> String {
    if n == 1 {
        "1 client".to_owned()
    } else {
        format!("{n} clients")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

// ---------------------------------------------------------------------------------------------
// What the clients choose from.

struct Variant {
    uid: String,
    title: String,
    sku: Option<String>,
    barcode: Option<String>,
    product_uid: String,
    product_title: String,
    product_subtitle: Option<String>,
    product_handle: Option<String>,
    thumbnail: Option<String>,
    /// Unit price in cents.
    price: i64,
}

struct Customer {
    uid: String,
    email: Option<String>,
}

struct Fixtures {
    store_uid: String,
    /// The store's US region (USD, the seed's 8% tax).
    region_uid: String,
    sales_channel_uid: String,
    variants: Vec<Variant>,
    customers: Vec<Customer>,
    order_uids: Vec<String>,
    /// Every region, with the span of its seeded orders' `placed_ts`.
    regions: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
}

impl Fixtures {
    async fn load(db: &strata_domain::Database) -> Result<Self> {
        let client = db.client().await?;
        let row = client
            .query_one(
                "SELECT s.uid, r.uid, sc.uid FROM store s \
                 JOIN region r ON r.currency_code = 'usd' \
                 JOIN sales_channel sc ON NOT sc.is_disabled AND sc.status->>'phase' = 'active' \
                 WHERE s.status->>'phase' = 'active' ORDER BY s.uid, r.uid, sc.name LIMIT 1",
                &[],
            )
            .await
            .context("the seeded store, region and sales channel")?;
        let variants = client
            .query(
                "SELECT v.uid, v.title, v.sku, v.barcode, p.uid, p.title, p.subtitle, p.handle, \
                        p.thumbnail \
                 FROM product_variant v JOIN product p ON p.uid = v.product_uid \
                 WHERE p.status->>'phase' = 'published' AND v.status->>'phase' = 'active' \
                 ORDER BY v.uid LIMIT 1000",
                &[],
            )
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, r)| Variant {
                uid: r.get(0),
                title: r.get(1),
                sku: r.get(2),
                barcode: r.get(3),
                product_uid: r.get(4),
                product_title: r.get(5),
                product_subtitle: r.get(6),
                product_handle: r.get(7),
                thumbnail: r.get(8),
                price: PRICES[i % PRICES.len()],
            })
            .collect::<Vec<_>>();
        let customers = client
            .query(
                "SELECT uid, email FROM customer WHERE status->>'phase' = 'active' \
                 ORDER BY uid LIMIT 2000",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| Customer {
                uid: r.get(0),
                email: r.get(1),
            })
            .collect::<Vec<_>>();
        let order_uids = client
            .query(
                "SELECT uid FROM order_header ORDER BY md5(uid) LIMIT 10000",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| r.get(0))
            .collect::<Vec<_>>();
        let regions = client
            .query(
                "SELECT region_uid, min(placed_ts), max(placed_ts) FROM order_header \
                 GROUP BY region_uid HAVING count(*) >= $1 ORDER BY region_uid",
                &[&(PAGE as i64 * 4)],
            )
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect::<Vec<_>>();
        if variants.len() < LINES || customers.is_empty() || order_uids.is_empty() {
            bail!("the seeded store is too small: use more --products or --days");
        }
        if regions.is_empty() {
            bail!("no region has {} seeded orders: use more --days", PAGE * 4);
        }
        Ok(Self {
            store_uid: row.get(0),
            region_uid: row.get(1),
            sales_channel_uid: row.get(2),
            variants,
            customers,
            order_uids,
            regions,
        })
    }

    /// `LINES` distinct variants with their quantities.
    fn pick_lines(&self, rng: &mut StdRng) -> Vec<(&Variant, i64)> {
        let mut picked: Vec<usize> = Vec::with_capacity(LINES);
        while picked.len() < LINES {
            let i = rng.random_range(0..self.variants.len());
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        picked
            .into_iter()
            .map(|i| (&self.variants[i], rng.random_range(1..=3)))
            .collect()
    }

    /// `n` more active stores like the seeded one (for the place-spread diagnostic).
    async fn extra_stores(&self, db: &strata_domain::Database, n: usize) -> Result<Vec<String>> {
        let client = db.client().await?;
        let mut stores = Vec::with_capacity(n);
        for i in 0..n {
            let uid = format!("sto_{}", ulid::Ulid::new());
            client
                .execute(
                    "INSERT INTO store (uid, name, default_currency_code, default_region_uid, \
                     default_sales_channel_uid) VALUES ($1, $2, 'usd', $3, $4)",
                    &[
                        &uid,
                        &format!("Bench store {}", i + 1),
                        &self.region_uid,
                        &self.sales_channel_uid,
                    ],
                )
                .await
                .context("create a bench store")?;
            stores.push(uid);
        }
        Ok(stores)
    }

    fn pick_customer(&self, rng: &mut StdRng) -> &Customer {
        &self.customers[rng.random_range(0..self.customers.len())]
    }
}

type OpFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;
/// One client request: given the client's index and its random source, builds the request and
/// returns the future that sends it.
type Op = Arc<dyn Fn(usize, &mut StdRng) -> OpFuture + Send + Sync>;

fn place_command(f: &Fixtures, store_uid: &str, rng: &mut StdRng) -> PlaceOrder {
    let customer = f.pick_customer(rng);
    PlaceOrder {
        store_uid: store_uid.to_owned(),
        customer_uid: Some(customer.uid.clone()),
        email: None,
        region_uid: f.region_uid.clone(),
        sales_channel_uid: f.sales_channel_uid.clone(),
        currency_code: "usd".to_owned(),
        lines: f
            .pick_lines(rng)
            .into_iter()
            .map(|(v, quantity)| OrderLineInput {
                variant_uid: v.uid.clone(),
                quantity,
                unit_price: Some(Decimal::new(v.price, 2)),
                discount: None,
            })
            .collect(),
        tax_rate_percent: Decimal::from(TAX_RATE_PERCENT),
        tax_code: Some("US-SALES".to_owned()),
        shipping_address: Address {
            first_name: Some("Ada".to_owned()),
            last_name: Some("Lovelace".to_owned()),
            address_1: Some("100 Congress Ave".to_owned()),
            city: Some("Austin".to_owned()),
            country_code: Some("us".to_owned()),
            province: Some("TX".to_owned()),
            postal_code: Some("78701".to_owned()),
            ..Address::default()
        },
        referral_uid: None,
        source_channel: Some("web".to_owned()),
    }
}

fn place_request(
    http: &Http,
    f: &Fixtures,
    store_uid: &str,
    rng: &mut StdRng,
) -> Result<hyper::Request<Body>> {
    let body = serde_json::to_vec(&place_command(f, store_uid, rng))?;
    http.request(hyper::Method::POST, "/v1/orders", Some(body))
}

async fn place_via_http(http: &Http, f: &Fixtures, rng: &mut StdRng) -> Result<()> {
    http.send(place_request(http, f, &f.store_uid, rng), 201)
        .await
        .map(drop)
}

/// Place-order in the seeded store, or (`stores`, a diagnostic) with each client in a store of
/// its own, so no two clients contend for a store's numbering lock.
fn place_order_op(http: &Http, f: &Arc<Fixtures>, stores: Option<Arc<Vec<String>>>) -> Op {
    let (http, f) = (http.clone(), Arc::clone(f));
    Arc::new(move |w, rng| {
        let store = stores
            .as_ref()
            .map_or(f.store_uid.as_str(), |s| &s[w % s.len()]);
        let req = place_request(&http, &f, store, rng);
        let http = http.clone();
        Box::pin(async move { http.send(req, 201).await.map(drop) })
    })
}

fn get_op(http: &Http, f: &Arc<Fixtures>) -> Op {
    let (http, f) = (http.clone(), Arc::clone(f));
    Arc::new(move |_, rng| {
        let uid = &f.order_uids[rng.random_range(0..f.order_uids.len())];
        let req = http.request(hyper::Method::GET, &format!("/v1/orders/{uid}"), None);
        let http = http.clone();
        Box::pin(async move { http.send(req, 200).await.map(drop) })
    })
}

/// A list page: a random region, orders placed before a random instant, newest first.
fn list_request(http: &Http, f: &Fixtures, rng: &mut StdRng) -> Result<hyper::Request<Body>> {
    let (region, first, last) = &f.regions[rng.random_range(0..f.regions.len())];
    // An instant in the later three quarters of the region's history, so a full page is older.
    let span = (*last - *first).num_seconds().max(1);
    let before = *first + chrono::Duration::seconds(rng.random_range(span / 4..=span));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("limit", &PAGE.to_string())
        .append_pair(
            "labelSelector",
            &format!("{}=true", strata_domain::seed::SEED_LABEL),
        )
        .append_pair("region_uid", region)
        .append_pair(
            "placed_ts.lt",
            &before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
        .append_pair("sort", "-placed_ts")
        .finish();
    http.request(hyper::Method::GET, &format!("/v1/orders?{query}"), None)
}

/// Checks once that list pages are full pages of labelled rows, so the phase measures 100 rows.
async fn check_list_page(http: &Http, f: &Fixtures, rng: &mut StdRng) -> Result<()> {
    for _ in 0..5 {
        let body = http.send(list_request(http, f, rng), 200).await?;
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        if items != PAGE {
            bail!(
                "a list page held {items} orders, not {PAGE}: {}",
                &page.to_string()[..300.min(page.to_string().len())]
            );
        }
    }
    Ok(())
}

fn list_op(http: &Http, f: &Arc<Fixtures>) -> Op {
    let (http, f) = (http.clone(), Arc::clone(f));
    Arc::new(move |_, rng| {
        let req = list_request(&http, &f, rng);
        let http = http.clone();
        Box::pin(async move { http.send(req, 200).await.map(drop) })
    })
}

// ---------------------------------------------------------------------------------------------
// The raw-SQL ceiling.

const RAW_HEADER_SQL: &str = "INSERT INTO order_header (uid, order_number, display_id, store_uid, \
     customer_uid, region_uid, sales_channel_uid, email, currency_code, source_channel, \
     item_total, raw_item_total, subtotal, raw_subtotal, discount_total, raw_discount_total, \
     shipping_total, raw_shipping_total, tax_total, raw_tax_total, total, raw_total, tax_rate, \
     quantity, placed_ts) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'web', \
     $10, jsonb_build_object('value', $10::numeric::text, 'currency_code', $9::text), \
     $11, jsonb_build_object('value', $11::numeric::text, 'currency_code', $9::text), \
     $12, jsonb_build_object('value', $12::numeric::text, 'currency_code', $9::text), \
     $13, jsonb_build_object('value', $13::numeric::text, 'currency_code', $9::text), \
     $14, jsonb_build_object('value', $14::numeric::text, 'currency_code', $9::text), \
     $15, jsonb_build_object('value', $15::numeric::text, 'currency_code', $9::text), \
     $16, $17, now())";

const RAW_LINES_SQL: &str = "INSERT INTO order_line_item (uid, order_uid, product_uid, \
     variant_uid, title, subtitle, thumbnail, product_title, product_subtitle, product_handle, \
     variant_title, variant_sku, variant_barcode, quantity, \
     unit_price, raw_unit_price, subtotal, raw_subtotal, discount_total, raw_discount_total, \
     tax_total, raw_tax_total, total, raw_total, is_discountable, is_custom_price) \
     SELECT u.uid, $2::text, u.product_uid, u.variant_uid, u.product_title, u.variant_title, \
       u.thumbnail, u.product_title, u.product_subtitle, u.product_handle, u.variant_title, \
       u.sku, u.barcode, u.quantity, \
       u.unit_price, jsonb_build_object('value', u.unit_price::text, 'currency_code', $3::text), \
       u.subtotal, jsonb_build_object('value', u.subtotal::text, 'currency_code', $3::text), \
       0, jsonb_build_object('value', '0', 'currency_code', $3::text), \
       u.tax, jsonb_build_object('value', u.tax::text, 'currency_code', $3::text), \
       u.total, jsonb_build_object('value', u.total::text, 'currency_code', $3::text), \
       true, true \
     FROM unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
       $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::numeric[], \
       $15::numeric[], $16::numeric[], $17::numeric[]) \
     AS u(uid, product_uid, variant_uid, product_title, product_subtitle, product_handle, \
       thumbnail, variant_title, sku, barcode, quantity, unit_price, subtotal, tax, total)";

const RAW_TAX_SQL: &str = "INSERT INTO order_line_item_tax_line (uid, line_item_uid, code, \
     description, rate, amount, raw_amount) \
     SELECT u.uid, u.line_item_uid, $3::text, 'Tax', $4::numeric, u.amount, \
       jsonb_build_object('value', u.amount::text, 'currency_code', $5::text) \
     FROM unnest($1::text[], $2::text[], $6::numeric[]) AS u(uid, line_item_uid, amount)";

const RAW_SUMMARY_SQL: &str =
    "INSERT INTO order_summary (uid, order_uid, version, totals) VALUES ($1, $2, 1, $3)";

/// One connection per client with its prepared statements.
struct RawWorker {
    client: tokio_postgres::Client,
    lock: tokio_postgres::Statement,
    header: tokio_postgres::Statement,
    lines: tokio_postgres::Statement,
    tax: tokio_postgres::Statement,
    summary: tokio_postgres::Statement,
}

struct Raw {
    workers: Arc<Vec<RawWorker>>,
    /// Its own store, so its order numbers never meet place-order's.
    store_uid: Arc<str>,
    next_display_id: Arc<AtomicI64>,
    /// The diagnostic variant: each transaction first takes a per-store advisory lock, held
    /// until COMMIT, as place-order does to number a store's orders.
    locked: bool,
}

impl Raw {
    async fn connect(url: &str, clients: usize, f: &Fixtures, locked: bool) -> Result<Self> {
        let mut workers = Vec::with_capacity(clients);
        for _ in 0..clients {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .context("connect a raw-SQL worker")?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "raw-SQL worker connection ended");
                }
            });
            let (lock, header, lines, tax, summary) = tokio::try_join!(
                client.prepare("SELECT pg_advisory_xact_lock($1::bigint)"),
                client.prepare(RAW_HEADER_SQL),
                client.prepare(RAW_LINES_SQL),
                client.prepare(RAW_TAX_SQL),
                client.prepare(RAW_SUMMARY_SQL),
            )
            .context("prepare the raw-SQL inserts")?;
            workers.push(RawWorker {
                client,
                lock,
                header,
                lines,
                tax,
                summary,
            });
        }
        // A second store, written like the seed's, for the raw orders.
        let store_uid = format!("sto_{}", ulid::Ulid::new());
        workers[0]
            .client
            .execute(
                "INSERT INTO store (uid, name, default_currency_code, default_region_uid, \
                 default_sales_channel_uid) VALUES ($1, 'Raw SQL ceiling', 'usd', $2, $3)",
                &[&store_uid, &f.region_uid, &f.sales_channel_uid],
            )
            .await
            .context("create the raw-SQL store")?;
        Ok(Self {
            workers: Arc::new(workers),
            store_uid: store_uid.into(),
            next_display_id: Arc::new(AtomicI64::new(1001)),
            locked,
        })
    }

    fn op(&self, f: &Arc<Fixtures>) -> Op {
        let (workers, f) = (Arc::clone(&self.workers), Arc::clone(f));
        let (store_uid, next) = (
            Arc::clone(&self.store_uid),
            Arc::clone(&self.next_display_id),
        );
        let lock_key = self.locked.then(|| {
            // Any fixed key per store; place-order derives its own from the store's uid.
            store_uid
                .bytes()
                .fold(0i64, |h, b| h.wrapping_mul(31).wrapping_add(i64::from(b)))
        });
        Arc::new(move |w, rng| {
            let order = RawOrder::new(&f, rng, &store_uid, next.fetch_add(1, Ordering::Relaxed));
            let workers = Arc::clone(&workers);
            Box::pin(async move { order.insert(&workers[w], lock_key).await })
        })
    }
}

/// Everything one raw order sends, computed as place-order computes it.
struct RawOrder {
    uid: String,
    number: String,
    display_id: i64,
    store_uid: String,
    customer_uid: String,
    email: Option<String>,
    region_uid: String,
    sales_channel_uid: String,
    item_total: Decimal,
    subtotal: Decimal,
    tax_total: Decimal,
    quantity: i32,
    line_uids: Vec<String>,
    product_uids: Vec<String>,
    variant_uids: Vec<String>,
    product_titles: Vec<String>,
    product_subtitles: Vec<Option<String>>,
    product_handles: Vec<Option<String>>,
    thumbnails: Vec<Option<String>>,
    variant_titles: Vec<String>,
    skus: Vec<Option<String>>,
    barcodes: Vec<Option<String>>,
    quantities: Vec<i32>,
    unit_prices: Vec<Decimal>,
    subtotals: Vec<Decimal>,
    taxes: Vec<Decimal>,
    totals: Vec<Decimal>,
    tax_uids: Vec<String>,
    summary_uid: String,
    summary: serde_json::Value,
}

impl RawOrder {
    fn new(f: &Fixtures, rng: &mut StdRng, store_uid: &str, display_id: i64) -> Self {
        let customer = f.pick_customer(rng);
        let lines = f.pick_lines(rng);
        let mut ulids = ulid::Generator::new();
        let mut uid = |prefix: &str| {
            let u = ulids.generate().unwrap_or_else(|_| ulid::Ulid::new());
            format!("{prefix}_{u}")
        };
        let order_uid = uid("ord");
        let cents = |c: i64| Decimal::new(c, 2);
        let mut o = Self {
            uid: order_uid,
            number: format!("#{display_id}"),
            display_id,
            store_uid: store_uid.to_owned(),
            customer_uid: customer.uid.clone(),
            email: customer.email.clone(),
            region_uid: f.region_uid.clone(),
            sales_channel_uid: f.sales_channel_uid.clone(),
            item_total: Decimal::ZERO,
            subtotal: Decimal::ZERO,
            tax_total: Decimal::ZERO,
            quantity: 0,
            line_uids: Vec::new(),
            product_uids: Vec::new(),
            variant_uids: Vec::new(),
            product_titles: Vec::new(),
            product_subtitles: Vec::new(),
            product_handles: Vec::new(),
            thumbnails: Vec::new(),
            variant_titles: Vec::new(),
            skus: Vec::new(),
            barcodes: Vec::new(),
            quantities: Vec::new(),
            unit_prices: Vec::new(),
            subtotals: Vec::new(),
            taxes: Vec::new(),
            totals: Vec::new(),
            tax_uids: Vec::new(),
            summary_uid: String::new(),
            summary: serde_json::Value::Null,
        };
        let (mut item_total, mut subtotal, mut tax_total) = (0i64, 0i64, 0i64);
        for (v, quantity) in lines {
            let line_sub = v.price * quantity;
            // round(subtotal × rate / 100), half away from zero: place-order's arithmetic.
            let tax = (line_sub * TAX_RATE_PERCENT + 50) / 100;
            o.line_uids.push(uid("ordli"));
            o.product_uids.push(v.product_uid.clone());
            o.variant_uids.push(v.uid.clone());
            o.product_titles.push(v.product_title.clone());
            o.product_subtitles.push(v.product_subtitle.clone());
            o.product_handles.push(v.product_handle.clone());
            o.thumbnails.push(v.thumbnail.clone());
            o.variant_titles.push(v.title.clone());
            o.skus.push(v.sku.clone());
            o.barcodes.push(v.barcode.clone());
            o.quantities.push(quantity as i32);
            o.unit_prices.push(cents(v.price));
            o.subtotals.push(cents(line_sub));
            o.taxes.push(cents(tax));
            o.totals.push(cents(line_sub + tax));
            o.quantity += quantity as i32;
            item_total += line_sub + tax;
            subtotal += line_sub;
            tax_total += tax;
        }
        o.tax_uids = o.line_uids.iter().map(|_| uid("ordlitx")).collect();
        o.summary_uid = uid("ordsum");
        o.item_total = cents(item_total);
        o.subtotal = cents(subtotal);
        o.tax_total = cents(tax_total);
        o.summary = serde_json::json!({
            "currency_code": "usd",
            "item_total": o.item_total.to_string(),
            "subtotal": o.subtotal.to_string(),
            "discount_total": "0.00",
            "shipping_total": "0.00",
            "tax_total": o.tax_total.to_string(),
            "total": o.item_total.to_string(),
            "paid_total": "0.00",
        });
        o
    }

    /// BEGIN, the four INSERTs and COMMIT, pipelined in one round trip; a failed INSERT turns
    /// the COMMIT into a rollback.
    async fn insert(&self, w: &RawWorker, lock_key: Option<i64>) -> Result<()> {
        let zero = Decimal::ZERO;
        let rate = Decimal::from(TAX_RATE_PERCENT);
        let c = &w.client;
        tokio::try_join!(
            c.batch_execute("BEGIN"),
            async {
                match lock_key {
                    Some(key) => c.execute(&w.lock, &[&key]).await.map(drop),
                    None => Ok(()),
                }
            },
            async {
                c.execute(
                    &w.header,
                    &[
                        &self.uid,
                        &self.number,
                        &self.display_id,
                        &self.store_uid,
                        &self.customer_uid,
                        &self.region_uid,
                        &self.sales_channel_uid,
                        &self.email,
                        &"usd",
                        &self.item_total,
                        &self.subtotal,
                        &zero,
                        &zero,
                        &self.tax_total,
                        &self.item_total,
                        &rate,
                        &self.quantity,
                    ],
                )
                .await
            },
            async {
                c.execute(
                    &w.lines,
                    &[
                        &self.line_uids,
                        &self.uid,
                        &"usd",
                        &self.product_uids,
                        &self.variant_uids,
                        &self.product_titles,
                        &self.product_subtitles,
                        &self.product_handles,
                        &self.thumbnails,
                        &self.variant_titles,
                        &self.skus,
                        &self.barcodes,
                        &self.quantities,
                        &self.unit_prices,
                        &self.subtotals,
                        &self.taxes,
                        &self.totals,
                    ],
                )
                .await
            },
            async {
                c.execute(
                    &w.tax,
                    &[
                        &self.tax_uids,
                        &self.line_uids,
                        &"US-SALES",
                        &rate,
                        &"usd",
                        &self.taxes,
                    ],
                )
                .await
            },
            async {
                c.execute(&w.summary, &[&self.summary_uid, &self.uid, &self.summary])
                    .await
            },
            c.batch_execute("COMMIT"),
        )?;
        // PostgreSQL answers a COMMIT of a failed transaction with ROLLBACK, not an error; the
        // failed INSERT has already made try_join! fail above.
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Running a phase and summarising it.

#[derive(Default)]
struct Samples {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    /// Latency of every successful request, in microseconds.
    latencies_us: Vec<u64>,
    /// Wall time of the phase(s).
    elapsed: Duration,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
        self.elapsed += other.elapsed;
    }

    fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Nearest-rank percentile, in milliseconds.
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64 / 1000.0
    }

    fn result(&self) -> String {
        let mut s = format!(
            "{:.0} ops/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms ({} requests",
            self.throughput(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.95),
            self.percentile_ms(0.99),
            self.ok
        );
        if self.errors > 0 {
            s.push_str(&format!(", {} errors", self.errors));
        }
        s.push(')');
        s
    }

    fn summary(&self) -> String {
        let mut s = self.result();
        if let Some(e) = &self.first_error {
            s.push_str(&format!("; first error: {e}"));
        }
        s
    }
}

/// `clients` tasks each send requests one after another until `duration` has passed.
async fn run_phase(clients: usize, duration: Duration, seed: u64, op: &Op) -> Samples {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..clients {
        let op = Arc::clone(op);
        tasks.spawn(async move {
            let mut rng =
                StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(w as u64));
            let mut s = Samples::default();
            while Instant::now() < deadline {
                let request = op(w, &mut rng);
                let sent = Instant::now();
                match request.await {
                    Ok(()) => {
                        s.ok += 1;
                        s.latencies_us.push(sent.elapsed().as_micros() as u64);
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            s
        });
    }
    let mut all = Samples::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(s) => all.merge(s),
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    all.elapsed = started.elapsed();
    all
}
