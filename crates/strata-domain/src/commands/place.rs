//! `place_order`: the order header, its lines with tax lines and adjustments, the version-1
//! summary, the shipping address and the referral link, in one transaction; then `order_created`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::json;
use strata_events::{CommerceEvent, EventLog};

use super::events::{Loader, Want, emit};
use super::money::{self, cents_text, from_cents, to_cents};
use super::session::{BEGIN_COMMAND, Session};
use super::{
    Address, AuditContext, CommandError, LineDiscount, Minter, PlaceOrder, PlacedOrder, TxError,
    audit_change, audit_row, check_uid, lock_key, with_retries, write_audit,
};
use crate::Database;
use crate::audit::AuditAction;

const SOURCE_CHANNELS: [&str; 5] = ["web", "pos", "shopify", "api", "import"];
const DEFAULT_TAX_CODE: &str = "tax";
/// Units on one line at most (the column is an INTEGER; this keeps totals far from overflow).
const MAX_QUANTITY: i64 = 1_000_000;
/// Lines on one order at most.
const MAX_LINES: usize = 1_000;

/// The unique keys a concurrent numbering can collide on.
const NUMBER_KEYS: [&str; 2] = [
    "order_header_display_id_key",
    "order_header_order_number_key",
];

/// Store, region, sales channel, customer and referral in one row.
const CONTEXT_SQL: &str = "SELECT \
     (SELECT status->>'phase' FROM store WHERE uid = $1::text), \
     (SELECT currency_code FROM region WHERE uid = $2::text), \
     (SELECT status->>'phase' FROM region WHERE uid = $2::text), \
     (SELECT CASE WHEN is_disabled THEN 'disabled' ELSE status->>'phase' END \
        FROM sales_channel WHERE uid = $3::text), \
     (SELECT status->>'phase' FROM customer WHERE uid = $4::text), \
     (SELECT email FROM customer WHERE uid = $4::text), \
     (SELECT status->>'phase' FROM referral WHERE uid = $5::text)";

/// The variants with their products and their price in the order's currency.
const VARIANTS_SQL: &str = "SELECT v.uid, v.title, v.sku, v.barcode, v.status->>'phase', \
     p.uid, p.title, p.subtitle, p.handle, p.thumbnail, p.status->>'phase', p.discountable, \
     (SELECT pr.amount FROM link_product_variant_price_set l \
        JOIN price pr ON pr.price_set_uid = l.price_set_uid \
       WHERE l.product_variant_uid = v.uid AND l.status->>'phase' = 'active' \
         AND pr.currency_code = $2::text AND pr.price_list_uid IS NULL \
         AND pr.rules_count = 0 AND pr.status->>'phase' = 'active' \
       ORDER BY pr.min_quantity NULLS FIRST, pr.uid LIMIT 1) \
     FROM product_variant v LEFT JOIN product p ON p.uid = v.product_uid \
     WHERE v.uid = ANY($1::text[])";

/// Active promotions on items, by code.
const PROMOTIONS_SQL: &str = "SELECT p.code, p.uid, am.application_type, am.value, \
     am.currency_code, am.allocation \
     FROM promotion p JOIN application_method am ON am.promotion_uid = p.uid \
     WHERE p.code = ANY($1::text[]) AND p.status->>'phase' = 'active' \
       AND am.status->>'phase' = 'active' AND am.target_type = 'items'";

/// Serializes the numbering of one store's orders until the transaction ends.
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1::bigint)";

