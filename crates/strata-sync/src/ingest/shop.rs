//! The rows of the shop itself: its `store`, the `sales_channel` its orders come through and the
//! `stock_location` its shipments leave from, found or created once per [`super::OrderIngest`].
//!
//! `store` has no `external_id` column: the shop's myshopify domain is kept in its annotations
//! (`shopify.com/shop`), which is how an existing store is found (the oldest, if several carry
//! it). A store created here has uids derived from the domain, so two processes starting at
//! once create the same rows once. Its `default_currency_code` starts as `usd` and follows the
//! shop currency of the orders ingested (every Shopify `shopMoney` is in it).

use serde_json::json;
use strata_domain::Database;

use super::error::{IngestError, pg};
use super::ids::{self, prefix};
use super::map::key;

/// The shop's uids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShopRows {
    pub store_uid: String,
    pub sales_channel_uid: String,
    pub location_uid: String,
}

/// `my-shop`, `my-shop.myshopify.com`, `https://My-Shop.myshopify.com/` → `my-shop.myshopify.com`
/// (Shopify's client's normalisation, so both name a shop alike).
pub(crate) fn shop_domain(shop: &str) -> Result<String, IngestError> {
    strata_shopify::config::shop_domain(shop).map_err(|_| IngestError::InvalidShop {
        shop: shop.chars().take(120).collect(),
    })
}

const FIND_STORE_SQL: &str = "SELECT uid, default_sales_channel_uid, default_location_uid \
     FROM store WHERE annotations ->> 'shopify.com/shop' = $1 ORDER BY create_ts, uid LIMIT 1";

const INSERT_CHANNEL_SQL: &str = "INSERT INTO sales_channel (uid, name, description, annotations) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (uid) DO NOTHING";

const INSERT_LOCATION_SQL: &str = "INSERT INTO stock_location (uid, name, annotations) \
     VALUES ($1, $2, $3) ON CONFLICT (uid) DO NOTHING";

const INSERT_STORE_SQL: &str = "INSERT INTO store (uid, name, default_currency_code, \
       default_sales_channel_uid, default_location_uid, annotations) \
     VALUES ($1, $2, 'usd', $3, $4, $5) ON CONFLICT (uid) DO NOTHING";

/// Finds the shop's store (creating it, its sales channel and stock location if needed).
pub(crate) async fn ensure(db: &Database, domain: &str) -> Result<ShopRows, IngestError> {
    let mut client = db.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(pg("starting the store transaction"))?;
    let found = tx
        .query_opt(FIND_STORE_SQL, &[&domain])
        .await
        .map_err(pg("looking up the shop's store"))?;
    let derived = |p: &str, kind: &str| ids::derive(p, kind, domain, None);
    let annotations = json!({ key::SHOP: domain });
    let handle = domain.trim_end_matches(".myshopify.com");
    let (store_uid, channel, location) = match found {
        Some(row) => (
            row.get::<_, String>(0),
            row.get::<_, Option<String>>(1),
            row.get::<_, Option<String>>(2),
        ),
        None => (derived(prefix::STORE, "store"), None, None),
    };
    let sales_channel_uid = match channel {
        Some(uid) => uid,
        None => {
            let uid = derived(prefix::SALES_CHANNEL, "sales_channel");
            tx.execute(
                INSERT_CHANNEL_SQL,
                &[
                    &uid,
                    &format!("Shopify ({handle})"),
                    &format!("Orders synced from the Shopify shop {domain}"),
                    &annotations,
                ],
            )
            .await
            .map_err(pg("creating the shop's sales channel"))?;
            uid
        }
    };
    let location_uid = match location {
        Some(uid) => uid,
        None => {
            let uid = derived(prefix::STOCK_LOCATION, "stock_location");
            tx.execute(
                INSERT_LOCATION_SQL,
                &[
                    &uid,
                    &format!("Shopify fulfillment ({handle})"),
                    &annotations,
                ],
            )
            .await
            .map_err(pg("creating the shop's stock location"))?;
            uid
        }
    };
    tx.execute(
        INSERT_STORE_SQL,
        &[
            &store_uid,
            &handle,
            &sales_channel_uid,
            &location_uid,
            &annotations,
        ],
    )
    .await
    .map_err(pg("creating the shop's store"))?;
    tx.commit()
        .await
        .map_err(pg("committing the shop's store"))?;
    Ok(ShopRows {
        store_uid,
        sales_channel_uid,
        location_uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_are_normalized() {
        for s in [
            "my-shop",
            "my-shop.myshopify.com",
            "https://My-Shop.myshopify.com/",
        ] {
            assert_eq!(shop_domain(s).unwrap(), "my-shop.myshopify.com");
        }
        assert!(shop_domain("my shop").is_err());
        assert!(shop_domain("").is_err());
    }
}
