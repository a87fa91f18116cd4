//! `strata bench measurements`: layer 3's targets on a generated store. Full performance refresh
//! of every as-of day against a hand-written DuckDB query over the same Parquet files, and the
//! incremental daily refresh.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rust_decimal::Decimal;
use strata_events::{
    Amount, CommerceBody, CommerceKind, CommerceLine, CurrencyCode, Envelope, Event, EventSource,
    OrderSnapshot, StreamName,
};
use strata_lake::{Lake, LakeConfig};
use strata_measure::{Measurements, ProductDim, ReportingZone, SalesScope, tables};

use super::ingest::uid;
use crate::cli::{GlobalOpts, MeasureBenchArgs};

/// Orders written to the lake per commit while loading.
const LOAD_CHUNK: usize = 100_000;

pub async fn run(_global: &GlobalOpts, args: &MeasureBenchArgs) -> Result<ExitCode> {
    let dir = tempfile::tempdir().context("a scratch directory")?;
    let data = dir.path();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let last = NaiveDate::from_ymd_opt(2026, 11, 27).context("a date")?;
    let first = last - Duration::days(i64::from(args.days) - 1);
    let products = products(&mut rng, args.products, first, last)?;
    let lake = Lake::open(LakeConfig::embedded(data)).await?;
    lake.ensure_tables().await?;

    // Load: orders of 1–4 lines (2.5 on average) spread evenly over the days.
    let orders = args.line_items / 5 * 2;
    eprintln!(
        "loading {} orders ({} line items) over {} days for {} products…",
        orders, args.line_items, args.days, args.products
    );
    let started = Instant::now();
    let mut line_items = 0u64;
    let mut written = 0u64;
    let per_day = orders.div_ceil(u64::from(args.days)).max(1);
    let mut chunk = Vec::with_capacity(LOAD_CHUNK);
    for i in 0..orders {
        let day = first + Duration::days((i / per_day) as i64);
        let (event, lines) = order(&mut rng, &products, day)?;
        line_items += lines;
        chunk.push(event);
        if chunk.len() == LOAD_CHUNK || i + 1 == orders {
            lake.write_events(StreamName::Commerce, &chunk, None)
                .await?;
            written += chunk.len() as u64;
            chunk.clear();
            if written % 1_000_000 < LOAD_CHUNK as u64 {
                eprintln!("  {written} orders written");
            }
        }
    }
    let load = started.elapsed();
    eprintln!("loaded in {:.1} s", load.as_secs_f64());

    let m = Measurements::open(lake.clone(), data, ReportingZone::default()).await?;
    let started = Instant::now();
    let sales = m.refresh_sales(SalesScope::All, &mut |_| {}).await?;
    let sales_time = started.elapsed();
    eprintln!(
        "sales: {} days, {} rows in {:.1} s",
        sales.days,
        sales.rows,
        sales_time.as_secs_f64()
    );

    let started = Instant::now();
    let perf = m
        .refresh_performance(first, last, &products, &[], &mut |_| {})
        .await?;
    let perf_time = started.elapsed();
    eprintln!(
        "performance: {} days, {} rows in {:.1} s",
        perf.days,
        perf.rows,
        perf_time.as_secs_f64()
    );

    let (hand_rows, hand_time) = handwritten(&lake, data, &products, first, last).await?;
    eprintln!(
        "hand-written DuckDB: {hand_rows} rows in {:.1} s",
        hand_time.as_secs_f64()
    );

    // One new day: its orders arrive, then the daily refresh (sales of the touched days, the
    // new as-of day's performance).
    let next = last + Duration::days(1);
    let day_events: Vec<Event> = (0..per_day)
        .map(|_| order(&mut rng, &products, next).map(|(e, _)| e))
        .collect::<Result<_>>()?;
    lake.write_events(StreamName::Commerce, &day_events, None)
        .await?;
    let started = Instant::now();
    let inc_sales = m.refresh_sales(SalesScope::Changed, &mut |_| {}).await?;
    let inc_perf = m
        .refresh_performance(next, next, &products, &[], &mut |_| {})
        .await?;
    let inc_time = started.elapsed();
    eprintln!(
        "incremental: {} sales days, {} performance rows in {:.2} s",
        inc_sales.days,
        inc_perf.rows,
        inc_time.as_secs_f64()
    );

    let ratio = perf_time.as_secs_f64() / hand_time.as_secs_f64().max(1e-9);
    println!(
        "| `strata bench measurements --products {} --days {} --line-items {}` | {} orders, {} line items loaded in {:.0} s |",
        args.products,
        args.days,
        args.line_items,
        written,
        line_items,
        load.as_secs_f64()
    );
    println!(
        "| sales, every day (`--full-sales`) | {} days, {} rows in {:.1} s |",
        sales.days,
        sales.rows,
        sales_time.as_secs_f64()
    );
    println!(
        "| performance, every as-of day | {} days, {} rows in {:.1} s (target < 60 s) |",
        perf.days,
        perf.rows,
        perf_time.as_secs_f64()
    );
    println!(
        "| hand-written DuckDB, same Parquet files | {hand_rows} rows in {:.1} s; Strata / hand-written = {ratio:.2} (target ≤ 1.3) |",
        hand_time.as_secs_f64()
    );
    println!(
        "| incremental day (sales + performance) | {} sales days, {} rows in {:.2} s (target < 5 s) |",
        inc_sales.days,
        inc_perf.rows,
        inc_time.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Products launched over the first 90% of the range, 85% of them published.
fn products(
    rng: &mut StdRng,
    n: u32,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<ProductDim>> {
    let span = (last - first).num_days().max(1);
    (0..n)
        .map(|i| {
            let day = first + Duration::days(rng.random_range(0..=span * 9 / 10));
            let launch_ts = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).context("a time")?)
                + Duration::minutes(rng.random_range(0..600));
            Ok(ProductDim {
                uid: uid::<String>(rng, "prd")?,
                title: format!("Product {i}"),
                is_active: rng.random_range(0..100) < 85,
                launch_ts,
            })
        })
        .collect()
}

/// An order on `day` of 1–4 lines of distinct products, popular products more often.
fn order(rng: &mut StdRng, products: &[ProductDim], day: NaiveDate) -> Result<(Event, u64)> {
    let n = rng.random_range(1..=4);
    let mut lines = Vec::with_capacity(n);
    let mut seen = BTreeSet::new();
    let mut subtotal = Decimal::ZERO;
    while lines.len() < n {
        // Squared uniform: a skew towards the first products, like real catalogues.
        let r: f64 = rng.random();
        let idx = ((r * r) * products.len() as f64) as usize;
        let p = &products[idx.min(products.len() - 1)];
        if !seen.insert(idx) {
            continue;
        }
        let quantity = rng.random_range(1..=3);
        let unit = Decimal::new(rng.random_range(900..15_000), 2);
        let total = unit * Decimal::from(quantity);
        subtotal += total;
        lines.push(CommerceLine {
            line_item_uid: uid(rng, "ordli")?,
            product_uid: Some(p.uid.parse()?),
            product_title: None,
            product_handle: None,
            variant_uid: None,
            variant_title: None,
            sku: None,
            quantity,
            unit_price: Amount::new(unit)?,
            subtotal: Amount::new(total)?,
            discount_total: Amount::ZERO,
            tax_total: Amount::ZERO,
            total: Amount::new(total)?,
        });
    }
    let at = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).context("a time")?)
        + Duration::seconds(rng.random_range(0..86_400));
    let count = lines.len() as u64;
    let event = Envelope::new(
        EventSource::parse("strata-domain")?,
        at,
        CommerceBody {
            order: OrderSnapshot {
                order_uid: uid(rng, "ord")?,
                order_number: "#1".to_owned(),
                store_uid: uid(rng, "sto")?,
                customer_uid: None,
                customer_email: None,
                region_uid: None,
                sales_channel_uid: None,
                currency_code: CurrencyCode::parse("usd")?,
                item_total: Amount::new(subtotal)?,
                subtotal: Amount::new(subtotal)?,
                discount_total: Amount::ZERO,
                shipping_total: Amount::ZERO,
                tax_total: Amount::ZERO,
                total: Amount::new(subtotal)?,
                lines,
            },
            attribution: None,
            kind: CommerceKind::OrderCreated,
        },
    )
    .into();
    Ok((event, count))
}

