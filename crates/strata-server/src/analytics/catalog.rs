//! Product tags and tag groups, from PostgreSQL: a product lists its tags in `product.tag_uids`
//! (uids of `product_tag`); a tag belongs to a tag category (`product_tag.category_name`),
//! modelled as a `product_category` row (`product_tag.category_uid`) when one exists.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use strata_domain::Database;

use crate::error::ApiResult;

/// PostgreSQL text cannot hold NUL: a value with one names nothing stored.
fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    pub uid: String,
    pub category_name: String,
    pub tag_name: String,
}

fn tag(r: &tokio_postgres::Row, at: usize) -> Tag {
    Tag {
        uid: r.get(at),
        category_name: r.get(at + 1),
        tag_name: r.get(at + 2),
    }
}

/// The tags of each of `products` (tags ordered by category, then name).
pub async fn product_tags(
    db: &Database,
    products: &[String],
) -> ApiResult<HashMap<String, Vec<Tag>>> {
    if products.is_empty() {
        return Ok(HashMap::new());
    }
    let products: Vec<&String> = products.iter().filter(|p| storable(p)).collect();
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT p.uid, t.uid, t.category_name, t.tag_name
             FROM product p
             CROSS JOIN LATERAL jsonb_array_elements_text(p.tag_uids) AS e(tag_uid)
             JOIN product_tag t ON t.uid = e.tag_uid
             WHERE p.uid = ANY($1)
             ORDER BY p.uid, t.category_name, t.tag_name, t.uid",
            &[&products],
        )
        .await?;
    let mut out: HashMap<String, Vec<Tag>> = HashMap::new();
    for r in &rows {
        out.entry(r.get(0)).or_default().push(tag(r, 1));
    }
    Ok(out)
}

/// Products carrying a tag that `matches` (a tag uid, or a tag name in any category), and
/// products carrying a tag of `category` (a tag category name); `None` for an absent filter.
pub async fn products_matching(
    db: &Database,
    tag: Option<&str>,
    category: Option<&str>,
) -> ApiResult<HashSet<String>> {
    if !tag.is_none_or(storable) || !category.is_none_or(storable) {
        return Ok(HashSet::new());
    }
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT p.uid FROM product p
             WHERE ($1::text IS NULL OR EXISTS (
                     SELECT 1 FROM product_tag t
                     WHERE (t.uid = $1 OR t.tag_name = $1) AND p.tag_uids ? t.uid))
               AND ($2::text IS NULL OR EXISTS (
                     SELECT 1 FROM product_tag t
                     WHERE t.category_name = $2 AND p.tag_uids ? t.uid))",
            &[&tag, &category],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The tags named `names` (in any category), by name.
pub async fn tags_named(db: &Database, names: &[String]) -> ApiResult<BTreeMap<String, Vec<Tag>>> {
    let names: Vec<&String> = names.iter().filter(|n| storable(n)).collect();
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT uid, category_name, tag_name FROM product_tag
             WHERE tag_name = ANY($1) ORDER BY tag_name, category_name, uid",
            &[&names],
        )
        .await?;
    let mut out: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
    for r in &rows {
        let t = tag(r, 0);
        out.entry(t.tag_name.clone()).or_default().push(t);
    }
    Ok(out)
}

/// The tags of the tag category `category_name`, by name.
pub async fn tags_in_category(db: &Database, category_name: &str) -> ApiResult<Vec<Tag>> {
    if !storable(category_name) {
        return Ok(Vec::new());
    }
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT uid, category_name, tag_name FROM product_tag
             WHERE category_name = $1 ORDER BY tag_name, uid",
            &[&category_name],
        )
        .await?;
    Ok(rows.iter().map(|r| tag(r, 0)).collect())
}

/// The tag group `group_uid` (a `product_category`): its name and its tags (`None`: no such
/// category).
pub async fn tag_group(db: &Database, group_uid: &str) -> ApiResult<Option<(String, Vec<Tag>)>> {
    if !storable(group_uid) {
        return Ok(None);
    }
    let client = db.client().await?;
    let Some(group) = client
        .query_opt(
            "SELECT name FROM product_category WHERE uid = $1",
            &[&group_uid],
        )
        .await?
    else {
        return Ok(None);
    };
    let rows = client
        .query(
            "SELECT uid, category_name, tag_name FROM product_tag
             WHERE category_uid = $1 ORDER BY tag_name, uid",
            &[&group_uid],
        )
        .await?;
    Ok(Some((
        group.get(0),
        rows.iter().map(|r| tag(r, 0)).collect(),
    )))
}

/// For each of `tag_uids`, the products carrying it.
pub async fn products_by_tag(
    db: &Database,
    tag_uids: &[String],
) -> ApiResult<HashMap<String, HashSet<String>>> {
    if tag_uids.is_empty() {
        return Ok(HashMap::new());
    }
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT e.tag_uid, p.uid
             FROM product p
             CROSS JOIN LATERAL jsonb_array_elements_text(p.tag_uids) AS e(tag_uid)
             WHERE e.tag_uid = ANY($1)",
            &[&tag_uids],
        )
        .await?;
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for r in &rows {
        out.entry(r.get(0)).or_default().insert(r.get(1));
    }
    Ok(out)
}
