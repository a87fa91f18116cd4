//! The products refresh: `product` rows keyed by the Shopify product GID (`external_id`), and
//! their tags as `product_tag` rows listed in `product.tag_uids`.
//!
//! - **Phase**: `ACTIVE` and `UNLISTED` → `published`, `DRAFT` → `draft`, `ARCHIVED` →
//!   `archived`; a status this build does not know (or none) → `published` if `publishedAt` is
//!   set, else `draft`. Existing conditions are kept; only the phase is set.
//! - **Times**: `create_ts` = Shopify's `createdAt`, `published_ts` = `publishedAt` (the
//!   measurements take a product's launch as `published_ts`, else `create_ts`).
//! - **Handle**: the title as a slug plus the numeric Shopify id (`classic-mug-8000000000001`),
//!   unique because the id is; set when the row is created and never changed, so URLs stay put
//!   when a title changes.
//! - **Tags**: a tag `group:value` becomes (`category_name` = group, `tag_name` = value), any
//!   other tag (`category_name` = `shopify`, `tag_name` = the tag); the product's `tag_uids` are
//!   replaced by the Shopify tags (Shopify owns the products it syncs).
//! - **Changes**: a row is updated only when what Shopify says differs from it, and never by an
//!   older view of the product (`shopify.com/updated-at` in the annotations); else its
//!   `update_ts` stays.
//! - **Ids**: a product already in PostgreSQL under this GID keeps its uid (the seed's, say);
//!   new ones get a uid derived from the GID ([`super::ids`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deadpool_postgres::Transaction;
use serde_json::{Value, json};
use strata_shopify::ProductStatus;

use super::error::{IngestError, pg};
use super::ids::{self, prefix};
use super::map::{ProductInput, key, ts_text};

/// `category_name` of tags without a `group:` part.
pub const DEFAULT_TAG_CATEGORY: &str = "shopify";

/// Inserts missing tags, then reports every tag's uid (new or not) and whether it is new.
const TAGS_SQL: &str = "WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
       AS u(uid, category_name, tag_name)), \
     ins AS (INSERT INTO product_tag (uid, category_name, tag_name) \
       SELECT uid, category_name, tag_name FROM u \
       ON CONFLICT (category_name, tag_name) DO NOTHING \
       RETURNING uid, category_name, tag_name) \
     SELECT u.category_name, u.tag_name, coalesce(ins.uid, t.uid), ins.uid IS NOT NULL \
     FROM u LEFT JOIN ins ON ins.category_name = u.category_name AND ins.tag_name = u.tag_name \
     LEFT JOIN product_tag t ON t.category_name = u.category_name AND t.tag_name = u.tag_name";

/// Upserts the products (changed ones only, never from an older view), then reports every
/// product's uid and handle and whether it was inserted (true), updated (false) or left (NULL).
const PRODUCTS_SQL: &str = "WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], \
       $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::jsonb[], \
       $10::jsonb[]) \
       AS u(uid, external_id, title, handle, vendor, phase, published_ts, create_ts, tag_uids, \
            annotations)), \
     up AS (INSERT INTO product AS p (uid, external_id, title, handle, vendor, status, \
       published_ts, tag_uids, annotations, create_ts) \
       SELECT uid, external_id, title, handle, vendor, \
         jsonb_build_object('phase', phase, 'conditions', '[]'::jsonb), published_ts, tag_uids, \
         annotations, coalesce(create_ts, now()) FROM u \
       ON CONFLICT (external_id) DO UPDATE SET title = excluded.title, vendor = excluded.vendor, \
         status = jsonb_set(p.status, '{phase}', excluded.status -> 'phase'), \
         published_ts = excluded.published_ts, tag_uids = excluded.tag_uids, \
         annotations = p.annotations || excluded.annotations, \
         create_ts = CASE WHEN excluded.annotations ? 'shopify.com/created-at' \
           THEN excluded.create_ts ELSE p.create_ts END, \
         update_ts = now() \
       WHERE (p.title, p.vendor, p.status ->> 'phase', p.published_ts, p.tag_uids, \
              p.annotations || excluded.annotations, \
              CASE WHEN excluded.annotations ? 'shopify.com/created-at' \
                THEN excluded.create_ts ELSE p.create_ts END) \
         IS DISTINCT FROM (excluded.title, excluded.vendor, excluded.status ->> 'phase', \
              excluded.published_ts, excluded.tag_uids, p.annotations, p.create_ts) \
         AND coalesce(p.annotations ->> 'shopify.com/updated-at', '') \
             <= coalesce(excluded.annotations ->> 'shopify.com/updated-at', '~') \
       RETURNING p.uid, p.external_id, p.handle, (p.xmax = 0) AS inserted) \
     SELECT u.external_id, coalesce(up.uid, p.uid), coalesce(up.handle, p.handle), up.inserted \
     FROM u LEFT JOIN up ON up.external_id = u.external_id \
     LEFT JOIN product p ON p.external_id = u.external_id";

