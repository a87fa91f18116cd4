//! The synthetic store: a phone-case brand selling on Shopify with creator marketing.
//!
//! Shapes that matter to analytics are realistic on purpose: product popularity is skewed,
//! products launch throughout the history (so "top risers" exist), some are archived, order
//! volume has a weekly rhythm, a few percent of orders are returned or arrive through a
//! publisher's referral link.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sha2::{Digest, Sha256};
use strata_schema::Schema;

use super::rows::TableRows;
use super::{SeedConfig, SeedError, ids};

const ADJECTIVES: [&str; 24] = [
    "Clear", "Matte", "Glossy", "Frosted", "Neon", "Pastel", "Marble", "Glitter", "Leather",
    "Holo", "Retro", "Midnight", "Sunset", "Ocean", "Forest", "Desert", "Cherry", "Lavender",
    "Charcoal", "Ivory", "Cobalt", "Amber", "Rose", "Mint",
];
const NOUNS: [&str; 20] = [
    "Daisy",
    "Tiger",
    "Galaxy",
    "Wave",
    "Palm",
    "Cat",
    "Mushroom",
    "Checker",
    "Smiley",
    "Cloud",
    "Lemon",
    "Butterfly",
    "Dragon",
    "Rainbow",
    "Star",
    "Moon",
    "Peach",
    "Fern",
    "Koi",
    "Bolt",
];
const DEVICES: [&str; 6] = [
    "iPhone 16 Pro",
    "iPhone 16",
    "iPhone 15",
    "Galaxy S25",
    "Pixel 9",
    "iPhone 16 Pro Max",
];
const FIRST: [&str; 20] = [
    "Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ivy", "Lucas", "Maya", "Leo", "Nora", "Omar",
    "Sofia", "Kai", "Ella", "Jonas", "Aria", "Mateo", "Lena", "Yuki",
];
const LAST: [&str; 20] = [
    "Smith", "Garcia", "Chen", "Müller", "Rossi", "Kim", "Okafor", "Novak", "Silva", "Dubois",
    "Cohen", "Patel", "Larsen", "Tanaka", "Nguyen", "Brown", "Costa", "Ivanova", "Walsh", "Haddad",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("Austin", "us", "78701"),
    ("Brooklyn", "us", "11201"),
    ("Portland", "us", "97205"),
    ("Berlin", "de", "10115"),
    ("Lyon", "fr", "69001"),
    ("Manchester", "gb", "M1 1AE"),
];
/// (category_name, tags): the legacy tag groups.
const TAG_GROUPS: [(&str, [&str; 5]); 3] = [
    (
        "style",
        ["minimal", "floral", "abstract", "vintage", "neon"],
    ),
    ("theme", ["animals", "space", "nature", "food", "sports"]),
    (
        "material",
        ["silicone", "leather", "clear", "glitter", "wood"],
    ),
];
const RETURN_REASONS: [(&str, &str); 4] = [
    ("damaged", "Arrived damaged"),
    ("wrong_item", "Wrong item or model"),
    ("not_as_described", "Not as described"),
    ("changed_mind", "Changed mind"),
];

struct Variant {
    uid: String,
    title: String,
    sku: String,
    price: i64,
}

struct Product {
    uid: String,
    title: String,
    handle: String,
    launch: DateTime<Utc>,
    /// Sold at all (published and not archived, or archived after selling).
    sellable: bool,
    /// Archived products stop selling at this time.
    retired: Option<DateTime<Utc>>,
    popularity: f64,
    variants: Vec<Variant>,
}

struct Customer {
    uid: String,
    email: String,
    first: &'static str,
    last: &'static str,
    city: usize,
}

struct Region {
    uid: String,
    currency: &'static str,
    tax_rate_bp: i64,
    tax_code: &'static str,
}

struct Publisher {
    uid: String,
    links: Vec<String>,
}

/// Generates the store day by day into per-table COPY buffers.
pub struct Generator {
    rng: ChaCha8Rng,
    config: SeedConfig,
    start: NaiveDate,
    tables: Vec<TableRows>,
    by_name: HashMap<&'static str, usize>,
    store_uid: String,
    channels: Vec<String>,
    locations: Vec<String>,
    regions: Vec<Region>,
    payment_provider: String,
    fulfillment_provider: String,
    return_reasons: Vec<String>,
    products: Vec<Product>,
    customers: Vec<Customer>,
    publishers: Vec<Publisher>,
    commission_rule: String,
    display_id: i64,
    return_display_id: i64,
    orders: u64,
    /// Cumulative popularity of products sellable on the current day, for weighted picks.
    cumulative: Vec<(f64, usize)>,
}

