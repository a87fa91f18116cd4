//! The order rows: which orders are new, changed or unchanged, the customers they name, their
//! headers, and their children (lines, tax lines, adjustments, addresses, summary), all with
//! set-based statements (`unnest` of one array per column: one statement per table per batch).
//!
//! An order is **unchanged** when the content hash stored in its annotations
//! (`strata.dev/ingest-hash`) equals the new one: nothing is written and its `update_ts` stays.
//! It is **stale** when PostgreSQL holds a newer Shopify version (`shopify.com/updated-at`):
//! nothing is written either (re-running an old file never undoes a newer sync). Otherwise it is
//! new or **changed**: the header is upserted and its children replaced as a whole (deleted and
//! inserted again under the same deterministic uids), so a line removed on Shopify's side does not
//! linger.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

use super::error::{IngestError, pg};
use super::map::{MappedOrder, key};

/// The stored state of the batch's orders.
const LOOKUP_SQL: &str = "SELECT external_id, uid, annotations ->> 'strata.dev/ingest-hash', \
     annotations ->> 'shopify.com/updated-at' \
     FROM order_header WHERE external_id = ANY($1::text[])";

/// Inserts missing customers, then reports every customer's uid and whether it is new.
const CUSTOMERS_SQL: &str = "WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], \
       $3::text[], $4::text[], $5::text[]) AS u(uid, external_id, email, first_name, last_name)), \
     ins AS (INSERT INTO customer (uid, external_id, email, first_name, last_name, annotations) \
       SELECT uid, external_id, email, first_name, last_name, \
         jsonb_build_object('strata.dev/source', 'shopify') FROM u \
       ON CONFLICT (external_id) DO NOTHING RETURNING uid, external_id) \
     SELECT u.external_id, coalesce(ins.uid, c.uid), ins.uid IS NOT NULL \
     FROM u LEFT JOIN ins ON ins.external_id = u.external_id \
     LEFT JOIN customer c ON c.external_id = u.external_id";

/// `jsonb_build_object('value', <amount as sent>, 'currency_code', <currency>)`.
macro_rules! raw {
    ($col:literal, $cur:literal) => {
        concat!(
            "jsonb_build_object('value', ",
            $col,
            "::text, 'currency_code', ",
            $cur,
            ")"
        )
    };
}

/// Upserts the headers of new and changed orders; returns each one's stored uid.
const HEADERS_SQL: &str = concat!(
    "INSERT INTO order_header AS h (uid, order_number, display_id, external_id, store_uid, \
       customer_uid, sales_channel_uid, email, currency_code, source_channel, \
       item_total, raw_item_total, subtotal, raw_subtotal, discount_total, raw_discount_total, \
       shipping_total, raw_shipping_total, tax_total, raw_tax_total, total, raw_total, \
       tax_rate, quantity, placed_ts, canceled_ts, status, annotations, create_ts) \
     SELECT u.uid, u.order_number, u.display_id, u.external_id, $1::text, u.customer_uid, $2::text, \
       u.email, u.cur, 'shopify', \
       u.item_total, ",
    raw!("u.item_total", "u.cur"),
    ", u.subtotal, ",
    raw!("u.subtotal", "u.cur"),
    ", \
       u.discount_total, ",
    raw!("u.discount_total", "u.cur"),
    ", \
       u.shipping_total, ",
    raw!("u.shipping_total", "u.cur"),
    ", \
       u.tax_total, ",
    raw!("u.tax_total", "u.cur"),
    ", u.total, ",
    raw!("u.total", "u.cur"),
    ", \
       u.tax_rate, u.quantity, u.placed_ts, u.canceled_ts, \
       jsonb_build_object('phase', u.phase, 'conditions', '[]'::jsonb), u.annotations, u.create_ts \
     FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], \
       $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], \
       $14::numeric[], $15::numeric[], $16::numeric[], $17::int[], $18::timestamptz[], \
       $19::timestamptz[], $20::text[], $21::jsonb[], $22::timestamptz[]) \
       AS u(uid, order_number, display_id, external_id, customer_uid, email, cur, item_total, \
            subtotal, discount_total, shipping_total, tax_total, total, tax_rate, quantity, \
            placed_ts, canceled_ts, phase, annotations, create_ts) \
     ON CONFLICT (external_id) DO UPDATE SET order_number = excluded.order_number, \
       display_id = excluded.display_id, store_uid = excluded.store_uid, \
       customer_uid = excluded.customer_uid, sales_channel_uid = excluded.sales_channel_uid, \
       email = excluded.email, currency_code = excluded.currency_code, \
       source_channel = excluded.source_channel, \
       item_total = excluded.item_total, raw_item_total = excluded.raw_item_total, \
       subtotal = excluded.subtotal, raw_subtotal = excluded.raw_subtotal, \
       discount_total = excluded.discount_total, raw_discount_total = excluded.raw_discount_total, \
       shipping_total = excluded.shipping_total, raw_shipping_total = excluded.raw_shipping_total, \
       tax_total = excluded.tax_total, raw_tax_total = excluded.raw_tax_total, \
       total = excluded.total, raw_total = excluded.raw_total, tax_rate = excluded.tax_rate, \
       quantity = excluded.quantity, placed_ts = excluded.placed_ts, \
       canceled_ts = excluded.canceled_ts, \
       status = jsonb_set(h.status, '{phase}', excluded.status -> 'phase'), \
       annotations = h.annotations || excluded.annotations, update_ts = now() \
     RETURNING h.external_id, h.uid"
);

