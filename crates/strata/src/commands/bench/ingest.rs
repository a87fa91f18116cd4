//! `strata bench ingest`: layer 2's targets. Commerce events (about 700 bytes of JSON by default), posted
//! as NDJSON batches to `POST /v1/telemetry/commerce` by concurrent clients, through the durable
//! event log and the commerce pipeline, until the last one is in a committed Iceberg snapshot;
//! against the raw ceiling (the same events as Arrow batches written straight to one zstd Parquet
//! file with arrow-rs). Then freshness (post one event, poll the table until a snapshot holds it)
//! and the process's peak RSS.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use strata_domain::identity::Scopes;
use strata_events::{
    Amount, CommerceBody, CommerceKind, CommerceLine, CurrencyCode, Envelope, Event, EventId,
    EventLog, EventSource, OrderSnapshot, SqliteLog, SqliteOptions, StreamName,
};
use strata_lake::{Lake, LakeConfig, LakeTable, events_batch, writer_properties};
use strata_pipeline::{Definitions, PipelineConfig, PipelineSet, PipelineState};
use strata_schema::SchemaSource;
use tokio_util::sync::CancellationToken;

use super::harness::{Http, Server};
use super::{engine_label, schema, scratch};
use crate::cli::{EventShape, GlobalOpts, IngestBenchArgs};

/// Distinct event bodies; each sent event is one of them with a fresh id.
const TEMPLATES: usize = 1_000;
/// Length of `evt_` + ULID.
const EVENT_ID_LEN: usize = 30;

pub async fn run(global: &GlobalOpts, args: &IngestBenchArgs) -> Result<ExitCode> {
    let s = scratch(global, "ingest").await?;
    let result = bench(global, args, &s.db).await;
    s.drop_it().await?;
    result
}

