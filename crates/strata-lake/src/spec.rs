//! The lake's tables: one telemetry table per stream and one dead-letter table per namespace.
//!
//! A telemetry row is one event: the envelope, the stream's stable fields as typed columns (so
//! engines filter, prune and sum without parsing JSON), and the whole event as JSON in `payload`
//! (so nothing is lost: order lines, record counts and fields added later stay queryable).
//! Every table is partitioned by day of its event time and written as zstd Parquet.

use std::collections::HashMap;

use iceberg::{
    NamespaceIdent, TableIdent,
    spec::{NestedField, PrimitiveType, Schema, Transform, Type, UnboundPartitionSpec},
};
use strata_events::StreamName;

use crate::error::{LakeError, Result};

/// Precision and scale of money columns: the domain's `NUMERIC(20,4)`, which every
/// [`strata_events::Amount`] fits by construction.
pub const MONEY_PRECISION: u32 = 20;
/// Scale of money columns.
pub const MONEY_SCALE: u32 = 4;

/// Table property naming the stream a table holds (its wire name).
pub const PROP_STREAM: &str = "strata.stream";
/// Table property naming the kind of table (`telemetry` or `rejected`).
pub const PROP_TABLE_KIND: &str = "strata.table-kind";

/// Properties every lake table is created with.
///
/// `commit.retry.num-retries = 0`: the writer retries conflicts itself, re-checking its commit id
/// after reloading the table. It commits on the exact version it checked, so iceberg-rust's own
/// retries could only fail the same way again; they would just delay the writer's re-check.
pub fn table_properties() -> Vec<(&'static str, &'static str)> {
    vec![
        ("write.format.default", "parquet"),
        ("write.parquet.compression-codec", "zstd"),
        ("write.parquet.compression-level", "3"),
        ("commit.retry.num-retries", "0"),
    ]
}

/// One of the lake's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LakeTable {
    /// `<namespace>.telemetry`: one row per accepted event of the stream.
    Telemetry(StreamName),
    /// `<namespace>.rejected`: events of the stream that failed validation or a transform, with
    /// the reason (the dead-letter table).
    Rejected(StreamName),
}

impl LakeTable {
    /// Every table, telemetry tables first, in stream order.
    pub fn all() -> Vec<LakeTable> {
        StreamName::ALL
            .into_iter()
            .map(LakeTable::Telemetry)
            .chain(StreamName::ALL.into_iter().map(LakeTable::Rejected))
            .collect()
    }

    /// The stream the table belongs to.
    pub fn stream(self) -> StreamName {
        match self {
            Self::Telemetry(s) | Self::Rejected(s) => s,
        }
    }

    /// The table's namespace: the stream's slug (`commerce`, `publication`, `sync`).
    pub fn namespace(self) -> &'static str {
        self.stream().slug()
    }

    /// The table's name within its namespace.
    pub fn table_name(self) -> &'static str {
        match self {
            Self::Telemetry(_) => "telemetry",
            Self::Rejected(_) => "rejected",
        }
    }

    /// `telemetry` or `rejected`.
    pub fn kind(self) -> &'static str {
        self.table_name()
    }

    /// The Iceberg identifier, e.g. `commerce.telemetry`.
    pub fn ident(self) -> TableIdent {
        TableIdent::new(
            NamespaceIdent::new(self.namespace().to_owned()),
            self.table_name().to_owned(),
        )
    }

    /// The table by its dotted name (`commerce.telemetry`, `sync.rejected`).
    pub fn parse(name: &str) -> Result<LakeTable> {
        LakeTable::all()
            .into_iter()
            .find(|t| t.to_string() == name)
            .ok_or_else(|| LakeError::UnknownTable(name.to_owned()))
    }

    /// The column the table is partitioned by (day of it) and events are ordered by.
    pub fn time_column(self) -> &'static str {
        match self {
            Self::Telemetry(_) => "occurred_ts",
            Self::Rejected(_) => "received_ts",
        }
    }

    /// The partition field's name, in the `<column>_day` form Spark and PyIceberg use.
    pub fn partition_field(self) -> String {
        format!("{}_day", self.time_column())
    }

    /// The table's columns, in order.
    pub fn columns(self) -> Vec<Column> {
        match self {
            Self::Telemetry(stream) => {
                let mut cols = envelope_columns();
                cols.extend(match stream {
                    StreamName::Commerce => commerce_columns(),
                    StreamName::Publication => publication_columns(),
                    StreamName::Sync => sync_columns(),
                });
                cols.extend(tail_columns());
                cols
            }
            Self::Rejected(_) => rejected_columns(),
        }
    }

    /// The Iceberg schema (field ids 1..n in column order, as a new table assigns them).
    pub fn schema(self) -> Result<Schema> {
        columns_schema(&self.columns())
    }

    /// `day(<time column>)`.
    pub fn partition_spec(self) -> Result<UnboundPartitionSpec> {
        day_partition(&self.schema()?, self.time_column(), self.partition_field())
    }

    /// The properties the table is created with: [`table_properties`] plus what it holds.
    pub fn properties(self) -> HashMap<String, String> {
        let mut props: HashMap<String, String> = table_properties()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        props.insert(PROP_STREAM.to_owned(), self.stream().wire_name().to_owned());
        props.insert(PROP_TABLE_KIND.to_owned(), self.kind().to_owned());
        props
    }
}