/// The children of changed orders, deleted before they are inserted again.
const DELETE_TAX_LINES_SQL: &str = "DELETE FROM order_line_item_tax_line WHERE line_item_uid IN \
     (SELECT uid FROM order_line_item WHERE order_uid = ANY($1::text[]))";
const DELETE_ADJUSTMENTS_SQL: &str = "DELETE FROM order_line_item_adjustment WHERE line_item_uid \
     IN (SELECT uid FROM order_line_item WHERE order_uid = ANY($1::text[]))";
const DELETE_LINES_SQL: &str = "DELETE FROM order_line_item WHERE order_uid = ANY($1::text[])";
const DELETE_ADDRESSES_SQL: &str = "DELETE FROM order_address WHERE order_uid = ANY($1::text[])";
const DELETE_SUMMARIES_SQL: &str = "DELETE FROM order_summary WHERE order_uid = ANY($1::text[])";

const LINES_SQL: &str = concat!(
    "INSERT INTO order_line_item (uid, order_uid, product_uid, external_id, title, \
       product_title, product_handle, variant_title, variant_sku, quantity, \
       unit_price, raw_unit_price, subtotal, raw_subtotal, discount_total, raw_discount_total, \
       tax_total, raw_tax_total, total, raw_total, annotations, create_ts) \
     SELECT u.uid, u.order_uid, u.product_uid, u.external_id, u.title, u.product_title, \
       u.product_handle, u.variant_title, u.sku, u.quantity, \
       u.unit_price, ",
    raw!("u.unit_price", "u.cur"),
    ", u.subtotal, ",
    raw!("u.subtotal", "u.cur"),
    ", \
       u.discount, ",
    raw!("u.discount", "u.cur"),
    ", u.tax, ",
    raw!("u.tax", "u.cur"),
    ", \
       u.total, ",
    raw!("u.total", "u.cur"),
    ", u.annotations, u.create_ts \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
       $7::text[], $8::text[], $9::text[], $10::int[], $11::numeric[], $12::numeric[], \
       $13::numeric[], $14::numeric[], $15::numeric[], $16::text[], $17::jsonb[], \
       $18::timestamptz[]) \
       AS u(uid, order_uid, product_uid, external_id, title, product_title, product_handle, \
            variant_title, sku, quantity, unit_price, subtotal, discount, tax, total, cur, \
            annotations, create_ts)"
);

