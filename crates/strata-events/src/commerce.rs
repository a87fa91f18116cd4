//! `COMMERCE_TELEMETRY`: the order lifecycle, emitted by domain commands after the PostgreSQL write.
//!
//! Every event carries a full snapshot of its order (header, totals and lines, with product and
//! variant titles as at purchase), so analytics never joins back to PostgreSQL. What differs by
//! type is held in [`CommerceKind`], so an event cannot carry, say, a payment uid unless it is a
//! `payment_captured`. On the wire the kind's fields are optional top-level columns (see
//! [`crate::json_schema`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, ser::SerializeMap};

use crate::{
    EventBody, StreamName,
    envelope::{WireHead, envelope_serde, rfc3339, serialize_opt},
    rules::{Extra, add_extras_rules, check_extras, non_empty, require},
    value::{
        Amount, CurrencyCode, CustomerUid, EventId, EventSource, FulfillmentUid, OrderLineItemUid,
        OrderUid, PaymentUid, ProductUid, PublisherUid, ReferralLinkUid, ReferralUid, RegionUid,
        ReturnUid, SalesChannelUid, StockLocationUid, StoreUid, VariantUid,
    },
};

/// The type of a commerce event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommerceEventType {
    /// An order was placed.
    OrderCreated,
    /// An order reached its `completed` phase.
    OrderCompleted,
    /// A payment (or part of one) was captured.
    PaymentCaptured,
    /// A fulfillment was handed to the carrier.
    FulfillmentShipped,
    /// A return was requested.
    ReturnRequested,
}

impl CommerceEventType {
    /// Every type's wire name.
    pub const NAMES: &'static [&'static str] = &[
        "order_created",
        "order_completed",
        "payment_captured",
        "fulfillment_shipped",
        "return_requested",
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order_created",
            Self::OrderCompleted => "order_completed",
            Self::PaymentCaptured => "payment_captured",
            Self::FulfillmentShipped => "fulfillment_shipped",
            Self::ReturnRequested => "return_requested",
        }
    }
}

/// The body of a commerce event.
#[derive(Debug, Clone, PartialEq)]
pub struct CommerceBody {
    /// The order as it stands after the command that emitted the event.
    pub order: OrderSnapshot,
    /// The publisher credited with the order, when it came through a referral.
    pub attribution: Option<Attribution>,
    /// What happened, with the fields only that kind of event has.
    pub kind: CommerceKind,
}

/// What happened to the order.
#[derive(Debug, Clone, PartialEq)]
pub enum CommerceKind {
    /// The order was placed.
    OrderCreated,
    /// The order was completed.
    OrderCompleted,
    /// Money was captured from a payment of the order.
    PaymentCaptured {
        /// The payment captured from.
        payment_uid: PaymentUid,
        /// The amount captured, in the order's currency.
        amount: Amount,
    },
    /// A fulfillment of the order left a stock location.
    FulfillmentShipped {
        /// The fulfillment.
        fulfillment_uid: FulfillmentUid,
        /// The stock location the goods left from.
        location_uid: StockLocationUid,
        /// Units shipped, per order line.
        lines: Vec<LineQuantity>,
    },
    /// The customer asked to return goods of the order.
    ReturnRequested {
        /// The return.
        return_uid: ReturnUid,
        /// Units to be returned, per order line.
        lines: Vec<LineQuantity>,
    },
}

impl CommerceKind {
    /// The event type of this kind.
    pub fn event_type(&self) -> CommerceEventType {
        match self {
            Self::OrderCreated => CommerceEventType::OrderCreated,
            Self::OrderCompleted => CommerceEventType::OrderCompleted,
            Self::PaymentCaptured { .. } => CommerceEventType::PaymentCaptured,
            Self::FulfillmentShipped { .. } => CommerceEventType::FulfillmentShipped,
            Self::ReturnRequested { .. } => CommerceEventType::ReturnRequested,
        }
    }
}

impl EventBody for CommerceBody {
    const STREAM: StreamName = StreamName::Commerce;
    fn event_type(&self) -> &'static str {
        self.kind.event_type().as_str()
    }
}

