//! The staff analytics (`crates/strata-server/src/routes/{performance_metrics,analytics,tag_analytics}.rs`):
//! performance metrics, commerce figures, tag analytics and the fulfillment daily summary.
//!
//! Parameters state exactly what the handlers accept (dates `YYYY-MM-DD` with a year from 1000,
//! enums, integer bounds), so a request the document allows is never a 400, except a range whose
//! `from` is after its `to`.

use serde_json::{Map, Value, json};
use strata_schema::Schema;

use super::paths::{Target, json_content, with_responses};
use super::{insert_unique, schema_ref};
use crate::analytics::{DAY_PATTERN, Tier};
use crate::routes::analytics::ORDER_PHASES;
use crate::routes::performance_metrics::{
    DEFAULT_LIMIT, FLAGS, MAX_LIMIT, MAX_SEARCH, SORT_FIELDS,
};
use crate::routes::tag_analytics::{MAX_TAG_NAME, MAX_TAG_NAMES};

const METRIC: &str = "PerformanceMetric";
const METRIC_TAG: &str = "PerformanceMetricTag";
const METRIC_PAGE: &str = "PerformanceMetricPage";
const METRIC_ONE: &str = "PerformanceMetricOne";
const FIGURES: &str = "PerformanceFigures";
const SUMMARY: &str = "PerformanceSummary";
const OVERVIEW: &str = "CommerceOverview";
const TOP: &str = "CommerceTopProducts";
const ORDERS: &str = "CommerceOrdersByPhase";
const TAG_REQUEST: &str = "TagPerformanceRequest";
const TAG_PERFORMANCE: &str = "TagPerformance";
const TAG_DISTRIBUTION: &str = "TagDistribution";
const TAG_GROUP: &str = "TagGroupPerformance";
const FULFILLMENT: &str = "FulfillmentDailySummaryReport";

fn day() -> Value {
    json!({"type": "string", "format": "date", "minLength": 10, "maxLength": 10, "pattern": DAY_PATTERN})
}

fn nullable_day(description: &str) -> Value {
    json!({"type": ["string", "null"], "format": "date", "description": description})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn int(description: &str) -> Value {
    json!({"type": "integer", "description": description})
}

fn money(description: &str) -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": description})
}

fn object(description: &str, props: Value) -> Value {
    let required: Vec<String> = props
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": props,
        "additionalProperties": false,
    })
}

/// `as_of_day` and `snapshot_id`, plus `props`.
fn day_object(description: &str, props: Value) -> Value {
    let mut all = json!({
        "as_of_day": nullable_day("The as-of day read; `null` when nothing is measured yet."),
        "snapshot_id": {"type": ["integer", "null"], "description": "The snapshot of `measurement.performance` read (`AT SNAPSHOT` reproduces it)."},
    });
    if let (Some(a), Some(p)) = (all.as_object_mut(), props.as_object()) {
        a.extend(p.clone());
    }
    object(description, all)
}

fn tiers() -> Vec<&'static str> {
    Tier::ALL.iter().map(|t| t.as_str()).collect()
}

