//! Commerce events built from PostgreSQL rows, their deterministic ids, and their append.
//!
//! One loader ([`Loader`]) reads an order's snapshot (header, lines, attribution) and the facts
//! that happened to it (placement, completion, captures, shipments, returns) from PostgreSQL.
//! The commands use it inside their transaction, right after their writes; the recovery path
//! ([`super::reemit_order_events`]) uses it on committed state. Both therefore build the same
//! event, with the same id, for the same fact.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use strata_events::{
    Amount, Attribution, CommerceBody, CommerceEvent, CommerceEventType, CommerceKind,
    CommerceLine, CurrencyCode, CustomerUid, Envelope, Event, EventId, EventLog, EventSource,
    FulfillmentUid, InvalidValue, LineQuantity, LogError, OrderLineItemUid, OrderSnapshot,
    OrderUid, PaymentUid, ProductUid, PublisherUid, ReferralLinkUid, ReferralUid, RegionUid,
    ReturnUid, SCHEMA_VERSION, SalesChannelUid, StockLocationUid, StoreUid, StreamName, VariantUid,
};
use tokio_postgres::{Row, Statement};
use ulid::Ulid;

use super::CommandError;

/// The `source` of every event the domain commands emit.
pub const EVENT_SOURCE: &str = "strata-domain";

/// Append attempts before a command reports [`CommandError::EventLog`].
pub const APPEND_ATTEMPTS: u32 = 4;
/// Wait before the second attempt; each further wait is four times longer (50, 200, 800 ms).
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// The deterministic id of a commerce event: `evt_` + a ULID whose time part is `occurred_ts` in
/// milliseconds and whose 80 random bits are the first 80 bits of
/// SHA-256(`"<event_type>:<subject_uid>:<sequence>"`).
///
/// The subject is the order; `sequence` (from 1) tells apart facts of one type on one order (the
/// second capture, the third shipment). The same fact always gets the same id, so the log keeps
/// one copy however often it is appended.
pub fn event_id(
    event_type: CommerceEventType,
    subject_uid: &str,
    sequence: u32,
    occurred_ts: DateTime<Utc>,
) -> EventId {
    let digest = Sha256::digest(format!("{}:{subject_uid}:{sequence}", event_type.as_str()));
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ms = u64::try_from(occurred_ts.timestamp_millis()).unwrap_or(0);
    let ulid = Ulid::from_parts(ms, u128::from_be_bytes(random));
    EventId::parse(&format!("evt_{ulid}")).expect("`evt_` + a ULID is a valid event id")
}

fn source() -> EventSource {
    EventSource::parse(EVENT_SOURCE).expect("`strata-domain` is a valid event source")
}

/// Which facts to load besides the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Want {
    pub created: bool,
    pub completed: bool,
    pub captures: bool,
    pub shipments: bool,
    pub returns: bool,
}

impl Want {
    pub const ALL: Want = Want {
        created: true,
        completed: true,
        captures: true,
        shipments: true,
        returns: true,
    };
    const NONE: Want = Want {
        created: false,
        completed: false,
        captures: false,
        shipments: false,
        returns: false,
    };
    pub const CREATED: Want = Want {
        created: true,
        ..Self::NONE
    };
    pub const COMPLETED: Want = Want {
        completed: true,
        ..Self::NONE
    };
    pub const CAPTURES: Want = Want {
        captures: true,
        ..Self::NONE
    };
    pub const SHIPMENTS: Want = Want {
        shipments: true,
        ..Self::NONE
    };
    pub const RETURNS: Want = Want {
        returns: true,
        ..Self::NONE
    };
}

