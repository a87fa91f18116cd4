//! Products for the catalog refresh (title, vendor, tags, status, publication), by bulk query,
//! each with its variants as child lines.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Gid;
use crate::jsonl::{BulkObject, BulkRecord, Quarantined};
use crate::model::{ProductStatus, null_as_default};

/// The bulk query of every product updated at or after `updated_since` (all when `None`), with
/// its variants.
pub fn products_bulk_query(updated_since: Option<DateTime<Utc>>) -> String {
    let filter = match updated_since {
        Some(t) => format!(
            "(query: \"updated_at:>='{}'\")",
            t.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => String::new(),
    };
    format!(
        r#"{{
  products{filter} {{
    edges {{
      node {{
        id
        title
        vendor
        productType
        tags
        status
        createdAt
        updatedAt
        publishedAt
        variants {{
          edges {{
            node {{ id sku title price }}
          }}
        }}
      }}
    }}
  }}
}}"#
    )
}

/// A product with its variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
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
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// Publication on the online store (`None` when unpublished).
    pub published_at: Option<DateTime<Utc>>,
    /// Variants (child lines).
    #[serde(default, deserialize_with = "null_as_default")]
    pub variants: Vec<Variant>,
}

/// A product variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    /// `gid://shopify/ProductVariant/…`.
    pub id: Gid,
    /// SKU.
    pub sku: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Price in the shop currency.
    pub price: Option<Decimal>,
}

impl BulkObject for Product {
    const KIND: &'static str = "Product";

    fn from_record(
        record: &BulkRecord,
        quarantined: &mut Vec<Quarantined>,
    ) -> Result<Self, String> {
        let mut product: Product = record
            .root
            .decode()
            .map_err(|e| format!("the product line does not decode: {e}"))?;
        for child in &record.children {
            let kind = child.kind();
            let decoded = if kind == Some("ProductVariant") {
                child.decode::<Variant>().map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "unexpected child {} (the products query selects only variants)",
                    kind.unwrap_or("without an id")
                ))
            };
            match decoded {
                Ok(variant) => product.variants.push(variant),
                Err(reason) => quarantined.push(Quarantined {
                    line_no: child.line_no,
                    reason: format!("child of product {}: {reason}", product.id),
                    raw: child.excerpt(),
                    parent_id: Some(product.id.to_string()),
                }),
            }
        }
        Ok(product)
    }
}
