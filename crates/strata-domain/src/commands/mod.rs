//! Domain commands: business operations that change several tables in ONE PostgreSQL
//! transaction and then emit ONE enriched event on `COMMERCE_TELEMETRY`.
//!
//! | command | writes | event |
//! |---|---|---|
//! | [`place_order`] | `order_header`, `order_line_item`, `order_line_item_tax_line`, `order_line_item_adjustment`, `order_summary` (version 1), `order_address`, `link_order_referral` | `order_created` |
//! | [`complete_order`] | `order_header` (phase `completed`, condition `Completed`) | `order_completed` |
//! | [`capture_payment`] | `payment_collection`, `payment`, `payment_capture`, `link_order_payment_collection`, `order_transaction`, `order_summary.paid_total` | `payment_captured` |
//! | [`ship_fulfillment`] | `fulfillment`, `fulfillment_item`, `link_order_fulfillment`, `order_line_item` quantities | `fulfillment_shipped` |
//! | [`request_return`] | `return_request`, `return_item` | `return_requested` |
//!
//! **One transaction, few round trips.** `BEGIN` travels with the command's reads (the order row
//! is locked `FOR UPDATE` first for the lifecycle commands); the writes, the reads the event is
//! built from and `COMMIT` travel together in a second round trip. `place_order` writes all of an
//! order's rows in one statement of multi-row INSERTs.
//!
//! **Emission.** The transaction commits first; then the event is appended to the durable
//! [`EventLog`], retried with backoff. If the log stays unwritable the command returns
//! [`CommandError::EventLog`]: the change is committed, its event is not yet in the log, and
//! [`reemit_order_events`] appends it later. Nothing is dropped silently.
//!
//! **Audit.** The `commit_*` forms take an [`AuditContext`] and write the command's
//! `audit_event` row (who, which request, the command's input) in the same transaction, pipelined
//! with the other writes: the change and its audit row commit together or not at all.
//!
//! **Event ids are deterministic** ([`event_id`]): `evt_` + a ULID whose time is the fact's
//! `occurred_ts` and whose random part is derived from `"<event_type>:<order uid>:<sequence>"`.
//! Events are built from PostgreSQL rows only (the same loader for the command and for the
//! re-emission), so re-emitting a fact produces the identical event and the log keeps one copy.
//!
//! **Money** is in minor units (two decimals): line subtotal = unit price × quantity, tax =
//! round((subtotal − discount) × rate / 100), half away from zero — the seed's arithmetic.

mod error;
mod events;
mod lifecycle;
mod money;
mod place;
mod reemit;
mod session;

use deadpool_postgres::ClientWrapper;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strata_events::{CommerceEvent, EventLog};
use tokio_postgres::Statement;

pub use crate::audit::AuditContext;
use crate::audit::{AuditAction, CheckedRecord, INSERT_SQL as AUDIT_INSERT_SQL};
pub use error::CommandError;
pub use events::{APPEND_ATTEMPTS, EVENT_SOURCE, append_with_retry, event_id};
pub use lifecycle::{
    capture_payment, commit_capture_payment, commit_complete_order, commit_request_return,
    commit_ship_fulfillment, complete_order, request_return, ship_fulfillment,
};
pub use place::{commit_place_order, place_order};
pub use reemit::{ReemitReport, reemit_order_events};

/// Appends the event of a command run with one of the `commit_*` forms to `COMMERCE_TELEMETRY`,
/// with the same retries as the plain forms. [`CommandError::EventLog`] means the event is not in
/// the log (the change stays committed); appending it again later, or
/// [`reemit_order_events`], adds it exactly once (its id is deterministic).
pub async fn append_event(log: &dyn EventLog, event: &CommerceEvent) -> Result<(), CommandError> {
    events::emit(log, event).await
}

/// Place an order: see [`place_order`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// The store (`sto_…`); must exist.
    pub store_uid: String,
    /// The customer (`cus_…`); absent for a guest checkout (then `email` is required).
    #[serde(default)]
    pub customer_uid: Option<String>,
    /// Contact email; defaults to the customer's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The region (`reg_…`); its currency must be `currency_code`.
    pub region_uid: String,
    /// The sales channel (`sc_…`); must exist and not be disabled.
    pub sales_channel_uid: String,
    /// ISO 4217, lower case (`usd`).
    pub currency_code: String,
    /// At least one line.
    pub lines: Vec<OrderLineInput>,
    /// Tax rate applied to every line, in percent (`8.25`), 0 to 100, at most 6 decimals.
    pub tax_rate_percent: Decimal,
    /// Code written on the tax lines (default `tax`).
    #[serde(default)]
    pub tax_code: Option<String>,
    /// Where the goods go (copied into `order_address`, role `shipping`).
    pub shipping_address: Address,
    /// The referral (`rfl_…`) the order is attributed to; writes `link_order_referral` and puts
    /// the publisher into the event's attribution.
    #[serde(default)]
    pub referral_uid: Option<String>,
    /// `web` (default), `pos`, `shopify`, `api` or `import`.
    #[serde(default)]
    pub source_channel: Option<String>,
}

