//! `strata lake tables | describe | snapshots`: what the embedded lake under `<data-dir>/lake`
//! holds, read from the Iceberg metadata and manifests (no data file is read).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use strata_lake::iceberg::TableIdent;
use strata_lake::{CatalogConfig, Lake, LakeConfig, SnapshotInfo, TableDescription};

use crate::cli::{GlobalOpts, LakeCommand};

pub async fn run(global: &GlobalOpts, cmd: LakeCommand) -> Result<ExitCode> {
    let lake = open(global).await?;
    match cmd {
        LakeCommand::Tables(out) => {
            let mut rows = Vec::new();
            for ident in lake.list_tables().await? {
                rows.push(
                    lake.summarize(&ident)
                        .await
                        .with_context(|| format!("read {ident}"))?,
                );
            }
            if out.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_table(
                    &["TABLE", "SNAPSHOT", "ROWS", "FILES", "BYTES", "LAST COMMIT"],
                    rows.iter()
                        .map(|r| {
                            vec![
                                r.table.clone(),
                                opt(r.current_snapshot_id),
                                r.records.to_string(),
                                r.files.to_string(),
                                human_bytes(r.bytes),
                                r.last_commit_ms.map(time).unwrap_or_else(|| "-".into()),
                            ]
                        })
                        .collect(),
                );
            }
        }
        LakeCommand::Describe(args) => {
            let ident = resolve(&lake, &args.table).await?;
            let d = lake.describe(&ident).await?;
            if args.output.json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print_description(&d);
            }
        }
        LakeCommand::Snapshots(args) => {
            let ident = resolve(&lake, &args.table).await?;
            let d = lake.describe(&ident).await?;
            if args.output.json {
                println!("{}", serde_json::to_string_pretty(&d.snapshots)?);
            } else {
                print_snapshots(&d.snapshots, d.current_snapshot_id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The data directory's lake; an error naming what to run if there is none yet (opening would
/// create an empty catalog).
pub(crate) async fn open(global: &GlobalOpts) -> Result<Lake> {
    let config = LakeConfig::embedded(&global.data_dir);
    if let CatalogConfig::Embedded { path } = &config.catalog
        && !path.exists()
    {
        bail!(
            "no lake in {}: `strata pipeline run` or `strata serve` creates it (is --data-dir right?)",
            global.data_dir.join("lake").display()
        );
    }
    Lake::open(config).await.with_context(|| {
        format!(
            "open the lake in {}",
            global.data_dir.join("lake").display()
        )
    })
}

/// `namespace.table` → a table of the catalog, or an error listing the tables.
async fn resolve(lake: &Lake, name: &str) -> Result<TableIdent> {
    let tables = lake.list_tables().await?;
    if let Some(t) = tables.iter().find(|t| t.to_string() == name) {
        return Ok(t.clone());
    }
    let listed: Vec<String> = tables.iter().map(ToString::to_string).collect();
    let hint = if name.contains('.') {
        ""
    } else {
        " (name it as namespace.table)"
    };
    bail!(
        "no table `{name}` in the lake{hint}; the tables are: {}",
        if listed.is_empty() {
            "none yet".to_owned()
        } else {
            listed.join(", ")
        }
    )
}

fn print_description(d: &TableDescription) {
    println!("Table      {}", d.table);
    println!("Location   {}", d.location);
    if let Some(m) = &d.metadata_location {
        println!("Metadata   {m}");
    }
    println!("Format     v{}", d.format_version);
    println!(
        "Current    snapshot {}: {} rows in {} files, {}",
        opt(d.current_snapshot_id),
        d.records,
        d.files.len(),
        human_bytes(d.bytes)
    );
    for (lane, offset) in &d.committed_offsets {
        println!("Offsets    lane {lane}: committed through offset {offset}");
    }

    println!("\nSchema");
    print_table(
        &["ID", "NAME", "TYPE", "REQUIRED", "DOC"],
        d.columns
            .iter()
            .map(|c| {
                vec![
                    c.id.to_string(),
                    c.name.clone(),
                    c.r#type.clone(),
                    if c.required { "yes" } else { "no" }.into(),
                    c.doc.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
    println!("\nPartition spec");
    list_or_none(&d.partition_spec, "unpartitioned");
    println!("\nSort order");
    list_or_none(&d.sort_order, "unsorted");
    println!("\nProperties");
    if d.properties.is_empty() {
        println!("  (none)");
    }
    for (k, v) in &d.properties {
        println!("  {k} = {v}");
    }
    println!("\nSnapshots");
    print_snapshots(&d.snapshots, d.current_snapshot_id);
    println!("\nLive files");
    print_table(
        &["PARTITION", "ROWS", "BYTES", "PATH"],
        d.files
            .iter()
            .map(|f| {
                vec![
                    f.partition.clone(),
                    f.records.to_string(),
                    human_bytes(f.bytes),
                    f.path.clone(),
                ]
            })
            .collect(),
    );
    println!(
        "\nTotal: {} rows, {} files, {} ({} bytes)",
        d.records,
        d.files.len(),
        human_bytes(d.bytes),
        d.bytes
    );
}

fn print_snapshots(snapshots: &[SnapshotInfo], current: Option<i64>) {
    print_table(
        &[
            "SNAPSHOT",
            "PARENT",
            "COMMITTED",
            "OPERATION",
            "ADDED ROWS",
            "TOTAL ROWS",
            "COMMIT ID",
        ],
        snapshots
            .iter()
            .map(|s| {
                let get = |k: &str| s.summary.get(k).cloned().unwrap_or_else(|| "-".into());
                let id = if Some(s.snapshot_id) == current {
                    format!("{} *", s.snapshot_id)
                } else {
                    s.snapshot_id.to_string()
                };
                vec![
                    id,
                    opt(s.parent_id),
                    time(s.timestamp_ms),
                    s.operation.clone(),
                    get("added-records"),
                    get("total-records"),
                    s.commit_id.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect(),
    );
    if current.is_some() {
        println!("(* current)");
    }
}

fn list_or_none(items: &[String], none: &str) {
    if items.is_empty() {
        println!("  ({none})");
    }
    for i in items {
        println!("  {i}");
    }
}

/// Left-aligned columns, two spaces apart; `(none)` under the header when there are no rows.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    if rows.is_empty() {
        println!("(none)");
    }
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}
