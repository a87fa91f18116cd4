//! Orders as the daily sync reads them: the bulk query ([`orders_bulk_query`]) and the typed
//! model its JSONL lines are read into ([`Order`], [`LineItem`]…), for `order_header`,
//! `order_line_item`, their tax lines, discounts, addresses, and the products the items refer
//! to.
//!
//! In a bulk result every order is one line and each of its line items a later line carrying
//! `__parentId` (the order's GID); [`crate::jsonl::OrdersReader`] puts them back together.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Gid;
use crate::jsonl::{BulkObject, BulkRecord, Quarantined};
use crate::model::{
    Address, FinancialStatus, FulfillmentStatus, Money, ObjectRef, ProductStatus, TaxLine,
    money_bag, null_as_default, opt_money_bag,
};

/// `shopMoney { amount currencyCode }`, the selection of every `…Set` field.
const MONEY: &str = "shopMoney { amount currencyCode }";

/// The fields of a `MailingAddress` that [`Address`] reads.
const ADDRESS: &str = "name firstName lastName company address1 address2 city province provinceCode country countryCodeV2 zip phone";

/// The bulk query of every order updated at or after `updated_since` (every order when `None`),
/// with its line items. Shopify's search syntax: `updated_at:>='2024-05-01T00:00:00Z'`,
/// inclusive, so a sync restarting from its watermark sees the orders updated at that instant
/// again (upserts are idempotent).
pub fn orders_bulk_query(updated_since: Option<DateTime<Utc>>) -> String {
    let filter = match updated_since {
        Some(t) => format!(
            "(query: \"updated_at:>='{}'\")",
            t.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => String::new(),
    };
    format!(
        r#"{{
  orders{filter} {{
    edges {{
      node {{
        id
        name
        createdAt
        updatedAt
        processedAt
        cancelledAt
        cancelReason
        displayFinancialStatus
        displayFulfillmentStatus
        currencyCode
        email
        tags
        discountCodes
        totalPriceSet {{ {MONEY} }}
        subtotalPriceSet {{ {MONEY} }}
        totalTaxSet {{ {MONEY} }}
        totalDiscountsSet {{ {MONEY} }}
        totalShippingPriceSet {{ {MONEY} }}
        shippingAddress {{ {ADDRESS} }}
        billingAddress {{ {ADDRESS} }}
        customer {{ id }}
        taxLines {{ title rate ratePercentage priceSet {{ {MONEY} }} }}
        refunds {{ id createdAt totalRefundedSet {{ {MONEY} }} }}
        lineItems {{
          edges {{
            node {{
              id
              name
              title
              sku
              vendor
              quantity
              originalUnitPriceSet {{ {MONEY} }}
              originalTotalSet {{ {MONEY} }}
              discountedTotalSet {{ {MONEY} }}
              totalDiscountSet {{ {MONEY} }}
              discountAllocations {{ allocatedAmountSet {{ {MONEY} }} }}
              taxLines {{ title rate ratePercentage priceSet {{ {MONEY} }} }}
              product {{ id title vendor productType tags status createdAt updatedAt publishedAt }}
              variant {{ id sku title }}
            }}
          }}
        }}
      }}
    }}
  }}
}}"#
    )
}