const TAX_LINES_SQL: &str = concat!(
    "INSERT INTO order_line_item_tax_line (uid, line_item_uid, code, description, rate, amount, \
       raw_amount, create_ts) \
     SELECT u.uid, u.line_item_uid, u.code, u.description, u.rate, u.amount, ",
    raw!("u.amount", "u.cur"),
    ", u.create_ts \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], \
       $7::text[], $8::timestamptz[]) \
       AS u(uid, line_item_uid, code, description, rate, amount, cur, create_ts)"
);

const ADJUSTMENTS_SQL: &str = concat!(
    "INSERT INTO order_line_item_adjustment (uid, line_item_uid, code, description, amount, \
       raw_amount, create_ts) \
     SELECT u.uid, u.line_item_uid, u.code, u.description, u.amount, ",
    raw!("u.amount", "u.cur"),
    ", u.create_ts \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], \
       $7::timestamptz[]) AS u(uid, line_item_uid, code, description, amount, cur, create_ts)"
);

const ADDRESSES_SQL: &str = "INSERT INTO order_address (uid, order_uid, address_role, \
       customer_uid, first_name, last_name, company, address_1, address_2, city, country_code, \
       province, postal_code, phone, create_ts) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
       $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
       $13::text[], $14::text[], $15::timestamptz[])";

const SUMMARIES_SQL: &str = "INSERT INTO order_summary (uid, order_uid, version, totals, \
       create_ts) \
     SELECT u.uid, u.order_uid, 1, u.totals, u.create_ts \
     FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[]) \
       AS u(uid, order_uid, totals, create_ts)";

/// What PostgreSQL holds for an order of the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// No row: insert.
    New,
    /// A row with other content: update.
    Changed,
    /// The same content: leave it.
    Unchanged,
    /// A row from a newer Shopify version: leave it.
    Stale,
}

/// Decides, per order of the batch, what to do, and puts the stored uid on existing orders.
pub(crate) async fn classify(
    tx: &Transaction<'_>,
    orders: &mut [MappedOrder],
) -> Result<Vec<Stored>, IngestError> {
    let gids: Vec<&str> = orders.iter().map(|o| o.gid.as_str()).collect();
    let statement = tx
        .prepare_cached(LOOKUP_SQL)
        .await
        .map_err(pg("preparing the order lookup"))?;
    let rows = tx
        .query(&statement, &[&gids])
        .await
        .map_err(pg("looking up the stored orders"))?;
    let mut stored: HashMap<String, (String, Option<String>, Option<String>)> = rows
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect();
    Ok(orders
        .iter_mut()
        .map(|order| match stored.remove(&order.gid) {
            None => Stored::New,
            Some((uid, hash, updated_at)) => {
                order.uid = uid;
                let stored_at = updated_at
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if hash.as_deref() == Some(order.hash.as_str()) {
                    Stored::Unchanged
                } else if stored_at.is_some_and(|t| t > order.updated_at) {
                    Stored::Stale
                } else {
                    Stored::Changed
                }
            }
        })
        .collect())
}

