//! What happens to an order after it is placed: completion, payment capture, shipment, return
//! request. Each command locks the order row (`FOR UPDATE`), so commands on one order run one
//! after another and number their facts consistently; each is one transaction followed by one
//! event.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use rust_decimal::Decimal;
use strata_events::{CommerceEvent, EventLog};
use tokio_postgres::{Row, Statement};

use super::events::{Loader, Want, emit};
use super::money::to_cents;
use super::session::{BEGIN_COMMAND, Session};
use super::{
    AuditContext, CapturePayment, CapturedPayment, CommandError, CompletedOrder, LineQuantityInput,
    Minter, RequestReturn, RequestedReturn, ShipFulfillment, ShippedFulfillment, TxError,
    audit_change, audit_row, check_uid, lock_key, with_retries, write_audit,
};
use crate::Database;
use crate::audit::AuditAction;

/// Locks the order for the rest of the transaction.
const LOCK_ORDER_SQL: &str = "SELECT status->>'phase', currency_code, total, version \
     FROM order_header WHERE uid = $1::text FOR UPDATE";

/// The time of the fact: PostgreSQL's clock, read after the order lock was granted, so facts of
/// one order are stamped in the order they were written.
const CLOCK_SQL: &str = "SELECT clock_timestamp()";

const TOUCH_ORDER_SQL: &str =
    "UPDATE order_header SET update_ts = $2::timestamptz WHERE uid = $1::text";

/// Phases in which an order still takes payments, shipments and returns.
const OPEN_PHASES: [&str; 3] = ["pending", "requires_action", "completed"];

/// The locked order row.
struct LockedOrder {
    phase: String,
    currency: String,
    total: Decimal,
    version: i32,
}

/// The prepared statements of [`lock_order`].
struct OrderLock {
    lock: Statement,
    clock: Statement,
}

async fn prepare_lock(tx: &ClientWrapper) -> Result<OrderLock, tokio_postgres::Error> {
    let (lock, clock) = futures_util::try_join!(
        tx.prepare_cached(LOCK_ORDER_SQL),
        tx.prepare_cached(CLOCK_SQL)
    )?;
    Ok(OrderLock { lock, clock })
}

/// Locks the order row and reads the fact's timestamp. Both queries are sent on the first poll,
/// so reads pipelined after this future run once the lock is granted.
async fn lock_order(
    tx: &ClientWrapper,
    statements: &OrderLock,
    order_uid: &str,
) -> Result<(LockedOrder, DateTime<Utc>), TxError> {
    let (row, clock) = futures_util::try_join!(
        async { tx.query_opt(&statements.lock, &[&order_uid]).await },
        tx.query_one(&statements.clock, &[])
    )?;
    let row = row.ok_or_else(|| CommandError::not_found("order_header", order_uid))?;
    Ok((
        LockedOrder {
            phase: row.get(0),
            currency: row.get(1),
            total: row.get(2),
            version: row.get(3),
        },
        clock.get(0),
    ))
}

/// A conflict unless the order is open (pending, requires_action or completed).
fn require_open(order: &LockedOrder, order_uid: &str, action: &str) -> Result<(), CommandError> {
    if OPEN_PHASES.contains(&order.phase.as_str()) {
        Ok(())
    } else {
        Err(CommandError::Conflict(format!(
            "order {order_uid} is {}; cannot {action}",
            order.phase
        )))
    }
}