/// Every row of the order in one statement (data-modifying CTEs; empty arrays insert nothing).
///
/// The store's next display id is computed here, in a statement that starts after the lock: one
/// more than the store's last display id (1001 for its first order) — or than the number in the
/// last order's `#<number>` when that is higher, as in imported and seeded stores whose order
/// numbers run 1000 ahead of their display ids — so `#<display_id>` is free as well.
const INSERT_SQL: &str = "WITH last AS (SELECT display_id, order_number FROM order_header \
       WHERE store_uid = $2::text ORDER BY display_id DESC LIMIT 1), \
     d AS (SELECT greatest(1000, \
         coalesce((SELECT display_id FROM last), 0), \
         coalesce((SELECT substring(order_number FROM 2)::bigint FROM last \
                    WHERE order_number ~ '^#[0-9]{1,15}$'), 0)) + 1 AS n), \
     h AS (INSERT INTO order_header (uid, order_number, display_id, store_uid, customer_uid, \
       region_uid, sales_channel_uid, email, currency_code, source_channel, \
       item_total, raw_item_total, subtotal, raw_subtotal, discount_total, raw_discount_total, \
       shipping_total, raw_shipping_total, tax_total, raw_tax_total, total, raw_total, \
       tax_rate, quantity, placed_ts) \
     SELECT $1::text, '#' || d.n, d.n, $2::text, $3::text, $4::text, $5::text, $6::text, \
       $7::text, $8::text, \
       $9::numeric, jsonb_build_object('value', $9::numeric::text, 'currency_code', $7::text), \
       $10::numeric, jsonb_build_object('value', $10::numeric::text, 'currency_code', $7::text), \
       $11::numeric, jsonb_build_object('value', $11::numeric::text, 'currency_code', $7::text), \
       $12::numeric, jsonb_build_object('value', $12::numeric::text, 'currency_code', $7::text), \
       $13::numeric, jsonb_build_object('value', $13::numeric::text, 'currency_code', $7::text), \
       $14::numeric, jsonb_build_object('value', $14::numeric::text, 'currency_code', $7::text), \
       $15::numeric, $16::int, now() \
     FROM d RETURNING display_id), \
     li AS (INSERT INTO order_line_item (uid, order_uid, product_uid, variant_uid, \
       title, subtitle, thumbnail, product_title, product_subtitle, product_handle, \
       variant_title, variant_sku, variant_barcode, quantity, \
       unit_price, raw_unit_price, subtotal, raw_subtotal, discount_total, raw_discount_total, \
       tax_total, raw_tax_total, total, raw_total, is_discountable, is_custom_price) \
     SELECT u.uid, $1::text, u.product_uid, u.variant_uid, \
       u.product_title, u.variant_title, u.thumbnail, u.product_title, u.product_subtitle, \
       u.product_handle, u.variant_title, u.sku, u.barcode, u.quantity, \
       u.unit_price, jsonb_build_object('value', u.unit_price::text, 'currency_code', $7::text), \
       u.subtotal, jsonb_build_object('value', u.subtotal::text, 'currency_code', $7::text), \
       u.discount, jsonb_build_object('value', u.discount::text, 'currency_code', $7::text), \
       u.tax, jsonb_build_object('value', u.tax::text, 'currency_code', $7::text), \
       u.total, jsonb_build_object('value', u.total::text, 'currency_code', $7::text), \
       u.discountable, u.custom \
     FROM unnest($17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], \
       $23::text[], $24::text[], $25::text[], $26::text[], $27::int[], $28::numeric[], \
       $29::numeric[], $30::numeric[], $31::numeric[], $32::numeric[], $33::bool[], \
       $34::bool[]) \
     AS u(uid, product_uid, variant_uid, product_title, product_subtitle, product_handle, \
       thumbnail, variant_title, sku, barcode, quantity, unit_price, subtotal, discount, tax, \
       total, discountable, custom)), \
     tl AS (INSERT INTO order_line_item_tax_line (uid, line_item_uid, code, description, rate, \
       amount, raw_amount) \
     SELECT u.uid, u.line_item_uid, $36::text, $37::text, $15::numeric, u.amount, \
       jsonb_build_object('value', u.amount::text, 'currency_code', $7::text) \
     FROM unnest($35::text[], $17::text[], $31::numeric[]) AS u(uid, line_item_uid, amount)), \
     adj AS (INSERT INTO order_line_item_adjustment (uid, line_item_uid, code, description, \
       promotion_uid, amount, raw_amount) \
     SELECT u.uid, u.line_item_uid, u.code, u.description, u.promotion_uid, u.amount, \
       jsonb_build_object('value', u.amount::text, 'currency_code', $7::text) \
     FROM unnest($38::text[], $39::text[], $40::text[], $41::text[], $42::text[], \
       $43::numeric[]) AS u(uid, line_item_uid, code, description, promotion_uid, amount)), \
     sm AS (INSERT INTO order_summary (uid, order_uid, version, totals) \
     VALUES ($44::text, $1::text, 1, $45::jsonb)), \
     ad AS (INSERT INTO order_address (uid, order_uid, address_role, customer_uid, first_name, \
       last_name, company, address_1, address_2, city, country_code, province, postal_code, \
       phone) \
     VALUES ($46::text, $1::text, 'shipping', $3::text, $47::text, $48::text, $49::text, \
       $50::text, $51::text, $52::text, $53::text, $54::text, $55::text, $56::text)), \
     rf AS (INSERT INTO link_order_referral (uid, order_uid, referral_uid, attribution_weight) \
     SELECT $57::text, $1::text, $58::text, 1 WHERE $58::text IS NOT NULL) \
     SELECT display_id FROM h";