/// The order header, totals and lines, denormalized from `order_header` and `order_line_item`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSnapshot {
    /// The order.
    pub order_uid: OrderUid,
    /// Human-facing order number, e.g. `#1001`.
    pub order_number: String,
    /// The store the order was placed in.
    pub store_uid: StoreUid,
    /// The customer; absent for guest checkouts.
    pub customer_uid: Option<CustomerUid>,
    /// Contact email captured at checkout.
    pub customer_email: Option<String>,
    /// The region the order was placed in.
    pub region_uid: Option<RegionUid>,
    /// The sales channel the order came through.
    pub sales_channel_uid: Option<SalesChannelUid>,
    /// Currency of every amount of the event.
    pub currency_code: CurrencyCode,
    /// Sum of line totals, tax included.
    pub item_total: Amount,
    /// Sum of line subtotals before discounts, taxes and shipping.
    pub subtotal: Amount,
    /// Sum of discounts.
    pub discount_total: Amount,
    /// Sum of shipping totals, tax included.
    pub shipping_total: Amount,
    /// Sum of all taxes.
    pub tax_total: Amount,
    /// Grand total the customer pays.
    pub total: Amount,
    /// The order's lines.
    pub lines: Vec<CommerceLine>,
}

/// One order line with the product as it was at purchase (from `order_line_item`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommerceLine {
    /// The order line.
    pub line_item_uid: OrderLineItemUid,
    /// The product bought; absent if it was never (or is no longer) in the catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_uid: Option<ProductUid>,
    /// Product title at purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_title: Option<String>,
    /// Product handle at purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_handle: Option<String>,
    /// The variant bought; absent if it was never (or is no longer) in the catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_uid: Option<VariantUid>,
    /// Variant title at purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_title: Option<String>,
    /// Variant SKU at purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Units ordered (never negative).
    #[schemars(range(min = 0))]
    pub quantity: i64,
    /// Price of one unit.
    pub unit_price: Amount,
    /// unit_price × quantity, before discounts and taxes.
    pub subtotal: Amount,
    /// Sum of the line's discounts.
    pub discount_total: Amount,
    /// Sum of the line's taxes.
    pub tax_total: Amount,
    /// Line total after discounts, tax included.
    pub total: Amount,
}

/// How many units of one order line an event is about (shipped or to be returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineQuantity {
    /// The order line; one of the event's `lines`.
    pub line_item_uid: OrderLineItemUid,
    /// Units, at least 1 and at most the line's quantity.
    #[schemars(range(min = 1))]
    pub quantity: i64,
}

/// The publisher (and referral) an order is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// The publisher credited.
    pub publisher_uid: PublisherUid,
    /// The attributed visit, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_uid: Option<ReferralUid>,
    /// The referral link the visit came through, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_link_uid: Option<ReferralLinkUid>,
}

/// Fields only some commerce event types carry.
const EXTRAS: &[Extra] = &[
    Extra {
        field: "payment_uid",
        owner: "payment_captured",
        required: true,
    },
    Extra {
        field: "payment_amount",
        owner: "payment_captured",
        required: true,
    },
    Extra {
        field: "fulfillment_uid",
        owner: "fulfillment_shipped",
        required: true,
    },
    Extra {
        field: "location_uid",
        owner: "fulfillment_shipped",
        required: true,
    },
    Extra {
        field: "shipped_lines",
        owner: "fulfillment_shipped",
        required: true,
    },
    Extra {
        field: "return_uid",
        owner: "return_requested",
        required: true,
    },
    Extra {
        field: "returned_lines",
        owner: "return_requested",
        required: true,
    },
];

fn schema_rules(schema: &mut schemars::Schema) {
    add_extras_rules(schema, CommerceEventType::NAMES, EXTRAS);
}