/// Money as a decimal with at least two places (`100` → `100.00`, `12.3400` → `12.34`).
fn money(d: Decimal) -> Decimal {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

/// The event of a committed command; failing to build it now is a bug, and the error says that
/// the change is committed.
fn committed_event(
    order_uid: &str,
    event: Result<CommerceEvent, CommandError>,
) -> Result<CommerceEvent, CommandError> {
    event.map_err(|e| {
        CommandError::Internal(format!(
            "the change to order {order_uid} was committed but its event cannot be built: {e}"
        ))
    })
}

fn event_of(
    loaded: Vec<super::events::OrderEvents>,
    order_uid: &str,
    key: &str,
) -> Result<CommerceEvent, CommandError> {
    loaded
        .into_iter()
        .next()
        .ok_or_else(|| CommandError::Internal(format!("order {order_uid} vanished")))?
        .take(key)
}

// ---------------------------------------------------------------------------------------------
// complete_order

const COMPLETE_SQL: &str = "UPDATE order_header SET status = status || jsonb_build_object( \
       'phase', 'completed', \
       'conditions', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(status->'conditions') c \
                                WHERE c->>'type' <> 'Completed'), '[]'::jsonb) \
         || jsonb_build_array(jsonb_build_object('type', 'Completed', 'status', 'True', \
              'reason', 'OrderCompleted', 'message', 'The order was completed.', \
              'last_transition_ts', $2::timestamptz))), \
       update_ts = $2::timestamptz \
     WHERE uid = $1::text";

/// Completes an order (phase `pending` or `requires_action` → `completed`, with a `Completed`
/// condition stamped with the time) and emits `order_completed`. Completing an order that is
/// already completed, canceled, archived or a draft is a [`CommandError::Conflict`].
pub async fn complete_order(
    db: &Database,
    log: &dyn EventLog,
    order_uid: &str,
) -> Result<CompletedOrder, CommandError> {
    let done = commit_complete_order(db, order_uid, None).await?;
    emit(log, &done.event).await?;
    Ok(done)
}

/// [`complete_order`] without the append: commits the completion (and, with `audit`, its
/// `audit_event` row: action `status` on `order_header`) and returns it with its
/// `order_completed` event, which the caller appends with [`super::append_event`].
pub async fn commit_complete_order(
    db: &Database,
    order_uid: &str,
    audit: Option<&AuditContext>,
) -> Result<CompletedOrder, CommandError> {
    check_uid("order_uid", order_uid, "ord")?;
    let session = Session::new(db).await?;
    let done = with_retries!(
        "complete_order",
        &[],
        session,
        complete_once(&session, order_uid, audit)
    );
    drop(session);
    Ok(done)
}

async fn complete_once(
    session: &Session,
    order_uid: &str,
    audit: Option<&AuditContext>,
) -> Result<CompletedOrder, TxError> {
    let tx = session.client();
    let locks = prepare_lock(tx).await?;
    let (_, (order, now)) = futures_util::try_join!(
        async { Ok::<_, TxError>(session.begin(BEGIN_COMMAND).await?) },
        lock_order(tx, &locks, order_uid)
    )?;
    match order.phase.as_str() {
        "pending" | "requires_action" => {}
        "completed" => {
            return Err(
                CommandError::Conflict(format!("order {order_uid} is already completed")).into(),
            );
        }
        phase => {
            return Err(CommandError::Conflict(format!(
                "order {order_uid} is {phase}; only a pending order can be completed"
            ))
            .into());
        }
    }
    let complete_st = tx.prepare_cached(COMPLETE_SQL).await?;
    let audit = audit_row(
        tx,
        audit,
        AuditAction::Status,
        "order_header",
        order_uid,
        || {
            serde_json::json!({
                "command": "complete_order",
                "input": {"order_uid": order_uid},
                "status": {"phase": "completed"},
            })
        },
    )
    .await?;
    let loader = Loader::prepare(tx, Want::COMPLETED).await?;
    let uids = [order_uid.to_owned()];
    let (_, _, loaded, _) = futures_util::try_join!(
        async { tx.execute(&complete_st, &[&order_uid, &now]).await },
        write_audit(tx, audit.as_ref()),
        loader.run(tx, &uids),
        session.commit(),
    )?;
    session.committed();
    let event = committed_event(order_uid, event_of(loaded, order_uid, order_uid))?;
    Ok(CompletedOrder {
        order_uid: order_uid.to_owned(),
        event,
    })
}

// ---------------------------------------------------------------------------------------------
// capture_payment

const DEFAULT_PAYMENT_PROVIDER: &str = "pp_system_default";

/// The order's payment collection and its first live payment, if any.
const PAYMENT_SQL: &str = "SELECT pc.uid, p.uid, p.amount \
     FROM link_order_payment_collection l \
     JOIN payment_collection pc ON pc.uid = l.payment_collection_uid \
     LEFT JOIN LATERAL (SELECT uid, amount FROM payment \
        WHERE payment_collection_uid = pc.uid AND status->>'phase' <> 'canceled' \
        ORDER BY create_ts, uid LIMIT 1) p ON true \
     WHERE l.order_uid = $1::text AND l.status->>'phase' = 'active' \
       AND pc.status->>'phase' NOT IN ('canceled', 'failed') \
     ORDER BY l.create_ts, l.uid LIMIT 1";

/// Everything captured (and not voided) for the order so far.
const CAPTURED_SQL: &str = "SELECT coalesce(sum(c.amount), 0) \
     FROM link_order_payment_collection l \
     JOIN payment p ON p.payment_collection_uid = l.payment_collection_uid \
     JOIN payment_capture c ON c.payment_uid = p.uid \
     WHERE l.order_uid = $1::text AND c.status->>'phase' = 'recorded'";

const COLLECTION_SQL: &str = "INSERT INTO payment_collection AS pc (uid, currency_code, \
       amount, raw_amount, authorized_amount, raw_authorized_amount, captured_amount, \
       raw_captured_amount, completed_ts, status, create_ts, update_ts) \
     VALUES ($1::text, $2::text, \
       $3::numeric, jsonb_build_object('value', $3::numeric::text, 'currency_code', $2::text), \
       $3::numeric, jsonb_build_object('value', $3::numeric::text, 'currency_code', $2::text), \
       $4::numeric, jsonb_build_object('value', $4::numeric::text, 'currency_code', $2::text), \
       CASE WHEN $5::bool THEN $6::timestamptz END, \
       jsonb_build_object('phase', CASE WHEN $5::bool THEN 'completed' ELSE 'authorized' END, \
         'conditions', '[]'::jsonb), \
       $6::timestamptz, $6::timestamptz) \
     ON CONFLICT (uid) DO UPDATE SET \
       captured_amount = EXCLUDED.captured_amount, \
       raw_captured_amount = EXCLUDED.raw_captured_amount, \
       completed_ts = coalesce(pc.completed_ts, EXCLUDED.completed_ts), \
       status = pc.status || jsonb_build_object('phase', EXCLUDED.status->>'phase'), \
       update_ts = EXCLUDED.update_ts";

const PAYMENT_UPSERT_SQL: &str = "INSERT INTO payment AS p (uid, payment_collection_uid, \
       provider_uid, currency_code, amount, raw_amount, captured_ts, status, create_ts, \
       update_ts) \
     VALUES ($1::text, $2::text, $3::text, $4::text, \
       $5::numeric, jsonb_build_object('value', $5::numeric::text, 'currency_code', $4::text), \
       CASE WHEN $6::bool THEN $7::timestamptz END, \
       jsonb_build_object('phase', CASE WHEN $6::bool THEN 'captured' ELSE 'partially_captured' END, \
         'conditions', '[]'::jsonb), \
       $7::timestamptz, $7::timestamptz) \
     ON CONFLICT (uid) DO UPDATE SET \
       captured_ts = coalesce(EXCLUDED.captured_ts, p.captured_ts), \
       status = p.status || jsonb_build_object('phase', EXCLUDED.status->>'phase'), \
       update_ts = EXCLUDED.update_ts";

const LINK_COLLECTION_SQL: &str = "INSERT INTO link_order_payment_collection (uid, order_uid, \
       payment_collection_uid, create_ts, update_ts) \
     VALUES ($1::text, $2::text, $3::text, $4::timestamptz, $4::timestamptz) \
     ON CONFLICT ON CONSTRAINT link_order_payment_collection_pair_key DO NOTHING";

const CAPTURE_SQL: &str = "INSERT INTO payment_capture (uid, payment_uid, amount, raw_amount, \
       create_ts, update_ts) \
     VALUES ($1::text, $2::text, $3::numeric, \
       jsonb_build_object('value', $3::numeric::text, 'currency_code', $4::text), \
       $5::timestamptz, $5::timestamptz)";

const TRANSACTION_SQL: &str = "INSERT INTO order_transaction (uid, order_uid, version, amount, \
       raw_amount, currency_code, reference_kind, capture_uid, create_ts, update_ts) \
     VALUES ($1::text, $2::text, $3::int, $4::numeric, \
       jsonb_build_object('value', $4::numeric::text, 'currency_code', $5::text), $5::text, \
       'capture', $6::text, $7::timestamptz, $7::timestamptz)";

const PAID_TOTAL_SQL: &str = "UPDATE order_summary \
     SET totals = totals || jsonb_build_object('paid_total', $2::numeric::text), \
         update_ts = $3::timestamptz \
     WHERE order_uid = $1::text AND status->>'phase' = 'current'";

/// Captures money for an order and emits `payment_captured`.
///
/// The first capture creates the order's payment collection and payment (for the order total)
/// and links the collection to the order; later captures add to them. Each capture writes a
/// `payment_capture`, an `order_transaction` and the summary's `paid_total`. `amount` defaults to
/// what is left to capture; more than that is [`CommandError::Invalid`], nothing left is a
/// [`CommandError::Conflict`], as is an order that is canceled, archived or a draft.
pub async fn capture_payment(
    db: &Database,
    log: &dyn EventLog,
    cmd: CapturePayment,
) -> Result<CapturedPayment, CommandError> {
    let done = commit_capture_payment(db, cmd, None).await?;
    emit(log, &done.event).await?;
    Ok(done)
}

/// [`capture_payment`] without the append: commits the capture (and, with `audit`, its
/// `audit_event` row: action `create` on `payment_capture`) and returns it with its
/// `payment_captured` event, which the caller appends with [`super::append_event`].
pub async fn commit_capture_payment(
    db: &Database,
    cmd: CapturePayment,
    audit: Option<&AuditContext>,
) -> Result<CapturedPayment, CommandError> {
    check_uid("order_uid", &cmd.order_uid, "ord")?;
    if let Some(amount) = cmd.amount {
        let cents = to_cents(amount, "amount")?;
        if cents == 0 {
            return Err(CommandError::invalid("amount", "must be more than 0"));
        }
    }
    if let Some(provider) = &cmd.provider_uid
        && provider.trim().is_empty()
    {
        return Err(CommandError::invalid("provider_uid", "must not be empty"));
    }
    let session = Session::new(db).await?;
    let done = with_retries!(
        "capture_payment",
        &[],
        session,
        capture_once(&session, &cmd, audit)
    );
    drop(session);
    Ok(done)
}

async fn capture_once(
    session: &Session,
    cmd: &CapturePayment,
    audit: Option<&AuditContext>,
) -> Result<CapturedPayment, TxError> {
    let order_uid = cmd.order_uid.as_str();
    let tx = session.client();
    let (locks, payment_st, captured_st) = futures_util::try_join!(
        prepare_lock(tx),
        tx.prepare_cached(PAYMENT_SQL),
        tx.prepare_cached(CAPTURED_SQL)
    )?;
    let (_, (order, now), existing, captured) = futures_util::try_join!(
        async { Ok(session.begin(BEGIN_COMMAND).await?) },
        lock_order(tx, &locks, order_uid),
        async { Ok(tx.query_opt(&payment_st, &[&order_uid]).await?) },
        async { Ok(tx.query_one(&captured_st, &[&order_uid]).await?) },
    )?;
    require_open(&order, order_uid, "capture a payment")?;
    let captured: Decimal = captured.get(0);
    let remaining = order.total - captured;
    if remaining <= Decimal::ZERO {
        return Err(CommandError::Conflict(format!(
            "order {order_uid} is fully captured ({} of {})",
            money(captured),
            money(order.total)
        ))
        .into());
    }
    let amount = match cmd.amount {
        Some(amount) if amount > remaining => {
            return Err(CommandError::invalid(
                "amount",
                format!(
                    "{amount} is more than the {} left to capture on order {order_uid}",
                    money(remaining)
                ),
            )
            .into());
        }
        Some(amount) => amount,
        None => remaining,
    };
    let amount = money(amount);
    let captured_total = money(captured + amount);
    let full = captured_total >= order.total;

    let mut minter = Minter::new();
    let (collection_uid, payment_uid) = match &existing {
        Some(row) => (
            row.get::<_, String>(0),
            row.get::<_, Option<String>>(1)
                .unwrap_or_else(|| minter.uid("pay")),
        ),
        None => (minter.uid("paycol"), minter.uid("pay")),
    };
    let payment_amount = existing
        .as_ref()
        .and_then(|r| r.get::<_, Option<Decimal>>(2))
        .unwrap_or(order.total);
    let payment_amount = money(payment_amount);
    let capture_uid = minter.uid("capt");
    let link_uid = minter.uid("lopc");
    let transaction_uid = minter.uid("ordtx");
    let provider = cmd
        .provider_uid
        .as_deref()
        .unwrap_or(DEFAULT_PAYMENT_PROVIDER);
    let order_total = money(order.total);
    let currency = order.currency.as_str();

    let (collection_st, payment_up_st, link_st, capture_st, transaction_st, paid_st, touch_st) = futures_util::try_join!(
        tx.prepare_cached(COLLECTION_SQL),
        tx.prepare_cached(PAYMENT_UPSERT_SQL),
        tx.prepare_cached(LINK_COLLECTION_SQL),
        tx.prepare_cached(CAPTURE_SQL),
        tx.prepare_cached(TRANSACTION_SQL),
        tx.prepare_cached(PAID_TOTAL_SQL),
        tx.prepare_cached(TOUCH_ORDER_SQL),
    )?;
    let audit = audit_row(
        tx,
        audit,
        AuditAction::Create,
        "payment_capture",
        &capture_uid,
        || audit_change("capture_payment", cmd),
    )
    .await?;
    let loader = Loader::prepare(tx, Want::CAPTURES).await?;
    let uids = [order_uid.to_owned()];
    let (_, _, _, _, _, _, _, _, loaded, _) = futures_util::try_join!(
        async {
            tx.execute(
                &collection_st,
                &[
                    &collection_uid,
                    &currency,
                    &order_total,
                    &captured_total,
                    &full,
                    &now,
                ],
            )
            .await
        },
        async {
            tx.execute(
                &payment_up_st,
                &[
                    &payment_uid,
                    &collection_uid,
                    &provider,
                    &currency,
                    &payment_amount,
                    &full,
                    &now,
                ],
            )
            .await
        },
        async {
            tx.execute(&link_st, &[&link_uid, &order_uid, &collection_uid, &now])
                .await
        },
        async {
            tx.execute(
                &capture_st,
                &[&capture_uid, &payment_uid, &amount, &currency, &now],
            )
            .await
        },
        async {
            tx.execute(
                &transaction_st,
                &[
                    &transaction_uid,
                    &order_uid,
                    &order.version,
                    &amount,
                    &currency,
                    &capture_uid,
                    &now,
                ],
            )
            .await
        },
        async {
            tx.execute(&paid_st, &[&order_uid, &captured_total, &now])
                .await
        },
        async { tx.execute(&touch_st, &[&order_uid, &now]).await },
        write_audit(tx, audit.as_ref()),
        loader.run(tx, &uids),
        session.commit(),
    )?;
    session.committed();
    let event = committed_event(order_uid, event_of(loaded, order_uid, &capture_uid))?;
    Ok(CapturedPayment {
        payment_collection_uid: collection_uid,
        payment_uid,
        capture_uid,
        amount,
        captured_total,
        event,
    })
}

// ---------------------------------------------------------------------------------------------
// ship_fulfillment

const LOCATION_SQL: &str = "SELECT status->>'phase' FROM stock_location WHERE uid = $1::text";

const ORDER_LINES_SQL: &str = "SELECT uid, title, variant_sku, variant_barcode, quantity, \
       shipped_quantity, fulfilled_quantity, returned_quantity, status->>'phase', total \
     FROM order_line_item WHERE order_uid = $1::text ORDER BY uid";

const SHIPPING_ADDRESS_SQL: &str = "SELECT jsonb_strip_nulls(to_jsonb(a) - ARRAY['uid', \
       'order_uid', 'address_role', 'status', 'labels', 'annotations', 'create_ts', 'update_ts']) \
     FROM order_address a WHERE order_uid = $1::text AND address_role = 'shipping'";

const FULFILLMENT_SQL: &str = "INSERT INTO fulfillment (uid, location_uid, order_uid, \
       delivery_address, packed_ts, shipped_ts, status, create_ts, update_ts) \
     VALUES ($1::text, $2::text, $3::text, $4::jsonb, $5::timestamptz, $5::timestamptz, \
       '{\"phase\": \"shipped\", \"conditions\": []}'::jsonb, $5::timestamptz, $5::timestamptz)";

const FULFILLMENT_ITEMS_SQL: &str = "INSERT INTO fulfillment_item (uid, fulfillment_uid, \
       line_item_uid, title, sku, barcode, quantity, create_ts, update_ts) \
     SELECT u.uid, $2::text, u.line_item_uid, u.title, u.sku, u.barcode, u.quantity, \
       $3::timestamptz, $3::timestamptz \
     FROM unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[]) \
     AS u(uid, line_item_uid, title, sku, barcode, quantity)";

const LINK_FULFILLMENT_SQL: &str = "INSERT INTO link_order_fulfillment (uid, order_uid, \
       fulfillment_uid, create_ts, update_ts) \
     VALUES ($1::text, $2::text, $3::text, $4::timestamptz, $4::timestamptz)";

const SHIPPED_QUANTITIES_SQL: &str = "UPDATE order_line_item li SET \
       shipped_quantity = li.shipped_quantity + u.quantity, \
       fulfilled_quantity = greatest(li.fulfilled_quantity, li.shipped_quantity + u.quantity), \
       update_ts = $3::timestamptz \
     FROM unnest($1::text[], $2::int[]) AS u(uid, quantity) \
     WHERE li.uid = u.uid";

/// One order line as the lifecycle commands see it.
struct OrderLine {
    title: String,
    sku: Option<String>,
    barcode: Option<String>,
    quantity: i64,
    shipped: i64,
    returned: i64,
    active: bool,
    total: Decimal,
}

impl OrderLine {
    fn of(row: &Row) -> (String, Self) {
        let shipped = i64::from(row.get::<_, i32>(5));
        let fulfilled = i64::from(row.get::<_, i32>(6));
        (
            row.get(0),
            Self {
                title: row.get(1),
                sku: row.get(2),
                barcode: row.get(3),
                quantity: i64::from(row.get::<_, i32>(4)),
                // Imported orders record fulfilled units only.
                shipped: shipped.max(fulfilled),
                returned: i64::from(row.get::<_, i32>(7)),
                active: row.get::<_, String>(8) == "active",
                total: row.get(9),
            },
        )
    }
}

/// Ships units of an order from a stock location and emits `fulfillment_shipped`.
///
/// Writes a `fulfillment` (phase `shipped`, with the order's shipping address), one
/// `fulfillment_item` per line and the `link_order_fulfillment`, and raises the lines' shipped
/// and fulfilled quantities. Without `lines`, every unit not shipped yet is shipped; nothing left
/// to ship is a [`CommandError::Conflict`]. A line of another order, or more units than are left,
/// is [`CommandError::Invalid`].
pub async fn ship_fulfillment(
    db: &Database,
    log: &dyn EventLog,
    cmd: ShipFulfillment,
) -> Result<ShippedFulfillment, CommandError> {
    let done = commit_ship_fulfillment(db, cmd, None).await?;
    emit(log, &done.event).await?;
    Ok(done)
}

/// [`ship_fulfillment`] without the append: commits the shipment (and, with `audit`, its
/// `audit_event` row: action `create` on `fulfillment`) and returns it with its
/// `fulfillment_shipped` event, which the caller appends with [`super::append_event`].
pub async fn commit_ship_fulfillment(
    db: &Database,
    cmd: ShipFulfillment,
    audit: Option<&AuditContext>,
) -> Result<ShippedFulfillment, CommandError> {
    check_uid("order_uid", &cmd.order_uid, "ord")?;
    check_uid("location_uid", &cmd.location_uid, "sloc")?;
    if let Some(lines) = &cmd.lines {
        if lines.is_empty() {
            return Err(CommandError::invalid(
                "lines",
                "list at least one line, or leave lines out to ship everything",
            ));
        }
        check_line_quantities(lines.iter().map(|l| (&l.line_item_uid, l.quantity)))?;
    }
    let session = Session::new(db).await?;
    let done = with_retries!(
        "ship_fulfillment",
        &[],
        session,
        ship_once(&session, &cmd, audit)
    );
    drop(session);
    Ok(done)
}

fn check_line_quantities<'a>(
    lines: impl Iterator<Item = (&'a String, i64)>,
) -> Result<(), CommandError> {
    for (i, (uid, quantity)) in lines.enumerate() {
        check_uid(&format!("lines[{i}].line_item_uid"), uid, "ordli")?;
        if quantity < 1 {
            return Err(CommandError::invalid(
                format!("lines[{i}].quantity"),
                format!("must be at least 1, got {quantity}"),
            ));
        }
    }
    Ok(())
}

async fn ship_once(
    session: &Session,
    cmd: &ShipFulfillment,
    audit: Option<&AuditContext>,
) -> Result<ShippedFulfillment, TxError> {
    let order_uid = cmd.order_uid.as_str();
    let tx = session.client();
    let (locks, location_st, lines_st, address_st) = futures_util::try_join!(
        prepare_lock(tx),
        tx.prepare_cached(LOCATION_SQL),
        tx.prepare_cached(ORDER_LINES_SQL),
        tx.prepare_cached(SHIPPING_ADDRESS_SQL),
    )?;
    let (_, (order, now), location, line_rows, address) = futures_util::try_join!(
        async { Ok(session.begin(BEGIN_COMMAND).await?) },
        lock_order(tx, &locks, order_uid),
        async { Ok(tx.query_opt(&location_st, &[&cmd.location_uid]).await?) },
        async { Ok(tx.query(&lines_st, &[&order_uid]).await?) },
        async { Ok(tx.query_opt(&address_st, &[&order_uid]).await?) },
    )?;
    require_open(&order, order_uid, "ship it")?;
    match location.map(|r| r.get::<_, String>(0)).as_deref() {
        None => {
            return Err(CommandError::not_found("stock_location", &cmd.location_uid).into());
        }
        Some("active") => {}
        Some(phase) => {
            return Err(CommandError::invalid(
                "location_uid",
                format!("stock location {} is {phase}", cmd.location_uid),
            )
            .into());
        }
    }
    let lines: Vec<(String, OrderLine)> = line_rows.iter().map(OrderLine::of).collect();
    let by_uid: HashMap<&str, &OrderLine> = lines.iter().map(|(u, l)| (u.as_str(), l)).collect();

    let to_ship: Vec<LineQuantityInput> = match &cmd.lines {
        None => lines
            .iter()
            .filter(|(_, l)| l.active && l.quantity > l.shipped)
            .map(|(uid, l)| LineQuantityInput {
                line_item_uid: uid.clone(),
                quantity: l.quantity - l.shipped,
            })
            .collect(),
        Some(requested) => {
            let mut asked: HashMap<&str, i64> = HashMap::new();
            for (i, r) in requested.iter().enumerate() {
                let Some(line) = by_uid.get(r.line_item_uid.as_str()) else {
                    return Err(CommandError::invalid(
                        format!("lines[{i}].line_item_uid"),
                        format!("{} is not a line of order {order_uid}", r.line_item_uid),
                    )
                    .into());
                };
                let total = asked.entry(r.line_item_uid.as_str()).or_default();
                *total += r.quantity;
                let left = if line.active {
                    line.quantity - line.shipped
                } else {
                    0
                };
                if *total > left {
                    return Err(CommandError::invalid(
                        format!("lines[{i}].quantity"),
                        format!(
                            "only {left} unit(s) of line {} are left to ship \
                             ({} ordered, {} shipped)",
                            r.line_item_uid, line.quantity, line.shipped
                        ),
                    )
                    .into());
                }
            }
            let mut merged: Vec<LineQuantityInput> = Vec::new();
            for r in requested {
                match merged
                    .iter_mut()
                    .find(|m| m.line_item_uid == r.line_item_uid)
                {
                    Some(m) => m.quantity += r.quantity,
                    None => merged.push(r.clone()),
                }
            }
            merged
        }
    };
    if to_ship.is_empty() {
        return Err(
            CommandError::Conflict(format!("order {order_uid} has nothing left to ship")).into(),
        );
    }

    let mut minter = Minter::new();
    let fulfillment_uid = minter.uid("ful");
    let link_uid = minter.uid("lof");
    let item_uids: Vec<String> = to_ship.iter().map(|_| minter.uid("fulit")).collect();
    let item_lines: Vec<String> = to_ship.iter().map(|s| s.line_item_uid.clone()).collect();
    let line = |s: &LineQuantityInput| by_uid.get(s.line_item_uid.as_str()).copied();
    let titles: Vec<String> = to_ship
        .iter()
        .map(|s| line(s).map(|l| l.title.clone()).unwrap_or_default())
        .collect();
    let skus: Vec<Option<String>> = to_ship
        .iter()
        .map(|s| line(s).and_then(|l| l.sku.clone()))
        .collect();
    let barcodes: Vec<Option<String>> = to_ship
        .iter()
        .map(|s| line(s).and_then(|l| l.barcode.clone()))
        .collect();
    let quantities: Vec<i32> = to_ship
        .iter()
        .map(|s| i32::try_from(s.quantity).unwrap_or(i32::MAX))
        .collect();
    let delivery_address: serde_json::Value = address
        .map(|r| r.get(0))
        .unwrap_or_else(|| serde_json::json!({}));

    let (fulfillment_st, items_st, link_st, quantities_st, touch_st) = futures_util::try_join!(
        tx.prepare_cached(FULFILLMENT_SQL),
        tx.prepare_cached(FULFILLMENT_ITEMS_SQL),
        tx.prepare_cached(LINK_FULFILLMENT_SQL),
        tx.prepare_cached(SHIPPED_QUANTITIES_SQL),
        tx.prepare_cached(TOUCH_ORDER_SQL),
    )?;
    let audit = audit_row(
        tx,
        audit,
        AuditAction::Create,
        "fulfillment",
        &fulfillment_uid,
        || audit_change("ship_fulfillment", cmd),
    )
    .await?;
    let loader = Loader::prepare(tx, Want::SHIPMENTS).await?;
    let uids = [order_uid.to_owned()];
    let (_, _, _, _, _, _, loaded, _) = futures_util::try_join!(
        async {
            tx.execute(
                &fulfillment_st,
                &[
                    &fulfillment_uid,
                    &cmd.location_uid,
                    &order_uid,
                    &delivery_address,
                    &now,
                ],
            )
            .await
        },
        async {
            tx.execute(
                &items_st,
                &[
                    &item_uids,
                    &fulfillment_uid,
                    &now,
                    &item_lines,
                    &titles,
                    &skus,
                    &barcodes,
                    &quantities,
                ],
            )
            .await
        },
        async {
            tx.execute(&link_st, &[&link_uid, &order_uid, &fulfillment_uid, &now])
                .await
        },
        async {
            tx.execute(&quantities_st, &[&item_lines, &quantities, &now])
                .await
        },
        async { tx.execute(&touch_st, &[&order_uid, &now]).await },
        write_audit(tx, audit.as_ref()),
        loader.run(tx, &uids),
        session.commit(),
    )?;
    session.committed();
    let event = committed_event(order_uid, event_of(loaded, order_uid, &fulfillment_uid))?;
    Ok(ShippedFulfillment {
        fulfillment_uid,
        lines: to_ship,
        event,
    })
}

// ---------------------------------------------------------------------------------------------
// request_return

/// Units of each line already asked back by returns that are not canceled.
const REQUESTED_SQL: &str = "SELECT ri.line_item_uid, sum(ri.quantity)::bigint \
     FROM return_item ri JOIN return_request r ON r.uid = ri.return_uid \
     WHERE r.order_uid = $1::text AND r.status->>'phase' <> 'canceled' \
       AND ri.status->>'phase' = 'active' \
     GROUP BY 1";

const REASONS_SQL: &str = "SELECT uid FROM return_reason WHERE uid = ANY($1::text[])";

/// Return display ids are unique over all orders: numbered under one advisory lock.
const RETURN_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1::bigint)";

