//! Events and dead letters → Arrow record batches in a table's current schema.
//!
//! Columns are built by name and then laid out in the order of the table's schema: a column the
//! table lacks is dropped and an optional column this build does not know is filled with nulls,
//! so a table whose schema has evolved (columns added by another tool) still takes writes.

use std::{collections::HashMap, sync::Arc};

use arrow_array::{
    ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, new_null_array,
};
use arrow_schema::{DataType, SchemaRef};
use chrono::{DateTime, Utc};
use strata_events::{
    Amount, CommerceEvent, CommerceKind, Event, Offset, PublicationEvent, PublicationKind,
    StreamName, SyncEvent,
};

use crate::{
    error::{LakeError, Result},
    spec::{MONEY_PRECISION, MONEY_SCALE},
};

/// A rejected event on its way to `<namespace>.rejected`.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    /// When it was rejected.
    pub received_ts: DateTime<Utc>,
    /// Why, in words a person can act on.
    pub reason: String,
    /// The class of problem (`missing_field`, `transform_failed`, …), if known.
    pub kind: Option<String>,
    /// The event's id, if it had a readable one.
    pub event_id: Option<String>,
    /// Its position in the stream's log, if it came through one.
    pub offset: Option<Offset>,
    /// The event exactly as received.
    pub raw: String,
}

/// Named columns, before they are laid out in a table's order.
type Columns = Vec<(&'static str, ArrayRef)>;

/// One event of a batch with its log offset, if it came through the log.
pub type EventRow<'a> = (Option<Offset>, &'a Event);

/// The telemetry rows of `events` (all of `stream`) as one batch in the layout of `target` (the
/// Arrow form of the table's current schema).
pub fn events_batch(
    stream: StreamName,
    events: &[EventRow<'_>],
    target: &SchemaRef,
) -> Result<RecordBatch> {
    let mut columns = envelope(events)?;
    columns.extend(match stream {
        StreamName::Commerce => commerce(&typed(stream, events, |e| match e {
            Event::Commerce(c) => Some(c),
            _ => None,
        })?)?,
        StreamName::Publication => publication(&typed(stream, events, |e| match e {
            Event::Publication(p) => Some(p),
            _ => None,
        })?),
        StreamName::Sync => sync(&typed(stream, events, |e| match e {
            Event::Sync(s) => Some(s),
            _ => None,
        })?)?,
    });
    columns.push((
        "stream_offset",
        Arc::new(
            events
                .iter()
                .map(|(o, _)| o.map(offset_i64))
                .collect::<Int64Array>(),
        ),
    ));
    let payloads = events
        .iter()
        .map(|(_, e)| {
            serde_json::to_string(e).map_err(|err| LakeError::ValueOutOfRange {
                column: "payload",
                detail: err.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    columns.push(("payload", Arc::new(StringArray::from(payloads))));
    layout(columns, target, events.len())
}

/// The dead-letter rows of `stream` as one batch in the layout of `target`.
pub fn rejected_batch(
    stream: StreamName,
    rows: &[RejectedRecord],
    target: &SchemaRef,
) -> Result<RecordBatch> {
    let columns: Columns = vec![
        ("received_ts", ts_array(rows.iter().map(|r| r.received_ts))),
        (
            "stream",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|_| stream.wire_name()),
            )),
        ),
        (
            "reason",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.reason.as_str()),
            )),
        ),
        (
            "kind",
            Arc::new(
                rows.iter()
                    .map(|r| r.kind.as_deref())
                    .collect::<StringArray>(),
            ),
        ),
        (
            "event_id",
            Arc::new(
                rows.iter()
                    .map(|r| r.event_id.as_deref())
                    .collect::<StringArray>(),
            ),
        ),
        (
            "stream_offset",
            Arc::new(
                rows.iter()
                    .map(|r| r.offset.map(offset_i64))
                    .collect::<Int64Array>(),
            ),
        ),
        (
            "raw",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.raw.as_str()),
            )),
        ),
    ];
    layout(columns, target, rows.len())
}

/// Offsets are positive and far below `i64::MAX` in practice; saturate rather than fail.
fn offset_i64(o: Offset) -> i64 {
    i64::try_from(o).unwrap_or(i64::MAX)
}