/// One line of [`PlaceOrder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    /// The variant (`var_…`); must exist and be active, as its product.
    pub variant_uid: String,
    /// Units, at least 1.
    pub quantity: i64,
    /// Price of one unit; default: the variant's price in the order's currency (its price set's
    /// price without price list or rules).
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    /// A discount on the line.
    #[serde(default)]
    pub discount: Option<LineDiscount>,
}

/// A discount on one order line, written as an `order_line_item_adjustment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LineDiscount {
    /// A fixed amount off the line (at most its subtotal), with an optional code for the record.
    Amount {
        /// The amount, two decimals at most.
        amount: Decimal,
        /// A code shown on the adjustment.
        #[serde(default)]
        code: Option<String>,
    },
    /// The code of an active `promotion` whose application method targets items: a percentage
    /// of the line subtotal, or a fixed amount (per unit when its allocation is `each`), capped at
    /// the line subtotal.
    Code(String),
}

/// A postal address, copied into `order_address`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub address_1: Option<String>,
    #[serde(default)]
    pub address_2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2, lower case (`us`).
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// What [`place_order`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    /// The new order (`ord_…`).
    pub order_uid: String,
    /// `#` + `display_id`.
    pub order_number: String,
    /// Sequential number of the order in its store (first order: 1001).
    pub display_id: i64,
    /// The new lines, in the order of the command's lines.
    pub line_item_uids: Vec<String>,
    /// The `order_created` event appended to the log (its snapshot holds the totals).
    pub event: CommerceEvent,
}

/// Capture money for an order: see [`capture_payment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturePayment {
    /// The order (`ord_…`).
    pub order_uid: String,
    /// Amount to capture; default: everything not captured yet.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Payment provider of a new payment (default `pp_system_default`).
    #[serde(default)]
    pub provider_uid: Option<String>,
}

/// What [`capture_payment`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedPayment {
    pub payment_collection_uid: String,
    pub payment_uid: String,
    pub capture_uid: String,
    /// The amount captured by this call.
    pub amount: Decimal,
    /// Everything captured for the order so far, this call included.
    pub captured_total: Decimal,
    /// The `payment_captured` event appended to the log.
    pub event: CommerceEvent,
}

/// Ship (part of) an order: see [`ship_fulfillment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipFulfillment {
    /// The order (`ord_…`).
    pub order_uid: String,
    /// The stock location the goods leave from (`sloc_…`); must exist.
    pub location_uid: String,
    /// Units per line; default: every unit not shipped yet.
    #[serde(default)]
    pub lines: Option<Vec<LineQuantityInput>>,
}

/// Units of one order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineQuantityInput {
    /// The order line (`ordli_…`).
    pub line_item_uid: String,
    /// Units, at least 1.
    pub quantity: i64,
}

/// What [`ship_fulfillment`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippedFulfillment {
    pub fulfillment_uid: String,
    /// Units shipped per line by this fulfillment.
    pub lines: Vec<LineQuantityInput>,
    /// The `fulfillment_shipped` event appended to the log.
    pub event: CommerceEvent,
}

/// Ask to return goods: see [`request_return`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestReturn {
    /// The order (`ord_…`).
    pub order_uid: String,
    /// At least one line.
    pub lines: Vec<ReturnLineInput>,
    /// Note kept on every return item.
    #[serde(default)]
    pub note: Option<String>,
}

/// Units of one order line to return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    /// The order line (`ordli_…`).
    pub line_item_uid: String,
    /// Units, at least 1; with the line's other returns at most what was shipped.
    pub quantity: i64,
    /// A `return_reason` (`rr_…`); must exist.
    #[serde(default)]
    pub reason_uid: Option<String>,
}

/// What [`request_return`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedReturn {
    pub return_uid: String,
    /// Sequential number of the return (unique over all returns).
    pub display_id: i64,
    /// Refund due if every unit comes back: each line's total × returned / ordered units.
    pub refund_amount: Decimal,
    /// The `return_requested` event appended to the log.
    pub event: CommerceEvent,
}