fn schemas() -> Vec<(&'static str, Value)> {
    let tier_counts: Map<String, Value> = tiers()
        .into_iter()
        .map(|t| (t.to_string(), count("Products of the tier.")))
        .collect();
    let flag_counts: Map<String, Value> = FLAGS[1..]
        .iter()
        .map(|f| (f.to_string(), count("Products with the flag set.")))
        .collect();
    let tag = object(
        "A tag the product carries (`product.tag_uids`).",
        json!({
            "uid": {"type": "string", "description": "The `product_tag`."},
            "category_name": {"type": "string", "description": "Its tag category (tag group)."},
            "tag_name": {"type": "string"},
        }),
    );
    let metric = object(
        "One product's row of `measurement.performance` on the as-of day (docs/measurements.md), with its tags as they are now.",
        json!({
            "product_uid": {"type": "string"},
            "product_title": {"type": "string", "description": "The title at the refresh."},
            "launch_day": nullable_day("Published day, or creation day when never published."),
            "days_since_launch": int("as_of_day − launch_day."),
            "is_active": {"type": "boolean", "description": "The product is published."},
            "sales_first_7_days": int("Units over [launch, launch+6], up to as_of."),
            "sales_first_14_days": int("Units over [launch, launch+13], up to as_of."),
            "sales_last_7_days": int("Units over [as_of−6, as_of], from launch."),
            "sales_last_30_days": int("Units over [as_of−29, as_of], from launch."),
            "sales_last_90_days": int("Units over [as_of−89, as_of], from launch."),
            "aggregate_measurement_value": int("Units from launch through as_of."),
            "is_top_riser": {"type": "boolean"},
            "is_winner": {"type": "boolean"},
            "is_banana": {"type": "boolean"},
            "is_archive": {"type": "boolean"},
            "nominal_classification": {"type": "string", "enum": tiers()},
            "spec_version": int("The classification spec version applied (0: the defaults)."),
            "tags": {"type": "array", "items": schema_ref(METRIC_TAG)},
        }),
    );
    let page = day_object(
        "One page of the day's products, filtered and sorted.",
        json!({
            "total": count("Products matching the filters."),
            "limit": count("The page size."),
            "offset": count("Products skipped."),
            "items": {"type": "array", "items": schema_ref(METRIC)},
        }),
    );
    let one = day_object(
        "One product's performance on the day.",
        json!({"item": schema_ref(METRIC)}),
    );
    let figures = object(
        "Counts and unit totals over a set of the day's products.",
        json!({
            "products": count("Products measured that day."),
            "active_products": count("Of them, published."),
            "tiers": object("Products per nominal classification.", Value::Object(tier_counts)),
            "flags": object("Products per flag.", Value::Object(flag_counts)),
            "sales_last_7_days": int("Sum of the products' units over the last 7 days."),
            "sales_last_30_days": int("… over the last 30 days."),
            "sales_last_90_days": int("… over the last 90 days."),
            "aggregate_measurement_value": int("Sum of units since launch."),
        }),
    );
    let summary = day_object(
        "Counts per tier and flag, and unit totals, over every product measured on the day.",
        json!({"totals": schema_ref(FIGURES)}),
    );
    let range = json!({
        "from": {"type": "string", "format": "date", "description": "First day (included)."},
        "to": {"type": "string", "format": "date", "description": "Last day (included)."},
        "time_zone": {"type": "string", "description": "The reporting time zone the days are counted in."},
    });
    let with_range = |description: &str, props: Value| {
        let mut all = range.clone();
        if let (Some(a), Some(p)) = (all.as_object_mut(), props.as_object()) {
            a.extend(p.clone());
        }
        object(description, all)
    };
    let sales_snapshot = json!({"type": ["integer", "null"], "description": "The snapshot of `measurement.sales` read; `null` when nothing is measured yet."});
    let currency = object(
        "One currency's figures over the range (money is never added across currencies).",
        json!({
            "currency_code": {"type": "string"},
            "orders": count("Orders placed in the range with at least one product line."),
            "units": int("Units ordered."),
            "units_returned": int("Units in return requests made in the range."),
            "gross_revenue": money("Sum of line subtotals."),
            "discounts": money("Sum of line discounts."),
            "net_revenue": money("gross_revenue − discounts, before tax."),
            "average_order_value": {"type": ["string", "null"], "description": "net_revenue / orders, to 4 places; `null` without orders."},
        }),
    );
    let overview = with_range(
        "Revenue, orders, units and average order value per currency, from `measurement.sales`.",
        json!({"snapshot_id": sales_snapshot, "currencies": {"type": "array", "items": currency}}),
    );
    let product = object(
        "One product's figures in one currency over the range.",
        json!({
            "rank": {"type": "integer", "minimum": 1},
            "product_uid": {"type": "string"},
            "product_title": {"type": ["string", "null"], "description": "The title now; `null` if the product is gone."},
            "orders": count("Orders with the product."),
            "units": int("Units ordered."),
            "units_returned": int("Units returned."),
            "gross_revenue": money("Sum of line subtotals."),
            "discounts": money("Sum of line discounts."),
            "net_revenue": money("gross_revenue − discounts."),
        }),
    );
    let leaders = object(
        "A currency's leading products.",
        json!({"currency_code": {"type": "string"}, "items": {"type": "array", "items": product}}),
    );
    let top = with_range(
        "The leading products of each currency.",
        json!({
            "snapshot_id": sales_snapshot,
            "by": {"type": "string", "enum": ["revenue", "units"]},
            "currencies": {"type": "array", "items": leaders},
        }),
    );
    let phases: Map<String, Value> = ORDER_PHASES
        .iter()
        .map(|p| (p.to_string(), count("Orders in the phase.")))
        .collect();
    let orders = with_range(
        "Orders placed in the range (`placed_ts`), by their phase now.",
        json!({"total": count("Orders placed in the range."), "phases": object("Orders per phase (every phase present).", Value::Object(phases))}),
    );
    let tag_request = json!({
        "type": "object",
        "description": "The tag names to report on.",
        "required": ["tagNames"],
        "properties": {
            "tagNames": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_TAG_NAMES,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG_NAME},
                "description": "Tag names (`product_tag.tag_name`, in any category); repeated names count once.",
            },
            "as_of": {"type": ["string", "null"], "format": "date", "minLength": 10, "maxLength": 10, "pattern": DAY_PATTERN, "description": "The as-of day (default: the last measured day)."},
        },
        "additionalProperties": false,
    });
    let tag_item = object(
        "The figures of the products carrying a tag of this name.",
        json!({
            "tag_name": {"type": "string"},
            "tag_uids": {"type": "array", "items": {"type": "string"}, "description": "The tags of that name; empty when none has it."},
            "figures": schema_ref(FIGURES),
        }),
    );
    let tag_performance = day_object(
        "Figures per requested tag name, in request order.",
        json!({"items": {"type": "array", "items": tag_item}}),
    );
    let per_tag = object(
        "One tag's figures.",
        json!({
            "tag_uid": {"type": "string"},
            "category_name": {"type": "string"},
            "tag_name": {"type": "string"},
            "figures": schema_ref(FIGURES),
        }),
    );
    let distribution = day_object(
        "How the day's products spread over the tags of a tag category.",
        json!({
            "category_name": {"type": "string"},
            "totals": schema_ref(FIGURES),
            "items": {"type": "array", "items": per_tag.clone()},
        }),
    );
    let group = day_object(
        "A tag group's totals (each product once) and each of its tags.",
        json!({
            "group_uid": {"type": "string"},
            "group_name": {"type": "string"},
            "totals": schema_ref(FIGURES),
            "items": {"type": "array", "items": per_tag},
        }),
    );
    let fulfillment_row = object(
        "One day and stock location.",
        json!({
            "summary_day": {"type": "string", "format": "date"},
            "stock_location_uid": {"type": "string"},
            "total_count": count("Fulfillments created that day at the location."),
            "successful_count": count("Of them, shipped or delivered."),
            "failed_count": count("Of them, failed."),
            "phase": {"type": ["string", "null"], "enum": ["open", "closed", "archived", null]},
        }),
    );
    let fulfillment_totals = object(
        "Sums over the rows.",
        json!({
            "total_count": count(""),
            "successful_count": count(""),
            "failed_count": count(""),
        }),
    );
    let fulfillment = object(
        "The `fulfillment_daily_summary` rows of the range (UTC days) and their totals.",
        json!({
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "items": {"type": "array", "items": fulfillment_row},
            "totals": fulfillment_totals,
        }),
    );
    vec![
        (METRIC_TAG, tag),
        (METRIC, metric),
        (METRIC_PAGE, page),
        (METRIC_ONE, one),
        (FIGURES, figures),
        (SUMMARY, summary),
        (OVERVIEW, overview),
        (TOP, top),
        (ORDERS, orders),
        (TAG_REQUEST, tag_request),
        (TAG_PERFORMANCE, tag_performance),
        (TAG_DISTRIBUTION, distribution),
        (TAG_GROUP, group),
        (FULFILLMENT, fulfillment),
    ]
}