/// The order header with its lines (as JSON arrays of text, so amounts keep their exact scale)
/// and its attribution, in one statement. The completion time comes from the `Completed`
/// condition that `complete_order` writes, else `placed_ts` (orders completed by an import carry
/// no condition; `placed_ts` never changes, so their event id stays stable).
const HEADER_SQL: &str = "SELECT h.uid, h.order_number, h.store_uid, h.customer_uid, h.email, \
     h.region_uid, h.sales_channel_uid, h.currency_code, h.item_total, h.subtotal, \
     coalesce(h.discount_total, 0), h.shipping_total, h.tax_total, h.total, h.placed_ts, \
     CASE WHEN h.status->>'phase' = 'completed' THEN coalesce( \
         (SELECT (c->>'last_transition_ts')::timestamptz \
            FROM jsonb_array_elements(h.status->'conditions') c \
           WHERE c->>'type' = 'Completed' AND c->>'status' = 'True' LIMIT 1), h.placed_ts) END, \
     (SELECT coalesce(jsonb_agg(jsonb_build_array(l.uid, l.product_uid, l.product_title, \
          l.product_handle, l.variant_uid, l.variant_title, l.variant_sku, l.quantity, \
          l.unit_price::text, l.subtotal::text, l.discount_total::text, l.tax_total::text, \
          l.total::text) ORDER BY l.uid), '[]'::jsonb) \
        FROM order_line_item l WHERE l.order_uid = h.uid), \
     a.publisher_uid, a.uid, a.referral_link_uid \
     FROM order_header h \
     LEFT JOIN LATERAL (SELECT r.publisher_uid, r.uid, r.referral_link_uid \
        FROM link_order_referral lr JOIN referral r ON r.uid = lr.referral_uid \
       WHERE lr.order_uid = h.uid AND lr.status->>'phase' = 'active' \
       ORDER BY lr.attribution_weight DESC, lr.uid LIMIT 1) a ON true \
     WHERE h.uid = ANY($1::text[]) ORDER BY h.uid";

/// Every capture of the order's payments, numbered per order in (create_ts, uid) order.
const CAPTURES_SQL: &str = "SELECT l.order_uid, c.uid, c.payment_uid, c.amount, c.create_ts, \
     row_number() OVER (PARTITION BY l.order_uid ORDER BY c.create_ts, c.uid) \
     FROM link_order_payment_collection l \
     JOIN payment p ON p.payment_collection_uid = l.payment_collection_uid \
     JOIN payment_capture c ON c.payment_uid = p.uid \
     WHERE l.order_uid = ANY($1::text[])";

/// Every shipped fulfillment of the order, numbered per order in (shipped_ts, uid) order, with
/// its units per order line.
const SHIPMENTS_SQL: &str = "SELECT l.order_uid, f.uid, f.location_uid, f.shipped_ts, \
     row_number() OVER (PARTITION BY l.order_uid ORDER BY f.shipped_ts, f.uid), \
     (SELECT coalesce(jsonb_agg(jsonb_build_array(x.li, x.q) ORDER BY x.li), '[]'::jsonb) \
        FROM (SELECT line_item_uid AS li, sum(quantity) AS q FROM fulfillment_item \
               WHERE fulfillment_uid = f.uid AND line_item_uid IS NOT NULL GROUP BY 1) x) \
     FROM link_order_fulfillment l JOIN fulfillment f ON f.uid = l.fulfillment_uid \
     WHERE l.order_uid = ANY($1::text[]) AND f.shipped_ts IS NOT NULL";

/// Every return of the order, numbered per order in (requested_ts, uid) order, with its units
/// per order line.
const RETURNS_SQL: &str = "SELECT r.order_uid, r.uid, r.requested_ts, \
     row_number() OVER (PARTITION BY r.order_uid ORDER BY r.requested_ts, r.uid), \
     (SELECT coalesce(jsonb_agg(jsonb_build_array(x.li, x.q) ORDER BY x.li), '[]'::jsonb) \
        FROM (SELECT line_item_uid AS li, sum(quantity) AS q FROM return_item \
               WHERE return_uid = r.uid GROUP BY 1) x) \
     FROM return_request r WHERE r.order_uid = ANY($1::text[])";

