//! Tables other layers derive from the telemetry (the measurements, the replicated
//! configuration): declared as data, created on demand, partitioned by the day of one column.

use std::collections::HashMap;

use iceberg::{
    Catalog, ErrorKind, NamespaceIdent, TableCreation, TableIdent,
    spec::{Schema, UnboundPartitionSpec},
    transaction::{ApplyTransactionAction, Transaction},
};
use tracing::info;

use crate::{
    error::Result,
    spec::{Column, PROP_TABLE_KIND, columns_schema, day_partition, table_properties},
};

/// A lake table declared by the job that writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// Namespace, e.g. `measurement`.
    pub namespace: &'static str,
    /// Table name within the namespace, e.g. `sales`.
    pub name: &'static str,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The `date` or `timestamptz` column whose day partitions the table.
    pub partition_column: &'static str,
    /// What the table holds, stored as its `comment` property for catalogs and engines to show.
    pub comment: &'static str,
}

impl TableDef {
    /// The Iceberg identifier.
    pub fn ident(&self) -> TableIdent {
        TableIdent::new(
            NamespaceIdent::new(self.namespace.to_owned()),
            self.name.to_owned(),
        )
    }

    /// The Iceberg schema (field ids 1..n in column order).
    pub fn schema(&self) -> Result<Schema> {
        columns_schema(&self.columns)
    }

    /// `day(<partition column>)`, named `<column>_day` as Spark and PyIceberg name it.
    pub fn partition_spec(&self) -> Result<UnboundPartitionSpec> {
        day_partition(
            &self.schema()?,
            self.partition_column,
            format!("{}_day", self.partition_column),
        )
    }

    /// The properties the table is created with: [`table_properties`], its kind and comment.
    pub fn properties(&self) -> HashMap<String, String> {
        let mut props: HashMap<String, String> = table_properties()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        props.insert(PROP_TABLE_KIND.to_owned(), "derived".to_owned());
        props.insert("comment".to_owned(), self.comment.to_owned());
        props
    }
}

impl std::fmt::Display for TableDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// Creates `def`'s namespace and table if missing (idempotent, safe to race) and brings the
/// writer's properties onto an existing one. True if it created the table.
pub async fn ensure_table(catalog: &dyn Catalog, def: &TableDef) -> Result<bool> {
    let ns = NamespaceIdent::new(def.namespace.to_owned());
    if !catalog.namespace_exists(&ns).await? {
        match catalog.create_namespace(&ns, HashMap::new()).await {
            Ok(_) => info!(namespace = def.namespace, "created namespace"),
            Err(e) if e.kind() == ErrorKind::NamespaceAlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    let ident = def.ident();
    if catalog.table_exists(&ident).await? {
        let loaded = catalog.load_table(&ident).await?;
        let current = loaded.metadata().properties();
        let missing: Vec<(String, String)> = def
            .properties()
            .into_iter()
            .filter(|(k, v)| current.get(k) != Some(v))
            .collect();
        if !missing.is_empty() {
            let tx = Transaction::new(&loaded);
            let mut action = tx.update_table_properties();
            for (k, v) in &missing {
                action = action.set(k.clone(), v.clone());
            }
            action.apply(tx)?.commit(catalog).await?;
        }
        return Ok(false);
    }
    let creation = TableCreation::builder()
        .name(def.name.to_owned())
        .schema(def.schema()?)
        .partition_spec(def.partition_spec()?)
        .properties(def.properties())
        .build();
    match catalog.create_table(&ns, creation).await {
        Ok(_) => {
            info!(table = %def, "created table");
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::TableAlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}
