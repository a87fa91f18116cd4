//! The stand-in's store: products and orders generated from a seed (the same seed gives the
//! same store), changed by the test between runs, and rendered as Shopify's bulk JSONL one
//! chunk at a time (a 100,000-order result is never held whole).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use super::StandInOptions;

const PRODUCT_BASE: u64 = 8_000_000_000_000;
const VARIANT_BASE: u64 = 44_000_000_000_000;
const ORDER_BASE: u64 = 5_500_000_000_000;
const LINE_BASE: u64 = 14_000_000_000_000;
const CUSTOMER_BASE: u64 = 7_100_000_000_000;
const REFUND_BASE: u64 = 900_000_000_000;

const ADJECTIVES: &[&str] = &[
    "Classic", "Organic", "Vintage", "Modern", "Rustic", "Sleek", "Cozy", "Bold", "Minimal",
    "Handmade", "Everyday", "Premium",
];
const NOUNS: &[&str] = &[
    "Mug",
    "T-Shirt",
    "Backpack",
    "Candle",
    "Notebook",
    "Scarf",
    "Water Bottle",
    "Hoodie",
    "Sneakers",
    "Tote Bag",
    "Lamp",
    "Blanket",
    "Cap",
    "Socks",
];
const VENDORS: &[&str] = &[
    "Acme Goods",
    "Northwind",
    "Blue Fjord",
    "Papercraft Co",
    "Urban Thread",
    "Lumen & Co",
    "Trailhead",
    "Maison Douce",
];
const PRODUCT_TYPES: &[&str] = &["Apparel", "Home", "Accessories", "Stationery", "Outdoor"];
const PRODUCT_TAGS: &[&str] = &[
    "new",
    "bestseller",
    "eco",
    "gift",
    "sale",
    "limited",
    "summer",
    "winter",
];
const VARIANT_TITLES: &[&str] = &["Small", "Medium", "Large"];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko",
    "Liam",
];
const LAST_NAMES: &[&str] = &[
    "Martin", "Okafor", "Schmidt", "Rossi", "Tanaka", "Dubois", "Novak", "Silva", "Berg",
    "Kowalski",
];
/// City, province, province code, country, country code, zip prefix.
const CITIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Portland", "Oregon", "OR", "United States", "US", "972"),
    ("Austin", "Texas", "TX", "United States", "US", "787"),
    ("Toronto", "Ontario", "ON", "Canada", "CA", "M5V"),
    ("Lyon", "Auvergne-Rhône-Alpes", "ARA", "France", "FR", "690"),
    ("Berlin", "Berlin", "BE", "Germany", "DE", "101"),
    ("Melbourne", "Victoria", "VIC", "Australia", "AU", "300"),
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Rue de la Paix",
    "Harbour Rd",
    "Elm St",
];
const ORDER_TAGS: &[&str] = &["wholesale", "vip", "first-order", "gift"];
/// Tax title and rate in basis points.
const TAXES: &[(&str, u32)] = &[
    ("VAT", 2000),
    ("VAT", 1900),
    ("State Tax", 725),
    ("GST", 1000),
];
const DISCOUNT_CODE: &str = "WELCOME10";

/// SplitMix64: small, fast, and stable across versions (so a seed means the same store).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GenProduct {
    pub(crate) id: u64,
    title: String,
    vendor: &'static str,
    product_type: &'static str,
    tags: Vec<&'static str>,
    status: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    variants: Vec<GenVariant>,
}

#[derive(Clone, Debug)]
struct GenVariant {
    id: u64,
    sku: String,
    title: &'static str,
    price_cents: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct GenOrder {
    pub(crate) id: u64,
    number: u64,
    created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    financial: &'static str,
    fulfillment: &'static str,
    customer: u64,
    tags: Vec<&'static str>,
    discount: bool,
    shipping_cents: i64,
    tax: usize,
    lines: Vec<GenLine>,
}

#[derive(Clone, Debug)]
struct GenLine {
    id: u64,
    product: usize,
    variant: usize,
    quantity: u32,
    unit_cents: i64,
}

/// Money of one line.
struct LineMoney {
    original: i64,
    discount: i64,
    discounted: i64,
    tax: i64,
}

/// Money of one order.
struct OrderMoney {
    subtotal: i64,
    discounts: i64,
    tax: i64,
    total: i64,
}

impl GenOrder {
    fn line_money(&self, line: &GenLine) -> LineMoney {
        let original = line.unit_cents * i64::from(line.quantity);
        let discount = if self.discount { original / 10 } else { 0 };
        let discounted = original - discount;
        let rate = i64::from(TAXES[self.tax].1);
        let tax = (discounted * rate + 5_000) / 10_000;
        LineMoney {
            original,
            discount,
            discounted,
            tax,
        }
    }

