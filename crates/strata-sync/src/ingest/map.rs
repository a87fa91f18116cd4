//! A Shopify order → the rows it becomes, checked, without touching the database.
//!
//! # Field by field
//!
//! | Shopify | Strata |
//! |---|---|
//! | `id` | `order_header.external_id` (canonical GID); the uid is derived from it ([`super::ids`]) |
//! | `name` (`#1001`) | `order_number`; its last run of digits is `display_id` |
//! | `processedAt`, else `createdAt` | `placed_ts` |
//! | `createdAt` | `create_ts` of the order and its child rows |
//! | `cancelledAt` | `canceled_ts` |
//! | `currencyCode` | `currency_code`, lower case |
//! | `totalPriceSet` / `totalShippingPriceSet` / `totalTaxSet` / `totalDiscountsSet` | `total` / `shipping_total` / `tax_total` / `discount_total` |
//! | line items | `subtotal` = Σ `originalTotalSet`; `item_total` = Σ line totals; `quantity` = Σ quantities |
//! | `taxLines[].ratePercentage` | `tax_rate` (their sum, percent) |
//! | statuses, tags, discount codes, cancel reason, `updatedAt` | `annotations` `shopify.com/…` |
//! | `shippingAddress` / `billingAddress` | `order_address` (roles `shipping` / `billing`) |
//! | `customer.id` (+ email, billing name) | `customer` (`external_id`), `customer_uid` |
//! | line `name` / `title` / `sku` / `variant.title` | `order_line_item` `title` / `product_title` / `variant_sku` / `variant_title` |
//! | line `originalUnitPriceSet`, `originalTotalSet`, `totalDiscountSet`, `discountedTotalSet` | `unit_price`, `subtotal`, `discount_total`, `total` (= discounted + tax) |
//! | line `taxLines[]` | `order_line_item_tax_line` (`code` = title, `rate` in percent) |
//! | line `discountAllocations[]` | `order_line_item_adjustment` (`code` = the order's discount code when it used exactly one) |
//! | totals, paid and refunded amounts | `order_summary` version 1 (`totals`) |
//!
//! # Phase
//!
//! `cancelledAt` set → `canceled`; paid (`PAID`, `PARTIALLY_REFUNDED`, `REFUNDED`) and
//! `FULFILLED` → `completed`; payment `VOIDED`/`EXPIRED` or fulfillment `ON_HOLD`/
//! `REQUEST_DECLINED` → `requires_action`; anything else → `pending`.
//!
//! # Bad data
//!
//! Refused (the order is named in [`IngestError::InvalidOrders`]): a GID of the wrong type, a
//! currency that is not three letters or an amount in another currency than the order's, a
//! negative amount or quantity, more than 1,000,000 units on a line, an amount of 10^16 or more,
//! a line item listed twice, a tax rate outside 0–1000 %.
//!
//! Mapped: amounts with more than 4 decimals are rounded half away from zero (as the
//! `NUMERIC(20,4)` columns would); a name without digits gives `display_id` = the order's numeric
//! id; an empty name gives `#<numeric id>`; a country code that is not two letters is left out;
//! missing line totals are computed (`unit × quantity`, `subtotal − discount`); missing order
//! totals are summed from the lines.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use sha2::{Digest, Sha256};
use strata_shopify::{
    Address, FinancialStatus, FulfillmentStatus, Gid, LineItem, Money, Order, ProductRef,
    ProductStatus, TaxLine,
};

use super::error::{IngestError, OrderProblem};
use super::ids::{self, canonical, prefix};

/// Part of every content hash: raising it makes the next run rewrite every order once (do so
/// when the mapping changes what it writes).
pub const MAPPING_VERSION: &str = "strata-sync/shopify-ingest/1";

/// Units on one line at most (as `place_order`; the column is an INTEGER).
const MAX_QUANTITY: i64 = 1_000_000;

/// Annotation keys (Kubernetes style: the owner's domain, then the name).
pub(crate) mod key {
    pub const CREATED_AT: &str = "shopify.com/created-at";
    pub const UPDATED_AT: &str = "shopify.com/updated-at";
    pub const FINANCIAL_STATUS: &str = "shopify.com/financial-status";
    pub const FULFILLMENT_STATUS: &str = "shopify.com/fulfillment-status";
    pub const CANCEL_REASON: &str = "shopify.com/cancel-reason";
    pub const TAGS: &str = "shopify.com/tags";
    pub const DISCOUNT_CODES: &str = "shopify.com/discount-codes";
    pub const VENDOR: &str = "shopify.com/vendor";
    pub const PRODUCT_TYPE: &str = "shopify.com/product-type";
    pub const STATUS: &str = "shopify.com/status";
    pub const SHOP: &str = "shopify.com/shop";
    pub const HASH: &str = "strata.dev/ingest-hash";
}