impl std::fmt::Display for LakeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace(), self.table_name())
    }
}

/// One column of a lake table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Iceberg type.
    pub ty: PrimitiveType,
    /// Whether every row has a value.
    pub required: bool,
    /// What the column holds (stored as the field's doc, so engines show it).
    pub doc: &'static str,
}

/// The Iceberg schema of `columns` (field ids 1..n in column order, as a new table assigns them).
pub fn columns_schema(columns: &[Column]) -> Result<Schema> {
    let fields = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let field = if c.required {
                NestedField::required(id, c.name, Type::Primitive(c.ty.clone()))
            } else {
                NestedField::optional(id, c.name, Type::Primitive(c.ty.clone()))
            };
            field.with_doc(c.doc).into()
        })
        .collect::<Vec<_>>();
    Ok(Schema::builder().with_fields(fields).build()?)
}

/// A partition spec of one field, `day(<column>)` named `field`.
pub fn day_partition(schema: &Schema, column: &str, field: String) -> Result<UnboundPartitionSpec> {
    let source_id =
        schema
            .field_id_by_name(column)
            .ok_or_else(|| LakeError::UnsupportedColumn {
                column: column.to_owned(),
                detail: "the partition source column is missing from the schema".to_owned(),
            })?;
    Ok(UnboundPartitionSpec::builder()
        .add_partition_field(source_id, field, Transform::Day)?
        .build())
}

/// A column of type `ty`.
pub fn col(name: &'static str, ty: PrimitiveType, required: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        required,
        doc,
    }
}

/// A string column.
pub fn string(name: &'static str, required: bool, doc: &'static str) -> Column {
    col(name, PrimitiveType::String, required, doc)
}

/// A money column: `decimal(20, 4)`.
pub fn money(name: &'static str, required: bool, doc: &'static str) -> Column {
    col(
        name,
        PrimitiveType::Decimal {
            precision: MONEY_PRECISION,
            scale: MONEY_SCALE,
        },
        required,
        doc,
    )
}

/// A 64-bit integer column.
pub fn long(name: &'static str, required: bool, doc: &'static str) -> Column {
    col(name, PrimitiveType::Long, required, doc)
}

fn envelope_columns() -> Vec<Column> {
    vec![
        string("event_id", true, "evt_ + ULID; unique per event"),
        string(
            "event_type",
            true,
            "what happened, e.g. order_created, click, step_completed",
        ),
        col(
            "occurred_ts",
            PrimitiveType::Timestamptz,
            true,
            "when it happened at the source (UTC, microseconds); the table is partitioned by its day",
        ),
        col(
            "schema_version",
            PrimitiveType::Int,
            true,
            "version of the event schema the event follows",
        ),
        string(
            "source",
            true,
            "who emitted the event, e.g. strata-domain, partner:pub_…",
        ),
    ]
}

fn tail_columns() -> Vec<Column> {
    vec![
        long(
            "stream_offset",
            false,
            "position of the event in its stream's log, when it came through one",
        ),
        string(
            "payload",
            true,
            "the whole event in its JSON wire form, including fields without a column",
        ),
    ]
}

fn commerce_columns() -> Vec<Column> {
    vec![
        string("order_uid", true, "the order"),
        string(
            "order_number",
            true,
            "human-facing order number, e.g. #1001",
        ),
        string("store_uid", true, "the store"),
        string(
            "customer_uid",
            false,
            "the customer; absent for guest checkouts",
        ),
        string(
            "customer_email",
            false,
            "contact email captured at checkout",
        ),
        string("region_uid", false, "the region the order was placed in"),
        string("sales_channel_uid", false, "the sales channel"),
        string(
            "currency_code",
            true,
            "ISO 4217, lower case; currency of every amount",
        ),
        money("item_total", true, "sum of line totals, tax included"),
        money(
            "subtotal",
            true,
            "sum of line subtotals before discounts, taxes, shipping",
        ),
        money("discount_total", true, "sum of discounts"),
        money(
            "shipping_total",
            true,
            "sum of shipping totals, tax included",
        ),
        money("tax_total", true, "sum of all taxes"),
        money("total", true, "grand total the customer pays"),
        col(
            "line_count",
            PrimitiveType::Int,
            true,
            "number of order lines",
        ),
        long("units", true, "units ordered, all lines"),
        string("publisher_uid", false, "publisher credited with the order"),
        string("referral_uid", false, "the attributed visit"),
        string("referral_link_uid", false, "the referral link of the visit"),
        string("payment_uid", false, "payment_captured: the payment"),
        money(
            "payment_amount",
            false,
            "payment_captured: the amount captured",
        ),
        string(
            "fulfillment_uid",
            false,
            "fulfillment_shipped: the fulfillment",
        ),
        string(
            "location_uid",
            false,
            "fulfillment_shipped: the stock location",
        ),
        string("return_uid", false, "return_requested: the return"),
        long(
            "event_units",
            false,
            "fulfillment_shipped / return_requested: units shipped or to return",
        ),
    ]
}