const RETURN_SQL: &str = "WITH d AS (SELECT coalesce(max(display_id), 0) + 1 AS n \
       FROM return_request) \
     INSERT INTO return_request (uid, display_id, order_uid, order_version, refund_amount, \
       raw_refund_amount, requested_ts, create_ts, update_ts) \
     SELECT $1::text, d.n, $2::text, $3::int, $4::numeric, \
       jsonb_build_object('value', $4::numeric::text, 'currency_code', $5::text), \
       $6::timestamptz, $6::timestamptz, $6::timestamptz \
     FROM d RETURNING display_id";

const RETURN_ITEMS_SQL: &str = "INSERT INTO return_item (uid, return_uid, line_item_uid, \
       reason_uid, quantity, note, create_ts, update_ts) \
     SELECT u.uid, $2::text, u.line_item_uid, u.reason_uid, u.quantity, $3::text, \
       $4::timestamptz, $4::timestamptz \
     FROM unnest($1::text[], $5::text[], $6::text[], $7::int[]) \
     AS u(uid, line_item_uid, reason_uid, quantity)";

const RETURN_NUMBER_KEYS: [&str; 1] = ["return_request_display_id_key"];

/// Records a customer's request to return units of an order and emits `return_requested`.
///
/// Writes a `return_request` (phase `requested`, numbered over all returns, with the refund due
/// if every unit comes back) and one `return_item` per command line. Each line may return at most
/// the units shipped minus those already asked back (by returns not canceled) or received;
/// more is [`CommandError::Invalid`], as is a line of another order or an unknown reason.
pub async fn request_return(
    db: &Database,
    log: &dyn EventLog,
    cmd: RequestReturn,
) -> Result<RequestedReturn, CommandError> {
    let done = commit_request_return(db, cmd, None).await?;
    emit(log, &done.event).await?;
    Ok(done)
}