/// Adds the analytics' schemas to `components.schemas`.
pub(crate) fn components(out: &mut Map<String, Value>) {
    for (name, s) in schemas() {
        insert_unique(out, name.to_string(), s);
    }
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn path(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn as_of() -> Value {
    let mut schema = day();
    schema["description"] = json!("The as-of day.");
    query(
        "as_of",
        "The as-of day (default: the last measured day). A day without measurements is a 404 naming the measured range.",
        schema,
    )
}

fn range_params() -> Vec<Value> {
    vec![
        query(
            "from",
            "First day, included (default: 29 days before `to`). After `to`: 400.",
            day(),
        ),
        query(
            "to",
            "Last day, included (default: today, or `from` if later).",
            day(),
        ),
    ]
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": json_content(schema_ref(schema))})
}

fn not_found(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": schema_ref("Problem")}},
    })
}

const NO_LAKE: &str = "\n\nFrom the lake's measurements: a server without a lake answers 503.";

/// One GET operation.
fn get_op(
    target: &Target,
    id: &str,
    summary: &str,
    description: &str,
    params: Vec<Value>,
    schema: &str,
    missing: Option<&str>,
) -> Value {
    let mut o = target.op(id, summary.into(), description.into(), false);
    o.insert("parameters".into(), Value::Array(params));
    let mut op = with_responses(o, vec![("200", ok(summary, schema))], &[]);
    if let Some(m) = missing {
        op["responses"]["404"] = not_found(m);
    }
    op
}