/// Splits `group:value`; other tags go to [`DEFAULT_TAG_CATEGORY`]. Empty tags are dropped.
pub(crate) fn split_tag(tag: &str) -> Option<(String, String)> {
    let tag = tag.trim();
    if tag.is_empty() {
        return None;
    }
    match tag.split_once(':') {
        Some((group, value)) if !group.trim().is_empty() && !value.trim().is_empty() => {
            Some((group.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Some((DEFAULT_TAG_CATEGORY.to_owned(), tag.to_owned())),
    }
}

/// The product's phase (see the module doc).
pub(crate) fn phase(p: &ProductInput) -> &'static str {
    match &p.status {
        Some(ProductStatus::Active | ProductStatus::Unlisted) => "published",
        Some(ProductStatus::Draft) => "draft",
        Some(ProductStatus::Archived) => "archived",
        Some(ProductStatus::Other(_)) | None if p.published_at.is_some() => "published",
        Some(ProductStatus::Other(_)) | None => "draft",
    }
}

/// `title-as-slug-<numeric id>`: lower-case ASCII letters and digits, one `-` between runs, at
/// most 60 characters before the id (`product-<id>` when nothing is left of the title).
pub(crate) fn handle(title: &str, numeric_id: u64) -> String {
    let mut slug = String::with_capacity(title.len().min(64));
    for c in title.chars() {
        if slug.len() >= 60 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("product-{numeric_id}")
    } else {
        format!("{slug}-{numeric_id}")
    }
}

/// What the products refresh did, and the uid and handle of every product of the batch.
#[derive(Debug, Default)]
pub(crate) struct ProductsOutcome {
    /// GID → (uid, handle).
    pub resolved: HashMap<String, (String, String)>,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub tags_new: u64,
}

/// Upserts the tags, then the products, in the caller's transaction.
pub(crate) async fn upsert(
    tx: &Transaction<'_>,
    products: &[ProductInput],
) -> Result<ProductsOutcome, IngestError> {
    let mut outcome = ProductsOutcome::default();
    if products.is_empty() {
        return Ok(outcome);
    }

    // 1. Tags.
    let tags: BTreeSet<(String, String)> = products
        .iter()
        .flat_map(|p| p.tags.iter().filter_map(|t| split_tag(t)))
        .collect();
    let mut tag_uids: HashMap<(String, String), String> = HashMap::with_capacity(tags.len());
    if !tags.is_empty() {
        let uids: Vec<String> = tags
            .iter()
            .map(|(c, t)| ids::derive(prefix::TAG, "product_tag", &format!("{c}\u{1f}{t}"), None))
            .collect();
        let categories: Vec<&str> = tags.iter().map(|(c, _)| c.as_str()).collect();
        let names: Vec<&str> = tags.iter().map(|(_, t)| t.as_str()).collect();
        let statement = tx
            .prepare_cached(TAGS_SQL)
            .await
            .map_err(pg("preparing the tag upsert"))?;
        let rows = tx
            .query(&statement, &[&uids, &categories, &names])
            .await
            .map_err(pg("upserting product tags"))?;
        for row in rows {
            let (category, name, uid, new): (String, String, String, bool) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            outcome.tags_new += u64::from(new);
            tag_uids.insert((category, name), uid);
        }
    }

    // 2. Products.
    let n = products.len();
    let mut uids = Vec::with_capacity(n);
    let mut external_ids = Vec::with_capacity(n);
    let mut titles = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let mut vendors = Vec::with_capacity(n);
    let mut phases = Vec::with_capacity(n);
    let mut published = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut tag_lists = Vec::with_capacity(n);
    let mut annotations = Vec::with_capacity(n);
    for p in products {
        uids.push(p.uid.as_str());
        external_ids.push(p.gid.as_str());
        titles.push(p.title.as_str());
        handles.push(handle(&p.title, p.numeric_id));
        vendors.push(p.vendor.as_deref());
        phases.push(phase(p));
        published.push(p.published_at);
        created.push(p.created_at);
        // Shopify's order of tags, each once.
        let mut seen = BTreeSet::new();
        let list: Vec<Value> = p
            .tags
            .iter()
            .filter_map(|t| split_tag(t))
            .filter(|k| seen.insert(k.clone()))
            .filter_map(|k| tag_uids.get(&k).map(|u| Value::from(u.as_str())))
            .collect();
        tag_lists.push(Value::Array(list));
        let mut a = BTreeMap::new();
        if let Some(t) = p.updated_at {
            a.insert(key::UPDATED_AT, ts_text(t));
        }
        if let Some(t) = p.created_at {
            a.insert(key::CREATED_AT, ts_text(t));
        }
        if let Some(t) = &p.product_type {
            a.insert(key::PRODUCT_TYPE, t.clone());
        }
        if let Some(s) = &p.status {
            a.insert(key::STATUS, s.as_str().to_owned());
        }
        annotations.push(json!(a));
    }
    let statement = tx
        .prepare_cached(PRODUCTS_SQL)
        .await
        .map_err(pg("preparing the product upsert"))?;
    let rows = tx
        .query(
            &statement,
            &[
                &uids,
                &external_ids,
                &titles,
                &handles,
                &vendors,
                &phases,
                &published,
                &created,
                &tag_lists,
                &annotations,
            ],
        )
        .await
        .map_err(pg("upserting products"))?;
    for row in rows {
        let external_id: String = row.get(0);
        let uid: Option<String> = row.get(1);
        let handle: Option<String> = row.get(2);
        match row.get::<_, Option<bool>>(3) {
            Some(true) => outcome.new += 1,
            Some(false) => outcome.changed += 1,
            None => outcome.unchanged += 1,
        }
        if let (Some(uid), Some(handle)) = (uid, handle) {
            outcome.resolved.insert(external_id, (uid, handle));
        }
    }
    if outcome.resolved.len() != n {
        return Err(IngestError::Internal(format!(
            "{} of {n} products have no row after their upsert",
            n - outcome.resolved.len()
        )));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_slugs_with_the_id() {
        assert_eq!(handle("Classic Mug", 8), "classic-mug-8");
        assert_eq!(handle("  T-Shirt (XL) ", 9), "t-shirt-xl-9");
        assert_eq!(handle("Café & Crème", 10), "caf-cr-me-10");
        assert_eq!(handle("日本", 11), "product-11");
        assert!(handle(&"a".repeat(500), 12).len() <= 60 + 3);
    }

    #[test]
    fn tags_split_on_their_group() {
        assert_eq!(
            split_tag("style: Minimal"),
            Some(("style".into(), "Minimal".into()))
        );
        assert_eq!(split_tag("eco"), Some(("shopify".into(), "eco".into())));
        assert_eq!(split_tag(":x"), Some(("shopify".into(), ":x".into())));
        assert_eq!(split_tag("  "), None);
    }
}
