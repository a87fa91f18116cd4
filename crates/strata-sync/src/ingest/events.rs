//! The commerce events describing each order of a batch in its current state, with ids that
//! never change for the same fact, and their append to `COMMERCE_TELEMETRY`.
//!
//! | event | when | `occurred_ts` | id key |
//! |---|---|---|---|
//! | `order_created` | always, once per order | placement (`processedAt`, else `createdAt`) | placement |
//! | `payment_captured` | paid (`PAID`, `PARTIALLY_REFUNDED`, `REFUNDED`) and total > 0, for the total | placement | placement |
//! | `fulfillment_shipped` | `FULFILLED`, every unit of every line | the order's `updatedAt` when first seen fulfilled | placement |
//! | `order_completed` | phase `completed` | placement | placement |
//! | `return_requested` | `REFUNDED`, every unit of every line | the last refund's `createdAt` | that time |
//!
//! Ids are `strata_domain::commands::event_id(type, order uid, 1, time)`, the domain's own
//! scheme: `order_created` and `order_completed` get exactly the ids
//! `strata_domain::commands::reemit_order_events` would give them from the rows written here, so
//! the two never double an event. An event keyed on a time that never changes is the same event
//! whenever a batch holding the order is appended again, and the log keeps it once: the
//! snapshot carried is the order as it was the first time. Later edits (a line added) do not
//! re-emit `order_created`.
//!
//! Not emitted, because the orders query does not carry what they need: partial captures
//! (`PARTIALLY_PAID`), partial shipments (`PARTIALLY_FULFILLED`: which units?), partial refunds
//! (no refunded quantities). The payment, fulfillment and return uids are derived from the
//! order (or refund) GID and name no row: the ingest writes no payment, fulfillment or return
//! rows. The stock location is the shop's (see [`super::OrderIngest::new`]).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use strata_domain::commands::event_id;
use strata_events::{
    Amount, CommerceBody, CommerceEvent, CommerceEventType, CommerceKind, CommerceLine,
    CurrencyCode, CustomerUid, Envelope, Event, EventLog, EventSource, FulfillmentUid,
    LineQuantity, OrderLineItemUid, OrderSnapshot, OrderUid, PaymentUid, ProductUid, ReturnUid,
    SCHEMA_VERSION, SalesChannelUid, StockLocationUid, StoreUid,
};

use super::error::IngestError;
use super::ids::{self, prefix};
use super::map::MappedOrder;

/// The `source` of the events the ingest emits.
pub const EVENT_SOURCE: &str = "strata-sync";

/// Events per append call (the embedded log commits up to 20,000 per transaction).
const APPEND_CHUNK: usize = 10_000;

/// The shop-level uids every event names.
pub(crate) struct Shop<'a> {
    pub store_uid: &'a str,
    pub sales_channel_uid: &'a str,
    pub location_uid: &'a str,
}

fn bad(what: &str, e: impl std::fmt::Display) -> IngestError {
    IngestError::Internal(format!("{what}: {e}"))
}

fn money(what: &str, value: Decimal) -> Result<Amount, IngestError> {
    Amount::new(value).map_err(|e| bad(what, e))
}

/// The order as the events carry it: header, totals and lines (sorted by uid, as the domain's
/// loader reads them).
fn snapshot(order: &MappedOrder, shop: &Shop<'_>) -> Result<OrderSnapshot, IngestError> {
    let mut lines = Vec::with_capacity(order.lines.len());
    for l in &order.lines {
        let what = |c: &str| format!("line {} {c}", l.gid);
        lines.push(CommerceLine {
            line_item_uid: OrderLineItemUid::parse(&l.uid).map_err(|e| bad(&what("uid"), e))?,
            product_uid: l
                .product_uid
                .as_deref()
                .map(ProductUid::parse)
                .transpose()
                .map_err(|e| bad(&what("product uid"), e))?,
            product_title: l.product_title.clone(),
            product_handle: l.product_handle.clone(),
            variant_uid: None,
            variant_title: l.variant_title.clone(),
            sku: l.sku.clone(),
            quantity: i64::from(l.quantity),
            unit_price: money(&what("unit_price"), l.unit_price)?,
            subtotal: money(&what("subtotal"), l.subtotal)?,
            discount_total: money(&what("discount_total"), l.discount)?,
            tax_total: money(&what("tax_total"), l.tax)?,
            total: money(&what("total"), l.total)?,
        });
    }
    lines.sort_by(|a, b| a.line_item_uid.cmp(&b.line_item_uid));
    let what = |c: &str| format!("order {} {c}", order.gid);
    Ok(OrderSnapshot {
        order_uid: OrderUid::parse(&order.uid).map_err(|e| bad(&what("uid"), e))?,
        order_number: order.order_number.clone(),
        store_uid: StoreUid::parse(shop.store_uid).map_err(|e| bad("store uid", e))?,
        customer_uid: order
            .customer_uid
            .as_deref()
            .map(CustomerUid::parse)
            .transpose()
            .map_err(|e| bad(&what("customer uid"), e))?,
        customer_email: order.email.clone(),
        region_uid: None,
        sales_channel_uid: Some(
            SalesChannelUid::parse(shop.sales_channel_uid).map_err(|e| bad("sales channel", e))?,
        ),
        currency_code: CurrencyCode::parse(&order.currency)
            .map_err(|e| bad(&what("currency"), e))?,
        item_total: money(&what("item_total"), order.item_total)?,
        subtotal: money(&what("subtotal"), order.subtotal)?,
        discount_total: money(&what("discount_total"), order.discount_total)?,
        shipping_total: money(&what("shipping_total"), order.shipping_total)?,
        tax_total: money(&what("tax_total"), order.tax_total)?,
        total: money(&what("total"), order.total)?,
        lines,
    })
}

