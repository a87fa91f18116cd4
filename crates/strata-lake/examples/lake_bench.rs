//! Write throughput of the lake writer against the raw ceiling (the same Arrow batches written
//! straight to one zstd Parquet file with arrow-rs), on the embedded lake.
//!
//! ```sh
//! cargo run --release -p strata-lake --example lake_bench -- <data-dir> [events] [batch]
//! ```
//!
//! Leaves the lake in `<data-dir>/lake` for other readers (PyIceberg, DuckDB) to check.

use std::{path::PathBuf, sync::Arc, time::Instant};

use strata_events::{Delivery, StreamName, fixtures::bench_order};
use strata_lake::{DEFAULT_LANE, Lake, LakeConfig, LakeTable, events_batch, writer_properties};

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
            event: bench_order(offset),
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