/// (table, columns the generator sets). The standard columns are added by [`TableRows`].
const TABLES: &[(&str, &[&str])] = &[
    (
        "currency",
        &["code", "symbol", "symbol_native", "name", "decimal_digits"],
    ),
    ("region", &["name", "currency_code", "automatic_taxes"]),
    ("sales_channel", &["name", "description", "is_disabled"]),
    (
        "stock_location",
        &["name", "address_1", "city", "country_code", "postal_code"],
    ),
    (
        "store",
        &[
            "name",
            "default_currency_code",
            "default_region_uid",
            "default_sales_channel_uid",
            "default_location_uid",
            "reporting_time_zone",
        ],
    ),
    ("payment_provider", &["code", "name", "is_enabled"]),
    ("fulfillment_provider", &["provider_key", "name"]),
    ("return_reason", &["value", "label"]),
    (
        "product_category",
        &["name", "handle", "description", "mpath", "rank"],
    ),
    (
        "product_tag",
        &["category_name", "tag_name", "category_uid"],
    ),
    (
        "product",
        &[
            "title",
            "handle",
            "subtitle",
            "description",
            "vendor",
            "thumbnail",
            "external_id",
            "published_ts",
            "tag_uids",
        ],
    ),
    (
        "product_variant",
        &[
            "product_uid",
            "title",
            "sku",
            "barcode",
            "external_id",
            "variant_rank",
        ],
    ),
    ("product_image", &["product_uid", "url", "image_rank"]),
    (
        "link_product_sales_channel",
        &["product_uid", "sales_channel_uid"],
    ),
    (
        "customer",
        &["email", "first_name", "last_name", "phone", "has_account"],
    ),
    (
        "customer_address",
        &[
            "customer_uid",
            "first_name",
            "last_name",
            "address_1",
            "city",
            "country_code",
            "postal_code",
            "is_default_shipping",
        ],
    ),
    (
        "publisher",
        &[
            "handle",
            "display_name",
            "email",
            "publisher_type",
            "default_commission_rate",
            "onboarded_ts",
        ],
    ),
    (
        "referral_link",
        &["code", "publisher_uid", "product_uid", "destination_url"],
    ),
    (
        "commission_rule",
        &["name", "rate", "currency_code", "starts_ts"],
    ),
    (
        "macrodata_catalog",
        &["name", "catalog_kind", "description"],
    ),
    (
        "macrodata_artifact",
        &[
            "catalog_uid",
            "kind",
            "name",
            "artifact_version",
            "spec",
            "content_hash_identifier",
            "media_type",
            "effective_ts",
        ],
    ),
    (
        "order_header",
        &[
            "order_number",
            "display_id",
            "external_id",
            "store_uid",
            "customer_uid",
            "region_uid",
            "sales_channel_uid",
            "email",
            "currency_code",
            "source_channel",
            "item_total",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "total",
            "quantity",
            "placed_ts",
            "canceled_ts",
        ],
    ),
    (
        "order_line_item",
        &[
            "order_uid",
            "product_uid",
            "variant_uid",
            "title",
            "product_title",
            "product_handle",
            "variant_title",
            "variant_sku",
            "quantity",
            "fulfilled_quantity",
            "returned_quantity",
            "unit_price",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
        ],
    ),
    (
        "order_line_item_tax_line",
        &["line_item_uid", "code", "description", "rate", "amount"],
    ),
    (
        "order_line_item_adjustment",
        &["line_item_uid", "code", "description", "amount"],
    ),
    ("order_summary", &["order_uid", "version", "totals"]),
    (
        "order_address",
        &[
            "order_uid",
            "address_role",
            "customer_uid",
            "first_name",
            "last_name",
            "address_1",
            "city",
            "country_code",
            "postal_code",
        ],
    ),
    (
        "payment_collection",
        &["currency_code", "amount", "captured_amount", "completed_ts"],
    ),
    (
        "payment",
        &[
            "payment_collection_uid",
            "provider_uid",
            "currency_code",
            "amount",
            "captured_ts",
        ],
    ),
    ("payment_capture", &["payment_uid", "amount"]),
    (
        "link_order_payment_collection",
        &["order_uid", "payment_collection_uid"],
    ),
    (
        "fulfillment",
        &[
            "location_uid",
            "provider_uid",
            "order_uid",
            "packed_ts",
            "shipped_ts",
            "delivered_ts",
        ],
    ),
    (
        "fulfillment_item",
        &[
            "fulfillment_uid",
            "line_item_uid",
            "title",
            "sku",
            "quantity",
        ],
    ),
    ("link_order_fulfillment", &["order_uid", "fulfillment_uid"]),
    (
        "fulfillment_daily_summary",
        &[
            "summary_day",
            "stock_location_uid",
            "total_count",
            "successful_count",
            "failed_count",
        ],
    ),
    (
        "return_request",
        &[
            "display_id",
            "order_uid",
            "refund_amount",
            "requested_ts",
            "received_ts",
        ],
    ),
    (
        "return_item",
        &[
            "return_uid",
            "line_item_uid",
            "reason_uid",
            "quantity",
            "received_quantity",
        ],
    ),
    (
        "referral",
        &[
            "referral_link_uid",
            "publisher_uid",
            "customer_uid",
            "landing_ts",
            "session_key_hash",
            "device_type",
        ],
    ),
    (
        "conversion",
        &[
            "referral_uid",
            "publisher_uid",
            "order_uid",
            "customer_uid",
            "conversion_type",
            "amount",
            "currency_code",
            "converted_ts",
        ],
    ),
    (
        "link_order_referral",
        &["order_uid", "referral_uid", "attribution_weight"],
    ),
    (
        "commission",
        &[
            "conversion_uid",
            "publisher_uid",
            "rule_uid",
            "amount",
            "currency_code",
            "rate_applied",
            "earned_ts",
        ],
    ),
];

