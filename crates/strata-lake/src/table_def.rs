//! Tables other layers derive from the telemetry (the measurements, the replicated
//! configuration): declared as data, created on demand, partitioned by the day of one column.

use std::collections::HashMap;

use iceberg::{
    Catalog, NamespaceIdent, TableCreation, TableIdent,
    spec::{Schema, UnboundPartitionSpec},
};

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
    let creation = TableCreation::builder()
        .name(def.name.to_owned())
        .schema(def.schema()?)
        .partition_spec(def.partition_spec()?)
        .properties(def.properties())
        .build();
    crate::catalog::ensure_created(catalog, def.namespace, creation).await
}
