//! `strata schema diff`: drift between a live database and the model.

use std::fmt;

use crate::introspect::LiveSchema;
use crate::migrate::AppliedMigration;
use crate::model::Schema;
use crate::source::SchemaSource;

/// One difference between the model (the DDL) and the live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    MissingTable(String),
    ExtraTable(String),
    MissingColumn {
        table: String,
        column: String,
    },
    ExtraColumn {
        table: String,
        column: String,
    },
    TypeMismatch {
        table: String,
        column: String,
        model: String,
        live: String,
    },
    NullabilityMismatch {
        table: String,
        column: String,
        model_not_null: bool,
    },
    MissingIndex {
        table: String,
        index: String,
    },
    ExtraIndex {
        table: String,
        index: String,
    },
    PendingMigration(String),
    ChangedMigration(String),
    UnknownMigration(String),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::MissingTable(t) => {
                write!(f, "table {t}: in the model, missing from the database")
            }
            Drift::ExtraTable(t) => write!(f, "table {t}: in the database, not in the model"),
            Drift::MissingColumn { table, column } => {
                write!(
                    f,
                    "column {table}.{column}: in the model, missing from the database"
                )
            }
            Drift::ExtraColumn { table, column } => {
                write!(
                    f,
                    "column {table}.{column}: in the database, not in the model"
                )
            }
            Drift::TypeMismatch {
                table,
                column,
                model,
                live,
            } => {
                write!(
                    f,
                    "column {table}.{column}: model type {model}, database type {live}"
                )
            }
            Drift::NullabilityMismatch {
                table,
                column,
                model_not_null,
            } => write!(
                f,
                "column {table}.{column}: model says {}, database says {}",
                if *model_not_null {
                    "NOT NULL"
                } else {
                    "nullable"
                },
                if *model_not_null {
                    "nullable"
                } else {
                    "NOT NULL"
                }
            ),
            Drift::MissingIndex { table, index } => {
                write!(
                    f,
                    "index {index} on {table}: in the model, missing from the database"
                )
            }
            Drift::ExtraIndex { table, index } => {
                write!(
                    f,
                    "index {index} on {table}: in the database, not in the model"
                )
            }
            Drift::PendingMigration(m) => write!(
                f,
                "migration {m}: not applied yet (run `strata schema apply`)"
            ),
            Drift::ChangedMigration(m) => {
                write!(
                    f,
                    "migration {m}: applied, but the file changed since (applied migrations are immutable)"
                )
            }
            Drift::UnknownMigration(m) => {
                write!(
                    f,
                    "migration {m}: applied to the database, unknown to this schema (a newer Strata?)"
                )
            }
        }
    }
}

/// Compare model, files and migration history with a live database.
pub fn diff(
    schema: &Schema,
    source: &SchemaSource,
    applied: &[AppliedMigration],
    live: &LiveSchema,
) -> Vec<Drift> {
    let mut out = Vec::new();
    for file in &source.files {
        match applied.iter().find(|a| a.name == file.name) {
            None => out.push(Drift::PendingMigration(file.name.clone())),
            Some(a) if a.checksum != crate::migrate::checksum(&file.text) => {
                out.push(Drift::ChangedMigration(file.name.clone()))
            }
            _ => {}
        }
    }
    for a in applied {
        if !source.files.iter().any(|f| f.name == a.name) {
            out.push(Drift::UnknownMigration(a.name.clone()));
        }
    }
    for t in schema.tables() {
        let Some(cols) = live.tables.get(&t.name) else {
            out.push(Drift::MissingTable(t.name.clone()));
            continue;
        };
        for c in &t.columns {
            match cols.iter().find(|l| l.name == c.name) {
                None => out.push(Drift::MissingColumn {
                    table: t.name.clone(),
                    column: c.name.clone(),
                }),
                Some(l) => {
                    let model = c.sql_type.pg_name();
                    if model != l.sql_type {
                        out.push(Drift::TypeMismatch {
                            table: t.name.clone(),
                            column: c.name.clone(),
                            model,
                            live: l.sql_type.clone(),
                        });
                    }
                    if c.not_null != l.not_null {
                        out.push(Drift::NullabilityMismatch {
                            table: t.name.clone(),
                            column: c.name.clone(),
                            model_not_null: c.not_null,
                        });
                    }
                }
            }
        }
        for l in cols {
            if t.column(&l.name).is_none() {
                out.push(Drift::ExtraColumn {
                    table: t.name.clone(),
                    column: l.name.clone(),
                });
            }
        }
        let live_indexes = live.indexes.get(&t.name).cloned().unwrap_or_default();
        for i in &t.indexes {
            if !live_indexes.contains(&i.name) {
                out.push(Drift::MissingIndex {
                    table: t.name.clone(),
                    index: i.name.clone(),
                });
            }
        }
        for name in &live_indexes {
            if !t.indexes.iter().any(|i| &i.name == name) {
                out.push(Drift::ExtraIndex {
                    table: t.name.clone(),
                    index: name.clone(),
                });
            }
        }
    }
    for name in live.tables.keys() {
        if schema.table(name).is_none() {
            out.push(Drift::ExtraTable(name.clone()));
        }
    }
    out
}