    fn money(&self) -> OrderMoney {
        let mut m = OrderMoney {
            subtotal: 0,
            discounts: 0,
            tax: 0,
            total: 0,
        };
        for line in &self.lines {
            let l = self.line_money(line);
            m.subtotal += l.discounted;
            m.discounts += l.discount;
            m.tax += l.tax;
        }
        m.total = m.subtotal + self.shipping_cents + m.tax;
        m
    }

    fn matches(&self, filter: &Filter) -> bool {
        filter.matches(self.updated_at)
    }
}

/// `updated_at:>=` (or `>`) of a bulk query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) updated_since: Option<DateTime<Utc>>,
    pub(crate) inclusive: bool,
}

impl Filter {
    pub(crate) fn matches(&self, updated_at: DateTime<Utc>) -> bool {
        match self.updated_since {
            None => true,
            Some(t) if self.inclusive => updated_at >= t,
            Some(t) => updated_at > t,
        }
    }
}

/// What the store holds, as the stand-in reports it (to compare with what a sync read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreSummary {
    /// Orders (matching the filter asked for).
    pub orders: u64,
    /// Their line items.
    pub line_items: u64,
    /// Units over those line items.
    pub total_quantity: u64,
    /// Sum of the orders' `totalPriceSet`.
    pub total_price: Decimal,
    /// Sum of the orders' `subtotalPriceSet`.
    pub subtotal: Decimal,
    /// Sum of the orders' `totalTaxSet`.
    pub total_tax: Decimal,
    /// Products in the catalog (all of them).
    pub products: u64,
}

/// The generated store and what the test changed in it.
pub(crate) struct Store {
    currency: Arc<str>,
    products: Arc<Vec<GenProduct>>,
    orders: Arc<Vec<Arc<GenOrder>>>,
    rng: Rng,
    customers: u64,
    next_order_id: u64,
    next_line_id: u64,
    next_number: u64,
    min_lines: u32,
    max_lines: u32,
}

/// The state a bulk operation reads: later changes to the store do not reach it.
#[derive(Clone)]
pub(crate) struct Snapshot {
    currency: Arc<str>,
    products: Arc<Vec<GenProduct>>,
    orders: Arc<Vec<Arc<GenOrder>>>,
}

/// The root connection of a bulk query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    Orders,
    Products,
}

fn at_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

impl Store {
    pub(crate) fn generate(options: &StandInOptions) -> Self {
        let mut rng = Rng::new(options.seed);
        let from = at_second(options.created_from);
        let to = at_second(options.created_to.max(options.created_from));
        let products = (0..options.products.max(1))
            .map(|j| generate_product(&mut rng, j as u64, from))
            .collect();
        let mut store = Self {
            currency: Arc::from(options.currency.as_str()),
            products: Arc::new(products),
            orders: Arc::new(Vec::with_capacity(options.orders)),
            rng,
            customers: (options.orders as u64 / 3).max(1),
            next_order_id: ORDER_BASE,
            next_line_id: LINE_BASE,
            next_number: 1001,
            min_lines: options.min_line_items.max(1),
            max_lines: options.max_line_items.max(options.min_line_items.max(1)),
        };
        let span = (to - from).num_seconds().max(0);
        let n = options.orders as i64;
        let mut orders = Vec::with_capacity(options.orders);
        for i in 0..n {
            let slot = span * i / n.max(1);
            let width = (span / n.max(1)).max(1);
            let created =
                from + ChronoDuration::seconds(slot + store.rng.below(width as u64) as i64);
            let created = created.min(to);
            let room = (to - created).num_seconds().clamp(0, 72 * 3600);
            let updated =
                created + ChronoDuration::seconds(store.rng.below(room as u64 + 1) as i64);
            orders.push(Arc::new(store.new_order(created, updated, to)));
        }
        store.orders = Arc::new(orders);
        store
    }

