//! Write throughput of the lake writer against the raw ceiling (the same Arrow batches written
//! straight to one zstd Parquet file with arrow-rs), on the embedded lake.
//!
//! ```sh
//! cargo run --release -p strata-lake --example lake_bench -- <data-dir> [events] [batch]
//! ```
//!
//! Leaves the lake in `<data-dir>/lake` for other readers (PyIceberg, DuckDB) to check.

use std::{path::PathBuf, str::FromStr, sync::Arc, time::Instant};

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use strata_events::{
    Amount, CommerceBody, CommerceKind, CommerceLine, CurrencyCode, Delivery, Envelope, Event,
    EventSource, OrderSnapshot, StreamName,
};
use strata_lake::{DEFAULT_LANE, Lake, LakeConfig, LakeTable, events_batch, writer_properties};

fn uid<T: FromStr>(prefix: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!("{prefix}_{}", ulid::Ulid::new())).expect("valid uid")
}

fn event(i: u64) -> Event {
    let cents = 1_000 + (i % 9_000) as i64;
    let amount = Amount::new(Decimal::new(cents, 2)).expect("amount");
    let line = CommerceLine {
        line_item_uid: uid("ordli"),
        product_uid: Some(uid("prd")),
        product_title: Some("Clear MagSafe Case".to_owned()),
        product_handle: Some("clear-magsafe-case".to_owned()),
        variant_uid: Some(uid("var")),
        variant_title: Some("iPhone 16 Pro".to_owned()),
        sku: Some("CMS-IP16P".to_owned()),
        quantity: 1,
        unit_price: amount,
        subtotal: amount,
        discount_total: Amount::ZERO,
        tax_total: Amount::ZERO,
        total: amount,
    };
    let at = Utc
        .with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("date")
        + Duration::seconds((i * 7) as i64);
    Envelope::new(
        EventSource::parse("strata-domain").expect("source"),
        at,
        CommerceBody {
            order: OrderSnapshot {
                order_uid: uid("ord"),
                order_number: format!("#{}", 1000 + i),
                store_uid: uid("sto"),
                customer_uid: Some(uid("cus")),
                customer_email: Some("casey@example.com".to_owned()),
                region_uid: Some(uid("reg")),
                sales_channel_uid: Some(uid("sc")),
                currency_code: CurrencyCode::parse("usd").expect("currency"),
                item_total: amount,
                subtotal: amount,
                discount_total: Amount::ZERO,
                shipping_total: Amount::ZERO,
                tax_total: Amount::ZERO,
                total: amount,
                lines: vec![line],
            },
            attribution: None,
            kind: CommerceKind::OrderCreated,
        },
    )
    .into()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: lake_bench <data-dir> [events] [batch]")?,
    );
    let total: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let batch: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);

    let deliveries: Vec<Delivery> = (1..=total)
        .map(|offset| Delivery {
            offset,
            event: event(offset),
        })
        .collect();
    let json_bytes: usize = deliveries
        .iter()
        .map(|d| d.event.to_json().map(|j| j.len()).unwrap_or(0))
        .sum();

    let lake = Lake::open(LakeConfig::embedded(&dir)).await?;
    lake.ensure_tables().await?;
    let started = Instant::now();
    let (mut files, mut bytes) = (0, 0);
    for chunk in deliveries.chunks(batch as usize) {
        let outcome = lake
            .write_deliveries(StreamName::Commerce, DEFAULT_LANE, chunk)
            .await?;
        if let Some(r) = outcome.committed() {
            files += r.files.len();
            bytes += r.bytes;
        }
    }
    let lake_secs = started.elapsed().as_secs_f64();

    // The raw ceiling: the same batches, straight to Parquet with arrow-rs.
    let table = lake
        .load(&LakeTable::Telemetry(StreamName::Commerce).ident())
        .await?;
    let target = Arc::new(strata_lake::iceberg::arrow::schema_to_arrow_schema(
        table.metadata().current_schema(),
    )?);
    let props = writer_properties(table.metadata().properties())?;
    let raw_path = dir.join("raw-ceiling.parquet");
    let started = Instant::now();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&raw_path)?,
        Arc::clone(&target),
        Some(props),
    )?;
    for chunk in deliveries.chunks(batch as usize) {
        let rows: Vec<_> = chunk.iter().map(|d| (Some(d.offset), &d.event)).collect();
        writer.write(&events_batch(StreamName::Commerce, &rows, &target)?)?;
    }
    writer.close()?;
    let raw_secs = started.elapsed().as_secs_f64();

    let stats = lake
        .scan_stats(&LakeTable::Telemetry(StreamName::Commerce).ident(), None)
        .await?;
    println!(
        "events {total} (avg {} B of JSON), batch {batch}: lake {:.0} events/s ({lake_secs:.2} s, {files} files, {bytes} B); raw parquet {:.0} events/s ({raw_secs:.2} s); ratio {:.2}; scan rows {}",
        json_bytes / total.max(1) as usize,
        total as f64 / lake_secs,
        total as f64 / raw_secs,
        raw_secs / lake_secs,
        stats.rows
    );
    Ok(())
}