/// A time as annotations hold it: RFC 3339, UTC, milliseconds (fixed width, so the text sorts
/// as the time does).
pub(crate) fn ts_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An order ready to write, with the uids the database resolves filled in later.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MappedOrder {
    pub gid: String,
    /// Derived; replaced by the stored uid when the order already has a row.
    #[serde(skip)]
    pub uid: String,
    pub order_number: String,
    pub display_id: i64,
    pub email: Option<String>,
    pub customer: Option<CustomerInput>,
    /// Resolved from `customer`.
    #[serde(skip)]
    pub customer_uid: Option<String>,
    pub currency: String,
    pub item_total: Decimal,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub shipping_total: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
    pub tax_rate: Decimal,
    pub quantity: i32,
    pub placed_ts: DateTime<Utc>,
    pub created_ts: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub canceled_ts: Option<DateTime<Utc>>,
    pub phase: &'static str,
    pub annotations: BTreeMap<&'static str, String>,
    pub lines: Vec<MappedLine>,
    pub addresses: Vec<MappedAddress>,
    pub totals: BTreeMap<&'static str, String>,
    pub facts: Facts,
    /// SHA-256 of [`MAPPING_VERSION`] and everything above: equal hashes, equal rows.
    #[serde(skip)]
    pub hash: String,
}