fn publication_columns() -> Vec<Column> {
    vec![
        string("publisher_uid", true, "the publisher whose audience did it"),
        string("publication_uid", false, "the publication concerned"),
        string("referral_link_uid", false, "the referral link involved"),
        string("product_uid", false, "the product concerned"),
        string(
            "telemetry_source_uid",
            false,
            "the pixel, SDK key or postback that reported it",
        ),
        string(
            "session_key_hash",
            false,
            "SHA-256 of the visitor's session key",
        ),
        string(
            "device_type",
            true,
            "desktop, mobile, tablet, other or unknown",
        ),
        string("country_code", false, "ISO 3166-1 alpha-2, lower case"),
        string("url", false, "page or content URL"),
        string(
            "engagement_kind",
            false,
            "engagement: like, share, video_progress, …",
        ),
        col(
            "engagement_value",
            PrimitiveType::Double,
            false,
            "engagement: its measure (seconds, depth 0–1, …)",
        ),
        string("order_uid", false, "conversion: the order, for a sale"),
        money("amount", false, "conversion: the attributed value"),
        string("currency_code", false, "conversion: currency of amount"),
    ]
}

fn sync_columns() -> Vec<Column> {
    vec![
        string("run_id", true, "the workflow run"),
        string("workflow", true, "the workflow, e.g. daily_shopify_sync"),
        string("step", false, "the step, for step-level outcomes"),
        long("attempt", true, "attempt number of the run or step, from 1"),
        long(
            "duration_ms",
            true,
            "wall time of the step or run so far, ms",
        ),
        string(
            "watermark",
            false,
            "the workflow's cursor after this transition",
        ),
        string("error", false, "the error, for retries and failures"),
    ]
}

fn rejected_columns() -> Vec<Column> {
    vec![
        col(
            "received_ts",
            PrimitiveType::Timestamptz,
            true,
            "when the event was rejected (UTC); the table is partitioned by its day",
        ),
        string(
            "stream",
            true,
            "the stream's wire name, e.g. COMMERCE_TELEMETRY",
        ),
        string(
            "reason",
            true,
            "why it was rejected, as a person can act on it",
        ),
        string(
            "kind",
            false,
            "the class of problem, e.g. missing_field, transform_failed",
        ),
        string(
            "event_id",
            false,
            "the event's id, when it had a readable one",
        ),
        long(
            "stream_offset",
            false,
            "position in the stream's log, when it came through one",
        ),
        string("raw", true, "the event exactly as received (JSON text)"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_day_partition_on_a_required_timestamptz() {
        for table in LakeTable::all() {
            let schema = table.schema().expect("schema builds");
            let field = schema
                .field_by_name(table.time_column())
                .expect("time column");
            assert!(field.required, "{table}");
            assert_eq!(
                *field.field_type,
                Type::Primitive(PrimitiveType::Timestamptz),
                "{table}"
            );
            let spec = table.partition_spec().expect("spec builds");
            assert_eq!(spec.fields().len(), 1);
            assert_eq!(spec.fields()[0].transform, Transform::Day);
            assert_eq!(LakeTable::parse(&table.to_string()).ok(), Some(table));
        }
    }

    #[test]
    fn telemetry_tables_keep_the_payload_and_the_envelope() {
        for stream in StreamName::ALL {
            let cols = LakeTable::Telemetry(stream).columns();
            let names: Vec<_> = cols.iter().map(|c| c.name).collect();
            assert_eq!(
                &names[..5],
                [
                    "event_id",
                    "event_type",
                    "occurred_ts",
                    "schema_version",
                    "source"
                ]
            );
            assert_eq!(names.last(), Some(&"payload"));
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "duplicate column in {stream}");
        }
        assert_eq!(
            LakeTable::Telemetry(StreamName::Commerce)
                .ident()
                .to_string(),
            "commerce.telemetry"
        );
        assert_eq!(
            LakeTable::Rejected(StreamName::Sync).to_string(),
            "sync.rejected"
        );
    }
}
