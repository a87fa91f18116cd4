//! Sample events and a lake in a temporary directory, shared by the test files.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::Duration;
use rust_decimal::Decimal;
// Not every test file uses every fixture.
#[allow(unused_imports)]
pub use strata_events::fixtures::{amount, commerce, day0, uid};
use strata_events::{
    CurrencyCode, Delivery, DeviceType, EngagementKind, Envelope, Event, EventSource,
    PublicationBody, PublicationKind, SyncBody, SyncOutcome,
};
use strata_lake::{Lake, LakeConfig};
use tempfile::TempDir;

/// A lake under a fresh temporary data directory, tables created.
pub async fn lake() -> (TempDir, Lake) {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = open(dir.path()).await;
    lake.ensure_tables().await.expect("tables");
    (dir, lake)
}

/// Opens the embedded lake under `data_dir`.
pub async fn open(data_dir: &std::path::Path) -> Lake {
    Lake::open(LakeConfig::embedded(data_dir))
        .await
        .expect("lake opens")
}

/// Deliveries with offsets `first..=last` of commerce events over `days` days.
pub fn commerce_deliveries(first: u64, last: u64, days: u64) -> Vec<Delivery> {
    (first..=last)
        .map(|offset| Delivery {
            offset,
            event: commerce(offset, days),
        })
        .collect()
}

/// The exact sum of `total` over `deliveries`.
pub fn total_of(deliveries: &[Delivery]) -> Decimal {
    deliveries
        .iter()
        .map(|d| match &d.event {
            Event::Commerce(c) => c.body.order.total.value(),
            _ => Decimal::ZERO,
        })
        .sum()
}

pub fn publication(i: u64) -> Event {
    let publisher = uid("pub");
    let kind = match i % 3 {
        0 => PublicationKind::Click,
        1 => PublicationKind::Engagement {
            kind: EngagementKind::parse("video_progress").expect("kind"),
            value: Some(0.5),
        },
        _ => PublicationKind::Conversion {
            order_uid: Some(uid("ord")),
            amount: amount(4813),
            currency_code: CurrencyCode::parse("eur").expect("currency"),
        },
    };
    Envelope::new(
        EventSource::partner(&publisher),
        day0() + Duration::hours(i as i64),
        PublicationBody {
            publisher_uid: publisher,
            publication_uid: None,
            referral_link_uid: None,
            product_uid: None,
            telemetry_source_uid: None,
            session_key_hash: None,
            device_type: DeviceType::Mobile,
            country_code: None,
            url: Some("https://casey.example/posts/best-cases".to_owned()),
            kind,
        },
    )
    .into()
}

pub fn sync(i: u64) -> Event {
    Envelope::new(
        EventSource::parse("strata-sync").expect("source"),
        day0() + Duration::minutes(i as i64),
        SyncBody {
            run_id: format!("run_{i}"),
            workflow: "daily_shopify_sync".to_owned(),
            step: Some("upsert_orders".to_owned()),
            attempt: 1,
            outcome: SyncOutcome::StepCompleted,
            record_counts: BTreeMap::from([("orders".to_owned(), 12)]),
            watermark: None,
            duration_ms: 1_000 + i,
            error: None,
        },
    )
    .into()
}

/// A local path from a `file://` location.
pub fn local_path(location: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(location.strip_prefix("file://").unwrap_or(location))
}