/// The events of one order, each with the uid of the row that records its fact (the order for
/// `order_created` / `order_completed`, else the capture, fulfillment or return).
#[derive(Debug)]
pub(crate) struct OrderEvents {
    pub order_uid: String,
    pub events: Vec<(String, CommerceEvent)>,
    /// Facts whose rows could not make a valid event (data edited outside Strata).
    pub problems: Vec<String>,
}

impl OrderEvents {
    /// The event of the fact recorded by row `key`, or an internal error saying why it is missing.
    pub fn take(self, key: &str) -> Result<CommerceEvent, CommandError> {
        let problems = self.problems.join("; ");
        self.events
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| e)
            .ok_or_else(|| {
                CommandError::Internal(format!(
                    "no event could be built for {key} of order {}: {problems}",
                    self.order_uid
                ))
            })
    }
}

/// The prepared statements of one load; prepare first, then [`Loader::run`] sends every query in
/// one round trip (after whatever was sent before it on the same connection).
pub(crate) struct Loader {
    header: Statement,
    captures: Option<Statement>,
    shipments: Option<Statement>,
    returns: Option<Statement>,
    want: Want,
}

async fn prepare_if(
    client: &ClientWrapper,
    yes: bool,
    sql: &str,
) -> Result<Option<Statement>, tokio_postgres::Error> {
    if yes {
        client.prepare_cached(sql).await.map(Some)
    } else {
        Ok(None)
    }
}

async fn query_if(
    client: &ClientWrapper,
    statement: Option<&Statement>,
    uids: &[String],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    match statement {
        Some(s) => client.query(s, &[&uids]).await,
        None => Ok(Vec::new()),
    }
}

impl Loader {
    pub async fn prepare(
        client: &ClientWrapper,
        want: Want,
    ) -> Result<Self, tokio_postgres::Error> {
        let (header, captures, shipments, returns) = futures_util::try_join!(
            client.prepare_cached(HEADER_SQL),
            prepare_if(client, want.captures, CAPTURES_SQL),
            prepare_if(client, want.shipments, SHIPMENTS_SQL),
            prepare_if(client, want.returns, RETURNS_SQL),
        )?;
        Ok(Self {
            header,
            captures,
            shipments,
            returns,
            want,
        })
    }

    /// Loads `uids` (missing orders are left out) and builds their events. Every query is sent
    /// when the future is first polled.
    pub async fn run(
        &self,
        client: &ClientWrapper,
        uids: &[String],
    ) -> Result<Vec<OrderEvents>, tokio_postgres::Error> {
        let (headers, captures, shipments, returns) = futures_util::try_join!(
            async { client.query(&self.header, &[&uids]).await },
            query_if(client, self.captures.as_ref(), uids),
            query_if(client, self.shipments.as_ref(), uids),
            query_if(client, self.returns.as_ref(), uids),
        )?;
        Ok(assemble(
            self.want, &headers, &captures, &shipments, &returns,
        ))
    }
}

/// One fact before it becomes an event.
struct Fact {
    key: String,
    occurred_ts: DateTime<Utc>,
    sequence: u32,
    kind: CommerceKind,
}

fn parse_req<T>(
    what: &str,
    text: &str,
    parse: fn(&str) -> Result<T, InvalidValue>,
) -> Result<T, String> {
    parse(text).map_err(|e| format!("{what}: {e}"))
}

/// An optional reference that does not parse is left out of the event rather than failing it.
fn parse_opt<T>(text: Option<String>, parse: fn(&str) -> Result<T, InvalidValue>) -> Option<T> {
    text.and_then(|t| parse(&t).ok())
}

fn amount(what: &str, value: Decimal) -> Result<Amount, String> {
    Amount::new(value).map_err(|e| format!("{what}: {e}"))
}

