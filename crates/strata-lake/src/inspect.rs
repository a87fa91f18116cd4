//! Reading tables back: what `strata lake tables | describe | snapshots` print, and the row counts
//! and sums tests (and interop checks) compare with other engines.

use std::collections::BTreeMap;

use arrow_array::{
    Array, Decimal128Array, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
};
use arrow_schema::DataType;
use futures_util::TryStreamExt;
use iceberg::{
    Catalog, TableIdent,
    spec::{DataContentType, ManifestStatus},
    table::Table,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{
    error::{LakeError, Result},
    offsets,
};

/// A table's layout, history and files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableDescription {
    /// `namespace.table`.
    pub table: String,
    /// Table location.
    pub location: String,
    /// The current metadata file.
    pub metadata_location: Option<String>,
    /// Iceberg format version.
    pub format_version: u8,
    /// The current schema's columns.
    pub columns: Vec<ColumnInfo>,
    /// The default partition spec, e.g. `day(occurred_ts) as occurred_ts_day`.
    pub partition_spec: Vec<String>,
    /// The default sort order, e.g. `identity(occurred_ts) ascending nulls first`; empty when
    /// unsorted.
    pub sort_order: Vec<String>,
    /// Table properties.
    pub properties: BTreeMap<String, String>,
    /// The current snapshot.
    pub current_snapshot_id: Option<i64>,
    /// Every snapshot in the metadata, oldest first.
    pub snapshots: Vec<SnapshotInfo>,
    /// The live data files of the current snapshot.
    pub files: Vec<FileInfo>,
    /// Rows in the current snapshot.
    pub records: u64,
    /// Bytes of data files in the current snapshot.
    pub bytes: u64,
    /// Committed offset per lane (see [`crate::offsets`]).
    pub committed_offsets: BTreeMap<String, u64>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// Field id.
    pub id: i32,
    /// Name.
    pub name: String,
    /// Iceberg type, e.g. `decimal(20, 4)`.
    pub r#type: String,
    /// Whether every row has a value.
    pub required: bool,
    /// Documentation.
    pub doc: Option<String>,
}

/// One snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Snapshot id.
    pub snapshot_id: i64,
    /// Parent snapshot.
    pub parent_id: Option<i64>,
    /// Commit time (ms since the epoch).
    pub timestamp_ms: i64,
    /// `append`, `overwrite`, …
    pub operation: String,
    /// The strata commit id, when the snapshot came from the lake writer.
    pub commit_id: Option<String>,
    /// The full summary.
    pub summary: BTreeMap<String, String>,
}

/// One live data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// Location.
    pub path: String,
    /// Partition, e.g. `occurred_ts_day=2025-03-14`.
    pub partition: String,
    /// Rows.
    pub records: u64,
    /// Bytes.
    pub bytes: u64,
}

/// One line of `strata lake tables`: a table's current snapshot and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSummary {
    /// `namespace.table`.
    pub table: String,
    /// The current snapshot (none before the first commit).
    pub current_snapshot_id: Option<i64>,
    /// Rows in the current snapshot.
    pub records: u64,
    /// Live data files.
    pub files: u64,
    /// Bytes of live data files.
    pub bytes: u64,
    /// When the current snapshot was committed (ms since the epoch).
    pub last_commit_ms: Option<i64>,
    /// Snapshots in the metadata.
    pub snapshots: u64,
}

/// Summarizes `table` from its live files (the manifests, not the snapshot summary's totals).
pub async fn summarize(table: &Table) -> Result<TableSummary> {
    let metadata = table.metadata();
    let files = live_files(table).await?;
    Ok(TableSummary {
        table: table.identifier().to_string(),
        current_snapshot_id: metadata.current_snapshot_id(),
        records: files.iter().map(|f| f.records).sum(),
        files: files.len() as u64,
        bytes: files.iter().map(|f| f.bytes).sum(),
        last_commit_ms: metadata.current_snapshot().map(|s| s.timestamp_ms()),
        snapshots: metadata.snapshots().count() as u64,
    })
}

/// Every table of every namespace of the catalog, sorted.
pub async fn list_tables(catalog: &dyn Catalog) -> Result<Vec<TableIdent>> {
    let mut out = Vec::new();
    for ns in catalog.list_namespaces(None).await? {
        out.extend(catalog.list_tables(&ns).await?);
    }
    out.sort_by_key(|t| t.to_string());
    Ok(out)
}