/// The checks that need no database.
fn check_shape(cmd: &PlaceOrder) -> Result<(), CommandError> {
    check_uid("store_uid", &cmd.store_uid, "sto")?;
    check_uid("region_uid", &cmd.region_uid, "reg")?;
    check_uid("sales_channel_uid", &cmd.sales_channel_uid, "sc")?;
    if let Some(c) = &cmd.customer_uid {
        check_uid("customer_uid", c, "cus")?;
    }
    if let Some(r) = &cmd.referral_uid {
        check_uid("referral_uid", r, "rfl")?;
    }
    let code_ok =
        cmd.currency_code.len() == 3 && cmd.currency_code.bytes().all(|b| b.is_ascii_lowercase());
    if !code_ok {
        return Err(CommandError::invalid(
            "currency_code",
            format!(
                "expected an ISO 4217 code in lower case such as `usd`, got `{}`",
                cmd.currency_code
            ),
        ));
    }
    if cmd.customer_uid.is_none() && cmd.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
        return Err(CommandError::invalid(
            "email",
            "a guest checkout (no customer_uid) needs an email",
        ));
    }
    if let Some(email) = &cmd.email
        && !email.contains('@')
    {
        return Err(CommandError::invalid(
            "email",
            format!("`{email}` is not an email address"),
        ));
    }
    let rate = cmd.tax_rate_percent;
    if rate.is_sign_negative() && !rate.is_zero() || rate > Decimal::from(100) {
        return Err(CommandError::invalid(
            "tax_rate_percent",
            format!("must be between 0 and 100, got {rate}"),
        ));
    }
    if rate.normalize().scale() > 6 {
        return Err(CommandError::invalid(
            "tax_rate_percent",
            format!("has more than 6 decimals: {rate}"),
        ));
    }
    if let Some(code) = &cmd.tax_code
        && code.trim().is_empty()
    {
        return Err(CommandError::invalid("tax_code", "must not be empty"));
    }
    if let Some(sc) = &cmd.source_channel
        && !SOURCE_CHANNELS.contains(&sc.as_str())
    {
        return Err(CommandError::invalid(
            "source_channel",
            format!("must be one of {}, got `{sc}`", SOURCE_CHANNELS.join(", ")),
        ));
    }
    if let Some(cc) = &cmd.shipping_address.country_code
        && !(cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_lowercase()))
    {
        return Err(CommandError::invalid(
            "shipping_address.country_code",
            format!("expected an ISO 3166-1 alpha-2 code in lower case such as `us`, got `{cc}`"),
        ));
    }
    if cmd.lines.is_empty() {
        return Err(CommandError::invalid(
            "lines",
            "an order needs at least one line",
        ));
    }
    if cmd.lines.len() > MAX_LINES {
        return Err(CommandError::invalid(
            "lines",
            format!("at most {MAX_LINES} lines, got {}", cmd.lines.len()),
        ));
    }
    for (i, line) in cmd.lines.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(CommandError::invalid(
                format!("lines[{i}].quantity"),
                format!(
                    "must be between 1 and {MAX_QUANTITY}, got {}",
                    line.quantity
                ),
            ));
        }
        check_uid(&format!("lines[{i}].variant_uid"), &line.variant_uid, "var")?;
        if let Some(price) = line.unit_price {
            to_cents(price, &format!("lines[{i}].unit_price"))?;
        }
        match &line.discount {
            Some(LineDiscount::Amount { amount, .. }) => {
                to_cents(*amount, &format!("lines[{i}].discount.amount"))?;
            }
            Some(LineDiscount::Code(code)) if code.trim().is_empty() => {
                return Err(CommandError::invalid(
                    format!("lines[{i}].discount.code"),
                    "must not be empty",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// One priced line, ready to insert.
struct Line {
    uid: String,
    product_uid: Option<String>,
    variant_uid: String,
    product_title: Option<String>,
    product_subtitle: Option<String>,
    product_handle: Option<String>,
    thumbnail: Option<String>,
    variant_title: String,
    sku: Option<String>,
    barcode: Option<String>,
    quantity: i32,
    unit_price: i64,
    subtotal: i64,
    discount: i64,
    tax: i64,
    total: i64,
    discountable: bool,
    custom_price: bool,
    adjustment: Option<Adjustment>,
}

struct Adjustment {
    uid: String,
    code: Option<String>,
    description: String,
    promotion_uid: Option<String>,
}

/// A promotion's application method.
struct Promotion {
    uid: String,
    percentage: bool,
    value: Decimal,
    currency_code: Option<String>,
    each: bool,
}

/// Places an order: validates the command against the catalogue, writes every row of the order
/// in one transaction, then appends `order_created` (with the order's full snapshot) to the log.
///
/// Order numbers are `#` + the store's next `display_id` (1001 for the first order), taken
/// under a per-store advisory lock held until commit, so concurrent placements never collide (a
/// writer that bypasses the lock costs a retry on the unique key, not a failure).
pub async fn place_order(
    db: &Database,
    log: &dyn EventLog,
    cmd: PlaceOrder,
) -> Result<PlacedOrder, CommandError> {
    let placed = commit_place_order(db, cmd, None).await?;
    emit(log, &placed.event).await?;
    Ok(placed)
}

/// [`place_order`] without the append: commits the order (and, with `audit`, its `audit_event`
/// row: action `create` on `order_header`) and returns it with its `order_created` event, which
/// the caller appends with [`super::append_event`].
pub async fn commit_place_order(
    db: &Database,
    cmd: PlaceOrder,
    audit: Option<&AuditContext>,
) -> Result<PlacedOrder, CommandError> {
    check_shape(&cmd)?;
    let session = Session::new(db).await?;
    let placed = with_retries!(
        "place_order",
        &NUMBER_KEYS,
        session,
        place_once(&session, &cmd, audit)
    );
    drop(session);
    Ok(placed)
}

async fn place_once(
    session: &Session,
    cmd: &PlaceOrder,
    audit: Option<&AuditContext>,
) -> Result<PlacedOrder, TxError> {
    let tx = session.client();

    // 1. Everything the command refers to, in one round trip.
    let variant_uids: Vec<String> = cmd.lines.iter().map(|l| l.variant_uid.clone()).collect();
    let codes: Vec<String> = cmd
        .lines
        .iter()
        .filter_map(|l| match &l.discount {
            Some(LineDiscount::Code(c)) => Some(c.clone()),
            _ => None,
        })
        .collect();
    let (context_st, variants_st, promotions_st) = futures_util::try_join!(
        tx.prepare_cached(CONTEXT_SQL),
        tx.prepare_cached(VARIANTS_SQL),
        tx.prepare_cached(PROMOTIONS_SQL),
    )?;
    let (_, context, variant_rows, promotion_rows) = futures_util::try_join!(
        session.begin(BEGIN_COMMAND),
        async {
            tx.query_one(
                &context_st,
                &[
                    &cmd.store_uid,
                    &cmd.region_uid,
                    &cmd.sales_channel_uid,
                    &cmd.customer_uid,
                    &cmd.referral_uid,
                ],
            )
            .await
        },
        async {
            tx.query(&variants_st, &[&variant_uids, &cmd.currency_code])
                .await
        },
        async {
            if codes.is_empty() {
                Ok(Vec::new())
            } else {
                tx.query(&promotions_st, &[&codes]).await
            }
        },
    )?;

    // 2. Check the references.
    let store_phase: Option<String> = context.get(0);
    match store_phase.as_deref() {
        None => return Err(CommandError::not_found("store", &cmd.store_uid).into()),
        Some("active") => {}
        Some(phase) => {
            return Err(CommandError::Conflict(format!(
                "store {} is {phase}; orders are placed in active stores only",
                cmd.store_uid
            ))
            .into());
        }
    }
    let region_currency: Option<String> = context.get(1);
    let region_phase: Option<String> = context.get(2);
    match (region_currency, region_phase.as_deref()) {
        (None, _) => return Err(CommandError::not_found("region", &cmd.region_uid).into()),
        (_, Some(phase)) if phase != "active" => {
            return Err(CommandError::invalid(
                "region_uid",
                format!("region {} is {phase}", cmd.region_uid),
            )
            .into());
        }
        (Some(currency), _) if currency != cmd.currency_code => {
            return Err(CommandError::invalid(
                "currency_code",
                format!(
                    "region {} sells in `{currency}`, not `{}`",
                    cmd.region_uid, cmd.currency_code
                ),
            )
            .into());
        }
        _ => {}
    }
    match context.get::<_, Option<String>>(3).as_deref() {
        None => {
            return Err(CommandError::not_found("sales_channel", &cmd.sales_channel_uid).into());
        }
        Some("active") => {}
        Some(state) => {
            return Err(CommandError::invalid(
                "sales_channel_uid",
                format!("sales channel {} is {state}", cmd.sales_channel_uid),
            )
            .into());
        }
    }
    let mut email = cmd.email.clone();
    if let Some(customer_uid) = &cmd.customer_uid {
        match context.get::<_, Option<String>>(4).as_deref() {
            None => return Err(CommandError::not_found("customer", customer_uid).into()),
            Some("active") => {}
            Some(phase) => {
                return Err(CommandError::invalid(
                    "customer_uid",
                    format!("customer {customer_uid} is {phase}"),
                )
                .into());
            }
        }
        if email.is_none() {
            email = context.get(5);
        }
    }
    if let Some(referral_uid) = &cmd.referral_uid {
        match context.get::<_, Option<String>>(6).as_deref() {
            None => return Err(CommandError::not_found("referral", referral_uid).into()),
            Some("open" | "converted") => {}
            Some(phase) => {
                return Err(CommandError::invalid(
                    "referral_uid",
                    format!("referral {referral_uid} is {phase} and cannot be credited"),
                )
                .into());
            }
        }
    }

    // 3. Price the lines.
    let variants: HashMap<String, &tokio_postgres::Row> = variant_rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r))
        .collect();
    let promotions: HashMap<String, Promotion> = promotion_rows
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                Promotion {
                    uid: r.get(1),
                    percentage: r.get::<_, String>(2) == "percentage",
                    value: r.get(3),
                    currency_code: r.get(4),
                    each: r.get::<_, Option<String>>(5).as_deref() == Some("each"),
                },
            )
        })
        .collect();
    let mut minter = Minter::new();
    let order_uid = minter.uid("ord");
    let rate = cmd.tax_rate_percent;
    let mut lines = Vec::with_capacity(cmd.lines.len());
    for (i, input) in cmd.lines.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        let Some(v) = variants.get(&input.variant_uid) else {
            return Err(CommandError::invalid(
                field("variant_uid"),
                format!("unknown variant {}", input.variant_uid),
            )
            .into());
        };
        let variant_phase: String = v.get(4);
        let product_uid: Option<String> = v.get(5);
        let product_phase: Option<String> = v.get(10);
        if variant_phase != "active" {
            return Err(CommandError::invalid(
                field("variant_uid"),
                format!("variant {} is {variant_phase}", input.variant_uid),
            )
            .into());
        }
        match product_phase.as_deref() {
            None => {
                return Err(CommandError::invalid(
                    field("variant_uid"),
                    format!(
                        "the product of variant {} does not exist",
                        input.variant_uid
                    ),
                )
                .into());
            }
            Some(phase @ ("archived" | "rejected")) => {
                return Err(CommandError::invalid(
                    field("variant_uid"),
                    format!("the product of variant {} is {phase}", input.variant_uid),
                )
                .into());
            }
            Some(_) => {}
        }
        let unit_price = match (input.unit_price, v.get::<_, Option<Decimal>>(12)) {
            (Some(price), _) => to_cents(price, &field("unit_price"))?,
            (None, Some(price)) => to_cents(price.round_dp(2), &field("unit_price"))?,
            (None, None) => {
                return Err(CommandError::invalid(
                    field("unit_price"),
                    format!(
                        "variant {} has no price in `{}`; give unit_price",
                        input.variant_uid, cmd.currency_code
                    ),
                )
                .into());
            }
        };
        let quantity = i32::try_from(input.quantity)
            .map_err(|_| CommandError::invalid(field("quantity"), "is too large"))?;
        let subtotal = money::mul(unit_price, input.quantity, &field("quantity"))?;
        let discountable: bool = v.get::<_, Option<bool>>(11).unwrap_or(true);
        let line_uid = minter.uid("ordli");
        let (discount, adjustment) = match &input.discount {
            None => (0, None),
            Some(_) if !discountable => {
                return Err(CommandError::invalid(
                    field("discount"),
                    format!(
                        "the product of variant {} is not discountable",
                        input.variant_uid
                    ),
                )
                .into());
            }
            Some(LineDiscount::Amount { amount, code }) => {
                let cents = to_cents(*amount, &field("discount.amount"))?;
                if cents > subtotal {
                    return Err(CommandError::invalid(
                        field("discount.amount"),
                        format!(
                            "{amount} is more than the line subtotal {}",
                            cents_text(subtotal)
                        ),
                    )
                    .into());
                }
                (
                    cents,
                    Some(Adjustment {
                        uid: String::new(),
                        code: code.clone(),
                        description: "Discount".to_owned(),
                        promotion_uid: None,
                    }),
                )
            }
            Some(LineDiscount::Code(code)) => {
                let Some(promo) = promotions.get(code) else {
                    return Err(CommandError::invalid(
                        field("discount.code"),
                        format!("no active item promotion has the code `{code}`"),
                    )
                    .into());
                };
                let cents = if promo.percentage {
                    money::percent_of(subtotal, promo.value)?
                } else {
                    if promo
                        .currency_code
                        .as_deref()
                        .is_some_and(|c| c != cmd.currency_code)
                    {
                        return Err(CommandError::invalid(
                            field("discount.code"),
                            format!(
                                "promotion `{code}` is in `{}`, the order in `{}`",
                                promo.currency_code.as_deref().unwrap_or_default(),
                                cmd.currency_code
                            ),
                        )
                        .into());
                    }
                    let value = to_cents(promo.value.round_dp(2), &field("discount.code"))?;
                    if promo.each {
                        money::mul(value, input.quantity, &field("discount.code"))?
                    } else {
                        value
                    }
                };
                (
                    cents.min(subtotal),
                    Some(Adjustment {
                        uid: String::new(),
                        code: Some(code.clone()),
                        description: if promo.percentage {
                            format!("{}% off", promo.value.normalize())
                        } else {
                            "Promotion".to_owned()
                        },
                        promotion_uid: Some(promo.uid.clone()),
                    }),
                )
            }
        };
        let adjustment = adjustment.filter(|_| discount > 0).map(|mut a| {
            a.uid = minter.uid("ordliadj");
            a
        });
        let tax = money::percent_of(subtotal - discount, rate)?;
        let total = money::add(subtotal - discount, tax)?;
        lines.push(Line {
            uid: line_uid,
            product_uid,
            variant_uid: input.variant_uid.clone(),
            product_title: v.get(6),
            product_subtitle: v.get(7),
            product_handle: v.get(8),
            thumbnail: v.get(9),
            variant_title: v.get(1),
            sku: v.get(2),
            barcode: v.get(3),
            quantity,
            unit_price,
            subtotal,
            discount,
            tax,
            total,
            discountable,
            custom_price: input.unit_price.is_some(),
            adjustment,
        });
    }

    // 4. Totals.
    let mut item_total = 0i64;
    let mut subtotal = 0i64;
    let mut discount_total = 0i64;
    let mut tax_total = 0i64;
    let mut quantity = 0i64;
    for l in &lines {
        item_total = money::add(item_total, l.total)?;
        subtotal = money::add(subtotal, l.subtotal)?;
        discount_total = money::add(discount_total, l.discount)?;
        tax_total = money::add(tax_total, l.tax)?;
        quantity = money::add(quantity, i64::from(l.quantity))?;
    }
    let shipping_total = 0i64;
    let total = money::add(item_total, shipping_total)?;
    let quantity = i32::try_from(quantity)
        .map_err(|_| CommandError::invalid("lines", "too many units on one order"))?;

    // 5. Write, then load the snapshot: one pipelined round trip, in this order.
    let tax_code = cmd.tax_code.as_deref().unwrap_or(DEFAULT_TAX_CODE);
    let source_channel = cmd.source_channel.as_deref().unwrap_or("web");
    let currency = cmd.currency_code.as_str();
    let summary_uid = minter.uid("ordsum");
    let address_uid = minter.uid("ordaddr");
    let referral_link_uid = minter.uid("lorf");
    let totals = json!({
        "currency_code": currency,
        "item_total": cents_text(item_total),
        "subtotal": cents_text(subtotal),
        "discount_total": cents_text(discount_total),
        "shipping_total": cents_text(shipping_total),
        "tax_total": cents_text(tax_total),
        "total": cents_text(total),
        "paid_total": cents_text(0),
    });

    let col = |f: fn(&Line) -> Option<String>| lines.iter().map(f).collect::<Vec<_>>();
    let money_col =
        |f: fn(&Line) -> i64| lines.iter().map(|l| from_cents(f(l))).collect::<Vec<_>>();
    let line_uids: Vec<String> = lines.iter().map(|l| l.uid.clone()).collect();
    let product_uids = col(|l| l.product_uid.clone());
    let variant_uids = col(|l| Some(l.variant_uid.clone()));
    let product_titles = col(|l| l.product_title.clone());
    let product_subtitles = col(|l| l.product_subtitle.clone());
    let product_handles = col(|l| l.product_handle.clone());
    let thumbnails = col(|l| l.thumbnail.clone());
    let variant_titles = col(|l| Some(l.variant_title.clone()));
    let skus = col(|l| l.sku.clone());
    let barcodes = col(|l| l.barcode.clone());
    let quantities: Vec<i32> = lines.iter().map(|l| l.quantity).collect();
    let unit_prices = money_col(|l| l.unit_price);
    let subtotals = money_col(|l| l.subtotal);
    let discounts = money_col(|l| l.discount);
    let taxes = money_col(|l| l.tax);
    let line_totals = money_col(|l| l.total);
    let discountables: Vec<bool> = lines.iter().map(|l| l.discountable).collect();
    let customs: Vec<bool> = lines.iter().map(|l| l.custom_price).collect();
    let tax_uids: Vec<String> = lines.iter().map(|_| minter.uid("ordlitx")).collect();
    let adjusted: Vec<(&Line, &Adjustment)> = lines
        .iter()
        .filter_map(|l| l.adjustment.as_ref().map(|a| (l, a)))
        .collect();
    let adj_uids: Vec<String> = adjusted.iter().map(|(_, a)| a.uid.clone()).collect();
    let adj_lines: Vec<String> = adjusted.iter().map(|(l, _)| l.uid.clone()).collect();
    let adj_codes: Vec<Option<String>> = adjusted.iter().map(|(_, a)| a.code.clone()).collect();
    let adj_descriptions: Vec<String> = adjusted
        .iter()
        .map(|(_, a)| a.description.clone())
        .collect();
    let adj_promotions: Vec<Option<String>> = adjusted
        .iter()
        .map(|(_, a)| a.promotion_uid.clone())
        .collect();
    let adj_amounts: Vec<Decimal> = adjusted
        .iter()
        .map(|(l, _)| from_cents(l.discount))
        .collect();
    let lock = lock_key(&format!("strata.order_display_id:{}", cmd.store_uid));
    let rate_param = rate.normalize();
    let Address {
        first_name,
        last_name,
        company,
        address_1,
        address_2,
        city,
        country_code,
        province,
        postal_code,
        phone,
    } = &cmd.shipping_address;

    let (lock_st, insert_st) =
        futures_util::try_join!(tx.prepare_cached(LOCK_SQL), tx.prepare_cached(INSERT_SQL),)?;
    let audit = audit_row(
        tx,
        audit,
        AuditAction::Create,
        "order_header",
        &order_uid,
        || audit_change("place_order", cmd),
    )
    .await?;
    let loader = Loader::prepare(tx, Want::CREATED).await?;
    let uids = [order_uid.clone()];
    let (_, header, _, mut loaded, _) = futures_util::try_join!(
        async { tx.execute(&lock_st, &[&lock]).await },
        async {
            tx.query_one(
                &insert_st,
                &[
                    &order_uid,
                    &cmd.store_uid,
                    &cmd.customer_uid,
                    &cmd.region_uid,
                    &cmd.sales_channel_uid,
                    &email,
                    &currency,
                    &source_channel,
                    &from_cents(item_total),
                    &from_cents(subtotal),
                    &from_cents(discount_total),
                    &from_cents(shipping_total),
                    &from_cents(tax_total),
                    &from_cents(total),
                    &rate_param,
                    &quantity,
                    &line_uids,
                    &product_uids,
                    &variant_uids,
                    &product_titles,
                    &product_subtitles,
                    &product_handles,
                    &thumbnails,
                    &variant_titles,
                    &skus,
                    &barcodes,
                    &quantities,
                    &unit_prices,
                    &subtotals,
                    &discounts,
                    &taxes,
                    &line_totals,
                    &discountables,
                    &customs,
                    &tax_uids,
                    &tax_code,
                    &"Tax",
                    &adj_uids,
                    &adj_lines,
                    &adj_codes,
                    &adj_descriptions,
                    &adj_promotions,
                    &adj_amounts,
                    &summary_uid,
                    &totals,
                    &address_uid,
                    first_name,
                    last_name,
                    company,
                    address_1,
                    address_2,
                    city,
                    country_code,
                    province,
                    postal_code,
                    phone,
                    &referral_link_uid,
                    &cmd.referral_uid,
                ],
            )
            .await
        },
        write_audit(tx, audit.as_ref()),
        loader.run(tx, &uids),
        session.commit(),
    )?;
    session.committed();
    let display_id: i64 = header.get(0);
    // Committed: a failure to build the event now is a bug, and says so.
    let event: CommerceEvent = loaded
        .pop()
        .ok_or_else(|| CommandError::Internal(format!("order {order_uid} vanished")))?
        .take(&order_uid)
        .map_err(|e| {
            CommandError::Internal(format!(
                "order {order_uid} was committed but its order_created event cannot be built: {e}"
            ))
        })?;
    Ok(PlacedOrder {
        order_number: event.body.order.order_number.clone(),
        order_uid,
        display_id,
        line_item_uids: line_uids,
        event,
    })
}