/// What the order's state says happened to it, beyond its placement (the events besides
/// `order_created`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Facts {
    /// Money was captured: the order is (or was, before refunds) paid, for `total`.
    pub paid: bool,
    /// Every line shipped.
    pub fulfilled: bool,
    /// Fully refunded: the refund that completed it and when.
    pub full_refund: Option<(String, DateTime<Utc>)>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MappedLine {
    pub gid: String,
    #[serde(skip)]
    pub uid: String,
    pub product_gid: Option<String>,
    /// Resolved from `product_gid`.
    #[serde(skip)]
    pub product_uid: Option<String>,
    #[serde(skip)]
    pub product_handle: Option<String>,
    pub title: String,
    pub product_title: Option<String>,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub vendor: Option<String>,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub tax_lines: Vec<MappedTax>,
    pub adjustments: Vec<MappedAdjustment>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MappedTax {
    #[serde(skip)]
    pub uid: String,
    pub code: String,
    pub description: String,
    pub rate: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MappedAdjustment {
    #[serde(skip)]
    pub uid: String,
    pub code: Option<String>,
    pub description: &'static str,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MappedAddress {
    #[serde(skip)]
    pub uid: String,
    pub role: &'static str,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub country_code: Option<String>,
    pub province: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
}

/// A customer as an order shows it (id, email, the billing name).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CustomerInput {
    pub gid: String,
    #[serde(skip)]
    pub uid: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A product as line items show it (as it is now, not at purchase).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProductInput {
    pub gid: String,
    pub uid: String,
    pub numeric_id: u64,
    pub title: String,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub tags: Vec<String>,
    pub status: Option<ProductStatus>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

impl ProductInput {
    /// Whether `product` says what this says (so it need not be built again).
    fn same_as(&self, product: &ProductRef) -> bool {
        self.title == product.title
            && self.tags == product.tags
            && self.status == product.status
            && self.published_at == product.published_at
            && self.created_at == product.created_at
            && self.vendor.as_deref() == product.vendor.as_deref().map(str::trim)
            && self.product_type.as_deref() == product.product_type.as_deref().map(str::trim)
    }

    pub fn from_ref(product: &ProductRef) -> Self {
        Self {
            gid: canonical(&product.id),
            uid: ids::derive(
                prefix::PRODUCT,
                "product",
                &canonical(&product.id),
                product.created_at,
            ),
            numeric_id: product.id.id(),
            title: product.title.clone(),
            vendor: non_empty(product.vendor.as_deref()),
            product_type: non_empty(product.product_type.as_deref()),
            tags: product.tags.clone(),
            status: product.status.clone(),
            created_at: product.created_at,
            updated_at: product.updated_at,
            published_at: product.published_at,
        }
    }

    pub fn from_product(product: &strata_shopify::Product) -> Self {
        Self {
            gid: canonical(&product.id),
            uid: ids::derive(
                prefix::PRODUCT,
                "product",
                &canonical(&product.id),
                Some(product.created_at),
            ),
            numeric_id: product.id.id(),
            title: product.title.clone(),
            vendor: non_empty(product.vendor.as_deref()),
            product_type: non_empty(product.product_type.as_deref()),
            tags: product.tags.clone(),
            status: product.status.clone(),
            created_at: Some(product.created_at),
            updated_at: product.updated_at,
            published_at: product.published_at,
        }
    }
}

/// The orders of one batch, mapped, with the products they refer to.
#[derive(Debug, Default)]
pub(crate) struct MappedBatch {
    pub orders: Vec<MappedOrder>,
    pub products: Vec<ProductInput>,
    /// Orders left out (only with `skip_invalid`).
    pub skipped: Vec<OrderProblem>,
    /// The latest `updatedAt` of the batch (invalid orders included: they were read).
    pub max_updated_at: Option<DateTime<Utc>>,
}

/// Maps every order of `orders`. An order listed twice counts once (its latest `updatedAt`).
/// Invalid orders fail the batch, or are left out and listed when `skip_invalid`.
pub(crate) fn map_batch(orders: &[Order], skip_invalid: bool) -> Result<MappedBatch, IngestError> {
    let mut latest: HashMap<(&str, u64), usize> = HashMap::with_capacity(orders.len());
    for (i, order) in orders.iter().enumerate() {
        let key = (order.id.kind(), order.id.id());
        match latest.get(&key) {
            Some(&j) if orders[j].updated_at > order.updated_at => {}
            _ => {
                latest.insert(key, i);
            }
        }
    }
    let mut picked: Vec<usize> = latest.into_values().collect();
    picked.sort_unstable();

    let mut batch = MappedBatch {
        max_updated_at: orders.iter().map(|o| o.updated_at).max(),
        ..MappedBatch::default()
    };
    let mut products: HashMap<u64, ProductInput> = HashMap::new();
    for i in picked {
        let order = &orders[i];
        match map_order(order) {
            Ok(mapped) => {
                for product in order.line_items.iter().filter_map(|l| l.product.as_ref()) {
                    // Most lines show a product another line showed already: build it once.
                    let known = products
                        .get(&product.id.id())
                        .is_some_and(|p: &ProductInput| {
                            p.updated_at > product.updated_at
                                || (p.updated_at == product.updated_at && p.same_as(product))
                        });
                    if !known {
                        products.insert(product.id.id(), ProductInput::from_ref(product));
                    }
                }
                batch.orders.push(mapped);
            }
            Err(reason) => batch.skipped.push(OrderProblem {
                order_id: order.id.to_string(),
                name: order.name.clone(),
                reason,
            }),
        }
    }
    if !batch.skipped.is_empty() && !skip_invalid {
        return Err(IngestError::InvalidOrders {
            problems: batch.skipped,
        });
    }
    let mut products: Vec<ProductInput> = products.into_values().collect();
    products.sort_by(|a, b| a.gid.cmp(&b.gid));
    batch.products = products;
    Ok(batch)
}

/// Keeps the most recent view of each product (by `updatedAt`; a later one wins a tie).
pub(crate) fn merge_product(products: &mut HashMap<String, ProductInput>, p: ProductInput) {
    match products.get(&p.gid) {
        Some(known) if known.updated_at > p.updated_at => {}
        _ => {
            products.insert(p.gid.clone(), p);
        }
    }
}

/// Text that is empty after trimming counts as absent.
fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Checks an amount against the `NUMERIC(20,4)` columns and the event schema.
fn amount(field: &str, value: Decimal) -> Result<Decimal, String> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(format!("{field} is negative ({value})"));
    }
    let value = if value.scale() > 4 {
        value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
    } else {
        value
    };
    if value.trunc() >= Decimal::from(10_000_000_000_000_000_i64) {
        return Err(format!(
            "{field} is too large ({value}; at most 16 integer digits)"
        ));
    }
    // `-0` is zero.
    Ok(if value.is_zero() {
        Decimal::ZERO
    } else {
        value
    })
}

fn add(field: &str, a: Decimal, b: Decimal) -> Result<Decimal, String> {
    a.checked_add(b)
        .ok_or_else(|| format!("{field} overflows"))
        .and_then(|v| amount(field, v))
}

/// Sum of amounts, checked.
fn sum<'a>(field: &str, values: impl IntoIterator<Item = &'a Decimal>) -> Result<Decimal, String> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, v| add(field, acc, *v))
}

/// A tax rate in percent from a Shopify tax line (`ratePercentage`, else `rate` × 100, else 0).
fn rate_percent(field: &str, tax: &TaxLine) -> Result<Decimal, String> {
    let rate = tax
        .rate_percentage
        .or_else(|| tax.rate.and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED)))
        .unwrap_or(Decimal::ZERO);
    if rate.is_sign_negative() && !rate.is_zero() || rate >= Decimal::from(1000) {
        return Err(format!("{field} rate {rate} % is not between 0 and 1000 %"));
    }
    Ok(rate.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero))
}