/// A `COMMERCE_TELEMETRY` event on the wire: one flat object per event, the shape of a row of
/// `commerce.telemetry`. Fields that only one event type carries are listed at the end; each
/// type requires its own and forbids the others'.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "COMMERCE_TELEMETRY event", transform = schema_rules)]
pub(crate) struct CommerceWire {
    /// Idempotency key, `evt_` + ULID. Optional on input: the ingest endpoint mints one if absent.
    event_id: Option<EventId>,
    /// What happened.
    event_type: CommerceEventType,
    /// When it happened at the source, RFC 3339.
    #[serde(deserialize_with = "rfc3339::deserialize")]
    #[schemars(with = "DateTime<Utc>")]
    occurred_ts: DateTime<Utc>,
    /// Version of this schema the event follows; 1 when absent.
    schema_version: Option<u32>,
    /// Who emitted the event, e.g. `strata-domain`.
    source: EventSource,
    /// The order.
    order_uid: OrderUid,
    /// Human-facing order number, e.g. `#1001`.
    #[schemars(length(min = 1))]
    order_number: String,
    /// The store the order was placed in.
    store_uid: StoreUid,
    /// The customer; absent for guest checkouts.
    customer_uid: Option<CustomerUid>,
    /// Contact email captured at checkout.
    customer_email: Option<String>,
    /// The region the order was placed in.
    region_uid: Option<RegionUid>,
    /// The sales channel the order came through.
    sales_channel_uid: Option<SalesChannelUid>,
    /// Currency (ISO 4217, lower case) of every amount of the event.
    currency_code: CurrencyCode,
    /// Sum of line totals, tax included.
    item_total: Amount,
    /// Sum of line subtotals before discounts, taxes and shipping.
    subtotal: Amount,
    /// Sum of discounts.
    discount_total: Amount,
    /// Sum of shipping totals, tax included.
    shipping_total: Amount,
    /// Sum of all taxes.
    tax_total: Amount,
    /// Grand total the customer pays.
    total: Amount,
    /// The order's lines (each `line_item_uid` once).
    lines: Vec<CommerceLine>,
    /// The publisher credited with the order, if any.
    attribution: Option<Attribution>,
    /// payment_captured: the payment captured from.
    payment_uid: Option<PaymentUid>,
    /// payment_captured: the amount captured, in the order's currency.
    payment_amount: Option<Amount>,
    /// fulfillment_shipped: the fulfillment.
    fulfillment_uid: Option<FulfillmentUid>,
    /// fulfillment_shipped: the stock location the goods left from.
    location_uid: Option<StockLocationUid>,
    /// fulfillment_shipped: units shipped per order line (non-empty; lines of this order).
    #[schemars(length(min = 1))]
    shipped_lines: Option<Vec<LineQuantity>>,
    /// return_requested: the return.
    return_uid: Option<ReturnUid>,
    /// return_requested: units to return per order line (non-empty; lines of this order).
    #[schemars(length(min = 1))]
    returned_lines: Option<Vec<LineQuantity>>,
}

impl CommerceBody {
    pub(crate) fn from_wire(w: CommerceWire) -> Result<(WireHead, Self), String> {
        let event_type = w.event_type.as_str();
        check_extras(
            event_type,
            EXTRAS,
            &[
                ("payment_uid", w.payment_uid.is_some()),
                ("payment_amount", w.payment_amount.is_some()),
                ("fulfillment_uid", w.fulfillment_uid.is_some()),
                ("location_uid", w.location_uid.is_some()),
                ("shipped_lines", w.shipped_lines.is_some()),
                ("return_uid", w.return_uid.is_some()),
                ("returned_lines", w.returned_lines.is_some()),
            ],
        )?;
        non_empty(&w.order_number, "order_number")?;
        check_lines(&w.lines)?;
        let kind = match w.event_type {
            CommerceEventType::OrderCreated => CommerceKind::OrderCreated,
            CommerceEventType::OrderCompleted => CommerceKind::OrderCompleted,
            CommerceEventType::PaymentCaptured => CommerceKind::PaymentCaptured {
                payment_uid: require(w.payment_uid, "payment_uid", event_type)?,
                amount: require(w.payment_amount, "payment_amount", event_type)?,
            },
            CommerceEventType::FulfillmentShipped => {
                let fulfillment_uid = require(w.fulfillment_uid, "fulfillment_uid", event_type)?;
                let location_uid = require(w.location_uid, "location_uid", event_type)?;
                let lines = require(w.shipped_lines, "shipped_lines", event_type)?;
                check_line_quantities(&lines, &w.lines, "shipped_lines")?;
                CommerceKind::FulfillmentShipped {
                    fulfillment_uid,
                    location_uid,
                    lines,
                }
            }
            CommerceEventType::ReturnRequested => {
                let return_uid = require(w.return_uid, "return_uid", event_type)?;
                let lines = require(w.returned_lines, "returned_lines", event_type)?;
                check_line_quantities(&lines, &w.lines, "returned_lines")?;
                CommerceKind::ReturnRequested { return_uid, lines }
            }
        };
        let head = WireHead {
            event_id: w.event_id,
            occurred_ts: w.occurred_ts,
            schema_version: w.schema_version,
            source: w.source,
        };
        let body = CommerceBody {
            order: OrderSnapshot {
                order_uid: w.order_uid,
                order_number: w.order_number,
                store_uid: w.store_uid,
                customer_uid: w.customer_uid,
                customer_email: w.customer_email,
                region_uid: w.region_uid,
                sales_channel_uid: w.sales_channel_uid,
                currency_code: w.currency_code,
                item_total: w.item_total,
                subtotal: w.subtotal,
                discount_total: w.discount_total,
                shipping_total: w.shipping_total,
                tax_total: w.tax_total,
                total: w.total,
                lines: w.lines,
            },
            attribution: w.attribution,
            kind,
        };
        Ok((head, body))
    }