fn sequence(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One line from the header query's JSON array of
/// `[uid, product_uid, product_title, product_handle, variant_uid, variant_title, sku, quantity,
/// unit_price, subtotal, discount_total, tax_total, total]` (amounts as exact text).
fn line_of(value: &Value) -> Result<CommerceLine, String> {
    let text = |i: usize| value.get(i).and_then(Value::as_str).map(str::to_owned);
    let uid = text(0).unwrap_or_default();
    let what = |c: &str| format!("order_line_item {uid} {c}");
    let money = |i: usize, c: &str| {
        Amount::parse(value.get(i).and_then(Value::as_str).unwrap_or_default())
            .map_err(|e| format!("{}: {e}", what(c)))
    };
    Ok(CommerceLine {
        line_item_uid: parse_req(&what("uid"), &uid, OrderLineItemUid::parse)?,
        product_uid: parse_opt(text(1), ProductUid::parse),
        product_title: text(2),
        product_handle: text(3),
        variant_uid: parse_opt(text(4), VariantUid::parse),
        variant_title: text(5),
        sku: text(6),
        quantity: value.get(7).and_then(Value::as_i64).unwrap_or(0),
        unit_price: money(8, "unit_price")?,
        subtotal: money(9, "subtotal")?,
        discount_total: money(10, "discount_total")?,
        tax_total: money(11, "tax_total")?,
        total: money(12, "total")?,
    })
}

/// The snapshot of an order from its header row and lines.
fn snapshot_of(row: &Row, lines: Vec<CommerceLine>) -> Result<OrderSnapshot, String> {
    let uid: String = row.get(0);
    let what = |c: &str| format!("order_header {uid} {c}");
    Ok(OrderSnapshot {
        order_uid: parse_req(&what("uid"), &uid, OrderUid::parse)?,
        order_number: row.get(1),
        store_uid: parse_req(&what("store_uid"), row.get(2), StoreUid::parse)?,
        customer_uid: parse_opt(row.get(3), CustomerUid::parse),
        customer_email: row.get(4),
        region_uid: parse_opt(row.get(5), RegionUid::parse),
        sales_channel_uid: parse_opt(row.get(6), SalesChannelUid::parse),
        currency_code: parse_req(&what("currency_code"), row.get(7), CurrencyCode::parse)?,
        item_total: amount(&what("item_total"), row.get(8))?,
        subtotal: amount(&what("subtotal"), row.get(9))?,
        discount_total: amount(&what("discount_total"), row.get(10))?,
        shipping_total: amount(&what("shipping_total"), row.get(11))?,
        tax_total: amount(&what("tax_total"), row.get(12))?,
        total: amount(&what("total"), row.get(13))?,
        lines,
    })
}

/// `[[line_item_uid, quantity], …]` from the shipment and return queries.
fn line_quantities(what: &str, value: &Value) -> Result<Vec<LineQuantity>, String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|pair| {
            let uid = pair.get(0).and_then(Value::as_str).unwrap_or_default();
            let quantity = pair
                .get(1)
                .and_then(|q| {
                    q.as_i64()
                        .or_else(|| q.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0);
            Ok(LineQuantity {
                line_item_uid: parse_req(what, uid, OrderLineItemUid::parse)?,
                quantity,
            })
        })
        .collect()
}

fn capture_fact(row: &Row) -> Result<Fact, String> {
    let uid: String = row.get(1);
    let what = |c: &str| format!("payment_capture {uid} {c}");
    Ok(Fact {
        kind: CommerceKind::PaymentCaptured {
            payment_uid: parse_req(&what("payment_uid"), row.get(2), PaymentUid::parse)?,
            amount: amount(&what("amount"), row.get(3))?,
        },
        occurred_ts: row.get(4),
        sequence: sequence(row.get(5)),
        key: uid,
    })
}

fn shipment_fact(row: &Row) -> Result<Fact, String> {
    let uid: String = row.get(1);
    let what = |c: &str| format!("fulfillment {uid} {c}");
    Ok(Fact {
        kind: CommerceKind::FulfillmentShipped {
            fulfillment_uid: parse_req(&what("uid"), &uid, FulfillmentUid::parse)?,
            location_uid: parse_req(&what("location_uid"), row.get(2), StockLocationUid::parse)?,
            lines: line_quantities(&what("items"), &row.get::<_, Value>(5))?,
        },
        occurred_ts: row.get(3),
        sequence: sequence(row.get(4)),
        key: uid,
    })
}

fn return_fact(row: &Row) -> Result<Fact, String> {
    let uid: String = row.get(1);
    let what = |c: &str| format!("return_request {uid} {c}");
    Ok(Fact {
        kind: CommerceKind::ReturnRequested {
            return_uid: parse_req(&what("uid"), &uid, ReturnUid::parse)?,
            lines: line_quantities(&what("items"), &row.get::<_, Value>(4))?,
        },
        occurred_ts: row.get(2),
        sequence: sequence(row.get(3)),
        key: uid,
    })
}

fn rank(kind: &CommerceKind) -> u8 {
    match kind {
        CommerceKind::OrderCreated => 0,
        CommerceKind::PaymentCaptured { .. } => 1,
        CommerceKind::FulfillmentShipped { .. } => 2,
        CommerceKind::OrderCompleted => 3,
        CommerceKind::ReturnRequested { .. } => 4,
    }
}

/// The event of `fact` on `order`, checked against the wire rules by a round trip through JSON,
/// so the log never holds an event its readers would reject.
fn build(
    order: &OrderSnapshot,
    attribution: &Option<Attribution>,
    fact: Fact,
) -> Result<(String, CommerceEvent), String> {
    let event_type = fact.kind.event_type();
    let event: CommerceEvent = Envelope {
        event_id: event_id(
            event_type,
            order.order_uid.as_str(),
            fact.sequence,
            fact.occurred_ts,
        ),
        occurred_ts: fact.occurred_ts,
        schema_version: SCHEMA_VERSION,
        source: source(),
        body: CommerceBody {
            order: order.clone(),
            attribution: attribution.clone(),
            kind: fact.kind,
        },
    };
    let json = serde_json::to_string(&event)
        .map_err(|e| format!("{} of {}: {e}", event_type.as_str(), fact.key))?;
    Event::from_json(StreamName::Commerce, json.as_bytes()).map_err(|e| {
        format!(
            "{} of {} would be rejected by the log's readers: {e}",
            event_type.as_str(),
            fact.key
        )
    })?;
    Ok((fact.key, event))
}

fn assemble(
    want: Want,
    headers: &[Row],
    captures: &[Row],
    shipments: &[Row],
    returns: &[Row],
) -> Vec<OrderEvents> {
    let mut facts: HashMap<String, Vec<Result<Fact, String>>> = HashMap::new();
    for row in captures {
        facts.entry(row.get(0)).or_default().push(capture_fact(row));
    }
    for row in shipments {
        facts
            .entry(row.get(0))
            .or_default()
            .push(shipment_fact(row));
    }
    for row in returns {
        facts.entry(row.get(0)).or_default().push(return_fact(row));
    }

    let mut out = Vec::with_capacity(headers.len());
    for header in headers {
        let order_uid: String = header.get(0);
        let mut result = OrderEvents {
            order_uid: order_uid.clone(),
            events: Vec::new(),
            problems: Vec::new(),
        };
        let lines_json: Value = header.get(16);
        let order_lines: Result<Vec<CommerceLine>, String> = lines_json
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(line_of)
            .collect();
        let snapshot = match order_lines.and_then(|l| snapshot_of(header, l)) {
            Ok(s) => s,
            Err(problem) => {
                result.problems.push(problem);
                out.push(result);
                continue;
            }
        };
        let attribution = header
            .get::<_, Option<String>>(17)
            .and_then(|publisher| PublisherUid::parse(&publisher).ok())
            .map(|publisher_uid| Attribution {
                publisher_uid,
                referral_uid: parse_opt(header.get(18), ReferralUid::parse),
                referral_link_uid: parse_opt(header.get(19), ReferralLinkUid::parse),
            });

        let mut order_facts: Vec<Result<Fact, String>> = Vec::new();
        if want.created {
            order_facts.push(Ok(Fact {
                key: order_uid.clone(),
                occurred_ts: header.get(14),
                sequence: 1,
                kind: CommerceKind::OrderCreated,
            }));
        }
        if want.completed
            && let Some(completed_ts) = header.get::<_, Option<DateTime<Utc>>>(15)
        {
            order_facts.push(Ok(Fact {
                key: order_uid.clone(),
                occurred_ts: completed_ts,
                sequence: 1,
                kind: CommerceKind::OrderCompleted,
            }));
        }
        order_facts.extend(facts.remove(&order_uid).unwrap_or_default());

        let mut built = Vec::with_capacity(order_facts.len());
        for fact in order_facts {
            match fact.and_then(|f| build(&snapshot, &attribution, f)) {
                Ok(event) => built.push(event),
                Err(problem) => result.problems.push(problem),
            }
        }
        built.sort_by(|(_, a), (_, b)| {
            (a.occurred_ts, rank(&a.body.kind), &a.event_id).cmp(&(
                b.occurred_ts,
                rank(&b.body.kind),
                &b.event_id,
            ))
        });
        result.events = built;
        out.push(result);
    }
    out
}

/// Appends `events` to COMMERCE_TELEMETRY, retrying a failing log with backoff. Errors that a
/// retry cannot fix (an event of another stream, an encoding failure) are returned at once.
pub async fn append_with_retry(
    log: &dyn EventLog,
    events: Vec<Event>,
) -> Result<strata_events::AppendReceipt, (LogError, u32)> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match log.append(StreamName::Commerce, events.clone()).await {
            Ok(receipt) => return Ok(receipt),
            Err(e) => {
                let permanent = matches!(
                    e,
                    LogError::StreamMismatch { .. }
                        | LogError::Encode { .. }
                        | LogError::UnsupportedFormat { .. }
                );
                if permanent || attempt >= APPEND_ATTEMPTS {
                    return Err((e, attempt));
                }
                tracing::warn!(error = %e, attempt, "appending commerce events failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 4;
                attempt += 1;
            }
        }
    }
}

