//! Sample events of every type, built through the public API, shared by the test files.

#![allow(dead_code)]

use std::{collections::BTreeMap, str::FromStr};

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use strata_events::{
    Amount, Attribution, CommerceBody, CommerceEvent, CommerceKind, CommerceLine, CountryCode,
    CurrencyCode, DeviceType, EngagementKind, Envelope, Event, EventSource, LineQuantity,
    OrderSnapshot, PublicationBody, PublicationEvent, PublicationKind, Sha256Hex, SyncBody,
    SyncEvent, SyncOutcome,
};

/// A fixed instant, so samples are reproducible apart from their minted ids.
pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53)
        .single()
        .expect("valid date")
}

/// A valid uid of any table type, e.g. `uid::<OrderUid>("ord")`.
pub fn uid<T: FromStr>(prefix: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!("{prefix}_{}", ulid::Ulid::new())).expect("valid uid")
}

pub fn amount(text: &str) -> Amount {
    Amount::parse(text).expect("valid amount")
}

pub fn line(quantity: i64) -> CommerceLine {
    let unit = Decimal::from_str("19.9900").expect("decimal");
    let subtotal = unit * Decimal::from(quantity);
    CommerceLine {
        line_item_uid: uid("ordli"),
        product_uid: Some(uid("prd")),
        product_title: Some("Clear MagSafe Case".to_owned()),
        product_handle: Some("clear-magsafe-case".to_owned()),
        variant_uid: Some(uid("var")),
        variant_title: Some("iPhone 16 Pro".to_owned()),
        sku: Some("CMS-IP16P".to_owned()),
        quantity,
        unit_price: Amount::new(unit).expect("amount"),
        subtotal: Amount::new(subtotal).expect("amount"),
        discount_total: Amount::ZERO,
        tax_total: amount("3.2000"),
        total: Amount::new(subtotal + Decimal::from_str("3.2").expect("decimal")).expect("amount"),
    }
}

pub fn order(lines: Vec<CommerceLine>) -> OrderSnapshot {
    OrderSnapshot {
        order_uid: uid("ord"),
        order_number: "#1001".to_owned(),
        store_uid: uid("sto"),
        customer_uid: Some(uid("cus")),
        customer_email: Some("casey@example.com".to_owned()),
        region_uid: Some(uid("reg")),
        sales_channel_uid: Some(uid("sc")),
        currency_code: CurrencyCode::parse("usd").expect("currency"),
        item_total: amount("43.1800"),
        subtotal: amount("39.9800"),
        discount_total: amount("0"),
        shipping_total: amount("4.95"),
        tax_total: amount("3.2000"),
        total: amount("48.1300"),
        lines,
    }
}

pub fn commerce(kind_of: &str) -> CommerceEvent {
    let order = order(vec![line(2), line(1)]);
    let first = order.lines[0].line_item_uid.clone();
    let kind = match kind_of {
        "order_created" => CommerceKind::OrderCreated,
        "order_completed" => CommerceKind::OrderCompleted,
        "payment_captured" => CommerceKind::PaymentCaptured {
            payment_uid: uid("pay"),
            amount: amount("48.1300"),
        },
        "fulfillment_shipped" => CommerceKind::FulfillmentShipped {
            fulfillment_uid: uid("ful"),
            location_uid: uid("sloc"),
            lines: vec![LineQuantity {
                line_item_uid: first,
                quantity: 2,
            }],
        },
        "return_requested" => CommerceKind::ReturnRequested {
            return_uid: uid("ret"),
            lines: vec![LineQuantity {
                line_item_uid: first,
                quantity: 1,
            }],
        },
        other => panic!("no sample for {other}"),
    };
    Envelope::new(
        EventSource::parse("strata-domain").expect("source"),
        at(),
        CommerceBody {
            order,
            attribution: Some(Attribution {
                publisher_uid: uid("pub"),
                referral_uid: Some(uid("rfl")),
                referral_link_uid: None,
            }),
            kind,
        },
    )
}

pub fn publication(kind_of: &str) -> PublicationEvent {
    let publisher = uid("pub");
    let kind = match kind_of {
        "click" => PublicationKind::Click,
        "impression" => PublicationKind::Impression,
        "view" => PublicationKind::View,
        "engagement" => PublicationKind::Engagement {
            kind: EngagementKind::parse("video_progress").expect("kind"),
            value: Some(0.75),
        },
        "conversion" => PublicationKind::Conversion {
            order_uid: Some(uid("ord")),
            amount: amount("48.13"),
            currency_code: CurrencyCode::parse("eur").expect("currency"),
        },
        other => panic!("no sample for {other}"),
    };
    Envelope::new(
        EventSource::partner(&publisher),
        at(),
        PublicationBody {
            publisher_uid: publisher,
            publication_uid: Some(uid("pubi")),
            referral_link_uid: Some(uid("rlnk")),
            product_uid: None,
            telemetry_source_uid: Some(uid("tsrc")),
            session_key_hash: Some(Sha256Hex::parse(&"ab".repeat(32)).expect("hash")),
            device_type: DeviceType::Mobile,
            country_code: Some(CountryCode::parse("de").expect("country")),
            url: Some("https://casey.example/posts/best-cases?utm_source=ig".to_owned()),
            kind,
        },
    )
}

pub fn sync(outcome: SyncOutcome) -> SyncEvent {
    Envelope::new(
        EventSource::parse("strata-sync").expect("source"),
        at(),
        SyncBody {
            run_id: "run_2025-03-14_0600".to_owned(),
            workflow: "daily_shopify_sync".to_owned(),
            step: Some("upsert_orders".to_owned()),
            attempt: 1,
            outcome,
            record_counts: BTreeMap::from([
                ("orders".to_owned(), 1_204),
                ("line_items".to_owned(), 3_377),
            ]),
            watermark: Some("2025-03-14T05:59:59Z".to_owned()),
            duration_ms: 8_412,
            error: (outcome == SyncOutcome::Failed).then(|| "bulk operation timed out".to_owned()),
        },
    )
}

/// One sample of every event type of every stream.
pub fn every_type() -> Vec<Event> {
    let mut events: Vec<Event> = [
        "order_created",
        "order_completed",
        "payment_captured",
        "fulfillment_shipped",
        "return_requested",
    ]
    .into_iter()
    .map(|t| commerce(t).into())
    .collect();
    events.extend(
        ["click", "impression", "view", "engagement", "conversion"]
            .into_iter()
            .map(|t| Event::from(publication(t))),
    );
    events.extend(
        [
            SyncOutcome::Started,
            SyncOutcome::StepCompleted,
            SyncOutcome::Retried,
            SyncOutcome::Failed,
            SyncOutcome::Completed,
        ]
        .into_iter()
        .map(|o| Event::from(sync(o))),
    );
    events
}