/// An order (one top-level line of the bulk result) with its line items (its child lines).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// `gid://shopify/Order/…`; [`Gid::id`] is the numeric id.
    pub id: Gid,
    /// The order's name shown to the merchant (`#1001`).
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed: the sync's watermark.
    pub updated_at: DateTime<Utc>,
    /// When it was processed (imported orders may have an earlier date than `created_at`).
    pub processed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why (`CUSTOMER`, `FRAUD`, …).
    pub cancel_reason: Option<String>,
    /// Payment status.
    pub display_financial_status: Option<FinancialStatus>,
    /// Fulfillment status.
    pub display_fulfillment_status: Option<FulfillmentStatus>,
    /// The shop currency of the amounts.
    pub currency_code: String,
    /// The customer's email.
    pub email: Option<String>,
    /// Merchant tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Discount codes used.
    #[serde(default, deserialize_with = "null_as_default")]
    pub discount_codes: Vec<String>,
    /// Total (items after discounts, shipping, taxes).
    #[serde(rename = "totalPriceSet", with = "money_bag")]
    pub total_price: Money,
    /// Line items after their discounts, before shipping and taxes.
    #[serde(rename = "subtotalPriceSet", with = "opt_money_bag", default)]
    pub subtotal_price: Option<Money>,
    /// Total tax.
    #[serde(rename = "totalTaxSet", with = "opt_money_bag", default)]
    pub total_tax: Option<Money>,
    /// Total discounts.
    #[serde(rename = "totalDiscountsSet", with = "opt_money_bag", default)]
    pub total_discounts: Option<Money>,
    /// Shipping charged.
    #[serde(rename = "totalShippingPriceSet", with = "money_bag")]
    pub total_shipping_price: Money,
    /// Where it ships.
    pub shipping_address: Option<Address>,
    /// Where it is billed.
    pub billing_address: Option<Address>,
    /// The customer (none for some POS or draft orders).
    pub customer: Option<ObjectRef>,
    /// The order's taxes, by tax.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tax_lines: Vec<TaxLine>,
    /// Refunds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub refunds: Vec<Refund>,
    /// The line items, from the child lines (the order's line itself has none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub line_items: Vec<LineItem>,
}

/// A line of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    /// `gid://shopify/LineItem/…`.
    pub id: Gid,
    /// Product and variant title.
    pub name: String,
    /// Product title at the time of the order.
    pub title: Option<String>,
    /// SKU at the time of the order.
    pub sku: Option<String>,
    /// Vendor at the time of the order.
    pub vendor: Option<String>,
    /// Units ordered.
    pub quantity: i64,
    /// Unit price before discounts.
    #[serde(rename = "originalUnitPriceSet", with = "money_bag")]
    pub original_unit_price: Money,
    /// `quantity × original_unit_price`.
    #[serde(rename = "originalTotalSet", with = "opt_money_bag", default)]
    pub original_total: Option<Money>,
    /// Total after the line's discounts.
    #[serde(rename = "discountedTotalSet", with = "opt_money_bag", default)]
    pub discounted_total: Option<Money>,
    /// The discounts allocated to this line.
    #[serde(rename = "totalDiscountSet", with = "opt_money_bag", default)]
    pub total_discount: Option<Money>,
    /// Each discount allocated to the line.
    #[serde(default, deserialize_with = "null_as_default")]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// The line's taxes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tax_lines: Vec<TaxLine>,
    /// The product as it is now (`None` if it was deleted).
    pub product: Option<ProductRef>,
    /// The variant as it is now (`None` if it was deleted).
    pub variant: Option<VariantRef>,
}

/// A discount's share of a line (`DiscountAllocation`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountAllocation {
    /// The amount taken off the line.
    #[serde(rename = "allocatedAmountSet", with = "money_bag")]
    pub allocated_amount: Money,
}

/// The product of a line item, with what the products refresh needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductRef {
    /// `gid://shopify/Product/…`.
    pub id: Gid,
    /// Title.
    pub title: String,
    /// Vendor.
    pub vendor: Option<String>,
    /// Product type.
    pub product_type: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Status (the product's phase).
    pub status: Option<ProductStatus>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// Publication on the online store (`None` when unpublished).
    pub published_at: Option<DateTime<Utc>>,
}

/// The variant of a line item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantRef {
    /// `gid://shopify/ProductVariant/…`.
    pub id: Gid,
    /// SKU now.
    pub sku: Option<String>,
    /// Variant title.
    pub title: Option<String>,
}

/// A refund of an order (totals only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// `gid://shopify/Refund/…`.
    pub id: Gid,
    /// When.
    pub created_at: Option<DateTime<Utc>>,
    /// How much.
    #[serde(rename = "totalRefundedSet", with = "opt_money_bag", default)]
    pub total_refunded: Option<Money>,
}

impl Order {
    /// Units over all line items.
    pub fn total_quantity(&self) -> i64 {
        self.line_items.iter().map(|l| l.quantity).sum()
    }

