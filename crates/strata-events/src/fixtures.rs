//! Sample events for tests, examples and benches of the crates above (feature `fixtures`): one
//! generator instead of a copy per crate.

use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::{
    Amount, Attribution, CommerceBody, CommerceKind, CommerceLine, CurrencyCode, Envelope, Event,
    EventSource, LineQuantity, OrderSnapshot,
};

/// A fresh uid with `prefix` (`ord`, `prd`, …).
pub fn uid<T: FromStr>(prefix: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    T::from_str(&format!("{prefix}_{}", ulid::Ulid::new())).expect("valid uid")
}

/// `cents` as an amount.
pub fn amount(cents: i64) -> Amount {
    Amount::new(Decimal::new(cents, 2)).expect("valid amount")
}

/// Midnight UTC of 2025-03-14, the first day of [`commerce`]'s events.
pub fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Commerce event number `i`: a total of `i + 1` dollars and `i % 3 + 1` units on one line, at
/// `day0 + i % days` days (so `days` consecutive days get events), cycling by `i % 5` through
/// created, completed, payment captured, shipped and return requested (of one unit); every other
/// order is attributed to a publisher.
pub fn commerce(i: u64, days: u64) -> Event {
    commerce_numbered(i, days, format!("#{}", 1000 + i))
}

/// [`commerce`] with the given order number.
pub fn commerce_numbered(i: u64, days: u64, order_number: String) -> Event {
    let units = (i % 3 + 1) as i64;
    let total_cents = (i as i64 + 1) * 100;
    let line = line(units, total_cents);
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
    let at =
        day0() + Duration::days((i % days.max(1)) as i64) + Duration::seconds((i % 86_000) as i64);
    let attribution = i.is_multiple_of(2).then(|| Attribution {
        publisher_uid: uid("pub"),
        referral_uid: None,
        referral_link_uid: None,
    });
    order(order_number, total_cents, at, vec![line], attribution, kind)
}

/// A created order `i` of one unit at `cents`, at `at`: the realistic event (about 1 KB of JSON)
/// the lake and pipeline benches write.
pub fn order_created(i: u64, cents: i64, at: DateTime<Utc>) -> Event {
    order(
        format!("#{}", 1000 + i),
        cents,
        at,
        vec![line(1, cents)],
        None,
        CommerceKind::OrderCreated,
    )
}

/// Bench event `i`: a created order of 10.00 to 99.99, 7 s after the previous one from
/// 2025-03-01 (about 1 KB of JSON with one line).
pub fn bench_order(i: u64) -> Event {
    let at = Utc
        .with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("date")
        + Duration::seconds((i * 7) as i64);
    order_created(i, 1_000 + (i % 9_000) as i64, at)
}

/// An order line of `units` of `product` at `unit_cents` each, less `discount_cents`.
pub fn product_line(
    product: crate::ProductUid,
    units: i64,
    unit_cents: i64,
    discount_cents: i64,
) -> CommerceLine {
    let subtotal = unit_cents * units;
    CommerceLine {
        line_item_uid: uid("ordli"),
        product_uid: Some(product),
        product_title: None,
        product_handle: None,
        variant_uid: None,
        variant_title: None,
        sku: None,
        quantity: units,
        unit_price: amount(unit_cents),
        subtotal: amount(subtotal),
        discount_total: amount(discount_cents),
        tax_total: Amount::ZERO,
        total: amount(subtotal - discount_cents),
    }
}

/// An event of `kind` about order `order_uid` with `lines`, in `currency`, at `at` (totals
/// summed from the lines).
pub fn order_event(
    order_uid: crate::OrderUid,
    currency: &str,
    at: DateTime<Utc>,
    lines: Vec<CommerceLine>,
    kind: CommerceKind,
) -> Event {
    let sum = |f: fn(&CommerceLine) -> &Amount| {
        Amount::new(lines.iter().map(|l| f(l).value()).sum()).expect("valid amount")
    };
    let subtotal = sum(|l| &l.subtotal);
    let discount = sum(|l| &l.discount_total);
    let total = sum(|l| &l.total);
    Envelope::new(
        EventSource::parse("strata-domain").expect("source"),
        at,
        CommerceBody {
            order: OrderSnapshot {
                order_uid,
                order_number: "#1".to_owned(),
                store_uid: uid("sto"),
                customer_uid: None,
                customer_email: None,
                region_uid: None,
                sales_channel_uid: None,
                currency_code: CurrencyCode::parse(currency).expect("currency"),
                item_total: total,
                subtotal,
                discount_total: discount,
                shipping_total: Amount::ZERO,
                tax_total: Amount::ZERO,
                total,
                lines,
            },
            attribution: None,
            kind,
        },
    )
    .into()
}

fn line(units: i64, total_cents: i64) -> CommerceLine {
    CommerceLine {
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
    }
}

fn order(
    order_number: String,
    total_cents: i64,
    at: DateTime<Utc>,
    lines: Vec<CommerceLine>,
    attribution: Option<Attribution>,
    kind: CommerceKind,
) -> Event {
    Envelope::new(
        EventSource::parse("strata-domain").expect("source"),
        at,
        CommerceBody {
            order: OrderSnapshot {
                order_uid: uid("ord"),
                order_number,
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
                lines,
            },
            attribution,
            kind,
        },
    )
    .into()
}