    fn new_order(
        &mut self,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> GenOrder {
        self.next_order_id += 1 + self.rng.below(3);
        let rng = &mut self.rng;
        let count =
            self.min_lines as u64 + rng.below(u64::from(self.max_lines - self.min_lines) + 1);
        let mut lines = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let product = rng.below(self.products.len() as u64) as usize;
            let variant = rng.below(self.products[product].variants.len() as u64) as usize;
            let quantity = match rng.below(10) {
                0..=5 => 1,
                6..=7 => 2,
                8 => 3,
                _ => 4 + rng.below(3) as u32,
            };
            self.next_line_id += 1 + rng.below(5);
            lines.push(GenLine {
                id: self.next_line_id,
                product,
                variant,
                quantity,
                unit_cents: self.products[product].variants[variant].price_cents,
            });
        }
        let cancelled = rng.chance(2);
        let financial = if cancelled {
            "VOIDED"
        } else {
            match rng.below(100) {
                0..=86 => "PAID",
                87..=91 => "REFUNDED",
                92..=95 => "PARTIALLY_REFUNDED",
                _ => "PENDING",
            }
        };
        let fulfillment = if cancelled || created_at + ChronoDuration::days(2) > horizon {
            "UNFULFILLED"
        } else if rng.chance(90) {
            "FULFILLED"
        } else {
            "PARTIALLY_FULFILLED"
        };
        let mut tags = Vec::new();
        if rng.chance(15) {
            tags.push(rng.pick(ORDER_TAGS));
        }
        let number = self.next_number;
        self.next_number += 1;
        let mut order = GenOrder {
            id: self.next_order_id,
            number,
            created_at,
            updated_at,
            cancelled_at: cancelled.then(|| created_at + ChronoDuration::hours(1)),
            financial,
            fulfillment,
            customer: rng.below(self.customers),
            tags,
            discount: rng.chance(20),
            shipping_cents: 0,
            tax: rng.below(TAXES.len() as u64) as usize,
            lines,
        };
        order.shipping_cents = if order.money().subtotal >= 10_000 {
            0
        } else {
            499
        };
        if let Some(cancelled_at) = order.cancelled_at {
            order.updated_at = order.updated_at.max(cancelled_at);
        }
        order
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            currency: Arc::clone(&self.currency),
            products: Arc::clone(&self.products),
            orders: Arc::clone(&self.orders),
        }
    }

    fn order_mut(&mut self, id: u64) -> Option<&mut GenOrder> {
        let orders = Arc::make_mut(&mut self.orders);
        let index = orders.binary_search_by_key(&id, |o| o.id).ok()?;
        Some(Arc::make_mut(&mut orders[index]))
    }

    /// An edit: one more unit of the first line item, `updatedAt` = `at`.
    pub(crate) fn update_order(&mut self, id: u64, at: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        if let Some(line) = order.lines.first_mut() {
            line.quantity += 1;
        }
        order.updated_at = at_second(at);
        true
    }

    /// Cancels the order at `at`.
    pub(crate) fn cancel_order(&mut self, id: u64, at: DateTime<Utc>) -> bool {
        let Some(order) = self.order_mut(id) else {
            return false;
        };
        order.cancelled_at = Some(at_second(at));
        order.financial = "VOIDED";
        order.fulfillment = "UNFULFILLED";
        order.updated_at = at_second(at);
        true
    }

    /// New orders created (and updated) at `at`; returns their ids.
    pub(crate) fn add_orders(&mut self, count: usize, at: DateTime<Utc>) -> Vec<u64> {
        let at = at_second(at);
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let mut order = self.new_order(at, at, at);
            // New orders are open and unfulfilled.
            order.cancelled_at = None;
            order.updated_at = at;
            if order.financial == "VOIDED" {
                order.financial = "PAID";
            }
            ids.push(order.id);
            Arc::make_mut(&mut self.orders).push(Arc::new(order));
        }
        ids
    }

    /// A product edit: the tag `updated` and `updatedAt` = `at`.
    pub(crate) fn update_product(&mut self, id: u64, at: DateTime<Utc>) -> bool {
        let products = Arc::make_mut(&mut self.products);
        let Ok(index) = products.binary_search_by_key(&id, |p| p.id) else {
            return false;
        };
        let product = &mut products[index];
        if !product.tags.contains(&"updated") {
            product.tags.push("updated");
        }
        product.updated_at = at_second(at);
        true
    }

    pub(crate) fn order_ids(&self, filter: &Filter) -> Vec<u64> {
        self.orders
            .iter()
            .filter(|o| o.matches(filter))
            .map(|o| o.id)
            .collect()
    }

    pub(crate) fn product_ids(&self) -> Vec<u64> {
        self.products.iter().map(|p| p.id).collect()
    }

    pub(crate) fn summary(&self, filter: &Filter) -> StoreSummary {
        let mut s = StoreSummary {
            products: self.products.len() as u64,
            ..StoreSummary::default()
        };
        for order in self.orders.iter().filter(|o| o.matches(filter)) {
            let m = order.money();
            s.orders += 1;
            s.line_items += order.lines.len() as u64;
            s.total_quantity += order
                .lines
                .iter()
                .map(|l| u64::from(l.quantity))
                .sum::<u64>();
            s.total_price += Decimal::new(m.total, 2);
            s.subtotal += Decimal::new(m.subtotal, 2);
            s.total_tax += Decimal::new(m.tax, 2);
        }
        s
    }
}