/// The digits of `#1001` (its last run of digits), if any and positive.
fn number_in(name: &str) -> Option<i64> {
    let mut digits: Vec<char> = name
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.reverse();
    digits
        .into_iter()
        .collect::<String>()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// Two ASCII letters, lower-cased; anything else is left out.
fn country(code: Option<&str>) -> Option<String> {
    code.map(str::trim)
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_lowercase)
}

/// The order's currency, lower case; every amount must be in it.
struct Money3<'a> {
    currency: &'a str,
}

impl Money3<'_> {
    fn of(&self, field: &str, money: &Money) -> Result<Decimal, String> {
        if !money.currency_code.eq_ignore_ascii_case(self.currency) {
            return Err(format!(
                "{field} is in {} but the order is in {}",
                money.currency_code,
                self.currency.to_ascii_uppercase()
            ));
        }
        amount(field, money.amount)
    }

    fn opt(&self, field: &str, money: Option<&Money>) -> Result<Option<Decimal>, String> {
        money.map(|m| self.of(field, m)).transpose()
    }
}

fn phase(order: &Order) -> &'static str {
    if order.cancelled_at.is_some() {
        return "canceled";
    }
    let paid = is_paid(order.display_financial_status.as_ref());
    let fulfilled = matches!(
        order.display_fulfillment_status,
        Some(FulfillmentStatus::Fulfilled)
    );
    if paid && fulfilled {
        return "completed";
    }
    let blocked = matches!(
        order.display_financial_status,
        Some(FinancialStatus::Voided | FinancialStatus::Expired)
    ) || matches!(
        order.display_fulfillment_status,
        Some(FulfillmentStatus::OnHold | FulfillmentStatus::RequestDeclined)
    );
    if blocked {
        "requires_action"
    } else {
        "pending"
    }
}

/// Money was captured (refunds come after a capture).
fn is_paid(status: Option<&FinancialStatus>) -> bool {
    matches!(
        status,
        Some(
            FinancialStatus::Paid | FinancialStatus::PartiallyRefunded | FinancialStatus::Refunded
        )
    )
}

fn gid_of(field: &str, gid: &Gid, kind: &str) -> Result<String, String> {
    if gid.is(kind) {
        Ok(canonical(gid))
    } else {
        Err(format!("{field} {gid} is not a {kind} GID"))
    }
}

fn address(role: &'static str, a: &Address, order_gid: &str, at: DateTime<Utc>) -> MappedAddress {
    let first_name = non_empty(a.first_name.as_deref());
    let last_name = non_empty(a.last_name.as_deref()).or_else(|| {
        // A name without its parts (some POS orders): kept whole as the family name.
        first_name
            .is_none()
            .then(|| non_empty(a.name.as_deref()))
            .flatten()
    });
    MappedAddress {
        uid: ids::derive(
            prefix::ADDRESS,
            "order_address",
            &format!("{order_gid}:{role}"),
            Some(at),
        ),
        role,
        first_name,
        last_name,
        company: non_empty(a.company.as_deref()),
        address_1: non_empty(a.address1.as_deref()),
        address_2: non_empty(a.address2.as_deref()),
        city: non_empty(a.city.as_deref()),
        country_code: country(a.country_code.as_deref()),
        province: non_empty(a.province_code.as_deref())
            .or_else(|| non_empty(a.province.as_deref())),
        postal_code: non_empty(a.zip.as_deref()),
        phone: non_empty(a.phone.as_deref()),
    }
}

