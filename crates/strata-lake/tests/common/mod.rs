//! Sample events and a lake in a temporary directory, shared by the test files.

#![allow(dead_code)]

use std::{collections::BTreeMap, str::FromStr};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use strata_events::{
    Amount, Attribution, CommerceBody, CommerceKind, CommerceLine, CurrencyCode, Delivery,
    DeviceType, EngagementKind, Envelope, Event, EventSource, LineQuantity, OrderSnapshot,
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

/// Midnight UTC of the first sample day.
pub fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 0, 0, 0)
        .single()
        .expect("valid date")
}

pub fn uid<T: FromStr>(prefix: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!("{prefix}_{}", ulid::Ulid::new())).expect("valid uid")
}

pub fn amount(cents: i64) -> Amount {
    Amount::new(Decimal::new(cents, 2)).expect("valid amount")
}

/// Commerce event number `i`: a total of `i + 1` dollars and `i % 3 + 1` units, at
/// `day0 + i % days` days (so `days` consecutive days get events), cycling through every type.
pub fn commerce(i: u64, days: u64) -> Event {
    let units = (i % 3 + 1) as i64;
    let total_cents = (i as i64 + 1) * 100;
    let line = CommerceLine {
        line_item_uid: uid("ordli"),
        product_uid: Some(uid("prd")),
        product_title: Some("Clear MagSafe Case".to_owned()),
        product_handle: Some("clear-magsafe-case".to_owned()),
        variant_uid: Some(uid("var")),
        variant_title: Some("iPhone 16 Pro".to_owned()),
        sku: Some("CMS-IP16P".to_owned()),
        quantity: units,
        unit_price: amount(total_cents / units),
        subtotal: amount(total_cents),
        discount_total: Amount::ZERO,
        tax_total: Amount::ZERO,
        total: amount(total_cents),
    };
    let first = line.line_item_uid.clone();
    let kind = match i % 5 {
        0 => CommerceKind::OrderCreated,
        1 => CommerceKind::OrderCompleted,
        2 => CommerceKind::PaymentCaptured {
            payment_uid: uid("pay"),
            amount: amount(total_cents),
        },
        3 => CommerceKind::FulfillmentShipped {
            fulfillment_uid: uid("ful"),
            location_uid: uid("sloc"),
            lines: vec![LineQuantity {
                line_item_uid: first,
                quantity: units,
            }],
        },
        _ => CommerceKind::ReturnRequested {
            return_uid: uid("ret"),
            lines: vec![LineQuantity {
                line_item_uid: first,
                quantity: 1,
            }],
        },
    };
    let at = day0() + Duration::days((i % days) as i64) + Duration::seconds(i as i64);
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
                sales_channel_uid: None,
                currency_code: CurrencyCode::parse("usd").expect("currency"),
                item_total: amount(total_cents),
                subtotal: amount(total_cents),
                discount_total: Amount::ZERO,
                shipping_total: Amount::ZERO,
                tax_total: Amount::ZERO,
                total: amount(total_cents),
                lines: vec![line],
            },
            attribution: i.is_multiple_of(2).then(|| Attribution {
                publisher_uid: uid("pub"),
                referral_uid: None,
                referral_link_uid: None,
            }),
            kind,
        },
    )
    .into()
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