fn generate_product(rng: &mut Rng, j: u64, from: DateTime<Utc>) -> GenProduct {
    let created_at = from - ChronoDuration::seconds(rng.below(365 * 86_400) as i64 + 86_400);
    let updated_at = created_at + ChronoDuration::seconds(rng.below(30 * 86_400) as i64);
    let status = match rng.below(100) {
        0..=84 => "ACTIVE",
        85..=94 => "ARCHIVED",
        _ => "DRAFT",
    };
    let id = PRODUCT_BASE + j * 11 + 1;
    let mut tags: Vec<&'static str> = Vec::new();
    for _ in 0..rng.below(3) {
        let tag = rng.pick(PRODUCT_TAGS);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.sort_unstable();
    let variant_count = 1 + rng.below(3) as usize;
    let base_price = 500 + rng.below(195) as i64 * 100 - 1;
    let variants = (0..variant_count)
        .map(|v| GenVariant {
            id: VARIANT_BASE + j * 7 + v as u64 + 1,
            sku: format!(
                "SKU-{:05}-{}",
                j + 1,
                VARIANT_TITLES[v].as_bytes()[0] as char
            ),
            title: VARIANT_TITLES[v],
            price_cents: base_price + v as i64 * 200,
        })
        .collect();
    GenProduct {
        id,
        title: format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS)),
        vendor: rng.pick(VENDORS),
        product_type: rng.pick(PRODUCT_TYPES),
        tags,
        status,
        created_at,
        updated_at,
        published_at: (status == "ACTIVE").then(|| created_at + ChronoDuration::hours(2)),
        variants,
    }
}

// ---- Rendering: Shopify's JSONL shapes, written straight into a buffer. ----

/// A GID, written without building a String.
struct GidOut(&'static str, u64);

impl Serialize for GidOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("gid://shopify/{}/{}", self.0, self.1))
    }
}