/// The typed events of one stream, or [`LakeError::WrongStream`] at the first stranger.
fn typed<'a, T>(
    stream: StreamName,
    events: &[EventRow<'a>],
    pick: impl Fn(&'a Event) -> Option<&'a T>,
) -> Result<Vec<&'a T>> {
    events
        .iter()
        .map(|(_, e)| {
            pick(e).ok_or(LakeError::WrongStream {
                expected: stream,
                found: e.stream(),
            })
        })
        .collect()
}

fn envelope(events: &[EventRow<'_>]) -> Result<Columns> {
    let versions = events
        .iter()
        .map(|(_, e)| {
            let v = match e {
                Event::Commerce(x) => x.schema_version,
                Event::Publication(x) => x.schema_version,
                Event::Sync(x) => x.schema_version,
            };
            i32::try_from(v).map_err(|_| LakeError::ValueOutOfRange {
                column: "schema_version",
                detail: v.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![
        (
            "event_id",
            Arc::new(StringArray::from_iter_values(
                events.iter().map(|(_, e)| e.event_id().as_str()),
            )),
        ),
        (
            "event_type",
            Arc::new(StringArray::from_iter_values(
                events.iter().map(|(_, e)| e.event_type()),
            )),
        ),
        (
            "occurred_ts",
            ts_array(events.iter().map(|(_, e)| e.occurred_ts())),
        ),
        ("schema_version", Arc::new(Int32Array::from(versions))),
        (
            "source",
            Arc::new(StringArray::from_iter_values(events.iter().map(
                |(_, e)| match e {
                    Event::Commerce(x) => x.source.as_str(),
                    Event::Publication(x) => x.source.as_str(),
                    Event::Sync(x) => x.source.as_str(),
                },
            ))),
        ),
    ])
}

fn ts_array(values: impl Iterator<Item = DateTime<Utc>>) -> ArrayRef {
    Arc::new(
        TimestampMicrosecondArray::from_iter_values(values.map(|t| t.timestamp_micros()))
            .with_timezone("+00:00"),
    )
}

fn strings<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> &'a str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r))))
}

fn opt_strings<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    Arc::new(rows.iter().map(|r| f(r)).collect::<StringArray>())
}

/// An amount as the unscaled value of a `decimal(20,4)`.
fn unscaled(a: &Amount) -> i128 {
    let mut d = a.value();
    d.rescale(MONEY_SCALE);
    d.mantissa()
}

fn money<'a, T: 'a>(
    column: &'static str,
    rows: &[&'a T],
    f: impl Fn(&'a T) -> Option<&'a Amount>,
) -> Result<ArrayRef> {
    let array = rows
        .iter()
        .map(|r| f(r).map(unscaled))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(MONEY_PRECISION as u8, MONEY_SCALE as i8)
        .map_err(|e| LakeError::ValueOutOfRange {
            column,
            detail: e.to_string(),
        })?;
    Ok(Arc::new(array))
}

fn order(e: &CommerceEvent) -> &strata_events::OrderSnapshot {
    &e.body.order
}

fn attribution(e: &CommerceEvent) -> Option<&strata_events::Attribution> {
    e.body.attribution.as_ref()
}

fn body(e: &PublicationEvent) -> &strata_events::PublicationBody {
    &e.body
}

fn commerce(rows: &[&CommerceEvent]) -> Result<Columns> {
    let line_counts = rows
        .iter()
        .map(|e| {
            i32::try_from(e.body.order.lines.len()).map_err(|_| LakeError::ValueOutOfRange {
                column: "line_count",
                detail: e.body.order.lines.len().to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let units: Int64Array = rows
        .iter()
        .map(|e| {
            Some(
                e.body
                    .order
                    .lines
                    .iter()
                    .fold(0i64, |acc, l| acc.saturating_add(l.quantity)),
            )
        })
        .collect();
    let event_units: Int64Array = rows
        .iter()
        .map(|e| match &e.body.kind {
            CommerceKind::FulfillmentShipped { lines, .. }
            | CommerceKind::ReturnRequested { lines, .. } => Some(
                lines
                    .iter()
                    .fold(0i64, |acc, l| acc.saturating_add(l.quantity)),
            ),
            _ => None,
        })
        .collect();
    Ok(vec![
        ("order_uid", strings(rows, |e| order(e).order_uid.as_str())),
        (
            "order_number",
            strings(rows, |e| order(e).order_number.as_str()),
        ),
        ("store_uid", strings(rows, |e| order(e).store_uid.as_str())),
        (
            "customer_uid",
            opt_strings(rows, |e| order(e).customer_uid.as_ref().map(|v| v.as_str())),
        ),
        (
            "customer_email",
            opt_strings(rows, |e| order(e).customer_email.as_deref()),
        ),
        (
            "region_uid",
            opt_strings(rows, |e| order(e).region_uid.as_ref().map(|v| v.as_str())),
        ),
        (
            "sales_channel_uid",
            opt_strings(rows, |e| {
                order(e).sales_channel_uid.as_ref().map(|v| v.as_str())
            }),
        ),
        (
            "currency_code",
            strings(rows, |e| order(e).currency_code.as_str()),
        ),
        (
            "item_total",
            money("item_total", rows, |e| Some(&order(e).item_total))?,
        ),
        (
            "subtotal",
            money("subtotal", rows, |e| Some(&order(e).subtotal))?,
        ),
        (
            "discount_total",
            money("discount_total", rows, |e| Some(&order(e).discount_total))?,
        ),
        (
            "shipping_total",
            money("shipping_total", rows, |e| Some(&order(e).shipping_total))?,
        ),
        (
            "tax_total",
            money("tax_total", rows, |e| Some(&order(e).tax_total))?,
        ),
        ("total", money("total", rows, |e| Some(&order(e).total))?),
        ("line_count", Arc::new(Int32Array::from(line_counts))),
        ("units", Arc::new(units)),
        (
            "publisher_uid",
            opt_strings(rows, |e| attribution(e).map(|a| a.publisher_uid.as_str())),
        ),
        (
            "referral_uid",
            opt_strings(rows, |e| {
                attribution(e).and_then(|a| a.referral_uid.as_ref().map(|v| v.as_str()))
            }),
        ),
        (
            "referral_link_uid",
            opt_strings(rows, |e| {
                attribution(e).and_then(|a| a.referral_link_uid.as_ref().map(|v| v.as_str()))
            }),
        ),
        (
            "payment_uid",
            opt_strings(rows, |e| match &e.body.kind {
                CommerceKind::PaymentCaptured { payment_uid, .. } => Some(payment_uid.as_str()),
                _ => None,
            }),
        ),
        (
            "payment_amount",
            money("payment_amount", rows, |e| match &e.body.kind {
                CommerceKind::PaymentCaptured { amount, .. } => Some(amount),
                _ => None,
            })?,
        ),
        (
            "fulfillment_uid",
            opt_strings(rows, |e| match &e.body.kind {
                CommerceKind::FulfillmentShipped {
                    fulfillment_uid, ..
                } => Some(fulfillment_uid.as_str()),
                _ => None,
            }),
        ),
        (
            "location_uid",
            opt_strings(rows, |e| match &e.body.kind {
                CommerceKind::FulfillmentShipped { location_uid, .. } => {
                    Some(location_uid.as_str())
                }
                _ => None,
            }),
        ),
        (
            "return_uid",
            opt_strings(rows, |e| match &e.body.kind {
                CommerceKind::ReturnRequested { return_uid, .. } => Some(return_uid.as_str()),
                _ => None,
            }),
        ),
        ("event_units", Arc::new(event_units)),
    ])
}

fn publication(rows: &[&PublicationEvent]) -> Columns {
    let device = |e: &PublicationEvent| match e.body.device_type {
        strata_events::DeviceType::Desktop => "desktop",
        strata_events::DeviceType::Mobile => "mobile",
        strata_events::DeviceType::Tablet => "tablet",
        strata_events::DeviceType::Other => "other",
        strata_events::DeviceType::Unknown => "unknown",
    };
    let engagement_value: Float64Array = rows
        .iter()
        .map(|e| match &e.body.kind {
            PublicationKind::Engagement { value, .. } => *value,
            _ => None,
        })
        .collect();
    let amounts = rows
        .iter()
        .map(|e| match &e.body.kind {
            PublicationKind::Conversion { amount, .. } => Some(unscaled(amount)),
            _ => None,
        })
        .collect::<Decimal128Array>();
    // Amounts fit decimal(20,4) by construction (Amount's own bounds), so this cannot fail; fall
    // back to the default precision rather than panic if that ever changes.
    let amounts = amounts
        .clone()
        .with_precision_and_scale(MONEY_PRECISION as u8, MONEY_SCALE as i8)
        .unwrap_or(amounts);
    vec![
        (
            "publisher_uid",
            strings(rows, |e| body(e).publisher_uid.as_str()),
        ),
        (
            "publication_uid",
            opt_strings(rows, |e| {
                body(e).publication_uid.as_ref().map(|v| v.as_str())
            }),
        ),
        (
            "referral_link_uid",
            opt_strings(rows, |e| {
                body(e).referral_link_uid.as_ref().map(|v| v.as_str())
            }),
        ),
        (
            "product_uid",
            opt_strings(rows, |e| body(e).product_uid.as_ref().map(|v| v.as_str())),
        ),
        (
            "telemetry_source_uid",
            opt_strings(rows, |e| {
                body(e).telemetry_source_uid.as_ref().map(|v| v.as_str())
            }),
        ),
        (
            "session_key_hash",
            opt_strings(rows, |e| {
                body(e).session_key_hash.as_ref().map(|v| v.as_str())
            }),
        ),
        ("device_type", strings(rows, device)),
        (
            "country_code",
            opt_strings(rows, |e| body(e).country_code.as_ref().map(|v| v.as_str())),
        ),
        ("url", opt_strings(rows, |e| body(e).url.as_deref())),
        (
            "engagement_kind",
            opt_strings(rows, |e| match &e.body.kind {
                PublicationKind::Engagement { kind, .. } => Some(kind.as_str()),
                _ => None,
            }),
        ),
        ("engagement_value", Arc::new(engagement_value)),
        (
            "order_uid",
            opt_strings(rows, |e| match &e.body.kind {
                PublicationKind::Conversion { order_uid, .. } => {
                    order_uid.as_ref().map(|v| v.as_str())
                }
                _ => None,
            }),
        ),
        ("amount", Arc::new(amounts)),
        (
            "currency_code",
            opt_strings(rows, |e| match &e.body.kind {
                PublicationKind::Conversion { currency_code, .. } => Some(currency_code.as_str()),
                _ => None,
            }),
        ),
    ]
}

fn sync(rows: &[&SyncEvent]) -> Result<Columns> {
    let durations = rows
        .iter()
        .map(|e| {
            i64::try_from(e.body.duration_ms).map_err(|_| LakeError::ValueOutOfRange {
                column: "duration_ms",
                detail: e.body.duration_ms.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(vec![
        ("run_id", strings(rows, |e| e.body.run_id.as_str())),
        ("workflow", strings(rows, |e| e.body.workflow.as_str())),
        ("step", opt_strings(rows, |e| e.body.step.as_deref())),
        (
            "attempt",
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|e| i64::from(e.body.attempt)),
            )),
        ),
        ("duration_ms", Arc::new(Int64Array::from(durations))),
        (
            "watermark",
            opt_strings(rows, |e| e.body.watermark.as_deref()),
        ),
        ("error", opt_strings(rows, |e| e.body.error.as_deref())),
    ])
}

/// Lays `columns` out in `target`'s field order, casting where the built type differs only in
/// representation (a time zone spelling, a decimal precision) and null-filling optional columns
/// this build does not produce.
fn layout(columns: Columns, target: &SchemaRef, rows: usize) -> Result<RecordBatch> {
    layout_named(
        columns
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        target,
        rows,
    )
}

/// [`layout`] for columns named at run time.
pub(crate) fn layout_named(
    columns: Vec<(String, ArrayRef)>,
    target: &SchemaRef,
    rows: usize,
) -> Result<RecordBatch> {
    let mut by_name: HashMap<String, ArrayRef> = columns.into_iter().collect();
    let mut arrays = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let array = match by_name.remove(field.name()) {
            Some(a) if a.data_type() == field.data_type() => a,
            Some(a) => cast(&a, field.data_type(), field.name())?,
            None if field.is_nullable() => new_null_array(field.data_type(), rows),
            None => {
                return Err(LakeError::UnsupportedColumn {
                    column: field.name().clone(),
                    detail: "the table requires this column and this build does not produce it"
                        .to_owned(),
                });
            }
        };
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::clone(target), arrays)?)
}

fn cast(array: &ArrayRef, to: &DataType, column: &str) -> Result<ArrayRef> {
    arrow_cast::cast(array, to).map_err(|e| LakeError::UnsupportedColumn {
        column: column.to_owned(),
        detail: format!("cannot store {} as {to}: {e}", array.data_type()),
    })
}
