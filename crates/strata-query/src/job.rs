//! Jobs that compute over the lake inside DuckDB (the measurements): more than one statement,
//! tables of their own next to the lake's views, and results streamed out as they are produced.

use std::collections::BTreeMap;

use iceberg::TableIdent;

use crate::{
    engine::{QueryEngine, TableRead, ViewDef, define_views, qualified, table_name},
    error::{QueryError, Result},
};

impl QueryEngine {
    /// Runs `job` on the engine's DuckDB connection once the views of `tables` are defined at
    /// their current snapshots (named `"namespace"."table"`, as in [`QueryEngine::query`]).
    /// Returns the job's result and the snapshot each table was read at: with those, the job's
    /// inputs are known exactly. The job runs on a blocking thread and holds the connection
    /// until it returns, so long jobs want an engine of their own.
    pub async fn run_job<T, F>(&self, tables: &[TableIdent], job: F) -> Result<(T, Vec<TableRead>)>
    where
        F: FnOnce(&duckdb::Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let mut views: Vec<ViewDef> = Vec::new();
        let mut reads = BTreeMap::new();
        for ident in tables {
            let table = self.lake().load(ident).await?;
            let current = table.metadata().current_snapshot_id();
            let view = qualified(ident, None);
            if !self.is_defined(&view, current) {
                views.push(self.view(&table, ident, view, current).await?);
            }
            reads.insert(table_name(ident), current);
        }
        let conn = self.connection();
        let (out, views) = tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| QueryError::Task("a previous query panicked".into()))?;
            define_views(&conn, &views)?;
            let out = job(&conn)?;
            Ok::<_, QueryError>((out, views))
        })
        .await
        .map_err(|e| QueryError::Task(e.to_string()))??;
        self.remember(views);
        Ok((
            out,
            reads
                .into_iter()
                .map(|(table, snapshot_id)| TableRead { table, snapshot_id })
                .collect(),
        ))
    }
}