/// Text made of parts, written without building a String.
enum Text<'a> {
    /// `a` + `sep` + `b`.
    Join(&'a str, &'a str, &'a str),
    /// `prefix` + number + `suffix`.
    Num(&'a str, u64, &'a str),
    /// A street address: number, street.
    Street(u64, &'a str),
    /// A zip code: prefix and two digits.
    Zip(&'a str, u64),
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Join(a, sep, b) => write!(f, "{a}{sep}{b}"),
            Self::Num(prefix, n, suffix) => write!(f, "{prefix}{n}{suffix}"),
            Self::Street(n, street) => write!(f, "{n} {street}"),
            Self::Zip(prefix, n) => write!(f, "{prefix}{n:02}"),
        }
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An amount in cents, written as Shopify does (`12.3`, `70.0`, `12.34`).
struct Amount(i64);

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, cents) = (abs / 100, abs % 100);
        if cents % 10 == 0 {
            write!(f, "{sign}{whole}.{}", cents / 10)
        } else {
            write!(f, "{sign}{whole}.{cents:02}")
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShopMoney<'a> {
    amount: Amount,
    currency_code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bag<'a> {
    shop_money: ShopMoney<'a>,
}

fn bag(cents: i64, currency: &str) -> Bag<'_> {
    Bag {
        shop_money: ShopMoney {
            amount: Amount(cents),
            currency_code: currency,
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressOut<'a> {
    name: Text<'a>,
    first_name: &'a str,
    last_name: &'a str,
    company: Option<&'a str>,
    address1: Text<'a>,
    address2: Option<&'a str>,
    city: &'a str,
    province: &'a str,
    province_code: &'a str,
    country: &'a str,
    country_code_v2: &'a str,
    zip: Text<'a>,
    phone: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaxLineOut<'a> {
    title: &'a str,
    rate: f64,
    rate_percentage: f64,
    price_set: Bag<'a>,
}

#[derive(Serialize)]
struct IdOut {
    id: GidOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundOut<'a> {
    id: GidOut,
    created_at: &'a DateTime<Utc>,
    total_refunded_set: Bag<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderLine<'a> {
    id: GidOut,
    name: Text<'a>,
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
    processed_at: &'a DateTime<Utc>,
    cancelled_at: Option<&'a DateTime<Utc>>,
    cancel_reason: Option<&'a str>,
    display_financial_status: &'a str,
    display_fulfillment_status: &'a str,
    currency_code: &'a str,
    email: Text<'a>,
    tags: &'a [&'static str],
    discount_codes: &'a [&'static str],
    total_price_set: Bag<'a>,
    subtotal_price_set: Bag<'a>,
    total_tax_set: Bag<'a>,
    total_discounts_set: Bag<'a>,
    total_shipping_price_set: Bag<'a>,
    shipping_address: AddressOut<'a>,
    billing_address: AddressOut<'a>,
    customer: IdOut,
    tax_lines: [TaxLineOut<'a>; 1],
    refunds: &'a [RefundOut<'a>],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllocationOut<'a> {
    allocated_amount_set: Bag<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductRefOut<'a> {
    id: GidOut,
    title: &'a str,
    vendor: &'a str,
    product_type: &'a str,
    tags: &'a [&'static str],
    status: &'a str,
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
    published_at: Option<&'a DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VariantRefOut<'a> {
    id: GidOut,
    sku: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LineItemLine<'a> {
    id: GidOut,
    name: Text<'a>,
    title: &'a str,
    sku: &'a str,
    vendor: &'a str,
    quantity: u32,
    original_unit_price_set: Bag<'a>,
    original_total_set: Bag<'a>,
    discounted_total_set: Bag<'a>,
    total_discount_set: Bag<'a>,
    discount_allocations: &'a [AllocationOut<'a>],
    tax_lines: [TaxLineOut<'a>; 1],
    product: ProductRefOut<'a>,
    variant: VariantRefOut<'a>,
    #[serde(rename = "__parentId")]
    parent_id: GidOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductLine<'a> {
    id: GidOut,
    title: &'a str,
    vendor: &'a str,
    product_type: &'a str,
    tags: &'a [&'static str],
    status: &'a str,
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
    published_at: Option<&'a DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VariantLine<'a> {
    id: GidOut,
    sku: &'a str,
    title: &'a str,
    price: Amount,
    #[serde(rename = "__parentId")]
    parent_id: GidOut,
}

fn tax_line<'a>(
    title: &'a str,
    rate_bp: u32,
    cents: i64,
    currency: &'a str,
) -> [TaxLineOut<'a>; 1] {
    [TaxLineOut {
        title,
        rate: f64::from(rate_bp) / 10_000.0,
        rate_percentage: f64::from(rate_bp) / 100.0,
        price_set: bag(cents, currency),
    }]
}

/// Where a rendering is: the next object, the last line number written.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cursor {
    index: usize,
    line_no: u64,
    roots: u64,
}

/// How big a result is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExportSize {
    pub(crate) bytes: u64,
    pub(crate) objects: u64,
    pub(crate) roots: u64,
}

/// A bulk query's result: the snapshot it reads, its root and filter, and the lines to corrupt.
pub(crate) struct Export {
    pub(crate) snapshot: Snapshot,
    pub(crate) root: Root,
    pub(crate) filter: Filter,
    pub(crate) corrupt: BTreeSet<u64>,
}

impl Export {
    /// Appends lines to `buf` until it holds `target` bytes or the result ends; returns whether
    /// anything is left.
    pub(crate) fn render(&self, cursor: &mut Cursor, buf: &mut Vec<u8>, target: usize) -> bool {
        match self.root {
            Root::Orders => {
                let orders = &self.snapshot.orders;
                while buf.len() < target && cursor.index < orders.len() {
                    let order = &orders[cursor.index];
                    cursor.index += 1;
                    if order.matches(&self.filter) {
                        cursor.roots += 1;
                        self.render_order(order, cursor, buf);
                    }
                }
                cursor.index < orders.len()
            }
            Root::Products => {
                let products = &self.snapshot.products;
                while buf.len() < target && cursor.index < products.len() {
                    let product = &products[cursor.index];
                    cursor.index += 1;
                    if self.filter.matches(product.updated_at) {
                        cursor.roots += 1;
                        self.render_product(product, cursor, buf);
                    }
                }
                cursor.index < products.len()
            }
        }
    }

