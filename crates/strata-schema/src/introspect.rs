//! What a live database actually holds, read from `pg_catalog` (public schema only).

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::error::SchemaError;

/// A live column: its type as `format_type` prints it, and nullability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    pub name: String,
    pub sql_type: String,
    pub not_null: bool,
}

/// The parts of a live schema that drift detection and the convention tests compare.
#[derive(Debug, Clone, Default)]
pub struct LiveSchema {
    /// table → columns in attribute order
    pub tables: BTreeMap<String, Vec<LiveColumn>>,
    /// table → names of indexes not backing a constraint
    pub indexes: BTreeMap<String, Vec<String>>,
    pub foreign_keys: i64,
    pub check_constraints: i64,
    pub routines: i64,
    pub triggers: i64,
    pub views: i64,
    pub materialized_views: i64,
}

/// Read the live `public` schema.
pub async fn introspect(client: &Client) -> Result<LiveSchema, SchemaError> {
    let mut live = LiveSchema::default();
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY c.relname, a.attnum",
            &[],
        )
        .await?;
    for r in rows {
        live.tables.entry(r.get(0)).or_default().push(LiveColumn {
            name: r.get(1),
            sql_type: r.get(2),
            not_null: r.get(3),
        });
    }
    let rows = client
        .query(
            "SELECT t.relname::text, i.relname::text
               FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class t ON t.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
              WHERE n.nspname = 'public'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
              ORDER BY 1, 2",
            &[],
        )
        .await?;
    for r in rows {
        live.indexes.entry(r.get(0)).or_default().push(r.get(1));
    }
    let counts = client
        .query_one(
            "SELECT
               (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
                 WHERE n.nspname = 'public' AND k.contype = 'f'),
               (SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
                 WHERE n.nspname = 'public' AND k.contype = 'c'),
               (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public'),
               (SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND NOT g.tgisinternal),
               (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind = 'v'),
               (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind = 'm')",
            &[],
        )
        .await?;
    live.foreign_keys = counts.get(0);
    live.check_constraints = counts.get(1);
    live.routines = counts.get(2);
    live.triggers = counts.get(3);
    live.views = counts.get(4);
    live.materialized_views = counts.get(5);
    Ok(live)
}