/// The same performance computation written by hand for DuckDB over the same Parquet files of
/// `measurement.sales`, written with DuckDB's own partitioned Parquet writer: the yardstick.
async fn handwritten(
    lake: &Lake,
    data: &std::path::Path,
    products: &[ProductDim],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<(i64, std::time::Duration)> {
    let table = lake.load(&tables::sales().ident()).await?;
    let files: Vec<String> = strata_lake::live_files(&table)
        .await?
        .into_iter()
        .map(|f| f.path.trim_start_matches("file://").to_owned())
        .collect();
    let out = data.join("handwritten");
    let rows: Vec<(String, bool, i32)> = products
        .iter()
        .map(|p| {
            (
                p.uid.clone(),
                p.is_active,
                (p.launch_day(ReportingZone::default()) - NaiveDate::default()).num_days() as i32,
            )
        })
        .collect();
    tokio::task::spawn_blocking(move || -> Result<(i64, std::time::Duration)> {
        let conn = strata_query::duckdb::Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE p (uid VARCHAR, active BOOLEAN, launch_epoch INTEGER);")?;
        {
            let mut app = conn.appender("p")?;
            for (uid, active, launch) in &rows {
                app.append_row(strata_query::duckdb::params![uid, active, launch])?;
            }
            app.flush()?;
        }
        let list = files
            .iter()
            .map(|f| format!("'{f}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let started = Instant::now();
        conn.execute_batch(&format!(
            "COPY (
               WITH daily AS (SELECT product_uid, day, sum(units) AS units FROM read_parquet([{list}]) GROUP BY ALL),
               g AS (SELECT uid, active, DATE '1970-01-01' + launch_epoch AS launch,
                            CAST(unnest(generate_series(CAST(DATE '1970-01-01' + launch_epoch AS TIMESTAMP),
                                                        TIMESTAMP '{last}', INTERVAL 1 DAY)) AS DATE) AS day
                     FROM p WHERE DATE '1970-01-01' + launch_epoch <= DATE '{last}'),
               s AS (SELECT g.*, coalesce(d.units, 0) AS units FROM g LEFT JOIN daily d ON d.product_uid = g.uid AND d.day = g.day),
               w AS (SELECT uid, active, launch, day,
                            sum(units) OVER (PARTITION BY uid ORDER BY day) AS agg,
                            sum(units) OVER (PARTITION BY uid ORDER BY day ROWS 6 PRECEDING) AS l7,
                            sum(units) OVER (PARTITION BY uid ORDER BY day ROWS 29 PRECEDING) AS l30,
                            sum(units) OVER (PARTITION BY uid ORDER BY day ROWS 89 PRECEDING) AS l90,
                            sum(units) FILTER (WHERE day <= launch + 6) OVER (PARTITION BY uid) AS f7,
                            sum(units) FILTER (WHERE day <= launch + 13) OVER (PARTITION BY uid) AS f14
                     FROM s),
               f AS (SELECT *, CASE WHEN day < launch + 6 THEN agg ELSE f7 END AS first7,
                               CASE WHEN day < launch + 13 THEN agg ELSE f14 END AS first14
                     FROM w WHERE day >= DATE '{first}')
               SELECT day AS as_of_day, uid, first7, first14, l7, l30, l90, agg,
                      first7 >= 10 OR first14 >= 20 AS riser, l30 >= 30 AS winner,
                      row_number() OVER (PARTITION BY day ORDER BY agg, uid) <= 10 AS banana,
                      NOT active AND l30 = 0 AS archive
               FROM f
             ) TO '{out}' (FORMAT parquet, PARTITION_BY (as_of_day), COMPRESSION zstd);",
            out = out.display()
        ))?;
        let elapsed = started.elapsed();
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM read_parquet('{}/**/*.parquet')", out.display()),
            [],
            |r| r.get(0),
        )?;
        Ok((n, elapsed))
    })
    .await?
}
