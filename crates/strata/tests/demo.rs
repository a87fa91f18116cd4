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

/// The `(tier, products)` lines under "Classification as of …".
fn classification(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .skip_while(|l| !l.starts_with("Classification as of"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| l.trim_end().ends_with("products"))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.parse().ok()?))
        })
        .collect()
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
    let tiers = classification(&text);
    assert!(
        !tiers.is_empty(),
        "the demo prints the classification:\n{text}"
    );
    assert!(
        tiers.iter().map(|(_, n)| n).sum::<u64>() <= 12,
        "at most one tier per product: {tiers:?}"
    );

    // Recomputing the demo's last day gives the same classification and finds no new sales.
    let as_of = text
        .lines()
        .find_map(|l| l.strip_prefix("Classification as of "))
        .map(|l| l.trim_end_matches(':').to_owned())
        .expect("the as-of day");
    let out = common::strata_in(dir.path())
        .arg("--data-dir")
        .arg(&data)
        .args(["refresh", "measurements", "--as-of", &as_of, "--json"])
        .output()
        .expect("run strata refresh");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["report"]["sales"]["days"], 0, "{report}");
    assert_eq!(report["report"]["performance"]["days"], 1, "{report}");
    let counts: Vec<(String, u64)> = report["classification"]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap_or_default().to_owned(),
                c[1].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(counts, tiers, "re-running the day changes nothing");

    let bad = common::strata_in(dir.path())
        .arg("--data-dir")
        .arg(&data)
        .args(["refresh", "measurements", "--time-zone", "Nowhere/City"])
        .output()
        .expect("run strata refresh");
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("IANA"),
        "{}",
        show(&bad)
    );

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
