//! Replacing whole days of a table in one snapshot: Iceberg's `overwrite` operation, which
//! iceberg-rust 0.10 has no action for.
//!
//! A recomputed day must take the place of the old one atomically: a reader sees either every
//! old row of the day or every new one, never both or neither. So one snapshot both adds the new
//! data files and marks every live file of those days deleted. The snapshot is built the way
//! Java's `OverwriteFiles` builds it: manifests without a file of those days are carried over as
//! they are; each manifest with one is rewritten with its entries `EXISTING`, except the
//! replaced files, which become `DELETED`; the new files go in a manifest of their own. Its
//! summary carries the `added-*`, `deleted-*` and `total-*` counts PyIceberg and Spark show.
//! The commit requires the branch to still point at the snapshot it was built on; when another
//! writer got in first it is rebuilt on the new one (the data files are kept) and tried again.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use arrow_array::RecordBatch;
use chrono::NaiveDate;
use futures_util::{Stream, StreamExt};
use iceberg::{
    ErrorKind, TableIdent, TableRequirement, TableUpdate,
    arrow::schema_to_arrow_schema,
    spec::{
        DataContentType, DataFile, FormatVersion, Literal, MAIN_BRANCH, ManifestContentType,
        ManifestFile, ManifestListWriter, ManifestStatus, ManifestWriterBuilder, Operation,
        PrimitiveLiteral, Snapshot, SnapshotReference, SnapshotRetention, SnapshotSummaryCollector,
        Summary, Transform,
    },
    table::Table,
};
use serde::Serialize;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::{
    Lake,
    error::{LakeError, Result},
    writer::{FileSink, conform},
};

/// What a replacement did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplaceReport {
    /// `namespace.table`.
    pub table: String,
    /// The new snapshot; `None` when there was nothing to replace and nothing to add.
    pub snapshot_id: Option<i64>,
    /// Days replaced.
    pub days: usize,
    /// Data files added and their rows.
    pub added_files: usize,
    /// Rows added.
    pub added_rows: u64,
    /// Data files of the replaced days marked deleted, and their rows.
    pub removed_files: usize,
    /// Rows removed.
    pub removed_rows: u64,
    /// Commit attempts (more than one when other writers committed meanwhile).
    pub attempts: u32,
}

/// Days since 1970-01-01, the value of Iceberg's `day` transform (and of a `date` column).
pub fn epoch_day(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

fn day_of_epoch(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days.into()))
}

impl Lake {
    /// Replaces every row of table `ident` whose partition day is one of `days` with the rows
    /// of `batches` (all of which must fall on those days), in one snapshot. Days in `days`
    /// without new rows end up empty. The table must be partitioned by `day(<column>)` alone.
    /// `properties` go into the snapshot summary.
    pub async fn replace_days<S>(
        &self,
        ident: &TableIdent,
        days: &BTreeSet<NaiveDate>,
        batches: S,
        properties: HashMap<String, String>,
    ) -> Result<ReplaceReport>
    where
        S: Stream<Item = Result<RecordBatch>> + Unpin,
    {
        let table = self.load(ident).await?;
        check_day_partitioned(&table)?;
        let wanted: BTreeSet<i32> = days.iter().copied().map(epoch_day).collect();

        let target = Arc::new(schema_to_arrow_schema(table.metadata().current_schema())?);
        let mut sink = FileSink::new(&table, self.config().write.target_file_size_bytes)?;
        let mut batches = batches;
        let mut failed = None;
        while let Some(batch) = batches.next().await {
            let step = match batch {
                Ok(batch) if batch.num_rows() == 0 => Ok(()),
                Ok(batch) => match conform(&batch, &target) {
                    Ok(batch) => sink.write(&batch).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                failed = Some(e);
                break;
            }
        }
        let files = sink.close().await?;
        if let Some(e) = failed {
            delete_files(&table, &files).await;
            return Err(e);
        }
        if let Some(outside) = files
            .iter()
            .filter_map(partition_day)
            .find(|d| !wanted.contains(d))
        {
            delete_files(&table, &files).await;
            return Err(LakeError::OutsideReplacedDays {
                table: ident.to_string(),
                day: day_of_epoch(outside)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| outside.to_string()),
            });
        }

        let max = self.config().write.max_commit_attempts.max(1);
        let mut table = table;
        for attempt in 1..=max {
            if attempt > 1 {
                table = self.load(ident).await?;
            }
            let plan = match plan_overwrite(&table, &files, &wanted, &properties).await {
                Ok(plan) => plan,
                Err(e) => {
                    delete_files(&table, &files).await;
                    return Err(e);
                }
            };
            let Some(plan) = plan else {
                debug!(table = %ident, "nothing to replace");
                return Ok(ReplaceReport {
                    table: ident.to_string(),
                    snapshot_id: None,
                    days: days.len(),
                    added_files: 0,
                    added_rows: 0,
                    removed_files: 0,
                    removed_rows: 0,
                    attempts: attempt,
                });
            };
            match self
                .commit_updates(ident, plan.requirements, plan.updates)
                .await
            {
                Ok(()) => {
                    let report = ReplaceReport {
                        table: ident.to_string(),
                        snapshot_id: Some(plan.snapshot_id),
                        days: days.len(),
                        added_files: files.len(),
                        added_rows: files.iter().map(DataFile::record_count).sum(),
                        removed_files: plan.removed_files,
                        removed_rows: plan.removed_rows,
                        attempts: attempt,
                    };
                    info!(
                        table = %report.table,
                        snapshot_id = plan.snapshot_id,
                        days = report.days,
                        added_rows = report.added_rows,
                        removed_rows = report.removed_rows,
                        "replaced days"
                    );
                    return Ok(report);
                }
                Err(LakeError::Iceberg(e)) if e.kind() == ErrorKind::CatalogCommitConflicts => {
                    debug!(table = %ident, attempt, error = %e, "replace conflicted; rebuilding");
                    tokio::time::sleep(std::time::Duration::from_millis(
                        25 * u64::from(attempt.min(40)),
                    ))
                    .await;
                }
                Err(e) => {
                    delete_files(&table, &files).await;
                    return Err(e);
                }
            }
        }
        delete_files(&table, &files).await;
        Err(LakeError::CommitConflict {
            commit_id: format!("replace of {} day(s) of {ident}", days.len()),
            attempts: max,
        })
    }
}