    /// Renders the whole result once, keeping only its size and counts.
    pub(crate) fn measure(&self) -> ExportSize {
        let mut size = ExportSize::default();
        let mut cursor = Cursor::default();
        let mut buf = Vec::with_capacity(256 * 1024);
        loop {
            buf.clear();
            let more = self.render(&mut cursor, &mut buf, 192 * 1024);
            size.bytes += buf.len() as u64;
            if !more {
                break;
            }
        }
        size.objects = cursor.line_no;
        size.roots = cursor.roots;
        size
    }

    fn write_line<T: Serialize>(&self, cursor: &mut Cursor, buf: &mut Vec<u8>, line: &T) {
        cursor.line_no += 1;
        let start = buf.len();
        // Serializing these plain structs into a Vec cannot fail.
        if serde_json::to_writer(&mut *buf, line).is_err() {
            buf.truncate(start);
            buf.extend_from_slice(b"{}");
        }
        if self.corrupt.contains(&cursor.line_no) {
            // A malformed line: cut in the middle of its JSON.
            let len = buf.len() - start;
            buf.truncate(start + len / 2);
        }
        buf.push(b'\n');
    }

    fn render_order(&self, order: &GenOrder, cursor: &mut Cursor, buf: &mut Vec<u8>) {
        let c = &*self.snapshot.currency;
        let m = order.money();
        let customer = order.customer;
        let first = FIRST_NAMES[(customer % FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[(customer / 7 % LAST_NAMES.len() as u64) as usize];
        let (city, province, province_code, country, country_code, zip) =
            CITIES[(customer % CITIES.len() as u64) as usize];
        let street = STREETS[(customer % STREETS.len() as u64) as usize];
        let number = customer % 200 + 1;
        let zip_tail = customer % 100;
        let address = || AddressOut {
            name: Text::Join(first, " ", last),
            first_name: first,
            last_name: last,
            company: None,
            address1: Text::Street(number, street),
            address2: None,
            city,
            province,
            province_code,
            country,
            country_code_v2: country_code,
            zip: Text::Zip(zip, zip_tail),
            phone: None,
        };
        let refunded = match order.financial {
            "REFUNDED" => m.total,
            "PARTIALLY_REFUNDED" => m.total / 4,
            _ => 0,
        };
        let refund_at = order.updated_at;
        let refunds = [RefundOut {
            id: GidOut("Refund", REFUND_BASE + order.id - ORDER_BASE),
            created_at: &refund_at,
            total_refunded_set: bag(refunded, c),
        }];
        let (tax_title, tax_rate) = TAXES[order.tax];
        let line = OrderLine {
            id: GidOut("Order", order.id),
            name: Text::Num("#", order.number, ""),
            created_at: &order.created_at,
            updated_at: &order.updated_at,
            processed_at: &order.created_at,
            cancelled_at: order.cancelled_at.as_ref(),
            cancel_reason: order.cancelled_at.map(|_| "CUSTOMER"),
            display_financial_status: order.financial,
            display_fulfillment_status: order.fulfillment,
            currency_code: c,
            email: Text::Num("customer", customer, "@example.com"),
            tags: &order.tags,
            discount_codes: if order.discount {
                &[DISCOUNT_CODE]
            } else {
                &[]
            },
            total_price_set: bag(m.total, c),
            subtotal_price_set: bag(m.subtotal, c),
            total_tax_set: bag(m.tax, c),
            total_discounts_set: bag(m.discounts, c),
            total_shipping_price_set: bag(order.shipping_cents, c),
            shipping_address: address(),
            billing_address: address(),
            customer: IdOut {
                id: GidOut("Customer", CUSTOMER_BASE + customer),
            },
            tax_lines: tax_line(tax_title, tax_rate, m.tax, c),
            refunds: if refunded > 0 { &refunds } else { &[] },
        };
        self.write_line(cursor, buf, &line);
        for item in &order.lines {
            let product = &self.snapshot.products[item.product];
            let variant = &product.variants[item.variant];
            let lm = order.line_money(item);
            let allocation = [AllocationOut {
                allocated_amount_set: bag(lm.discount, c),
            }];
            let line = LineItemLine {
                id: GidOut("LineItem", item.id),
                name: Text::Join(&product.title, " - ", variant.title),
                title: &product.title,
                sku: &variant.sku,
                vendor: product.vendor,
                quantity: item.quantity,
                original_unit_price_set: bag(item.unit_cents, c),
                original_total_set: bag(lm.original, c),
                discounted_total_set: bag(lm.discounted, c),
                total_discount_set: bag(lm.discount, c),
                discount_allocations: if lm.discount > 0 { &allocation } else { &[] },
                tax_lines: tax_line(tax_title, tax_rate, lm.tax, c),
                product: ProductRefOut {
                    id: GidOut("Product", product.id),
                    title: &product.title,
                    vendor: product.vendor,
                    product_type: product.product_type,
                    tags: &product.tags,
                    status: product.status,
                    created_at: &product.created_at,
                    updated_at: &product.updated_at,
                    published_at: product.published_at.as_ref(),
                },
                variant: VariantRefOut {
                    id: GidOut("ProductVariant", variant.id),
                    sku: &variant.sku,
                    title: variant.title,
                },
                parent_id: GidOut("Order", order.id),
            };
            self.write_line(cursor, buf, &line);
        }
    }

    fn render_product(&self, product: &GenProduct, cursor: &mut Cursor, buf: &mut Vec<u8>) {
        let line = ProductLine {
            id: GidOut("Product", product.id),
            title: &product.title,
            vendor: product.vendor,
            product_type: product.product_type,
            tags: &product.tags,
            status: product.status,
            created_at: &product.created_at,
            updated_at: &product.updated_at,
            published_at: product.published_at.as_ref(),
        };
        self.write_line(cursor, buf, &line);
        for variant in &product.variants {
            let line = VariantLine {
                id: GidOut("ProductVariant", variant.id),
                sku: &variant.sku,
                title: variant.title,
                price: Amount(variant.price_cents),
                parent_id: GidOut("Product", product.id),
            };
            self.write_line(cursor, buf, &line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(orders: usize) -> StandInOptions {
        StandInOptions {
            orders,
            ..StandInOptions::default()
        }
    }

    fn render_all(export: &Export) -> String {
        let mut cursor = Cursor::default();
        let mut buf = Vec::new();
        loop {
            let target = buf.len() + 1024;
            if !export.render(&mut cursor, &mut buf, target) {
                break;
            }
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_store() {
        let a = Store::generate(&options(50));
        let b = Store::generate(&options(50));
        let export = |s: &Store| Export {
            snapshot: s.snapshot(),
            root: Root::Orders,
            filter: Filter::default(),
            corrupt: BTreeSet::new(),
        };
        assert_eq!(render_all(&export(&a)), render_all(&export(&b)));
        let c = Store::generate(&StandInOptions {
            seed: 7,
            ..options(50)
        });
        assert_ne!(render_all(&export(&a)), render_all(&export(&c)));
    }

    #[test]
    fn amounts_are_written_as_shopify_does() {
        assert_eq!(Amount(1230).to_string(), "12.3");
        assert_eq!(Amount(7000).to_string(), "70.0");
        assert_eq!(Amount(1234).to_string(), "12.34");
        assert_eq!(Amount(5).to_string(), "0.05");
        assert_eq!(Amount(-250).to_string(), "-2.5");
    }

    #[test]
    fn measure_counts_what_render_writes() {
        let store = Store::generate(&options(40));
        let export = Export {
            snapshot: store.snapshot(),
            root: Root::Orders,
            filter: Filter::default(),
            corrupt: BTreeSet::new(),
        };
        let text = render_all(&export);
        let size = export.measure();
        assert_eq!(size.bytes, text.len() as u64);
        assert_eq!(size.objects, text.lines().count() as u64);
        assert_eq!(size.roots, 40);
        let summary = store.summary(&Filter::default());
        assert_eq!(size.objects, summary.orders + summary.line_items);
    }

    #[test]
    fn line_items_average_about_three() {
        let store = Store::generate(&options(3000));
        let s = store.summary(&Filter::default());
        let avg = s.line_items as f64 / s.orders as f64;
        assert!((2.8..3.2).contains(&avg), "{avg}");
    }
}