/// The classification thresholds of the performance screen (mastered in PostgreSQL): the
/// defaults of [`crate::classification::ClassificationSpec`].
pub fn default_classification_spec() -> serde_json::Value {
    crate::classification::ValidSpec::default().to_json()
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

impl Generator {
    pub fn new(schema: &Schema, config: &SeedConfig) -> Result<Self, SeedError> {
        let mut tables = Vec::new();
        let mut by_name = HashMap::new();
        for (name, cols) in TABLES {
            let table = schema
                .table(name)
                .ok_or_else(|| SeedError::Model(format!("table {name} is not in the schema")))?;
            by_name.insert(*name, tables.len());
            tables.push(TableRows::new(table, cols, config.seed)?);
        }
        let start = config.end_date - Duration::days(i64::from(config.days) - 1);
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config: config.clone(),
            start,
            tables,
            by_name,
            store_uid: String::new(),
            channels: Vec::new(),
            locations: Vec::new(),
            regions: Vec::new(),
            payment_provider: String::new(),
            fulfillment_provider: String::new(),
            return_reasons: Vec::new(),
            products: Vec::new(),
            customers: Vec::new(),
            publishers: Vec::new(),
            commission_rule: String::new(),
            display_id: 0,
            return_display_id: 0,
            orders: 0,
            cumulative: Vec::new(),
        })
    }

    pub fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.table.clone()).collect()
    }

    pub fn tables_mut(&mut self) -> &mut [TableRows] {
        &mut self.tables
    }

    pub fn rows_total(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect()
    }

    pub fn orders(&self) -> u64 {
        self.orders
    }

    fn t(&mut self, name: &str) -> &mut TableRows {
        let i = self.by_name[name];
        &mut self.tables[i]
    }

    fn uid(&mut self, prefix: &str, at: DateTime<Utc>) -> String {
        ids::mint(&mut self.rng, prefix, at)
    }

    /// Currencies, regions, store, channels, locations, providers, catalog, customers,
    /// publishers and the classification spec.
    pub fn reference_data(&mut self) -> Result<(), SeedError> {
        // History starts `days` back; the catalog and the store exist before it.
        let epoch = day_start(self.start) - Duration::days(200);
        for (code, sym, name) in [
            ("usd", "$", "US Dollar"),
            ("eur", "€", "Euro"),
            ("gbp", "£", "Pound Sterling"),
        ] {
            let uid = self.uid("cur", epoch);
            self.t("currency")
                .begin(&uid, epoch)
                .text("code", code)
                .text("symbol", sym)
                .text("symbol_native", sym)
                .text("name", name)
                .int("decimal_digits", 2)
                .end()?;
        }
        for (name, currency, bp, code) in [
            ("United States", "usd", 800, "US-SALES"),
            ("Europe", "eur", 2000, "EU-VAT"),
            ("United Kingdom", "gbp", 2000, "GB-VAT"),
        ] {
            let uid = self.uid("reg", epoch);
            self.t("region")
                .begin(&uid, epoch)
                .text("name", name)
                .text("currency_code", currency)
                .boolean("automatic_taxes", true)
                .end()?;
            self.regions.push(Region {
                uid,
                currency,
                tax_rate_bp: bp,
                tax_code: code,
            });
        }
        for (name, desc) in [
            ("Online Store", "Shopify online store"),
            ("Shopify POS", "Pop-up shops and markets"),
        ] {
            let uid = self.uid("sc", epoch);
            self.t("sales_channel")
                .begin(&uid, epoch)
                .text("name", name)
                .text("description", desc)
                .boolean("is_disabled", false)
                .end()?;
            self.channels.push(uid);
        }
        for (name, addr, city, cc, zip) in [
            (
                "Austin fulfillment center",
                "100 Congress Ave",
                "Austin",
                "us",
                "78701",
            ),
            ("Rotterdam hub", "Waalhaven 2", "Rotterdam", "nl", "3089"),
        ] {
            let uid = self.uid("sloc", epoch);
            self.t("stock_location")
                .begin(&uid, epoch)
                .text("name", name)
                .text("address_1", addr)
                .text("city", city)
                .text("country_code", cc)
                .text("postal_code", zip)
                .end()?;
            self.locations.push(uid);
        }
        self.store_uid = self.uid("sto", epoch);
        let (store, region, channel, location) = (
            self.store_uid.clone(),
            self.regions[0].uid.clone(),
            self.channels[0].clone(),
            self.locations[0].clone(),
        );
        self.t("store")
            .begin(&store, epoch)
            .text("name", "Casestry")
            .text("default_currency_code", "usd")
            .text("default_region_uid", region)
            .text("default_sales_channel_uid", channel)
            .text("default_location_uid", location)
            .text("reporting_time_zone", "UTC")
            .end()?;
        self.payment_provider = self.uid("payprov", epoch);
        let pp = self.payment_provider.clone();
        self.t("payment_provider")
            .begin(&pp, epoch)
            .text("code", "pp_stripe_stripe")
            .text("name", "Stripe")
            .boolean("is_enabled", true)
            .end()?;
        self.fulfillment_provider = self.uid("fuprov", epoch);
        let fp = self.fulfillment_provider.clone();
        self.t("fulfillment_provider")
            .begin(&fp, epoch)
            .text("provider_key", "manual_manual")
            .text("name", "Manual fulfillment")
            .end()?;
        for (value, label) in RETURN_REASONS {
            let uid = self.uid("rr", epoch);
            self.t("return_reason")
                .begin(&uid, epoch)
                .text("value", value)
                .text("label", label)
                .end()?;
            self.return_reasons.push(uid);
        }
        let tag_uids = self.catalog_tags(epoch)?;
        self.products(epoch, &tag_uids)?;
        self.customers(epoch)?;
        self.publishers(epoch)?;
        self.classification_spec(epoch)?;
        Ok(())
    }

    fn catalog_tags(&mut self, epoch: DateTime<Utc>) -> Result<Vec<String>, SeedError> {
        let mut tag_uids = Vec::new();
        for (rank, (group, tags)) in TAG_GROUPS.iter().enumerate() {
            let cat = self.uid("pcat", epoch);
            self.t("product_category")
                .begin(&cat, epoch)
                .text("name", group.to_string())
                .text("handle", *group)
                .text("description", format!("Tag group: {group}"))
                .text("mpath", cat.clone())
                .int("rank", rank as i64)
                .end()?;
            for tag in tags {
                let uid = self.uid("ptag", epoch);
                self.t("product_tag")
                    .begin(&uid, epoch)
                    .text("category_name", *group)
                    .text("tag_name", *tag)
                    .text("category_uid", cat.clone())
                    .end()?;
                tag_uids.push(uid);
            }
        }
        Ok(tag_uids)
    }

    fn products(&mut self, epoch: DateTime<Utc>, tag_uids: &[String]) -> Result<(), SeedError> {
        let history_start = day_start(self.start);
        let history_end = day_start(self.config.end_date) + Duration::days(1);
        let span = (history_end - epoch).num_seconds().max(1);
        for i in 0..self.config.products {
            let title = format!(
                "{} {} Case",
                ADJECTIVES[self.rng.random_range(0..ADJECTIVES.len())],
                NOUNS[self.rng.random_range(0..NOUNS.len())]
            );
            let handle = format!("{}-{}", slug(&title), i + 1);
            // Half the catalog predates the history; the rest launches during it.
            let launch = if i % 2 == 0 {
                epoch
                    + Duration::seconds(
                        self.rng
                            .random_range(0..(history_start - epoch).num_seconds().max(1)),
                    )
            } else {
                epoch + Duration::seconds(self.rng.random_range(0..span))
            };
            let roll: f64 = self.rng.random();
            let (phase, sellable, published) = match roll {
                r if r < 0.04 => ("draft", false, false),
                r if r < 0.10 => ("archived", true, true),
                _ => ("published", true, true),
            };
            let retired = (phase == "archived").then(|| {
                let end = history_end.max(launch + Duration::days(1));
                launch
                    + Duration::seconds(
                        self.rng
                            .random_range(0..(end - launch).num_seconds().max(1)),
                    )
            });
            // Skewed popularity: a few hits, a long tail.
            let popularity = 1.0 / (1.0 + self.rng.random::<f64>() * 30.0).powf(1.2);
            let uid = self.uid("prd", launch - Duration::days(7));
            let n_tags = self.rng.random_range(1..=3);
            let tags: Vec<String> = (0..n_tags)
                .map(|_| tag_uids[self.rng.random_range(0..tag_uids.len())].clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let created = launch - Duration::days(7);
            self.t("product")
                .begin(&uid, created)
                .text("title", title.clone())
                .text("handle", handle.clone())
                .text("subtitle", "Protective phone case")
                .text(
                    "description",
                    format!("{title}: slim, drop-tested, MagSafe compatible."),
                )
                .text("vendor", "Casestry")
                .text(
                    "thumbnail",
                    format!("https://cdn.casestry.example/{handle}.jpg"),
                )
                .text(
                    "external_id",
                    format!("gid://shopify/Product/{}", 7_000_000_000u64 + u64::from(i)),
                )
                .opt_text(
                    "published_ts",
                    published.then(|| super::rows::fmt_ts(launch)),
                )
                .json("tag_uids", &json!(tags))
                .phase(phase)
                .end()?;
            let img = self.uid("img", created);
            self.t("product_image")
                .begin(&img, created)
                .text("product_uid", uid.clone())
                .text(
                    "url",
                    format!("https://cdn.casestry.example/{handle}-1.jpg"),
                )
                .int("image_rank", 0)
                .end()?;
            let link = self.uid("lpsc", created);
            let channel = self.channels[0].clone();
            self.t("link_product_sales_channel")
                .begin(&link, created)
                .text("product_uid", uid.clone())
                .text("sales_channel_uid", channel)
                .end()?;
            let price = [1999, 2499, 2999, 3499, 3999, 4999][self.rng.random_range(0..6)];
            let n_var = self.rng.random_range(1..=3);
            let mut variants = Vec::new();
            for v in 0..n_var {
                let device = DEVICES[(i as usize + v) % DEVICES.len()];
                let vuid = self.uid("var", created);
                let sku = format!("CS-{:05}-{}", i + 1, v + 1);
                self.t("product_variant")
                    .begin(&vuid, created)
                    .text("product_uid", uid.clone())
                    .text("title", device)
                    .text("sku", sku.clone())
                    .text("barcode", format!("0{:011}", u64::from(i) * 10 + v as u64))
                    .text(
                        "external_id",
                        format!(
                            "gid://shopify/ProductVariant/{}",
                            40_000_000_000u64 + u64::from(i) * 10 + v as u64
                        ),
                    )
                    .int("variant_rank", v as i64)
                    .end()?;
                variants.push(Variant {
                    uid: vuid,
                    title: device.to_string(),
                    sku,
                    price,
                });
            }
            self.products.push(Product {
                uid,
                title,
                handle,
                launch,
                sellable,
                retired,
                popularity,
                variants,
            });
        }
        Ok(())
    }

    fn customers(&mut self, epoch: DateTime<Utc>) -> Result<(), SeedError> {
        let expected_orders = f64::from(self.config.products) * 1.37 * f64::from(self.config.days);
        let n = ((expected_orders / 3.0) as u64).clamp(50, 2_000_000);
        for i in 0..n {
            let first = FIRST[self.rng.random_range(0..FIRST.len())];
            let last = LAST[self.rng.random_range(0..LAST.len())];
            let email = format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                slug(last),
                i + 1
            );
            let city = self.rng.random_range(0..CITIES.len());
            let created = epoch + Duration::seconds(self.rng.random_range(0..86_400 * 180));
            let uid = self.uid("cus", created);
            self.t("customer")
                .begin(&uid, created)
                .text("email", email.clone())
                .text("first_name", first)
                .text("last_name", last)
                .text("phone", format!("+1555{:07}", i % 10_000_000))
                .boolean("has_account", i % 3 != 0)
                .end()?;
            let addr = self.uid("cuaddr", created);
            let (c, cc, zip) = CITIES[city];
            self.t("customer_address")
                .begin(&addr, created)
                .text("customer_uid", uid.clone())
                .text("first_name", first)
                .text("last_name", last)
                .text("address_1", format!("{} Main Street", 1 + i % 999))
                .text("city", c)
                .text("country_code", cc)
                .text("postal_code", zip)
                .boolean("is_default_shipping", true)
                .end()?;
            self.customers.push(Customer {
                uid,
                email,
                first,
                last,
                city,
            });
        }
        Ok(())
    }

    fn publishers(&mut self, epoch: DateTime<Utc>) -> Result<(), SeedError> {
        self.commission_rule = self.uid("comr", epoch);
        let rule = self.commission_rule.clone();
        self.t("commission_rule")
            .begin(&rule, epoch)
            .text("name", "Default creator commission")
            .decimal("rate", "10")
            .text("currency_code", "usd")
            .ts("starts_ts", epoch)
            .end()?;
        let n = (self.config.products / 20).clamp(3, 500);
        for i in 0..n {
            let created = epoch + Duration::days(i64::from(i % 90));
            let uid = self.uid("pub", created);
            let kind = ["creator", "creator", "affiliate", "media"][i as usize % 4];
            let handle = format!(
                "{}_{}",
                NOUNS[i as usize % NOUNS.len()].to_lowercase(),
                i + 1
            );
            self.t("publisher")
                .begin(&uid, created)
                .text("handle", handle.clone())
                .text(
                    "display_name",
                    format!(
                        "{} {}",
                        FIRST[i as usize % FIRST.len()],
                        LAST[(i as usize * 7) % LAST.len()]
                    ),
                )
                .text("email", format!("{handle}@creators.example"))
                .text("publisher_type", kind)
                .decimal("default_commission_rate", "10")
                .ts("onboarded_ts", created)
                .phase("active")
                .end()?;
            let mut links = Vec::new();
            for l in 0..2 {
                let link = self.uid("rlnk", created);
                let product = &self.products[self.rng.random_range(0..self.products.len())];
                let (puid, phandle) = (product.uid.clone(), product.handle.clone());
                self.t("referral_link")
                    .begin(&link, created)
                    .text("code", format!("{}-{}", handle.to_uppercase(), l + 1))
                    .text("publisher_uid", uid.clone())
                    .text("product_uid", puid)
                    .text(
                        "destination_url",
                        format!("https://casestry.example/products/{phandle}"),
                    )
                    .end()?;
                links.push(link);
            }
            self.publishers.push(Publisher { uid, links });
        }
        Ok(())
    }

    fn classification_spec(&mut self, epoch: DateTime<Utc>) -> Result<(), SeedError> {
        let catalog = self.uid("mdc", epoch);
        self.t("macrodata_catalog")
            .begin(&catalog, epoch)
            .text("name", "performance")
            .text("catalog_kind", "team")
            .text(
                "description",
                "Ops and Creative: product performance classification",
            )
            .end()?;
        let spec = default_classification_spec();
        let hash = hex::encode(Sha256::digest(spec.to_string().as_bytes()));
        let uid = self.uid("mda", epoch);
        self.t("macrodata_artifact")
            .begin(&uid, epoch)
            .text("catalog_uid", catalog)
            .text("kind", "classification_spec")
            .text("name", "default")
            .int("artifact_version", 1)
            .json("spec", &spec)
            .text("content_hash_identifier", hash)
            .text("media_type", "application/json")
            .ts("effective_ts", epoch)
            .end()?;
        Ok(())
    }

    /// Orders of one day, with everything that follows from them.
    pub fn day(&mut self, day_index: u32) -> Result<(), SeedError> {
        let day = self.start + Duration::days(i64::from(day_index));
        let t0 = day_start(day);
        let t1 = t0 + Duration::days(1);
        self.cumulative.clear();
        let mut acc = 0.0;
        for (i, p) in self.products.iter().enumerate() {
            if p.sellable && p.launch < t1 && p.retired.is_none_or(|r| r > t0) {
                // New launches get a burst of attention for two weeks.
                let age_days = (t0 - p.launch).num_days();
                let boost = if (0..14).contains(&age_days) {
                    3.0
                } else {
                    1.0
                };
                acc += p.popularity * boost;
                self.cumulative.push((acc, i));
            }
        }
        if self.cumulative.is_empty() {
            return Ok(());
        }
        let weekday = day.weekday().num_days_from_monday();
        let rhythm = [0.9, 0.95, 1.0, 1.0, 1.1, 1.2, 1.05][weekday as usize];
        let noise: f64 = self.rng.random_range(0.85..1.15);
        let n_orders = (f64::from(self.config.products) * 1.37 * rhythm * noise)
            .round()
            .max(1.0) as u64;
        let mut fulfilled = vec![(0i64, 0i64, 0i64); self.locations.len()];
        let horizon = day_start(self.config.end_date) + Duration::days(1);
        for _ in 0..n_orders {
            let placed = t0 + Duration::milliseconds(self.rng.random_range(0..86_400_000));
            self.order(placed, horizon, &mut fulfilled)?;
        }
        for (i, (total, ok, failed)) in fulfilled.into_iter().enumerate() {
            let uid = self.uid("fds", t1);
            let loc = self.locations[i].clone();
            let phase = if t1 < horizon { "closed" } else { "open" };
            self.t("fulfillment_daily_summary")
                .begin(&uid, t1)
                .date("summary_day", day)
                .text("stock_location_uid", loc)
                .int("total_count", total)
                .int("successful_count", ok)
                .int("failed_count", failed)
                .phase(phase)
                .end()?;
        }
        Ok(())
    }

    fn pick_product(&mut self) -> usize {
        let total = self.cumulative.last().map(|c| c.0).unwrap_or(0.0);
        let x = self.rng.random::<f64>() * total;
        let pos = self
            .cumulative
            .partition_point(|c| c.0 < x)
            .min(self.cumulative.len() - 1);
        self.cumulative[pos].1
    }

    fn order(
        &mut self,
        placed: DateTime<Utc>,
        horizon: DateTime<Utc>,
        fulfilled: &mut [(i64, i64, i64)],
    ) -> Result<(), SeedError> {
        self.display_id += 1;
        self.orders += 1;
        let display_id = self.display_id;
        let ci = self.rng.random_range(0..self.customers.len());
        let region_i = match self.rng.random::<f64>() {
            r if r < 0.85 => 0,
            r if r < 0.95 => 1,
            _ => 2,
        };
        let (region_uid, currency, tax_bp, tax_code) = {
            let r = &self.regions[region_i];
            (r.uid.clone(), r.currency, r.tax_rate_bp, r.tax_code)
        };
        let order_uid = self.uid("ord", placed);
        let age = horizon - placed;
        let canceled = self.rng.random::<f64>() < 0.01;
        let phase = if canceled {
            "canceled"
        } else if age > Duration::days(3) {
            "completed"
        } else {
            "pending"
        };
        let n_lines = match self.rng.random::<f64>() {
            r if r < 0.5 => 1,
            r if r < 0.8 => 2,
            r if r < 0.95 => 3,
            _ => 4,
        };
        struct Line {
            uid: String,
            title: String,
            sku: String,
            qty: i64,
            total: i64,
        }
        let mut lines: Vec<Line> = Vec::new();
        let (mut item_total, mut subtotal, mut discount_total, mut tax_total, mut quantity) =
            (0i64, 0i64, 0i64, 0i64, 0i64);
        let returned_line = (!canceled && phase == "completed" && self.rng.random::<f64>() < 0.03)
            .then(|| self.rng.random_range(0..n_lines));
        for li in 0..n_lines {
            let pi = self.pick_product();
            let vi = self.rng.random_range(0..self.products[pi].variants.len());
            let qty: i64 = match self.rng.random::<f64>() {
                r if r < 0.8 => 1,
                r if r < 0.95 => 2,
                _ => 3,
            };
            let (p_uid, p_title, p_handle) = {
                let p = &self.products[pi];
                (p.uid.clone(), p.title.clone(), p.handle.clone())
            };
            let (v_uid, v_title, v_sku, price) = {
                let v = &self.products[pi].variants[vi];
                (v.uid.clone(), v.title.clone(), v.sku.clone(), v.price)
            };
            let line_sub = price * qty;
            let discount = if self.rng.random::<f64>() < 0.2 {
                line_sub / 10
            } else {
                0
            };
            let tax = ((line_sub - discount) * tax_bp + 5_000) / 10_000;
            let total = line_sub - discount + tax;
            let uid = self.uid("ordli", placed);
            let returned = if returned_line == Some(li) { qty } else { 0 };
            let fulfilled_qty = if phase == "completed" { qty } else { 0 };
            self.t("order_line_item")
                .begin(&uid, placed)
                .text("order_uid", order_uid.clone())
                .text("product_uid", p_uid)
                .text("variant_uid", v_uid)
                .text("title", p_title.clone())
                .text("product_title", p_title.clone())
                .text("product_handle", p_handle)
                .text("variant_title", v_title)
                .text("variant_sku", v_sku.clone())
                .int("quantity", qty)
                .int("fulfilled_quantity", fulfilled_qty)
                .int("returned_quantity", returned)
                .money("unit_price", price, currency)
                .money("subtotal", line_sub, currency)
                .money("discount_total", discount, currency)
                .money("tax_total", tax, currency)
                .money("total", total, currency)
                .phase(if canceled { "canceled" } else { "active" })
                .end()?;
            let tx_uid = self.uid("ordlitx", placed);
            let rate = format!("{}.{:02}", tax_bp / 100, tax_bp % 100);
            self.t("order_line_item_tax_line")
                .begin(&tx_uid, placed)
                .text("line_item_uid", uid.clone())
                .text("code", tax_code)
                .text("description", "Sales tax")
                .decimal("rate", &rate)
                .money("amount", tax, currency)
                .end()?;
            if discount > 0 {
                let adj = self.uid("ordliadj", placed);
                self.t("order_line_item_adjustment")
                    .begin(&adj, placed)
                    .text("line_item_uid", uid.clone())
                    .text("code", "CREATOR10")
                    .text("description", "10% creator code")
                    .money("amount", discount, currency)
                    .end()?;
            }
            item_total += total;
            subtotal += line_sub;
            discount_total += discount;
            tax_total += tax;
            quantity += qty;
            lines.push(Line {
                uid,
                title: p_title,
                sku: v_sku,
                qty,
                total,
            });
        }
        let shipping = if subtotal >= 5_000 { 0 } else { 495 };
        let total = item_total + shipping;
        let customer = &self.customers[ci];
        let (c_uid, c_email, c_first, c_last, c_city) = (
            customer.uid.clone(),
            customer.email.clone(),
            customer.first,
            customer.last,
            customer.city,
        );
        let channel = if self.rng.random::<f64>() < 0.93 {
            0
        } else {
            1
        };
        let channel_uid = self.channels[channel].clone();
        let store_uid = self.store_uid.clone();
        self.t("order_header")
            .begin(&order_uid, placed)
            .text("order_number", format!("#{}", 1000 + display_id))
            .int("display_id", display_id)
            .text(
                "external_id",
                format!("gid://shopify/Order/{}", 5_000_000_000i64 + display_id),
            )
            .text("store_uid", store_uid)
            .text("customer_uid", c_uid.clone())
            .text("region_uid", region_uid)
            .text("sales_channel_uid", channel_uid)
            .text("email", c_email)
            .text("currency_code", currency)
            .text(
                "source_channel",
                if channel == 0 { "shopify" } else { "pos" },
            )
            .money("item_total", item_total, currency)
            .money("subtotal", subtotal, currency)
            .money("discount_total", discount_total, currency)
            .money("shipping_total", shipping, currency)
            .money("tax_total", tax_total, currency)
            .money("total", total, currency)
            .int("quantity", quantity)
            .ts("placed_ts", placed)
            .opt_text(
                "canceled_ts",
                canceled.then(|| super::rows::fmt_ts(placed + Duration::hours(2))),
            )
            .phase(phase)
            .end()?;
        let sum_uid = self.uid("ordsum", placed);
        let money = |c: i64| super::rows::cents_to_decimal(c);
        self.t("order_summary").begin(&sum_uid, placed).text("order_uid", order_uid.clone()).int("version", 1)
            .json("totals", &json!({"currency_code": currency, "item_total": money(item_total), "subtotal": money(subtotal), "discount_total": money(discount_total), "shipping_total": money(shipping), "tax_total": money(tax_total), "total": money(total), "paid_total": money(if canceled { 0 } else { total })})).end()?;
        let addr = self.uid("ordaddr", placed);
        let (city, cc, zip) = CITIES[c_city];
        self.t("order_address")
            .begin(&addr, placed)
            .text("order_uid", order_uid.clone())
            .text("address_role", "shipping")
            .text("customer_uid", c_uid.clone())
            .text("first_name", c_first)
            .text("last_name", c_last)
            .text("address_1", "1 Main Street")
            .text("city", city)
            .text("country_code", cc)
            .text("postal_code", zip)
            .end()?;

        if !canceled {
            let paid = placed + Duration::seconds(self.rng.random_range(1..60));
            let col = self.uid("paycol", placed);
            self.t("payment_collection")
                .begin(&col, placed)
                .text("currency_code", currency)
                .money("amount", total, currency)
                .money("captured_amount", total, currency)
                .ts("completed_ts", paid)
                .phase("completed")
                .end()?;
            let pay = self.uid("pay", paid);
            let provider = self.payment_provider.clone();
            self.t("payment")
                .begin(&pay, paid)
                .text("payment_collection_uid", col.clone())
                .text("provider_uid", provider)
                .text("currency_code", currency)
                .money("amount", total, currency)
                .ts("captured_ts", paid)
                .phase("captured")
                .end()?;
            let cap = self.uid("capt", paid);
            self.t("payment_capture")
                .begin(&cap, paid)
                .text("payment_uid", pay)
                .money("amount", total, currency)
                .end()?;
            let link = self.uid("lopc", placed);
            self.t("link_order_payment_collection")
                .begin(&link, placed)
                .text("order_uid", order_uid.clone())
                .text("payment_collection_uid", col)
                .end()?;
        }
        if phase == "completed" {
            let li = usize::from(region_i != 0);
            let packed = placed + Duration::hours(self.rng.random_range(2..30));
            let shipped = packed + Duration::hours(self.rng.random_range(1..12));
            let failed = self.rng.random::<f64>() < 0.03;
            let delivered = shipped + Duration::hours(self.rng.random_range(24..96));
            let ful = self.uid("ful", packed);
            let (loc, prov) = (
                self.locations[li].clone(),
                self.fulfillment_provider.clone(),
            );
            self.t("fulfillment")
                .begin(&ful, packed)
                .text("location_uid", loc)
                .text("provider_uid", prov)
                .text("order_uid", order_uid.clone())
                .ts("packed_ts", packed)
                .ts("shipped_ts", shipped)
                .opt_text(
                    "delivered_ts",
                    (!failed && delivered < horizon).then(|| super::rows::fmt_ts(delivered)),
                )
                .phase(if failed {
                    "failed"
                } else if delivered < horizon {
                    "delivered"
                } else {
                    "shipped"
                })
                .end()?;
            for l in &lines {
                let item = self.uid("fulit", packed);
                self.t("fulfillment_item")
                    .begin(&item, packed)
                    .text("fulfillment_uid", ful.clone())
                    .text("line_item_uid", l.uid.clone())
                    .text("title", l.title.clone())
                    .text("sku", l.sku.clone())
                    .int("quantity", l.qty)
                    .end()?;
            }
            let link = self.uid("lof", packed);
            self.t("link_order_fulfillment")
                .begin(&link, packed)
                .text("order_uid", order_uid.clone())
                .text("fulfillment_uid", ful)
                .end()?;
            fulfilled[li].0 += 1;
            if failed {
                fulfilled[li].2 += 1
            } else {
                fulfilled[li].1 += 1
            }
        }
        if let Some(ri) = returned_line {
            let requested = placed + Duration::days(self.rng.random_range(3..20));
            if requested < horizon {
                self.return_display_id += 1;
                let rid = self.return_display_id;
                let line = &lines[ri];
                let (luid, lqty, ltotal) = (line.uid.clone(), line.qty, line.total);
                let ret = self.uid("ret", requested);
                let received = requested + Duration::days(4);
                let got = received < horizon;
                self.t("return_request")
                    .begin(&ret, requested)
                    .int("display_id", rid)
                    .text("order_uid", order_uid.clone())
                    .money("refund_amount", ltotal, currency)
                    .ts("requested_ts", requested)
                    .opt_text("received_ts", got.then(|| super::rows::fmt_ts(received)))
                    .phase(if got { "received" } else { "requested" })
                    .end()?;
                let item = self.uid("retit", requested);
                let reason = self.return_reasons
                    [self.rng.random_range(0..self.return_reasons.len())]
                .clone();
                self.t("return_item")
                    .begin(&item, requested)
                    .text("return_uid", ret)
                    .text("line_item_uid", luid)
                    .text("reason_uid", reason)
                    .int("quantity", lqty)
                    .int("received_quantity", if got { lqty } else { 0 })
                    .end()?;
            }
        }
        if !canceled && self.rng.random::<f64>() < 0.10 {
            let pi = self.rng.random_range(0..self.publishers.len());
            let (pub_uid, link_uid) = {
                let p = &self.publishers[pi];
                (
                    p.uid.clone(),
                    p.links[self.rng.random_range(0..p.links.len())].clone(),
                )
            };
            let landing = placed - Duration::minutes(self.rng.random_range(1..600));
            let referral = self.uid("rfl", landing);
            let device = if self.rng.random::<f64>() < 0.7 {
                "mobile"
            } else {
                "desktop"
            };
            let session = hex::encode(Sha256::digest(
                format!("{}-{}", self.config.seed, referral).as_bytes(),
            ));
            self.t("referral")
                .begin(&referral, landing)
                .text("referral_link_uid", link_uid)
                .text("publisher_uid", pub_uid.clone())
                .text("customer_uid", c_uid.clone())
                .ts("landing_ts", landing)
                .text("session_key_hash", session)
                .text("device_type", device)
                .phase("converted")
                .end()?;
            let conv = self.uid("conv", placed);
            self.t("conversion")
                .begin(&conv, placed)
                .text("referral_uid", referral.clone())
                .text("publisher_uid", pub_uid.clone())
                .text("order_uid", order_uid.clone())
                .text("customer_uid", c_uid)
                .text("conversion_type", "sale")
                .money("amount", total, currency)
                .text("currency_code", currency)
                .ts("converted_ts", placed)
                .phase("confirmed")
                .end()?;
            let link = self.uid("lorf", placed);
            self.t("link_order_referral")
                .begin(&link, placed)
                .text("order_uid", order_uid)
                .text("referral_uid", referral)
                .decimal("attribution_weight", "1")
                .end()?;
            let com = self.uid("com", placed);
            let rule = self.commission_rule.clone();
            self.t("commission")
                .begin(&com, placed)
                .text("conversion_uid", conv)
                .text("publisher_uid", pub_uid)
                .text("rule_uid", rule)
                .money("amount", (subtotal - discount_total) / 10, currency)
                .text("currency_code", currency)
                .decimal("rate_applied", "10")
                .ts("earned_ts", placed)
                .phase(if phase == "completed" {
                    "approved"
                } else {
                    "pending"
                })
                .end()?;
        }
        Ok(())
    }
}