/// Maps one order, or says what is wrong with it.
pub(crate) fn map_order(order: &Order) -> Result<MappedOrder, String> {
    let gid = gid_of("the order id", &order.id, "Order")?;
    let currency = order.currency_code.trim().to_ascii_lowercase();
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_lowercase())) {
        return Err(format!(
            "currencyCode {:?} is not a three-letter ISO 4217 code",
            order.currency_code
        ));
    }
    let money = Money3 {
        currency: &currency,
    };
    let created = order.created_at;
    let single_code = match order.discount_codes.as_slice() {
        [code] => non_empty(Some(code)),
        _ => None,
    };

    let mut lines = Vec::with_capacity(order.line_items.len());
    let mut seen = HashMap::with_capacity(order.line_items.len());
    for (i, item) in order.line_items.iter().enumerate() {
        if let Some(first) = seen.insert((item.id.kind(), item.id.id()), i) {
            return Err(format!(
                "line item {} is listed twice (lines {first} and {i})",
                item.id
            ));
        }
        lines.push(map_line(item, &money, created, single_code.as_deref())?);
    }

    let quantity: i64 = lines.iter().map(|l| i64::from(l.quantity)).sum();
    let quantity = i32::try_from(quantity)
        .map_err(|_| format!("{quantity} units in all is more than an order can hold"))?;
    let subtotal = sum(
        "the sum of the line subtotals",
        lines.iter().map(|l| &l.subtotal),
    )?;
    let item_total = sum("the sum of the line totals", lines.iter().map(|l| &l.total))?;
    let line_discounts = sum(
        "the sum of the line discounts",
        lines.iter().map(|l| &l.discount),
    )?;
    let line_taxes = sum("the sum of the line taxes", lines.iter().map(|l| &l.tax))?;
    let discount_total = money
        .opt("totalDiscountsSet", order.total_discounts.as_ref())?
        .unwrap_or(line_discounts);
    let tax_total = money
        .opt("totalTaxSet", order.total_tax.as_ref())?
        .unwrap_or(line_taxes);
    let shipping_total = money.of("totalShippingPriceSet", &order.total_shipping_price)?;
    let total = money.of("totalPriceSet", &order.total_price)?;
    let mut tax_rate = Decimal::ZERO;
    for (i, tax) in order.tax_lines.iter().enumerate() {
        tax_rate = tax_rate
            .checked_add(rate_percent(&format!("taxLines[{i}]"), tax)?)
            .unwrap_or(Decimal::MAX);
    }
    if tax_rate >= Decimal::from(1000) {
        return Err(format!(
            "the tax rates add up to {tax_rate} %, more than 1000 %"
        ));
    }
    let mut refunded = Decimal::ZERO;
    for (i, refund) in order.refunds.iter().enumerate() {
        if let Some(m) = &refund.total_refunded {
            refunded = add(
                "the refunded total",
                refunded,
                money.of(&format!("refunds[{i}].totalRefundedSet"), m)?,
            )?;
        }
        gid_of(&format!("refunds[{i}].id"), &refund.id, "Refund")?;
    }

    let name = order.name.trim();
    let order_number = if name.is_empty() {
        format!("#{}", order.id.id())
    } else {
        name.to_owned()
    };
    let display_id = match number_in(&order_number) {
        Some(n) => n,
        None => i64::try_from(order.id.id())
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!(
                    "the order's numeric id {} cannot be a display id",
                    order.id.id()
                )
            })?,
    };

    let mut annotations = BTreeMap::new();
    annotations.insert(key::CREATED_AT, ts_text(order.created_at));
    annotations.insert(key::UPDATED_AT, ts_text(order.updated_at));
    if let Some(s) = &order.display_financial_status {
        annotations.insert(key::FINANCIAL_STATUS, s.as_str().to_owned());
    }
    if let Some(s) = &order.display_fulfillment_status {
        annotations.insert(key::FULFILLMENT_STATUS, s.as_str().to_owned());
    }
    if let Some(reason) = non_empty(order.cancel_reason.as_deref()) {
        annotations.insert(key::CANCEL_REASON, reason);
    }
    if !order.tags.is_empty() {
        annotations.insert(key::TAGS, order.tags.join(", "));
    }
    if !order.discount_codes.is_empty() {
        annotations.insert(key::DISCOUNT_CODES, order.discount_codes.join(", "));
    }

    let paid = is_paid(order.display_financial_status.as_ref());
    let mut totals = BTreeMap::new();
    totals.insert("currency_code", currency.clone());
    totals.insert("item_total", item_total.to_string());
    totals.insert("subtotal", subtotal.to_string());
    totals.insert("discount_total", discount_total.to_string());
    totals.insert("shipping_total", shipping_total.to_string());
    totals.insert("tax_total", tax_total.to_string());
    totals.insert("total", total.to_string());
    totals.insert(
        "paid_total",
        if paid { total } else { Decimal::ZERO }.to_string(),
    );
    totals.insert("refunded_total", refunded.to_string());
    totals.insert(
        "current_order_total",
        (total - refunded).max(Decimal::ZERO).to_string(),
    );
    if let Some(m) = &order.subtotal_price {
        totals.insert(
            "shopify_subtotal_price",
            money.of("subtotalPriceSet", m)?.to_string(),
        );
    }

    let full_refund = if order.display_financial_status == Some(FinancialStatus::Refunded) {
        order
            .refunds
            .iter()
            .filter_map(|r| r.created_at.map(|at| (canonical(&r.id), at)))
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
    } else {
        None
    };
    let facts = Facts {
        paid,
        fulfilled: order.display_fulfillment_status == Some(FulfillmentStatus::Fulfilled),
        full_refund,
    };

    let addresses = [
        ("shipping", order.shipping_address.as_ref()),
        ("billing", order.billing_address.as_ref()),
    ]
    .into_iter()
    .filter_map(|(role, a)| a.map(|a| address(role, a, &gid, created)))
    .collect();

    let email = non_empty(order.email.as_deref());
    let customer = match &order.customer {
        Some(c) => {
            let cgid = gid_of("customer.id", &c.id, "Customer")?;
            let named = order
                .billing_address
                .as_ref()
                .or(order.shipping_address.as_ref());
            Some(CustomerInput {
                uid: ids::derive(prefix::CUSTOMER, "customer", &cgid, None),
                gid: cgid,
                email: email.as_deref().map(str::to_lowercase),
                first_name: named.and_then(|a| non_empty(a.first_name.as_deref())),
                last_name: named.and_then(|a| non_empty(a.last_name.as_deref())),
            })
        }
        None => None,
    };

    let mut mapped = MappedOrder {
        uid: ids::derive(prefix::ORDER, "order", &gid, Some(created)),
        gid,
        order_number,
        display_id,
        email,
        customer,
        customer_uid: None,
        currency,
        item_total,
        subtotal,
        discount_total,
        shipping_total,
        tax_total,
        total,
        tax_rate,
        quantity,
        placed_ts: order.processed_at.unwrap_or(order.created_at),
        created_ts: order.created_at,
        updated_at: order.updated_at,
        canceled_ts: order.cancelled_at,
        phase: phase(order),
        annotations,
        lines,
        addresses,
        totals,
        facts,
        hash: String::new(),
    };
    mapped.hash = content_hash(&mapped)?;
    Ok(mapped)
}