/// Inserts the customers the orders name (existing ones are left as they are) and puts their
/// uids on the orders; returns how many are new.
pub(crate) async fn customers(
    tx: &Transaction<'_>,
    orders: &mut [MappedOrder],
) -> Result<u64, IngestError> {
    // One row per customer: the first order of the batch naming it provides email and name.
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, order) in orders.iter().enumerate() {
        if let Some(c) = &order.customer {
            first.entry(c.gid.as_str()).or_insert(i);
        }
    }
    if first.is_empty() {
        return Ok(0);
    }
    let mut picked: Vec<usize> = first.into_values().collect();
    picked.sort_unstable();
    let customers: Vec<_> = picked
        .iter()
        .filter_map(|&i| orders[i].customer.as_ref())
        .collect();
    let uids: Vec<&str> = customers.iter().map(|c| c.uid.as_str()).collect();
    let gids: Vec<&str> = customers.iter().map(|c| c.gid.as_str()).collect();
    let emails: Vec<Option<&str>> = customers.iter().map(|c| c.email.as_deref()).collect();
    let first_names: Vec<Option<&str>> =
        customers.iter().map(|c| c.first_name.as_deref()).collect();
    let last_names: Vec<Option<&str>> = customers.iter().map(|c| c.last_name.as_deref()).collect();
    let statement = tx
        .prepare_cached(CUSTOMERS_SQL)
        .await
        .map_err(pg("preparing the customer upsert"))?;
    let rows = tx
        .query(
            &statement,
            &[&uids, &gids, &emails, &first_names, &last_names],
        )
        .await
        .map_err(pg("upserting customers"))?;
    let mut new = 0;
    let mut resolved: HashMap<String, String> = HashMap::with_capacity(rows.len());
    for row in rows {
        new += u64::from(row.get::<_, bool>(2));
        if let Some(uid) = row.get::<_, Option<String>>(1) {
            resolved.insert(row.get(0), uid);
        }
    }
    for order in orders.iter_mut() {
        order.customer_uid = order
            .customer
            .as_ref()
            .and_then(|c| resolved.get(&c.gid).cloned());
    }
    Ok(new)
}

/// Row counts of the children written.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Written {
    pub lines: u64,
    pub tax_lines: u64,
    pub adjustments: u64,
    pub addresses: u64,
}

/// The annotations an order's header is written with.
fn header_annotations(order: &MappedOrder) -> Value {
    let mut a = serde_json::Map::with_capacity(order.annotations.len() + 1);
    for (k, v) in &order.annotations {
        a.insert((*k).to_owned(), Value::from(v.as_str()));
    }
    a.insert(key::HASH.to_owned(), Value::from(order.hash.as_str()));
    Value::Object(a)
}

/// Upserts the headers of `orders` (new and changed ones); returns each one's stored uid by
/// GID.
pub(crate) async fn headers(
    tx: &Transaction<'_>,
    store_uid: &str,
    sales_channel_uid: &str,
    orders: &[&MappedOrder],
) -> Result<HashMap<String, String>, IngestError> {
    if orders.is_empty() {
        return Ok(HashMap::new());
    }
    let n = orders.len();
    let mut uids = Vec::with_capacity(n);
    let mut numbers = Vec::with_capacity(n);
    let mut display_ids = Vec::with_capacity(n);
    let mut external_ids = Vec::with_capacity(n);
    let mut customers = Vec::with_capacity(n);
    let mut emails = Vec::with_capacity(n);
    let mut currencies = Vec::with_capacity(n);
    let mut money: [Vec<Decimal>; 7] = Default::default();
    let mut quantities = Vec::with_capacity(n);
    let mut placed = Vec::with_capacity(n);
    let mut canceled = Vec::with_capacity(n);
    let mut phases = Vec::with_capacity(n);
    let mut annotations = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    for o in orders.iter() {
        uids.push(o.uid.as_str());
        numbers.push(o.order_number.as_str());
        display_ids.push(o.display_id);
        external_ids.push(o.gid.as_str());
        customers.push(o.customer_uid.as_deref());
        emails.push(o.email.as_deref());
        currencies.push(o.currency.as_str());
        for (column, value) in money.iter_mut().zip([
            o.item_total,
            o.subtotal,
            o.discount_total,
            o.shipping_total,
            o.tax_total,
            o.total,
            o.tax_rate,
        ]) {
            column.push(value);
        }
        quantities.push(o.quantity);
        placed.push(o.placed_ts);
        canceled.push(o.canceled_ts);
        phases.push(o.phase);
        annotations.push(header_annotations(o));
        created.push(o.created_ts);
    }
    let statement = tx
        .prepare_cached(HEADERS_SQL)
        .await
        .map_err(pg("preparing the order header upsert"))?;
    let rows = tx
        .query(
            &statement,
            &[
                &store_uid,
                &sales_channel_uid,
                &uids,
                &numbers,
                &display_ids,
                &external_ids,
                &customers,
                &emails,
                &currencies,
                &money[0],
                &money[1],
                &money[2],
                &money[3],
                &money[4],
                &money[5],
                &money[6],
                &quantities,
                &placed,
                &canceled,
                &phases,
                &annotations,
                &created,
            ],
        )
        .await
        .map_err(pg("upserting order headers"))?;
    let stored: HashMap<String, String> = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Some(missing) = orders.iter().find(|o| !stored.contains_key(&o.gid)) {
        return Err(IngestError::Internal(format!(
            "order {} has no row after its upsert",
            missing.gid
        )));
    }
    Ok(stored)
}