async fn bench(
    global: &GlobalOpts,
    args: &IngestBenchArgs,
    db: &Arc<strata_domain::Database>,
) -> Result<ExitCode> {
    schema::apply_schema(db, &SchemaSource::embedded()).await?;
    let key = {
        let mut client = db.client().await?;
        let (_, key) = strata_domain::identity::create_key(
            &mut **client,
            "bench-ingest",
            &Scopes::parse_list("*").context("scopes")?,
            None,
        )
        .await
        .context("create the bench API key")?;
        key
    };
    let dir = tempfile::tempdir().context("create the bench's data directory")?;
    let log = SqliteLog::open(&dir.path().join("streams"), SqliteOptions::default())
        .context("open the event log")?;
    let events: Arc<dyn EventLog> = Arc::new(log);
    let lake = Lake::open(LakeConfig::embedded(dir.path()))
        .await
        .context("open the lake")?;
    let mut config = PipelineConfig::default();
    config.batch.roll_interval = Duration::from_secs_f64(args.roll_interval);
    let pipelines = PipelineSet::start(
        events.clone(),
        lake.clone(),
        &Definitions::BuiltIn,
        config,
        CancellationToken::new(),
    )
    .await
    .context("start the pipelines")?;
    let server = Server::start(db.clone(), events.clone()).await?;
    let http = Http::new(&server.base, &key, args.clients as usize)?;
    let templates = Arc::new(Templates::new(args.seed, args.shape)?);
    eprintln!(
        "{} events in NDJSON batches of {} ({} B of JSON per event on average), {} clients, roll interval {} s",
        args.events,
        args.batch,
        templates.avg_bytes(),
        args.clients,
        args.roll_interval
    );

    // Ingest: HTTP → log → pipeline → Iceberg commit.
    let started = Instant::now();
    let sent = send_all(&http, &templates, args).await?;
    let http_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  accepted over HTTP in {http_secs:.1} s ({:.0} events/s); waiting for the lake",
        sent as f64 / http_secs
    );
    let head = events.stats(StreamName::Commerce).await?.head_offset;
    wait_committed(&pipelines, &lake, head, Duration::from_secs(600)).await?;
    let lake_secs = started.elapsed().as_secs_f64();
    let ingest_rate = sent as f64 / lake_secs;
    let table = LakeTable::Telemetry(StreamName::Commerce).ident();
    let described = lake.describe(&table).await?;
    eprintln!(
        "  committed in {lake_secs:.1} s: {ingest_rate:.0} events/s; {} rows in {} files, {} snapshots",
        described.records,
        described.files.len(),
        described.snapshots.len()
    );
    if described.records != sent {
        bail!(
            "the lake holds {} rows after {} accepted events",
            described.records,
            sent
        );
    }

    // Freshness: one event at a time, polled in the table's metadata.
    let mut fresh = Vec::new();
    for i in 0..args.freshness_probes {
        fresh.push(probe(&http, &templates, &lake, args.events + i).await?);
    }
    fresh.sort_by(f64::total_cmp);

    let stats = pipelines.stats();
    let peak_rss = peak_rss_mib();
    server.stop().await;
    for report in pipelines.shutdown().await {
        report.context("a pipeline failed")?;
    }

    // The raw ceiling: the same events, typed, straight to Parquet.
    let raw_rate = raw_ceiling(&lake, &templates, args, dir.path()).await?;
    let ratio = ingest_rate / raw_rate;

    let commerce = stats.iter().find(|s| s.stream == "commerce");
    eprintln!(
        "  pipeline: {} commits, {} retries, {} rejected",
        commerce.map_or(0, |s| s.commits),
        commerce.map_or(0, |s| s.retries),
        commerce.map_or(0, |s| s.events_rejected)
    );
    let median = fresh.get(fresh.len() / 2).copied().unwrap_or(f64::NAN);
    let worst = fresh.last().copied().unwrap_or(f64::NAN);
    let engine = engine_label(global);
    println!("| what | setup | result | target |");
    println!("|---|---|---|---|");
    println!(
        "| ingest, HTTP NDJSON → log → pipeline → committed Iceberg | {} events of {} B, batches of {}, {} clients; auth on {engine} | {ingest_rate:.0} events/s ({lake_secs:.1} s; HTTP accepted at {:.0}/s) | ≥ 100,000/s: {} |",
        args.events,
        templates.avg_bytes(),
        args.batch,
        args.clients,
        sent as f64 / http_secs,
        verdict(ingest_rate >= 100_000.0)
    );
    println!(
        "| raw ceiling: same events, Arrow → one zstd Parquet file | arrow-rs, batches of 50,000 | {raw_rate:.0} events/s; ratio {ratio:.2} | ratio ≥ 0.5: {} |",
        verdict(ratio >= 0.5)
    );
    println!(
        "| freshness: POST one event → in a committed snapshot | roll interval {} s, {} probes | median {median:.2} s, max {worst:.2} s | ≤ 10 s: {} |",
        args.roll_interval,
        fresh.len(),
        verdict(worst <= 10.0)
    );
    println!(
        "| peak RSS of the process (server, log, pipelines, clients) | {} events | {peak_rss:.0} MiB | bounded |",
        args.events
    );
    Ok(ExitCode::SUCCESS)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

/// Posts every batch; returns the events accepted. Any rejection or error fails the run.
async fn send_all(http: &Http, t: &Arc<Templates>, args: &IngestBenchArgs) -> Result<u64> {
    let batches = args.events.div_ceil(args.batch);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.clients {
        let (http, t, next) = (http.clone(), t.clone(), next.clone());
        let (total, batch) = (args.events, args.batch);
        tasks.spawn(async move {
            let mut accepted = 0u64;
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= batches {
                    return anyhow::Ok(accepted);
                }
                let (from, to) = (b * batch, ((b + 1) * batch).min(total));
                let body = t.ndjson(from..to);
                let req = http.request_with(
                    hyper::Method::POST,
                    "/v1/telemetry/commerce",
                    body,
                    "application/x-ndjson",
                );
                let answer = http.send(req, 200).await?;
                let counts: serde_json::Value = serde_json::from_slice(&answer)?;
                let (ok, rejected) = (
                    counts["accepted_count"].as_u64().unwrap_or(0),
                    counts["rejected_count"].as_u64().unwrap_or(0),
                );
                if ok != to - from || rejected != 0 {
                    bail!(
                        "batch {b}: {ok} accepted, {rejected} rejected of {}: {}",
                        to - from,
                        counts["rejected"]
                    );
                }
                accepted += ok;
            }
        });
    }
    let mut accepted = 0;
    while let Some(joined) = tasks.join_next().await {
        accepted += joined??;
    }
    Ok(accepted)
}

