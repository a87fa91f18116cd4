//! The tables the measurements write.

use iceberg::spec::PrimitiveType;
use strata_lake::{TableDef, col, long, money, string};

/// `configuration.objective_spec`: every version of the classification spec, as replicated from
/// PostgreSQL, so a measurement row's `spec_version` can be joined to the thresholds it used.
pub fn objective_spec() -> TableDef {
    TableDef {
        namespace: "configuration",
        name: "objective_spec",
        columns: vec![
            string(
                "spec_uid",
                true,
                "the macrodata_artifact row of the version (mda_…)",
            ),
            col(
                "version",
                PrimitiveType::Int,
                true,
                "the spec's version; 0 is the built-in defaults",
            ),
            col(
                "effective_ts",
                PrimitiveType::Timestamptz,
                true,
                "when the version took effect; the table is partitioned by its day",
            ),
            long(
                "top_riser_7_day_threshold",
                true,
                "units in the first 7 days that make a top riser",
            ),
            long(
                "top_riser_14_day_threshold",
                true,
                "units in the first 14 days that make a top riser",
            ),
            long(
                "winner_30_day_threshold",
                true,
                "units in the last 30 days that make a winner",
            ),
            long(
                "banana_count",
                true,
                "how many products with the lowest units are bananas",
            ),
            string(
                "precedence",
                true,
                "tiers in the order the nominal classification checks them, comma-separated",
            ),
            string("spec", true, "the whole spec as JSON"),
        ],
        partition_column: "effective_ts",
        comment: "Every version of the classification spec (thresholds and tier precedence), replicated from PostgreSQL's macrodata_artifact of kind classification_spec.",
    }
}

/// `measurement.sales`: one row per product, day and currency.
pub fn sales() -> TableDef {
    TableDef {
        namespace: "measurement",
        name: "sales",
        columns: vec![
            col(
                "day",
                PrimitiveType::Date,
                true,
                "the day, in the reporting time zone; the table is partitioned by it",
            ),
            string("product_uid", true, "the product (prd_…)"),
            string(
                "currency_code",
                true,
                "ISO 4217, lower case; currency of the money columns",
            ),
            long(
                "orders",
                true,
                "orders placed that day with at least one line of the product",
            ),
            long(
                "units",
                true,
                "units ordered that day (sum of line quantities)",
            ),
            long(
                "units_returned",
                true,
                "units in return requests made that day",
            ),
            long(
                "units_net",
                true,
                "units − units_returned (negative when returns exceed sales)",
            ),
            money(
                "gross_revenue",
                true,
                "sum of line subtotals (unit price × quantity) of the day's orders",
            ),
            money(
                "discounts",
                true,
                "sum of the line discounts of the day's orders",
            ),
            money("net_revenue", true, "gross_revenue − discounts, before tax"),
        ],
        partition_column: "day",
        comment: "Daily sales per product: orders, units, returns and revenue from the commerce telemetry.",
    }
}

/// `measurement.performance`: one row per product per as-of day, with the classification.
pub fn performance() -> TableDef {
    TableDef {
        namespace: "measurement",
        name: "performance",
        columns: vec![
            col(
                "as_of_day",
                PrimitiveType::Date,
                true,
                "the day the measurement is as of (reporting time zone); the table is partitioned by it",
            ),
            string("product_uid", true, "the product (prd_…)"),
            string("product_title", true, "the product's title at refresh"),
            col(
                "launch_day",
                PrimitiveType::Date,
                true,
                "published day, or creation day when unpublished",
            ),
            col(
                "days_since_launch",
                PrimitiveType::Int,
                true,
                "as_of_day − launch_day",
            ),
            col(
                "is_active",
                PrimitiveType::Boolean,
                true,
                "the product is published",
            ),
            long(
                "sales_first_7_days",
                true,
                "units over [launch, launch+6], up to as_of",
            ),
            long(
                "sales_first_14_days",
                true,
                "units over [launch, launch+13], up to as_of",
            ),
            long(
                "sales_last_7_days",
                true,
                "units over [as_of−6, as_of], from launch",
            ),
            long(
                "sales_last_30_days",
                true,
                "units over [as_of−29, as_of], from launch",
            ),
            long(
                "sales_last_90_days",
                true,
                "units over [as_of−89, as_of], from launch",
            ),
            long(
                "aggregate_measurement_value",
                true,
                "units from launch through as_of",
            ),
            col(
                "is_top_riser",
                PrimitiveType::Boolean,
                true,
                "first 7 ≥ its threshold, or first 14 ≥ its threshold",
            ),
            col(
                "is_winner",
                PrimitiveType::Boolean,
                true,
                "last 30 ≥ the winner threshold",
            ),
            col(
                "is_banana",
                PrimitiveType::Boolean,
                true,
                "among the banana_count lowest aggregate values (ties by uid)",
            ),
            col(
                "is_archive",
                PrimitiveType::Boolean,
                true,
                "inactive and no units in the last 30 days",
            ),
            string(
                "nominal_classification",
                true,
                "the first flag set in the spec's precedence: winner, top_riser, archive_candidate, banana; else none",
            ),
            col(
                "spec_version",
                PrimitiveType::Int,
                true,
                "the classification spec version used",
            ),
        ],
        partition_column: "as_of_day",
        comment: "Per product and as-of day: launch and window sales, flags and the nominal classification.",
    }
}