/// [`request_return`] without the append: commits the return request (and, with `audit`, its
/// `audit_event` row: action `create` on `return_request`) and returns it with its
/// `return_requested` event, which the caller appends with [`super::append_event`].
pub async fn commit_request_return(
    db: &Database,
    cmd: RequestReturn,
    audit: Option<&AuditContext>,
) -> Result<RequestedReturn, CommandError> {
    check_uid("order_uid", &cmd.order_uid, "ord")?;
    if cmd.lines.is_empty() {
        return Err(CommandError::invalid(
            "lines",
            "a return needs at least one line",
        ));
    }
    check_line_quantities(cmd.lines.iter().map(|l| (&l.line_item_uid, l.quantity)))?;
    for (i, line) in cmd.lines.iter().enumerate() {
        if let Some(reason) = &line.reason_uid {
            check_uid(&format!("lines[{i}].reason_uid"), reason, "rr")?;
        }
    }
    let session = Session::new(db).await?;
    let done = with_retries!(
        "request_return",
        &RETURN_NUMBER_KEYS,
        session,
        return_once(&session, &cmd, audit)
    );
    drop(session);
    Ok(done)
}

async fn return_once(
    session: &Session,
    cmd: &RequestReturn,
    audit: Option<&AuditContext>,
) -> Result<RequestedReturn, TxError> {
    let order_uid = cmd.order_uid.as_str();
    let tx = session.client();
    let reasons: Vec<String> = cmd
        .lines
        .iter()
        .filter_map(|l| l.reason_uid.clone())
        .collect();
    let (locks, lines_st, requested_st, reasons_st) = futures_util::try_join!(
        prepare_lock(tx),
        tx.prepare_cached(ORDER_LINES_SQL),
        tx.prepare_cached(REQUESTED_SQL),
        tx.prepare_cached(REASONS_SQL),
    )?;
    let (_, (order, now), line_rows, requested_rows, reason_rows) = futures_util::try_join!(
        async { Ok(session.begin(BEGIN_COMMAND).await?) },
        lock_order(tx, &locks, order_uid),
        async { Ok(tx.query(&lines_st, &[&order_uid]).await?) },
        async { Ok(tx.query(&requested_st, &[&order_uid]).await?) },
        async { Ok(tx.query(&reasons_st, &[&reasons]).await?) },
    )?;
    require_open(&order, order_uid, "request a return")?;
    let lines: HashMap<String, OrderLine> = line_rows.iter().map(OrderLine::of).collect();
    let requested: HashMap<String, i64> = requested_rows
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let known_reasons: Vec<String> = reason_rows.iter().map(|r| r.get(0)).collect();

    let mut asked: HashMap<&str, i64> = HashMap::new();
    let mut refund = Decimal::ZERO;
    for (i, r) in cmd.lines.iter().enumerate() {
        let Some(line) = lines.get(&r.line_item_uid) else {
            return Err(CommandError::invalid(
                format!("lines[{i}].line_item_uid"),
                format!("{} is not a line of order {order_uid}", r.line_item_uid),
            )
            .into());
        };
        if let Some(reason) = &r.reason_uid
            && !known_reasons.contains(reason)
        {
            return Err(CommandError::not_found("return_reason", reason).into());
        }
        let before = requested
            .get(&r.line_item_uid)
            .copied()
            .unwrap_or(0)
            .max(line.returned);
        let total = asked.entry(r.line_item_uid.as_str()).or_default();
        *total += r.quantity;
        let left = (line.shipped - before).max(0);
        if *total > left {
            return Err(CommandError::invalid(
                format!("lines[{i}].quantity"),
                format!(
                    "at most {left} unit(s) of line {} can be returned \
                     ({} shipped, {before} already returned or requested)",
                    r.line_item_uid, line.shipped
                ),
            )
            .into());
        }
        if line.quantity > 0 {
            refund +=
                (line.total * Decimal::from(r.quantity) / Decimal::from(line.quantity)).round_dp(2);
        }
    }
    let refund = money(refund);

    let mut minter = Minter::new();
    let return_uid = minter.uid("ret");
    let item_uids: Vec<String> = cmd.lines.iter().map(|_| minter.uid("retit")).collect();
    let item_lines: Vec<String> = cmd.lines.iter().map(|l| l.line_item_uid.clone()).collect();
    let item_reasons: Vec<Option<String>> =
        cmd.lines.iter().map(|l| l.reason_uid.clone()).collect();
    let item_quantities: Vec<i32> = cmd
        .lines
        .iter()
        .map(|l| i32::try_from(l.quantity).unwrap_or(i32::MAX))
        .collect();
    let lock = lock_key("strata.return_display_id");

    let (lock_st, return_st, items_st, touch_st) = futures_util::try_join!(
        tx.prepare_cached(RETURN_LOCK_SQL),
        tx.prepare_cached(RETURN_SQL),
        tx.prepare_cached(RETURN_ITEMS_SQL),
        tx.prepare_cached(TOUCH_ORDER_SQL),
    )?;
    let audit = audit_row(
        tx,
        audit,
        AuditAction::Create,
        "return_request",
        &return_uid,
        || audit_change("request_return", cmd),
    )
    .await?;
    let loader = Loader::prepare(tx, Want::RETURNS).await?;
    let uids = [order_uid.to_owned()];
    let (_, inserted, _, _, _, loaded, _) = futures_util::try_join!(
        async { tx.execute(&lock_st, &[&lock]).await },
        async {
            tx.query_one(
                &return_st,
                &[
                    &return_uid,
                    &order_uid,
                    &order.version,
                    &refund,
                    &order.currency,
                    &now,
                ],
            )
            .await
        },
        async {
            tx.execute(
                &items_st,
                &[
                    &item_uids,
                    &return_uid,
                    &cmd.note,
                    &now,
                    &item_lines,
                    &item_reasons,
                    &item_quantities,
                ],
            )
            .await
        },
        async { tx.execute(&touch_st, &[&order_uid, &now]).await },
        write_audit(tx, audit.as_ref()),
        loader.run(tx, &uids),
        session.commit(),
    )?;
    let display_id = i64::from(inserted.get::<_, i32>(0));
    let event = event_of(loaded, order_uid, &return_uid)?;
    session.committed();
    Ok(RequestedReturn {
        return_uid,
        display_id,
        refund_amount: refund,
        event,
    })
}