    /// Sum of the line items' discounted totals (equals the subtotal for orders without
    /// order-level adjustments).
    pub fn line_items_total(&self) -> Decimal {
        self.line_items
            .iter()
            .filter_map(|l| l.discounted_total.as_ref())
            .map(|m| m.amount)
            .sum()
    }
}

impl BulkObject for Order {
    const KIND: &'static str = "Order";

    fn from_record(
        record: &BulkRecord,
        quarantined: &mut Vec<Quarantined>,
    ) -> Result<Self, String> {
        let mut order: Order = record
            .root
            .decode()
            .map_err(|e| format!("the order line does not decode: {e}"))?;
        order.line_items.reserve(record.children.len());
        for child in &record.children {
            let kind = child.kind();
            if kind != Some("LineItem") {
                quarantined.push(Quarantined {
                    line_no: child.line_no,
                    reason: format!(
                        "unexpected child {} of order {} (the orders query selects only lineItems)",
                        kind.unwrap_or("without an id"),
                        order.id
                    ),
                    raw: child.excerpt(),
                    parent_id: Some(order.id.to_string()),
                });
                continue;
            }
            match child.decode::<LineItem>() {
                Ok(item) => order.line_items.push(item),
                Err(e) => quarantined.push(Quarantined {
                    line_no: child.line_no,
                    reason: format!(
                        "line item of order {} does not decode: {e}; the order is returned without it",
                        order.id
                    ),
                    raw: child.excerpt(),
                    parent_id: Some(order.id.to_string()),
                }),
            }
        }
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_filters_on_updated_at_inclusively() {
        let t = DateTime::parse_from_rfc3339("2024-05-01T12:30:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        let q = orders_bulk_query(Some(t));
        assert!(
            q.contains(r#"orders(query: "updated_at:>='2024-05-01T10:30:00Z'")"#),
            "{q}"
        );
        assert!(!orders_bulk_query(None).contains("query:"));
        // Balanced braces: a typo here would only show against the real Shopify.
        assert_eq!(q.matches('{').count(), q.matches('}').count());
    }

    #[test]
    fn decodes_a_shopify_shaped_order_line() {
        let line = r##"{"id":"gid://shopify/Order/5001","name":"#1001","createdAt":"2024-01-02T03:04:05Z","updatedAt":"2024-01-03T00:00:00Z","processedAt":"2024-01-02T03:04:05Z","cancelledAt":null,"cancelReason":null,"displayFinancialStatus":"PAID","displayFulfillmentStatus":"FULFILLED","currencyCode":"USD","email":"a@example.com","tags":["vip"],"discountCodes":[],"totalPriceSet":{"shopMoney":{"amount":"24.0","currencyCode":"USD"}},"subtotalPriceSet":{"shopMoney":{"amount":"20.0","currencyCode":"USD"}},"totalTaxSet":{"shopMoney":{"amount":"4.0","currencyCode":"USD"}},"totalDiscountsSet":{"shopMoney":{"amount":"0.0","currencyCode":"USD"}},"totalShippingPriceSet":{"shopMoney":{"amount":"0.0","currencyCode":"USD"}},"shippingAddress":{"city":"Lyon","countryCodeV2":"FR"},"billingAddress":null,"customer":{"id":"gid://shopify/Customer/9"},"taxLines":[{"title":"VAT","rate":0.2,"ratePercentage":20.0,"priceSet":{"shopMoney":{"amount":"4.0","currencyCode":"USD"}}}],"refunds":[]}"##;
        let order: Order = serde_json::from_str(line).unwrap();
        assert_eq!(order.id.id(), 5001);
        assert_eq!(order.display_financial_status, Some(FinancialStatus::Paid));
        assert_eq!(order.total_price.amount, Decimal::new(24, 0));
        assert_eq!(
            order.shipping_address.unwrap().country_code.as_deref(),
            Some("FR")
        );
        assert_eq!(order.customer.unwrap().id.id(), 9);
        assert!(order.line_items.is_empty());
    }
}