/// Appends the event of a committed command; on failure says that the write committed.
pub(crate) async fn emit(log: &dyn EventLog, event: &CommerceEvent) -> Result<(), CommandError> {
    match append_with_retry(log, vec![Event::Commerce(event.clone())]).await {
        Ok(receipt) => {
            if receipt.duplicates() > 0 {
                tracing::debug!(event_id = %event.event_id, "event was already in the log");
            }
            Ok(())
        }
        Err((source, attempts)) => {
            tracing::error!(
                order_uid = %event.body.order.order_uid,
                event_id = %event.event_id,
                error = %source,
                "committed change has no event in the log; reemit_order_events repairs it"
            );
            Err(CommandError::EventLog {
                order_uid: event.body.order.order_uid.to_string(),
                event_id: event.event_id.clone(),
                attempts,
                source,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_deterministic_and_time_ordered() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_000_000).expect("time");
        let order = "ord_01HZX3J5Q6W2B7C8D9E0F1G2H3";
        let a = event_id(CommerceEventType::PaymentCaptured, order, 1, t);
        assert_eq!(a, event_id(CommerceEventType::PaymentCaptured, order, 1, t));
        assert_ne!(a, event_id(CommerceEventType::PaymentCaptured, order, 2, t));
        assert_ne!(a, event_id(CommerceEventType::OrderCreated, order, 1, t));
        let ulid = Ulid::from_string(&a.as_str()[4..]).expect("ulid");
        assert_eq!(ulid.timestamp_ms(), 1_700_000_000_123);
        let digest = Sha256::digest(format!("payment_captured:{order}:1"));
        let mut expected = [0u8; 16];
        expected[6..].copy_from_slice(&digest[..10]);
        assert_eq!(ulid.random(), u128::from_be_bytes(expected));
    }
}