fn map_line(
    item: &LineItem,
    money: &Money3<'_>,
    created: DateTime<Utc>,
    single_code: Option<&str>,
) -> Result<MappedLine, String> {
    let gid = gid_of("line item id", &item.id, "LineItem")?;
    let field = |f: &str| format!("line item {gid}: {f}");
    if item.quantity < 0 {
        return Err(field(&format!("quantity {} is negative", item.quantity)));
    }
    if item.quantity > MAX_QUANTITY {
        return Err(field(&format!(
            "quantity {} is more than {MAX_QUANTITY} units",
            item.quantity
        )));
    }
    let quantity = i32::try_from(item.quantity).unwrap_or(i32::MAX);
    let unit_price = money.of(&field("originalUnitPriceSet"), &item.original_unit_price)?;
    let subtotal = match &item.original_total {
        Some(m) => money.of(&field("originalTotalSet"), m)?,
        None => amount(
            &field("unit price × quantity"),
            unit_price
                .checked_mul(Decimal::from(item.quantity))
                .ok_or_else(|| field("unit price × quantity overflows"))?,
        )?,
    };
    let mut adjustments = Vec::with_capacity(item.discount_allocations.len());
    for (i, allocation) in item.discount_allocations.iter().enumerate() {
        adjustments.push(MappedAdjustment {
            uid: ids::derive(
                prefix::ADJUSTMENT,
                "order_line_item_adjustment",
                &format!("{gid}:{i}"),
                Some(created),
            ),
            code: single_code.map(str::to_owned),
            description: "Shopify discount",
            amount: money.of(
                &field(&format!("discountAllocations[{i}]")),
                &allocation.allocated_amount,
            )?,
        });
    }
    let discount = match &item.total_discount {
        Some(m) => money.of(&field("totalDiscountSet"), m)?,
        None => sum(
            &field("the sum of the discount allocations"),
            adjustments.iter().map(|a| &a.amount),
        )?,
    };
    let discounted = match &item.discounted_total {
        Some(m) => money.of(&field("discountedTotalSet"), m)?,
        None => amount(
            &field("subtotal − discount"),
            subtotal
                .checked_sub(discount)
                .ok_or_else(|| field("subtotal − discount overflows"))?,
        )?,
    };
    let mut tax_lines = Vec::with_capacity(item.tax_lines.len());
    for (i, tax) in item.tax_lines.iter().enumerate() {
        let title = non_empty(Some(&tax.title));
        tax_lines.push(MappedTax {
            uid: ids::derive(
                prefix::TAX_LINE,
                "order_line_item_tax_line",
                &format!("{gid}:{i}"),
                Some(created),
            ),
            code: title.clone().unwrap_or_else(|| "tax".to_owned()),
            description: title.unwrap_or_else(|| "Tax".to_owned()),
            rate: rate_percent(&field(&format!("taxLines[{i}]")), tax)?,
            amount: money.of(&field(&format!("taxLines[{i}].priceSet")), &tax.price)?,
        });
    }
    let tax = sum(
        &field("the sum of the tax lines"),
        tax_lines.iter().map(|t| &t.amount),
    )?;
    let total = add(&field("discounted total + tax"), discounted, tax)?;
    let product_gid = match &item.product {
        Some(p) => Some(gid_of(&field("product.id"), &p.id, "Product")?),
        None => None,
    };
    let name = non_empty(Some(&item.name));
    let product_title = non_empty(item.title.as_deref()).or_else(|| {
        item.product
            .as_ref()
            .and_then(|p| non_empty(Some(&p.title)))
    });
    Ok(MappedLine {
        uid: ids::derive(prefix::LINE_ITEM, "order_line_item", &gid, Some(created)),
        gid,
        product_gid,
        product_uid: None,
        product_handle: None,
        title: name
            .or_else(|| product_title.clone())
            .unwrap_or_else(|| "Untitled item".to_owned()),
        product_title,
        variant_title: item
            .variant
            .as_ref()
            .and_then(|v| non_empty(v.title.as_deref())),
        sku: non_empty(item.sku.as_deref()).or_else(|| {
            item.variant
                .as_ref()
                .and_then(|v| non_empty(v.sku.as_deref()))
        }),
        vendor: non_empty(item.vendor.as_deref()),
        quantity,
        unit_price,
        subtotal,
        discount,
        tax,
        total,
        tax_lines,
        adjustments,
    })
}