/// What [`complete_order`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedOrder {
    pub order_uid: String,
    /// The `order_completed` event appended to the log.
    pub event: CommerceEvent,
}

/// Transaction attempts on a serialization failure, a deadlock or a lost race for a number.
const TX_ATTEMPTS: u32 = 5;

/// A failure inside a transaction attempt: PostgreSQL's (maybe worth a retry) or the command's.
#[derive(Debug)]
enum TxError {
    Pg(tokio_postgres::Error),
    Command(CommandError),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(e)
    }
}

impl From<CommandError> for TxError {
    fn from(e: CommandError) -> Self {
        Self::Command(e)
    }
}

impl TxError {
    /// Whether another attempt may succeed: a serialization failure, a deadlock, or a unique
    /// violation of one of `number_keys` (a number taken by a writer that bypassed the lock).
    fn retryable(&self, number_keys: &[&str]) -> bool {
        match self {
            Self::Pg(e) => {
                CommandError::is_retryable_pg(e)
                    || number_keys
                        .iter()
                        .any(|k| CommandError::is_unique_violation(e, k))
            }
            Self::Command(_) => false,
        }
    }

    fn into_command(self) -> CommandError {
        match self {
            Self::Pg(e) => e.into(),
            Self::Command(e) => e,
        }
    }
}

/// Runs one transaction attempt (`$attempt`, an expression evaluated anew each time) until it
/// succeeds, fails for good, or [`TX_ATTEMPTS`] are used; returns the command's error from the
/// enclosing function.
macro_rules! with_retries {
    ($what:literal, $keys:expr, $session:expr, $attempt:expr) => {{
        let mut attempt = 1;
        loop {
            let outcome = $attempt.await;
            if outcome.is_err() {
                $session.rollback().await;
            }
            match outcome {
                Ok(done) => break done,
                Err(e) if attempt < $crate::commands::TX_ATTEMPTS && e.retryable($keys) => {
                    tracing::debug!(attempt, error = ?e, concat!($what, ": retrying the transaction"));
                    attempt += 1;
                }
                Err(e) => return Err(e.into_command()),
            }
        }
    }};
}
pub(crate) use with_retries;

/// The audit row of one transaction attempt, with its prepared insert.
struct AuditRow {
    statement: Statement,
    record: CheckedRecord,
}

/// Prepares the audit row of a command (none without a context).
async fn audit_row(
    tx: &ClientWrapper,
    context: Option<&AuditContext>,
    action: AuditAction,
    table: &str,
    key: &str,
    change: impl FnOnce() -> Value,
) -> Result<Option<AuditRow>, TxError> {
    let Some(context) = context else {
        return Ok(None);
    };
    let record = CheckedRecord::new(context.record(action, table, key, change()))
        .map_err(|e| CommandError::Internal(format!("the audit record is invalid: {e}")))?;
    let statement = tx.prepare_cached(AUDIT_INSERT_SQL).await?;
    Ok(Some(AuditRow { statement, record }))
}

/// Writes the audit row, if any. Sent on the first poll, like the other pipelined writes.
async fn write_audit(
    tx: &ClientWrapper,
    row: Option<&AuditRow>,
) -> Result<u64, tokio_postgres::Error> {
    match row {
        Some(r) => tx.execute(&r.statement, &r.record.params()).await,
        None => Ok(0),
    }
}

/// `{"command": <name>, "input": <the command as JSON>}`: the change an audit row records.
fn audit_change(command: &str, input: &impl Serialize) -> Value {
    serde_json::json!({
        "command": command,
        "input": serde_json::to_value(input).unwrap_or_default(),
    })
}

/// Checks that `value` is a `<prefix>_` + ULID uid.
fn check_uid(field: &str, value: &str, prefix: &str) -> Result<(), CommandError> {
    let ok = value
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| r.len() == 26 && ulid::Ulid::from_string(r).is_ok());
    if ok {
        Ok(())
    } else {
        Err(CommandError::invalid(
            field,
            format!("expected a `{prefix}_` uid, got `{value}`"),
        ))
    }
}

/// Mints the uids of one command: monotonic ULIDs, so rows minted in input order sort in it.
struct Minter(ulid::Generator);

impl Minter {
    fn new() -> Self {
        Self(ulid::Generator::new())
    }

    fn uid(&mut self, prefix: &str) -> String {
        let ulid = self.0.generate().unwrap_or_else(|_| ulid::Ulid::new());
        format!("{prefix}_{ulid}")
    }
}

/// A 64-bit advisory-lock key for `name` (first 8 bytes of its SHA-256).
pub(crate) fn lock_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