fn insert(out: &mut Map<String, Value>, path: &str, method: &str, op: Value) {
    let item = out
        .entry(path.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    item[method] = op;
}

/// Adds the analytics operations to `paths`.
pub(crate) fn paths(schema: &Schema, out: &mut Map<String, Value>) {
    let (Some(macrodata), Some(order), Some(fulfillment)) = (
        schema.table("macrodata_artifact"),
        schema.table("order_header"),
        schema.table("fulfillment_daily_summary"),
    ) else {
        return;
    };
    let perf = Target::new(schema, macrodata);
    let order = Target::new(schema, order);
    let fulfillment = Target::new(schema, fulfillment);
    let no_day = "No performance measured for `as_of`.";

    let mut list_params = vec![
        as_of(),
        query(
            "tier",
            "Only products of this nominal classification.",
            json!({"type": "string", "enum": tiers()}),
        ),
    ];
    for f in FLAGS {
        list_params.push(query(
            f,
            &format!("Only products with `{f}` true or false."),
            json!({"type": "string", "enum": ["true", "false"]}),
        ));
    }
    let text = json!({"type": "string", "minLength": 1, "maxLength": MAX_SEARCH, "pattern": "\\S"});
    list_params.extend([
        query("tag", "Only products carrying this tag: a `product_tag` uid, or a tag name in any category.", text.clone()),
        query("category", "Only products carrying a tag of this tag category (`product_tag.category_name`).", text.clone()),
        query("search", "Only products whose title contains this text (any case), or whose uid starts with it.", text),
        query(
            "sort",
            "Sort field, `-` before it for descending (default `-sales_last_30_days`); ties by `product_uid`.",
            json!({"type": "string", "enum": SORT_FIELDS.iter().flat_map(|f| [f.to_string(), format!("-{f}")]).collect::<Vec<_>>()}),
        ),
        query(
            "limit",
            "Page size.",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ),
        query(
            "offset",
            "Products to skip.",
            json!({"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0}),
        ),
    ]);
    insert(
        out,
        "/api/performance-metrics",
        "get",
        get_op(
            &perf,
            "performance_metrics_list",
            "List the products' performance",
            &format!(
                "The products measured on the as-of day (`measurement.performance`), filtered, sorted and paged, with their tags.{NO_LAKE}"
            ),
            list_params,
            METRIC_PAGE,
            Some(no_day),
        ),
    );
    insert(
        out,
        "/api/performance-metrics/stats/summary",
        "get",
        get_op(
            &perf,
            "performance_metrics_summary",
            "Summarize the day's performance",
            &format!(
                "Products per tier and flag, and unit totals, over every product measured on the as-of day.{NO_LAKE}"
            ),
            vec![as_of()],
            SUMMARY,
            Some(no_day),
        ),
    );
    insert(
        out,
        "/api/performance-metrics/{product_uid}",
        "get",
        get_op(
            &perf,
            "performance_metrics_get",
            "Read one product's performance",
            &format!("The product's row on the as-of day, with its tags.{NO_LAKE}"),
            vec![path("product_uid", "The product (prd_…)."), as_of()],
            METRIC_ONE,
            Some("No performance measured for `as_of`, or none for the product that day."),
        ),
    );
    insert(
        out,
        "/analytics/commerce/overview",
        "get",
        get_op(
            &order,
            "commerce_overview",
            "Revenue, orders and AOV per currency",
            &format!(
                "Over the range's days (reporting time zone), per currency, from `measurement.sales`; orders counted from the commerce telemetry the sales were computed from.{NO_LAKE}"
            ),
            range_params(),
            OVERVIEW,
            None,
        ),
    );
    let mut top_params = range_params();
    top_params.extend([
        query(
            "by",
            "Rank by net revenue (default) or units.",
            json!({"type": "string", "enum": ["revenue", "units"], "default": "revenue"}),
        ),
        query(
            "limit",
            "Products per currency.",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
        ),
        query(
            "currency",
            "Only this currency (ISO 4217, lower case).",
            json!({"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^[a-z]{3}$"}),
        ),
    ]);
    insert(
        out,
        "/analytics/commerce/products",
        "get",
        get_op(
            &order,
            "commerce_top_products",
            "Top products per currency",
            &format!(
                "The leading products of each currency over the range, by net revenue or units, from `measurement.sales`.{NO_LAKE}"
            ),
            top_params,
            TOP,
            None,
        ),
    );
    insert(
        out,
        "/analytics/commerce/orders",
        "get",
        get_op(
            &order,
            "commerce_orders_by_phase",
            "Orders by phase",
            "Orders placed in the range (`order_header.placed_ts`, reporting time zone), counted by their phase now.",
            range_params(),
            ORDERS,
            None,
        ),
    );
    let mut post = perf.op(
        "tag_analytics_performance",
        "Performance per tag name".into(),
        format!("For each name of `tagNames`, the figures of the products measured on the as-of day that carry a tag of that name (any category).{NO_LAKE}"),
        false,
    );
    post.insert(
        "requestBody".into(),
        json!({"required": true, "content": json_content(schema_ref(TAG_REQUEST))}),
    );
    let mut post = with_responses(
        post,
        vec![("200", ok("Figures per tag name.", TAG_PERFORMANCE))],
        &[413, 415],
    );
    post["responses"]["404"] = not_found(no_day);
    insert(out, "/api/tag-analytics/performance", "post", post);
    insert(
        out,
        "/api/tag-analytics/distribution/{category}",
        "get",
        get_op(
            &perf,
            "tag_analytics_distribution",
            "Distribution over a tag category",
            &format!(
                "Per tag of the category, the figures of the products carrying it on the as-of day, and the category's totals (each product once).{NO_LAKE}"
            ),
            vec![
                path(
                    "category",
                    "The tag category (`product_tag.category_name`).",
                ),
                as_of(),
            ],
            TAG_DISTRIBUTION,
            Some("No tag has that category, or no performance measured for `as_of`."),
        ),
    );
    insert(
        out,
        "/api/tag-analytics/group-performance/{group_uid}",
        "get",
        get_op(
            &perf,
            "tag_analytics_group_performance",
            "Performance of a tag group",
            &format!(
                "The tag group (the `product_category` its tags name in `category_uid`): totals over the products carrying any of its tags (each once) and per tag.{NO_LAKE}"
            ),
            vec![
                path(
                    "group_uid",
                    "The tag group (`product_category` uid, pcat_…).",
                ),
                as_of(),
            ],
            TAG_GROUP,
            Some("No such product category, or no performance measured for `as_of`."),
        ),
    );
    let mut f_params = range_params();
    f_params.push(query(
        "stock_location_uid",
        "Only this stock location.",
        json!({"type": "string"}),
    ));
    insert(
        out,
        "/api/fulfillment-daily-summary",
        "get",
        get_op(
            &fulfillment,
            "fulfillment_daily_summary_report",
            "Fulfillment outcomes per day",
            "The `fulfillment_daily_summary` rows of the range (UTC days; default the last 30), optionally of one stock location, and their totals.",
            f_params,
            FULFILLMENT,
            None,
        ),
    );
}