/// The day (days since the epoch) of a data file's single `day` partition value.
fn partition_day(file: &DataFile) -> Option<i32> {
    match file.partition().fields().first()? {
        Some(Literal::Primitive(PrimitiveLiteral::Int(d))) => Some(*d),
        _ => None,
    }
}

fn check_day_partitioned(table: &Table) -> Result<()> {
    let metadata = table.metadata();
    let spec = metadata.default_partition_spec();
    let ok = spec.fields().len() == 1 && spec.fields()[0].transform == Transform::Day;
    if !ok {
        return Err(LakeError::Config(format!(
            "{}: replacing days needs a table partitioned by day(<column>) alone",
            table.identifier()
        )));
    }
    if metadata.format_version() != FormatVersion::V2 {
        return Err(LakeError::Config(format!(
            "{}: replacing days is implemented for Iceberg format version 2 tables only",
            table.identifier()
        )));
    }
    Ok(())
}

/// The commit that makes `added` the only files of the `days`, built on the table's current
/// snapshot.
struct OverwritePlan {
    snapshot_id: i64,
    updates: Vec<TableUpdate>,
    requirements: Vec<TableRequirement>,
    removed_files: usize,
    removed_rows: u64,
}

/// `None` when the days hold no file now and nothing is added: no snapshot is needed.
async fn plan_overwrite(
    table: &Table,
    added: &[DataFile],
    days: &BTreeSet<i32>,
    properties: &HashMap<String, String>,
) -> Result<Option<OverwritePlan>> {
    let metadata = table.metadata();
    let schema = metadata.current_schema().clone();
    let spec = metadata.default_partition_spec().clone();
    let parent = metadata.current_snapshot();
    let parent_id = parent.map(|s| s.snapshot_id());
    let snapshot_id = unique_snapshot_id(table);
    let sequence = metadata.next_sequence_number();
    let commit_uuid = Uuid::now_v7();
    let mut manifest_count = 0u32;
    let mut next_manifest_path = || {
        manifest_count += 1;
        format!(
            "{}/metadata/{commit_uuid}-m{manifest_count}.avro",
            metadata.location()
        )
    };

    let mut summary = SnapshotSummaryCollector::default();
    let mut manifests: Vec<ManifestFile> = Vec::new();
    let mut removed_files = 0usize;
    let mut removed_rows = 0u64;
    let mut total_files = 0u64;
    let mut total_rows = 0u64;
    let mut total_bytes = 0u64;

    if let Some(parent) = parent {
        let list = table.manifest_list_reader(parent).load().await?;
        for manifest_file in list.entries() {
            if manifest_file.content != ManifestContentType::Data {
                return Err(LakeError::Config(format!(
                    "{}: the table has delete files, which Strata never writes; it cannot \
                     replace days of it",
                    table.identifier()
                )));
            }
            let manifest = manifest_file.load_manifest(table.file_io()).await?;
            let touches = manifest.entries().iter().any(|e| {
                e.is_alive() && partition_day(e.data_file()).is_some_and(|d| days.contains(&d))
            });
            if !touches {
                for e in manifest.entries().iter().filter(|e| e.is_alive()) {
                    total_files += 1;
                    total_rows += e.record_count();
                    total_bytes += e.file_size_in_bytes();
                }
                manifests.push(manifest_file.clone());
                continue;
            }
            let output = table.file_io().new_output(next_manifest_path())?;
            let mut writer = ManifestWriterBuilder::new(
                output,
                Some(snapshot_id),
                schema.clone(),
                spec.as_ref().clone(),
            )
            .build_v2_data();
            for entry in manifest.entries() {
                if entry.status() == ManifestStatus::Deleted {
                    continue;
                }
                let data = entry.data_file().clone();
                let seq = entry.sequence_number().unwrap_or(0);
                if entry.content_type() != DataContentType::Data {
                    return Err(LakeError::Config(format!(
                        "{}: the table has delete files; it cannot replace days of it",
                        table.identifier()
                    )));
                }
                if partition_day(&data).is_some_and(|d| days.contains(&d)) {
                    removed_files += 1;
                    removed_rows += data.record_count();
                    summary.remove_file(&data, schema.clone(), spec.clone());
                    writer.add_delete_file(data, seq, entry.file_sequence_number)?;
                } else {
                    total_files += 1;
                    total_rows += data.record_count();
                    total_bytes += data.file_size_in_bytes();
                    let added_by = entry.snapshot_id().unwrap_or(parent.snapshot_id());
                    writer.add_existing_file(data, added_by, seq, entry.file_sequence_number)?;
                }
            }
            manifests.push(writer.write_manifest_file().await?);
        }
    }
    if added.is_empty() && removed_files == 0 {
        return Ok(None);
    }
    if !added.is_empty() {
        let output = table.file_io().new_output(next_manifest_path())?;
        let mut writer = ManifestWriterBuilder::new(
            output,
            Some(snapshot_id),
            schema.clone(),
            spec.as_ref().clone(),
        )
        .build_v2_data();
        for f in added {
            total_files += 1;
            total_rows += f.record_count();
            total_bytes += f.file_size_in_bytes();
            summary.add_file(f, schema.clone(), spec.clone());
            writer.add_file(f.clone(), sequence)?;
        }
        manifests.push(writer.write_manifest_file().await?);
    }

    let list_path = format!(
        "{}/metadata/snap-{snapshot_id}-1-{commit_uuid}.avro",
        metadata.location()
    );
    let mut list = ManifestListWriter::v2(
        table.file_io().new_output(&list_path)?.writer().await?,
        snapshot_id,
        parent_id,
        sequence,
    );
    list.add_manifests(manifests.into_iter())?;
    list.close().await?;

    let mut props = properties.clone();
    props.extend(summary.build());
    for (k, v) in [
        ("total-data-files", total_files),
        ("total-records", total_rows),
        ("total-files-size", total_bytes),
        ("total-delete-files", 0),
        ("total-position-deletes", 0),
        ("total-equality-deletes", 0),
    ] {
        props.insert(k.to_owned(), v.to_string());
    }
    let operation = if removed_files > 0 {
        Operation::Overwrite
    } else {
        Operation::Append
    };
    let snapshot = Snapshot::builder()
        .with_manifest_list(list_path)
        .with_snapshot_id(snapshot_id)
        .with_parent_snapshot_id(parent_id)
        .with_sequence_number(sequence)
        .with_summary(Summary {
            operation,
            additional_properties: props,
        })
        .with_schema_id(metadata.current_schema_id())
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
        .build();
    Ok(Some(OverwritePlan {
        snapshot_id,
        updates: vec![
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::SetSnapshotRef {
                ref_name: MAIN_BRANCH.to_owned(),
                reference: SnapshotReference::new(
                    snapshot_id,
                    SnapshotRetention::branch(None, None, None),
                ),
            },
        ],
        requirements: vec![
            TableRequirement::UuidMatch {
                uuid: metadata.uuid(),
            },
            TableRequirement::RefSnapshotIdMatch {
                r#ref: MAIN_BRANCH.to_owned(),
                snapshot_id: parent_id,
            },
        ],
        removed_files,
        removed_rows,
    }))
}

/// A positive snapshot id no snapshot of the table has.
fn unique_snapshot_id(table: &Table) -> i64 {
    loop {
        let (a, b) = Uuid::new_v4().as_u64_pair();
        let id = ((a ^ b) >> 1) as i64;
        if id != 0 && table.metadata().snapshot_by_id(id).is_none() {
            return id;
        }
    }
}

/// Best effort: files no snapshot references.
async fn delete_files(table: &Table, files: &[DataFile]) {
    for f in files {
        if let Err(e) = table.file_io().delete(f.file_path()).await {
            warn!(path = f.file_path(), error = %e, "could not delete an uncommitted data file");
        }
    }
}