/// Waits until the commerce table's committed offset reaches `head`.
async fn wait_committed(
    pipelines: &PipelineSet,
    lake: &Lake,
    head: u64,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if let Some(failed) = pipelines
            .stats()
            .into_iter()
            .find(|s| s.state == PipelineState::Failed)
        {
            bail!(
                "the {} pipeline failed: {}",
                failed.stream,
                failed.last_error.unwrap_or_default()
            );
        }
        let committed = lake
            .committed_offset(StreamName::Commerce, strata_lake::DEFAULT_LANE)
            .await?;
        if committed >= head {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("the lake is at offset {committed} of {head} after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds from posting one event to a committed snapshot holding it.
async fn probe(http: &Http, t: &Templates, lake: &Lake, index: u64) -> Result<f64> {
    let started = Instant::now();
    let req = http.request_with(
        hyper::Method::POST,
        "/v1/telemetry/commerce",
        t.ndjson(index..index + 1),
        "application/x-ndjson",
    );
    let answer: serde_json::Value = serde_json::from_slice(&http.send(req, 200).await?)?;
    let offset = answer["accepted"][0]["offset"]
        .as_u64()
        .context("the answer has no offset for the probe event")?;
    loop {
        let committed = lake
            .committed_offset(StreamName::Commerce, strata_lake::DEFAULT_LANE)
            .await?;
        if committed >= offset {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the probe event (offset {offset}) is not in the lake after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same events, as typed values, through the lake's Arrow conversion into one Parquet file
/// with the lake's writer properties; events/s.
async fn raw_ceiling(
    lake: &Lake,
    t: &Templates,
    args: &IngestBenchArgs,
    dir: &std::path::Path,
) -> Result<f64> {
    let table = lake
        .load(&LakeTable::Telemetry(StreamName::Commerce).ident())
        .await?;
    let target = Arc::new(strata_lake::iceberg::arrow::schema_to_arrow_schema(
        table.metadata().current_schema(),
    )?);
    let props = writer_properties(table.metadata().properties())?;
    let path = dir.join("raw-ceiling.parquet");
    const CHUNK: u64 = 50_000;
    let started = Instant::now();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path)?,
        Arc::clone(&target),
        Some(props),
    )?;
    let mut from = 0;
    while from < args.events {
        let to = (from + CHUNK).min(args.events);
        let events: Vec<Event> = (from..to).map(|i| t.event(i)).collect();
        let rows: Vec<_> = events
            .iter()
            .zip(from + 1..)
            .map(|(e, offset)| (Some(offset), e))
            .collect();
        writer.write(&events_batch(StreamName::Commerce, &rows, &target)?)?;
        from = to;
    }
    writer.close()?;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    Ok(args.events as f64 / secs)
}

/// Peak resident set of this process (VmHWM), MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Realistic order events (1 to 3 lines, created/completed/payment/fulfillment), generated once;
/// event `i` is template `i % TEMPLATES` with id `evt_` + ULID(`i`), so every event is distinct
/// to the log's idempotency check and cheap to produce.
struct Templates {
    events: Vec<Event>,
    /// Each template's NDJSON line, split around its event id.
    lines: Vec<(String, String)>,
    base_ms: u64,
}

impl Templates {
    fn new(seed: u64, shape: EventShape) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let base_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let mut events = Vec::with_capacity(TEMPLATES);
        let mut lines = Vec::with_capacity(TEMPLATES);
        for i in 0..TEMPLATES {
            let event = order_event(&mut rng, i, shape)?;
            let json = event.to_json()?;
            let id = event.event_id().as_str();
            let at = json
                .find(id)
                .context("the template's JSON has no event id")?;
            lines.push((json[..at].to_owned(), json[at + id.len()..].to_owned()));
            events.push(event);
        }
        Ok(Self {
            events,
            lines,
            base_ms,
        })
    }

    fn avg_bytes(&self) -> usize {
        let total: usize = self
            .lines
            .iter()
            .map(|(a, b)| a.len() + b.len() + EVENT_ID_LEN)
            .sum();
        total / self.lines.len().max(1)
    }

    fn id(&self, i: u64) -> String {
        format!(
            "evt_{}",
            ulid::Ulid::from_parts(self.base_ms, u128::from(i))
        )
    }

    fn ndjson(&self, range: std::ops::Range<u64>) -> Vec<u8> {
        let mut out = Vec::with_capacity((range.end - range.start) as usize * 560);
        for i in range {
            let (head, tail) = &self.lines[(i % TEMPLATES as u64) as usize];
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(self.id(i).as_bytes());
            out.extend_from_slice(tail.as_bytes());
            out.push(b'\n');
        }
        out
    }

    fn event(&self, i: u64) -> Event {
        let mut event = self.events[(i % TEMPLATES as u64) as usize].clone();
        if let Event::Commerce(e) = &mut event
            && let Ok(id) = EventId::parse(&self.id(i))
        {
            e.event_id = id;
        }
        event
    }
}

pub(super) fn uid<T: std::str::FromStr>(rng: &mut StdRng, prefix: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let ulid = ulid::Ulid::from_parts(
        rng.random_range(1_700_000_000_000..1_800_000_000_000),
        rng.random(),
    );
    T::from_str(&format!("{prefix}_{ulid}")).map_err(|e| anyhow::anyhow!("{e}"))
}

const PRODUCTS: &[(&str, &str, &str)] = &[
    ("Clear MagSafe Case", "clear-magsafe-case", "iPhone 16 Pro"),
    ("Linen Overshirt", "linen-overshirt", "M / Sand"),
    ("Trail Runner 2", "trail-runner-2", "EU 42"),
    ("Cold Brew Kit", "cold-brew-kit", "1 L"),
    ("Merino Beanie", "merino-beanie", "Charcoal"),
];

fn order_event(rng: &mut StdRng, i: usize, shape: EventShape) -> Result<Event> {
    let full = shape == EventShape::Full;
    let mut lines = Vec::new();
    let mut subtotal = Decimal::ZERO;
    let line_count = if full { rng.random_range(1..=3) } else { 1 };
    for _ in 0..line_count {
        let (title, handle, variant) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        let quantity = rng.random_range(1..=3);
        let unit = Decimal::new(rng.random_range(900..15_000), 2);
        let total = unit * Decimal::from(quantity);
        subtotal += total;
        lines.push(CommerceLine {
            line_item_uid: uid(rng, "ordli")?,
            product_uid: Some(uid(rng, "prd")?),
            product_title: Some(title.to_owned()),
            product_handle: full.then(|| handle.to_owned()),
            variant_uid: if full { Some(uid(rng, "var")?) } else { None },
            variant_title: full.then(|| variant.to_owned()),
            sku: full.then(|| format!("SKU-{}", rng.random_range(1000..9999))),
            quantity,
            unit_price: Amount::new(unit)?,
            subtotal: Amount::new(total)?,
            discount_total: Amount::ZERO,
            tax_total: Amount::ZERO,
            total: Amount::new(total)?,
        });
    }
    let tax = (subtotal * Decimal::new(8, 2)).round_dp(2);
    let amount = |d: Decimal| Amount::new(d);
    let at = Utc
        .timestamp_millis_opt(Utc::now().timestamp_millis() - rng.random_range(0..86_400_000))
        .single()
        .context("a time")?;
    let total = subtotal + tax;
    let kind = match i % 4 {
        0 | 1 => CommerceKind::OrderCreated,
        2 => CommerceKind::PaymentCaptured {
            payment_uid: uid(rng, "pay")?,
            amount: amount(total)?,
        },
        _ => CommerceKind::OrderCompleted,
    };
    Ok(Envelope::new(
        EventSource::parse("strata-domain")?,
        at,
        CommerceBody {
            order: OrderSnapshot {
                order_uid: uid(rng, "ord")?,
                order_number: format!("#{}", 1000 + i),
                store_uid: uid(rng, "sto")?,
                customer_uid: if full { Some(uid(rng, "cus")?) } else { None },
                customer_email: full
                    .then(|| format!("customer{}@example.com", rng.random_range(1..50_000))),
                region_uid: if full { Some(uid(rng, "reg")?) } else { None },
                sales_channel_uid: if full { Some(uid(rng, "sc")?) } else { None },
                currency_code: CurrencyCode::parse("usd")?,
                item_total: amount(subtotal)?,
                subtotal: amount(subtotal)?,
                discount_total: Amount::ZERO,
                shipping_total: Amount::ZERO,
                tax_total: amount(tax)?,
                total: amount(total)?,
                lines,
            },
            attribution: None,
            kind,
        },
    )
    .into())
}