/// Replaces the children of `orders`: deletes those of the `changed` ones, then inserts every
/// order's lines, tax lines, adjustments, addresses and summary, pipelined in one round trip.
pub(crate) async fn children(
    tx: &Transaction<'_>,
    orders: &[&MappedOrder],
    changed: &[String],
) -> Result<Written, IngestError> {
    let mut written = Written::default();
    if orders.is_empty() {
        return Ok(written);
    }

    // Lines.
    let lines: Vec<(&MappedOrder, &super::map::MappedLine)> = orders
        .iter()
        .flat_map(|o| o.lines.iter().map(move |l| (*o, l)))
        .collect();
    let l_uids: Vec<&str> = lines.iter().map(|(_, l)| l.uid.as_str()).collect();
    let l_orders: Vec<&str> = lines.iter().map(|(o, _)| o.uid.as_str()).collect();
    let l_products: Vec<Option<&str>> = lines
        .iter()
        .map(|(_, l)| l.product_uid.as_deref())
        .collect();
    let l_gids: Vec<&str> = lines.iter().map(|(_, l)| l.gid.as_str()).collect();
    let l_titles: Vec<&str> = lines.iter().map(|(_, l)| l.title.as_str()).collect();
    let l_product_titles: Vec<Option<&str>> = lines
        .iter()
        .map(|(_, l)| l.product_title.as_deref())
        .collect();
    let l_handles: Vec<Option<&str>> = lines
        .iter()
        .map(|(_, l)| l.product_handle.as_deref())
        .collect();
    let l_variants: Vec<Option<&str>> = lines
        .iter()
        .map(|(_, l)| l.variant_title.as_deref())
        .collect();
    let l_skus: Vec<Option<&str>> = lines.iter().map(|(_, l)| l.sku.as_deref()).collect();
    let l_quantities: Vec<i32> = lines.iter().map(|(_, l)| l.quantity).collect();
    let l_units: Vec<Decimal> = lines.iter().map(|(_, l)| l.unit_price).collect();
    let l_subtotals: Vec<Decimal> = lines.iter().map(|(_, l)| l.subtotal).collect();
    let l_discounts: Vec<Decimal> = lines.iter().map(|(_, l)| l.discount).collect();
    let l_taxes: Vec<Decimal> = lines.iter().map(|(_, l)| l.tax).collect();
    let l_totals: Vec<Decimal> = lines.iter().map(|(_, l)| l.total).collect();
    let l_currencies: Vec<&str> = lines.iter().map(|(o, _)| o.currency.as_str()).collect();
    let l_annotations: Vec<Value> = lines
        .iter()
        .map(|(_, l)| match &l.vendor {
            Some(v) => json!({ key::VENDOR: v }),
            None => json!({}),
        })
        .collect();
    let l_created: Vec<DateTime<Utc>> = lines.iter().map(|(o, _)| o.created_ts).collect();

    // Tax lines and adjustments.
    let taxes: Vec<(&MappedOrder, &str, &super::map::MappedTax)> = lines
        .iter()
        .flat_map(|(o, l)| l.tax_lines.iter().map(move |t| (*o, l.uid.as_str(), t)))
        .collect();
    let t_uids: Vec<&str> = taxes.iter().map(|(_, _, t)| t.uid.as_str()).collect();
    let t_lines: Vec<&str> = taxes.iter().map(|(_, l, _)| *l).collect();
    let t_codes: Vec<&str> = taxes.iter().map(|(_, _, t)| t.code.as_str()).collect();
    let t_descriptions: Vec<&str> = taxes
        .iter()
        .map(|(_, _, t)| t.description.as_str())
        .collect();
    let t_rates: Vec<Decimal> = taxes.iter().map(|(_, _, t)| t.rate).collect();
    let t_amounts: Vec<Decimal> = taxes.iter().map(|(_, _, t)| t.amount).collect();
    let t_currencies: Vec<&str> = taxes.iter().map(|(o, _, _)| o.currency.as_str()).collect();
    let t_created: Vec<DateTime<Utc>> = taxes.iter().map(|(o, _, _)| o.created_ts).collect();

    let adjustments: Vec<(&MappedOrder, &str, &super::map::MappedAdjustment)> = lines
        .iter()
        .flat_map(|(o, l)| l.adjustments.iter().map(move |a| (*o, l.uid.as_str(), a)))
        .collect();
    let a_uids: Vec<&str> = adjustments.iter().map(|(_, _, a)| a.uid.as_str()).collect();
    let a_lines: Vec<&str> = adjustments.iter().map(|(_, l, _)| *l).collect();
    let a_codes: Vec<Option<&str>> = adjustments
        .iter()
        .map(|(_, _, a)| a.code.as_deref())
        .collect();
    let a_descriptions: Vec<&str> = adjustments.iter().map(|(_, _, a)| a.description).collect();
    let a_amounts: Vec<Decimal> = adjustments.iter().map(|(_, _, a)| a.amount).collect();
    let a_currencies: Vec<&str> = adjustments
        .iter()
        .map(|(o, _, _)| o.currency.as_str())
        .collect();
    let a_created: Vec<DateTime<Utc>> = adjustments.iter().map(|(o, _, _)| o.created_ts).collect();

    // Addresses and summaries.
    let addresses: Vec<(&MappedOrder, &super::map::MappedAddress)> = orders
        .iter()
        .flat_map(|o| o.addresses.iter().map(move |a| (*o, a)))
        .collect();
    let d_uids: Vec<&str> = addresses.iter().map(|(_, a)| a.uid.as_str()).collect();
    let d_orders: Vec<&str> = addresses.iter().map(|(o, _)| o.uid.as_str()).collect();
    let d_roles: Vec<&str> = addresses.iter().map(|(_, a)| a.role).collect();
    let d_customers: Vec<Option<&str>> = addresses
        .iter()
        .map(|(o, _)| o.customer_uid.as_deref())
        .collect();
    let d_first: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.first_name.as_deref())
        .collect();
    let d_last: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.last_name.as_deref())
        .collect();
    let d_company: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.company.as_deref())
        .collect();
    let d_address_1: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.address_1.as_deref())
        .collect();
    let d_address_2: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.address_2.as_deref())
        .collect();
    let d_city: Vec<Option<&str>> = addresses.iter().map(|(_, a)| a.city.as_deref()).collect();
    let d_country: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.country_code.as_deref())
        .collect();
    let d_province: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.province.as_deref())
        .collect();
    let d_postal: Vec<Option<&str>> = addresses
        .iter()
        .map(|(_, a)| a.postal_code.as_deref())
        .collect();
    let d_phone: Vec<Option<&str>> = addresses.iter().map(|(_, a)| a.phone.as_deref()).collect();
    let d_created: Vec<DateTime<Utc>> = addresses.iter().map(|(o, _)| o.created_ts).collect();

    let s_uids: Vec<String> = orders
        .iter()
        .map(|o| {
            super::ids::derive(
                super::ids::prefix::SUMMARY,
                "order_summary",
                &format!("{}:1", o.gid),
                Some(o.created_ts),
            )
        })
        .collect();
    let s_orders: Vec<&str> = orders.iter().map(|o| o.uid.as_str()).collect();
    let s_totals: Vec<Value> = orders.iter().map(|o| json!(o.totals)).collect();
    let s_created: Vec<DateTime<Utc>> = orders.iter().map(|o| o.created_ts).collect();

    let (
        del_tax,
        del_adj,
        del_lines,
        del_addr,
        del_sum,
        ins_lines,
        ins_tax,
        ins_adj,
        ins_addr,
        ins_sum,
    ) = futures_util::try_join!(
        tx.prepare_cached(DELETE_TAX_LINES_SQL),
        tx.prepare_cached(DELETE_ADJUSTMENTS_SQL),
        tx.prepare_cached(DELETE_LINES_SQL),
        tx.prepare_cached(DELETE_ADDRESSES_SQL),
        tx.prepare_cached(DELETE_SUMMARIES_SQL),
        tx.prepare_cached(LINES_SQL),
        tx.prepare_cached(TAX_LINES_SQL),
        tx.prepare_cached(ADJUSTMENTS_SQL),
        tx.prepare_cached(ADDRESSES_SQL),
        tx.prepare_cached(SUMMARIES_SQL),
    )
    .map_err(pg("preparing the order children statements"))?;

    let deletes = async {
        if changed.is_empty() {
            return Ok(());
        }
        let params: [&(dyn ToSql + Sync); 1] = [&changed];
        futures_util::try_join!(
            tx.execute(&del_tax, &params),
            tx.execute(&del_adj, &params),
            tx.execute(&del_lines, &params),
            tx.execute(&del_addr, &params),
            tx.execute(&del_sum, &params),
        )
        .map(|_| ())
        .map_err(pg("deleting the children of changed orders"))
    };
    // Sent in this order when first polled: the deletes reach PostgreSQL before the inserts.
    let (_, n_lines, n_tax, n_adj, n_addr, _) = futures_util::try_join!(
        deletes,
        async {
            tx.execute(
                &ins_lines,
                &[
                    &l_uids,
                    &l_orders,
                    &l_products,
                    &l_gids,
                    &l_titles,
                    &l_product_titles,
                    &l_handles,
                    &l_variants,
                    &l_skus,
                    &l_quantities,
                    &l_units,
                    &l_subtotals,
                    &l_discounts,
                    &l_taxes,
                    &l_totals,
                    &l_currencies,
                    &l_annotations,
                    &l_created,
                ],
            )
            .await
            .map_err(pg("inserting order line items"))
        },
        async {
            tx.execute(
                &ins_tax,
                &[
                    &t_uids,
                    &t_lines,
                    &t_codes,
                    &t_descriptions,
                    &t_rates,
                    &t_amounts,
                    &t_currencies,
                    &t_created,
                ],
            )
            .await
            .map_err(pg("inserting line item tax lines"))
        },
        async {
            tx.execute(
                &ins_adj,
                &[
                    &a_uids,
                    &a_lines,
                    &a_codes,
                    &a_descriptions,
                    &a_amounts,
                    &a_currencies,
                    &a_created,
                ],
            )
            .await
            .map_err(pg("inserting line item adjustments"))
        },
        async {
            tx.execute(
                &ins_addr,
                &[
                    &d_uids,
                    &d_orders,
                    &d_roles,
                    &d_customers,
                    &d_first,
                    &d_last,
                    &d_company,
                    &d_address_1,
                    &d_address_2,
                    &d_city,
                    &d_country,
                    &d_province,
                    &d_postal,
                    &d_phone,
                    &d_created,
                ],
            )
            .await
            .map_err(pg("inserting order addresses"))
        },
        async {
            tx.execute(&ins_sum, &[&s_uids, &s_orders, &s_totals, &s_created])
                .await
                .map_err(pg("inserting order summaries"))
        },
    )?;
    written.lines = n_lines;
    written.tax_lines = n_tax;
    written.adjustments = n_adj;
    written.addresses = n_addr;
    Ok(written)
}