/// Describes `table`: schema, partition spec, snapshots, live files and totals.
pub async fn describe(table: &Table) -> Result<TableDescription> {
    let metadata = table.metadata();
    let schema = metadata.current_schema();
    let columns = schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            id: f.id,
            name: f.name.clone(),
            r#type: f.field_type.to_string(),
            required: f.required,
            doc: f.doc.clone(),
        })
        .collect();
    let partition_spec = metadata
        .default_partition_spec()
        .fields()
        .iter()
        .map(|p| {
            let source = schema
                .name_by_field_id(p.source_id)
                .unwrap_or("?")
                .to_owned();
            format!("{}({source}) as {}", p.transform, p.name)
        })
        .collect();
    let sort_order = metadata
        .default_sort_order()
        .fields
        .iter()
        .map(|f| {
            let source = schema
                .name_by_field_id(f.source_id)
                .unwrap_or("?")
                .to_owned();
            format!(
                "{}({source}) {} nulls {}",
                f.transform, f.direction, f.null_order
            )
        })
        .collect();
    let mut snapshots: Vec<SnapshotInfo> = metadata
        .snapshots()
        .map(|s| SnapshotInfo {
            snapshot_id: s.snapshot_id(),
            parent_id: s.parent_snapshot_id(),
            timestamp_ms: s.timestamp_ms(),
            operation: s.summary().operation.as_str().to_owned(),
            commit_id: s
                .summary()
                .additional_properties
                .get(offsets::COMMIT_ID)
                .cloned(),
            summary: s
                .summary()
                .additional_properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect();
    snapshots.sort_by_key(|s| (s.timestamp_ms, s.snapshot_id));
    let files = live_files(table).await?;
    Ok(TableDescription {
        table: table.identifier().to_string(),
        location: metadata.location().to_owned(),
        metadata_location: table.metadata_location().map(str::to_owned),
        format_version: metadata.format_version() as u8,
        columns,
        partition_spec,
        sort_order,
        properties: metadata
            .properties()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        current_snapshot_id: metadata.current_snapshot_id(),
        snapshots,
        records: files.iter().map(|f| f.records).sum(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        committed_offsets: offsets::committed_offsets(metadata),
    })
}

/// The live data files of the current snapshot, sorted by path.
pub async fn live_files(table: &Table) -> Result<Vec<FileInfo>> {
    match table.metadata().current_snapshot() {
        Some(snapshot) => Ok(snapshot_files(table, snapshot.snapshot_id()).await?.data),
        None => Ok(Vec::new()),
    }
}

/// What a reader must open to see one snapshot of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotFiles {
    /// The snapshot.
    pub snapshot_id: i64,
    /// Its live data files, sorted by path.
    pub data: Vec<FileInfo>,
    /// Its live delete files (position or equality deletes). Strata's writers never produce
    /// them; a reader that only reads data files must refuse a snapshot that has any.
    pub deletes: Vec<String>,
}

/// The live files of snapshot `snapshot_id` of `table`; [`LakeError::NoSuchSnapshot`] if the
/// table has no such snapshot (any more).
pub async fn snapshot_files(table: &Table, snapshot_id: i64) -> Result<SnapshotFiles> {
    let metadata = table.metadata();
    let snapshot =
        metadata
            .snapshot_by_id(snapshot_id)
            .ok_or_else(|| LakeError::NoSuchSnapshot {
                table: table.identifier().to_string(),
                snapshot_id,
            })?;
    let list = table.manifest_list_reader(snapshot).load().await?;
    let mut files = Vec::new();
    let mut deletes = Vec::new();
    for manifest_file in list.entries() {
        let manifest = manifest_file.load_manifest(table.file_io()).await?;
        let spec = metadata.partition_spec_by_id(manifest_file.partition_spec_id);
        for entry in manifest.entries() {
            if entry.status() == ManifestStatus::Deleted {
                continue;
            }
            if entry.content_type() != DataContentType::Data {
                deletes.push(entry.data_file().file_path().to_owned());
                continue;
            }
            let data = entry.data_file();
            let partition = spec
                .map(|spec| {
                    spec.partition_to_path(data.partition(), metadata.current_schema().clone())
                })
                .unwrap_or_default();
            files.push(FileInfo {
                path: data.file_path().to_owned(),
                partition,
                records: data.record_count(),
                bytes: data.file_size_in_bytes(),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    deletes.sort();
    Ok(SnapshotFiles {
        snapshot_id,
        data: files,
        deletes,
    })
}

/// The sum of a column, in the column's own arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ColumnSum {
    /// An `int` or `long` column.
    Integer(i128),
    /// A `decimal` column, exactly.
    Decimal(Decimal),
    /// A `float` or `double` column.
    Float(f64),
}

impl std::fmt::Display for ColumnSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Integer(v) => write!(f, "{v}"),
            Self::Decimal(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
        }
    }
}

/// What a full scan of the current snapshot found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanStats {
    /// Rows read.
    pub rows: u64,
    /// The sum of the requested column (nulls skipped), if one was requested.
    pub sum: Option<ColumnSum>,
}

/// Reads the table's current snapshot through the Iceberg scan (Arrow) path: the row count and,
/// with `sum_column`, that column's sum. This reads what any engine would, files and deletes
/// resolved by the manifests, not the files on disk.
pub async fn scan_stats(table: &Table, sum_column: Option<&str>) -> Result<ScanStats> {
    let schema = table.metadata().current_schema();
    let column = match sum_column {
        Some(c) => {
            if schema.field_by_name(c).is_none() {
                return Err(LakeError::NoSuchColumn {
                    table: table.identifier().to_string(),
                    column: c.to_owned(),
                });
            }
            c.to_owned()
        }
        None => schema
            .as_struct()
            .fields()
            .first()
            .map(|f| f.name.clone())
            .ok_or_else(|| LakeError::UnsupportedColumn {
                column: "(none)".to_owned(),
                detail: "the table has no columns".to_owned(),
            })?,
    };
    if table.metadata().current_snapshot().is_none() {
        return Ok(ScanStats {
            rows: 0,
            sum: sum_column.map(|_| ColumnSum::Integer(0)),
        });
    }
    let stream = table
        .scan()
        .select([column.as_str()])
        .build()?
        .to_arrow()
        .await?;
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let sum = match sum_column {
        Some(_) => Some(sum_batches(&batches, &column)?),
        None => None,
    };
    Ok(ScanStats { rows, sum })
}

fn sum_batches(batches: &[RecordBatch], column: &str) -> Result<ColumnSum> {
    let unsupported = |t: &DataType| LakeError::UnsupportedColumn {
        column: column.to_owned(),
        detail: format!("cannot sum a column of type {t}"),
    };
    let mut acc: Option<ColumnSum> = None;
    for batch in batches {
        let array = batch
            .column_by_name(column)
            .ok_or_else(|| LakeError::NoSuchColumn {
                table: String::new(),
                column: column.to_owned(),
            })?;
        let part = match array.data_type() {
            DataType::Int32 => {
                ColumnSum::Integer(ints(array.as_any().downcast_ref::<Int32Array>(), |v| {
                    v.into()
                }))
            }
            DataType::Int64 => {
                ColumnSum::Integer(ints(array.as_any().downcast_ref::<Int64Array>(), |v| {
                    v.into()
                }))
            }
            DataType::Decimal128(_, scale) => {
                let a = array
                    .as_any()
                    .downcast_ref::<Decimal128Array>()
                    .ok_or_else(|| unsupported(array.data_type()))?;
                let raw: i128 = a.iter().flatten().sum();
                let scale = u32::try_from(*scale).map_err(|_| unsupported(array.data_type()))?;
                ColumnSum::Decimal(Decimal::try_from_i128_with_scale(raw, scale).map_err(|e| {
                    LakeError::ValueOutOfRange {
                        column: "sum",
                        detail: e.to_string(),
                    }
                })?)
            }
            DataType::Float64 => ColumnSum::Float(
                array
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .map(|a| a.iter().flatten().sum())
                    .unwrap_or(0.0),
            ),
            DataType::Float32 => ColumnSum::Float(
                array
                    .as_any()
                    .downcast_ref::<Float32Array>()
                    .map(|a| a.iter().flatten().map(f64::from).sum())
                    .unwrap_or(0.0),
            ),
            other => return Err(unsupported(other)),
        };
        acc = Some(match (acc, part) {
            (None, p) => p,
            (Some(ColumnSum::Integer(a)), ColumnSum::Integer(b)) => ColumnSum::Integer(a + b),
            (Some(ColumnSum::Decimal(a)), ColumnSum::Decimal(b)) => ColumnSum::Decimal(a + b),
            (Some(ColumnSum::Float(a)), ColumnSum::Float(b)) => ColumnSum::Float(a + b),
            (Some(_), p) => p,
        });
    }
    Ok(acc.unwrap_or(ColumnSum::Integer(0)))
}

fn ints<T: arrow_array::ArrowPrimitiveType>(
    array: Option<&arrow_array::PrimitiveArray<T>>,
    widen: impl Fn(T::Native) -> i128,
) -> i128 {
    array
        .map(|a| a.iter().flatten().map(&widen).sum())
        .unwrap_or(0)
}
