//! `strata demo` end to end on the embedded engine: the store's events reach the lake, and a
//! second run appends none of them twice.

mod common;

use std::process::Output;

use common::show;

use strata_events::StreamName;
use strata_lake::{Lake, LakeConfig, LakeTable};

fn demo(data: &std::path::Path) -> Output {
    common::strata_in(data.parent().expect("a parent"))
        .arg("--data-dir")
        .arg(data)
        .args([
            "demo",
            "--products",
            "12",
            "--days",
            "6",
            "--end-date",
            "2026-03-31",
            "--no-progress",
        ])
        .output()
        .expect("run the strata binary")
}

/// The first number after `label` on its line of the demo's output.
fn number_after(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"));
    line[line.find(label).map_or(0, |i| i + label.len())..]
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number on `{line}`"))
}

async fn rows(lake: &Lake, stream: StreamName) -> u64 {
    lake.scan_stats(&LakeTable::Telemetry(stream).ident(), None)
        .await
        .expect("scan the table")
        .rows
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_streams_the_store_into_the_lake_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");

    let out = demo(&data);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let commerce = number_after(&text, "commerce:");
    let publication = number_after(&text, "publication:");
    assert!(commerce > 0 && publication > 0, "{text}");
    assert_eq!(
        number_after(&text, "commerce.telemetry"),
        commerce,
        "{text}"
    );
    assert_eq!(
        number_after(&text, "publication.telemetry"),
        publication,
        "{text}"
    );
    assert_eq!(number_after(&text, "sync.telemetry"), 4, "{text}");

    // Again: the same store, no event appended twice; only this run's own sync events are new.
    let out = demo(&data);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let again = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        again.contains(&format!("({commerce} already in the log)"))
            || again.contains(&format!("(0 new, {commerce} already in the log)")),
        "{again}"
    );

    // What the lake holds, read through the Iceberg scan rather than the demo's own report.
    let lake = Lake::open(LakeConfig::embedded(&data))
        .await
        .expect("open the lake");
    assert_eq!(rows(&lake, StreamName::Commerce).await, commerce);
    assert_eq!(rows(&lake, StreamName::Publication).await, publication);
    assert_eq!(rows(&lake, StreamName::Sync).await, 8);
}