/// SHA-256 (hex) of the mapping version and the mapped order.
fn content_hash(order: &MappedOrder) -> Result<String, String> {
    let mut hasher = Sha256::new();
    hasher.update(MAPPING_VERSION.as_bytes());
    hasher.update(b"\n");
    serde_json::to_writer(&mut HashWriter(&mut hasher), order)
        .map_err(|e| format!("cannot hash the mapped order: {e}"))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feeds serde_json's output straight into the hasher (no intermediate buffer).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_json(quantity: i64) -> String {
        format!(
            r##"{{"id":"gid://shopify/Order/5001","name":"#1001","createdAt":"2024-01-02T03:04:05Z","updatedAt":"2024-01-03T00:00:00Z","processedAt":"2024-01-02T03:04:05Z","cancelledAt":null,"cancelReason":null,"displayFinancialStatus":"PAID","displayFulfillmentStatus":"FULFILLED","currencyCode":"USD","email":"A@example.com","tags":["vip"],"discountCodes":["WELCOME10"],"totalPriceSet":{{"shopMoney":{{"amount":"21.6","currencyCode":"USD"}}}},"subtotalPriceSet":{{"shopMoney":{{"amount":"18.0","currencyCode":"USD"}}}},"totalTaxSet":{{"shopMoney":{{"amount":"3.6","currencyCode":"USD"}}}},"totalDiscountsSet":{{"shopMoney":{{"amount":"2.0","currencyCode":"USD"}}}},"totalShippingPriceSet":{{"shopMoney":{{"amount":"0.0","currencyCode":"USD"}}}},"shippingAddress":{{"firstName":"Ada","lastName":"Martin","city":"Lyon","countryCodeV2":"FR","provinceCode":"ARA","zip":"69001"}},"billingAddress":null,"customer":{{"id":"gid://shopify/Customer/9"}},"taxLines":[{{"title":"VAT","rate":0.2,"ratePercentage":20.0,"priceSet":{{"shopMoney":{{"amount":"3.6","currencyCode":"USD"}}}}}}],"refunds":[],"lineItems":[{{"id":"gid://shopify/LineItem/77","name":"Mug - Small","title":"Mug","sku":"SKU-1","vendor":"Acme","quantity":{quantity},"originalUnitPriceSet":{{"shopMoney":{{"amount":"10.0","currencyCode":"USD"}}}},"originalTotalSet":{{"shopMoney":{{"amount":"20.0","currencyCode":"USD"}}}},"discountedTotalSet":{{"shopMoney":{{"amount":"18.0","currencyCode":"USD"}}}},"totalDiscountSet":{{"shopMoney":{{"amount":"2.0","currencyCode":"USD"}}}},"discountAllocations":[{{"allocatedAmountSet":{{"shopMoney":{{"amount":"2.0","currencyCode":"USD"}}}}}}],"taxLines":[{{"title":"VAT","rate":0.2,"ratePercentage":20.0,"priceSet":{{"shopMoney":{{"amount":"3.6","currencyCode":"USD"}}}}}}],"product":{{"id":"gid://shopify/Product/3","title":"Mug","vendor":"Acme","productType":"Home","tags":["eco"],"status":"ACTIVE","createdAt":"2023-01-01T00:00:00Z","updatedAt":"2023-02-01T00:00:00Z","publishedAt":"2023-01-01T02:00:00Z"}},"variant":{{"id":"gid://shopify/ProductVariant/4","sku":"SKU-1","title":"Small"}}}}]}}"##
        )
    }

    fn order(quantity: i64) -> Order {
        serde_json::from_str(&order_json(quantity)).unwrap()
    }

    #[test]
    fn maps_totals_lines_taxes_discounts_and_the_phase() {
        let m = map_order(&order(2)).unwrap();
        assert_eq!(m.order_number, "#1001");
        assert_eq!(m.display_id, 1001);
        assert_eq!(m.currency, "usd");
        assert_eq!(m.phase, "completed");
        assert_eq!(m.quantity, 2);
        assert_eq!(m.subtotal, Decimal::new(200, 1));
        assert_eq!(m.item_total, Decimal::new(216, 1));
        assert_eq!(m.tax_rate, Decimal::new(20, 0));
        let line = &m.lines[0];
        assert_eq!(
            (line.discount, line.tax, line.total),
            (
                Decimal::new(20, 1),
                Decimal::new(36, 1),
                Decimal::new(216, 1)
            )
        );
        assert_eq!(line.adjustments[0].code.as_deref(), Some("WELCOME10"));
        assert_eq!(line.tax_lines[0].rate, Decimal::new(20, 0));
        assert_eq!(m.addresses.len(), 1);
        assert_eq!(m.addresses[0].country_code.as_deref(), Some("fr"));
        assert_eq!(
            m.customer.as_ref().unwrap().email.as_deref(),
            Some("a@example.com")
        );
        assert!(m.facts.paid && m.facts.fulfilled && m.facts.full_refund.is_none());
        assert_eq!(m.annotations[key::UPDATED_AT], "2024-01-03T00:00:00.000Z");
    }

    #[test]
    fn the_hash_follows_the_content_and_only_it() {
        let a = map_order(&order(2)).unwrap();
        assert_eq!(a.hash, map_order(&order(2)).unwrap().hash);
        assert_ne!(a.hash, map_order(&order(3)).unwrap().hash);
        // The product as it is now is not part of the order.
        let mut o = order(2);
        o.line_items[0]
            .product
            .as_mut()
            .unwrap()
            .tags
            .push("sale".into());
        assert_eq!(a.hash, map_order(&o).unwrap().hash);
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let err = map_order(&order(-1)).unwrap_err();
        assert!(
            err.contains("gid://shopify/LineItem/77") && err.contains("negative"),
            "{err}"
        );
        let mut o = order(1);
        o.total_price.currency_code = "EUR".into();
        assert!(
            map_order(&o)
                .unwrap_err()
                .contains("totalPriceSet is in EUR")
        );
        let mut o = order(1);
        o.currency_code = "dollars".into();
        assert!(map_order(&o).is_err());
        let mut o = order(1);
        o.line_items.push(o.line_items[0].clone());
        assert!(map_order(&o).unwrap_err().contains("listed twice"));
    }

    #[test]
    fn names_without_digits_and_long_decimals_are_mapped() {
        let mut o = order(1);
        o.name = "Online order".into();
        o.total_price.amount = Decimal::new(2_160_005, 5);
        let m = map_order(&o).unwrap();
        assert_eq!(m.display_id, 5001);
        assert_eq!(m.total, Decimal::new(216_001, 4));
        assert_eq!(number_in("SHOP-1002-EU"), Some(1002));
        assert_eq!(number_in("#0"), None);
        assert_eq!(number_in("№1001"), Some(1001));
        assert_eq!(number_in("Bestellung Nr. 7 ü"), Some(7));
    }

    #[test]
    fn a_batch_keeps_the_latest_copy_of_an_order_and_names_bad_ones() {
        let older = order(1);
        let mut newer = order(2);
        newer.updated_at += chrono::Duration::hours(1);
        let batch = map_batch(&[newer.clone(), older.clone()], false).unwrap();
        assert_eq!(batch.orders.len(), 1);
        assert_eq!(batch.orders[0].quantity, 2);
        assert_eq!(batch.products.len(), 1);

        let mut bad = order(-3);
        bad.id = Gid::new("Order", 6000);
        let err = map_batch(&[older.clone(), bad.clone()], false).unwrap_err();
        assert!(
            matches!(&err, IngestError::InvalidOrders { problems } if problems.len() == 1 && problems[0].order_id == "gid://shopify/Order/6000"),
            "{err}"
        );
        let batch = map_batch(&[older, bad], true).unwrap();
        assert_eq!((batch.orders.len(), batch.skipped.len()), (1, 1));
    }
}