    pub(crate) fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let o = &self.order;
        map.serialize_entry("order_uid", &o.order_uid)?;
        map.serialize_entry("order_number", &o.order_number)?;
        map.serialize_entry("store_uid", &o.store_uid)?;
        serialize_opt(map, "customer_uid", &o.customer_uid)?;
        serialize_opt(map, "customer_email", &o.customer_email)?;
        serialize_opt(map, "region_uid", &o.region_uid)?;
        serialize_opt(map, "sales_channel_uid", &o.sales_channel_uid)?;
        map.serialize_entry("currency_code", &o.currency_code)?;
        map.serialize_entry("item_total", &o.item_total)?;
        map.serialize_entry("subtotal", &o.subtotal)?;
        map.serialize_entry("discount_total", &o.discount_total)?;
        map.serialize_entry("shipping_total", &o.shipping_total)?;
        map.serialize_entry("tax_total", &o.tax_total)?;
        map.serialize_entry("total", &o.total)?;
        map.serialize_entry("lines", &o.lines)?;
        serialize_opt(map, "attribution", &self.attribution)?;
        match &self.kind {
            CommerceKind::OrderCreated | CommerceKind::OrderCompleted => Ok(()),
            CommerceKind::PaymentCaptured {
                payment_uid,
                amount,
            } => {
                map.serialize_entry("payment_uid", payment_uid)?;
                map.serialize_entry("payment_amount", amount)
            }
            CommerceKind::FulfillmentShipped {
                fulfillment_uid,
                location_uid,
                lines,
            } => {
                map.serialize_entry("fulfillment_uid", fulfillment_uid)?;
                map.serialize_entry("location_uid", location_uid)?;
                map.serialize_entry("shipped_lines", lines)
            }
            CommerceKind::ReturnRequested { return_uid, lines } => {
                map.serialize_entry("return_uid", return_uid)?;
                map.serialize_entry("returned_lines", lines)
            }
        }
    }
}

envelope_serde!(CommerceBody, CommerceWire);

/// Each line once, no negative quantity.
fn check_lines(lines: &[CommerceLine]) -> Result<(), String> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if let Some(first) = seen.insert(line.line_item_uid.as_str(), i) {
            return Err(format!(
                "lines[{i}].line_item_uid `{}` repeats lines[{first}]",
                line.line_item_uid
            ));
        }
        if line.quantity < 0 {
            return Err(format!(
                "lines[{i}].quantity must not be negative, got {}",
                line.quantity
            ));
        }
    }
    Ok(())
}

/// Shipped or returned quantities name lines of the order, each once, within its quantity.
fn check_line_quantities(
    quantities: &[LineQuantity],
    lines: &[CommerceLine],
    field: &str,
) -> Result<(), String> {
    if quantities.is_empty() {
        return Err(format!("field `{field}` must list at least one line"));
    }
    let ordered: HashMap<&str, i64> = lines
        .iter()
        .map(|l| (l.line_item_uid.as_str(), l.quantity))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(quantities.len());
    for (i, q) in quantities.iter().enumerate() {
        let uid = q.line_item_uid.as_str();
        if let Some(first) = seen.insert(uid, i) {
            return Err(format!(
                "{field}[{i}].line_item_uid `{uid}` repeats {field}[{first}]"
            ));
        }
        let Some(&max) = ordered.get(uid) else {
            return Err(format!(
                "{field}[{i}].line_item_uid `{uid}` is not one of the event's lines"
            ));
        };
        if q.quantity < 1 || q.quantity > max {
            return Err(format!(
                "{field}[{i}].quantity must be between 1 and the line's quantity {max}, got {}",
                q.quantity
            ));
        }
    }
    Ok(())
}