/// Every unit of every line with at least one.
fn all_units(snapshot: &OrderSnapshot) -> Vec<LineQuantity> {
    snapshot
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| LineQuantity {
            line_item_uid: l.line_item_uid.clone(),
            quantity: l.quantity,
        })
        .collect()
}

/// The events of `order` as it stands (see the module doc), oldest first.
pub(crate) fn order_events(
    order: &MappedOrder,
    shop: &Shop<'_>,
) -> Result<Vec<CommerceEvent>, IngestError> {
    let snapshot = snapshot(order, shop)?;
    let source = EventSource::parse(EVENT_SOURCE).map_err(|e| bad("event source", e))?;
    let uid = order.uid.as_str();
    let placed = order.placed_ts;
    let mut kinds: Vec<(CommerceKind, DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(5);
    kinds.push((CommerceKind::OrderCreated, placed, placed));
    if order.facts.paid && order.total > Decimal::ZERO {
        let payment = ids::derive(
            prefix::PAYMENT,
            "payment",
            &order.gid,
            Some(order.created_ts),
        );
        kinds.push((
            CommerceKind::PaymentCaptured {
                payment_uid: PaymentUid::parse(&payment).map_err(|e| bad("payment uid", e))?,
                amount: snapshot.total,
            },
            placed,
            placed,
        ));
    }
    let units = all_units(&snapshot);
    if order.facts.fulfilled && !units.is_empty() {
        let fulfillment = ids::derive(
            prefix::FULFILLMENT,
            "fulfillment",
            &order.gid,
            Some(order.created_ts),
        );
        kinds.push((
            CommerceKind::FulfillmentShipped {
                fulfillment_uid: FulfillmentUid::parse(&fulfillment)
                    .map_err(|e| bad("fulfillment uid", e))?,
                location_uid: StockLocationUid::parse(shop.location_uid)
                    .map_err(|e| bad("location uid", e))?,
                lines: units.clone(),
            },
            order.updated_at.max(placed),
            placed,
        ));
    }
    if order.phase == "completed" {
        kinds.push((CommerceKind::OrderCompleted, placed, placed));
    }
    if let Some((refund_gid, at)) = &order.facts.full_refund
        && !units.is_empty()
    {
        let ret = ids::derive(prefix::RETURN, "return_request", refund_gid, Some(*at));
        kinds.push((
            CommerceKind::ReturnRequested {
                return_uid: ReturnUid::parse(&ret).map_err(|e| bad("return uid", e))?,
                lines: units,
            },
            *at,
            *at,
        ));
    }
    let mut events: Vec<CommerceEvent> = kinds
        .into_iter()
        .map(|(kind, occurred_ts, id_ts)| Envelope {
            event_id: event_id(kind.event_type(), uid, 1, id_ts),
            occurred_ts,
            schema_version: SCHEMA_VERSION,
            source: source.clone(),
            body: CommerceBody {
                order: snapshot.clone(),
                attribution: None,
                kind,
            },
        })
        .collect();
    events.sort_by_key(|e| (e.occurred_ts, rank(e.body.kind.event_type())));
    Ok(events)
}

fn rank(t: CommerceEventType) -> u8 {
    match t {
        CommerceEventType::OrderCreated => 0,
        CommerceEventType::PaymentCaptured => 1,
        CommerceEventType::FulfillmentShipped => 2,
        CommerceEventType::OrderCompleted => 3,
        CommerceEventType::ReturnRequested => 4,
    }
}

/// How an append went: events newly stored and events the log already had.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    pub appended: u64,
    pub duplicates: u64,
}

/// Appends `events` to COMMERCE_TELEMETRY in chunks, retrying a failing log with backoff.
pub(crate) async fn append(
    log: &dyn EventLog,
    events: Vec<Event>,
) -> Result<Appended, IngestError> {
    let mut total = Appended::default();
    let mut rest = events;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(APPEND_CHUNK));
        let chunk = std::mem::replace(&mut rest, tail);
        let receipt = strata_domain::commands::append_with_retry(log, chunk)
            .await
            .map_err(|(source, attempts)| IngestError::EventLog { attempts, source })?;
        total.appended += receipt.appended() as u64;
        total.duplicates += receipt.duplicates() as u64;
    }
    Ok(total)
}
