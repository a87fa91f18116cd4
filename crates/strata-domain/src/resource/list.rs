//! Listing: keyset (cursor) pagination that stays stable under concurrent inserts, label
//! selectors, phase, equality and range filters, sort and sparse fieldsets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use strata_schema::{Column, SqlType, Table};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::selector::{LabelSelector, Requirement};
use super::sql::{field_columns, ident, param, resource_of, select_list};
use super::value::to_param;
use super::{Resource, ResourceError};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    Asc,
    Desc,
}

/// Range operators on ordered columns: `<col>.gte`, `<col>.gt`, `<col>.lte`, `<col>.lt`.
pub const RANGE_OPS: [(&str, &str); 4] = [("gte", ">="), ("gt", ">"), ("lte", "<="), ("lt", "<")];

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub limit: i64,
    pub cursor: Option<Cursor>,
    pub selector: LabelSelector,
    pub phases: Vec<String>,
    /// (column, SQL operator, text value)
    pub filters: Vec<(String, &'static str, String)>,
    pub sort: String,
    pub dir: SortDir,
    pub fields: Option<Vec<String>>,
    /// Extra SQL predicate with its parameters, for friendly endpoints (e.g. order search).
    pub extra: Option<(String, Vec<String>)>,
}

/// The opaque continuation token: where the previous page ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "d")]
    pub dir: SortDir,
    #[serde(rename = "v")]
    pub value: Option<String>,
    #[serde(rename = "u")]
    pub uid: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Result<Self, ResourceError> {
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| {
            ResourceError::BadRequest("cursor is not a token returned by this API".into())
        })?;
        serde_json::from_slice(&bytes).map_err(|_| {
            ResourceError::BadRequest("cursor is not a token returned by this API".into())
        })
    }
}

/// One page and the token for the next.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub items: Vec<Resource>,
    pub next_cursor: Option<String>,
}

fn leads_btree(t: &Table, column: &str) -> bool {
    t.indexes
        .iter()
        .any(|i| i.method != "gin" && i.keys.first().map(String::as_str) == Some(column))
        || t.uniques
            .iter()
            .any(|u| u.first().map(String::as_str) == Some(column))
}

/// Columns usable as `<col>=<value>` filters: indexed scalar columns and references.
pub fn filterable_columns(t: &Table) -> Vec<&Column> {
    t.columns
        .iter()
        .filter(|c| {
            c.name != "uid"
                && !matches!(c.sql_type, SqlType::Jsonb | SqlType::Json)
                && (leads_btree(t, &c.name) || c.reference.is_some() || c.enum_values.is_some())
        })
        .collect()
}

/// Columns usable with range operators: every timestamp and date column.
pub fn range_columns(t: &Table) -> Vec<&Column> {
    t.columns
        .iter()
        .filter(|c| matches!(c.sql_type, SqlType::TimestampTz | SqlType::Date))
        .collect()
}

/// Columns usable as `sort`: the uid, the timestamps, and indexed NOT NULL scalars.
pub fn sortable_columns(t: &Table) -> Vec<&Column> {
    t.columns
        .iter()
        .filter(|c| {
            matches!(c.name.as_str(), "uid" | "create_ts" | "update_ts")
                || (c.not_null
                    && leads_btree(t, &c.name)
                    && matches!(
                        c.sql_type,
                        SqlType::Text
                            | SqlType::Integer
                            | SqlType::BigInt
                            | SqlType::SmallInt
                            | SqlType::TimestampTz
                            | SqlType::Date
                            | SqlType::Numeric { .. }
                    ))
        })
        .collect()
}

impl ListParams {
    /// Parse query parameters. `allowed_extra` names parameters the caller handles itself.
    pub fn from_query(
        t: &Table,
        query: &[(String, String)],
        allowed_extra: &[&str],
    ) -> Result<Self, ResourceError> {
        let mut p = ListParams {
            limit: DEFAULT_LIMIT,
            cursor: None,
            selector: LabelSelector::default(),
            phases: Vec::new(),
            filters: Vec::new(),
            sort: "uid".into(),
            dir: SortDir::Asc,
            fields: None,
            extra: None,
        };
        let filterable = filterable_columns(t);
        let ranged = range_columns(t);
        for (k, v) in query {
            match k.as_str() {
                "limit" => {
                    p.limit = v
                        .parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ResourceError::BadRequest(format!(
                                "limit must be an integer from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                "cursor" if v.is_empty() => {}
                "cursor" => p.cursor = Some(Cursor::decode(v)?),
                "labelSelector" => {
                    p.selector = LabelSelector::parse(v)
                        .map_err(|e| ResourceError::BadRequest(format!("labelSelector: {e}")))?
                }
                "phase" => {
                    for ph in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !t.phases.iter().any(|x| x == ph) {
                            return Err(ResourceError::BadRequest(format!(
                                "phase `{ph}` is not a phase of {} ({})",
                                t.name,
                                t.phases.join(", ")
                            )));
                        }
                        p.phases.push(ph.to_string());
                    }
                }
                "sort" => {
                    let (dir, name) = match v.strip_prefix('-') {
                        Some(n) => (SortDir::Desc, n),
                        None => (SortDir::Asc, v.as_str()),
                    };
                    if !sortable_columns(t).iter().any(|c| c.name == name) {
                        return Err(ResourceError::BadRequest(format!(
                            "sort: `{name}` is not sortable; use one of {} (prefix `-` for descending)",
                            sortable_columns(t)
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    p.sort = name.to_string();
                    p.dir = dir;
                }
                "fields" => {
                    let names: Vec<String> = v
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    field_columns(t, Some(&names))?;
                    p.fields = Some(names);
                }
                key if allowed_extra.contains(&key) => {}
                key => {
                    if let Some((col, op)) = key.rsplit_once('.')
                        && let Some((_, sql_op)) = RANGE_OPS.iter().find(|(n, _)| *n == op)
                        && let Some(c) = ranged.iter().find(|c| c.name == col)
                    {
                        let value = to_param(t, c, &Value::String(v.clone()))
                            .map_err(|e| {
                                ResourceError::BadRequest(format!(
                                    "{key}: {} {}",
                                    e.field, e.message
                                ))
                            })?
                            .unwrap_or_default();
                        p.filters.push((c.name.clone(), sql_op, value));
                    } else if let Some(c) = filterable.iter().find(|c| c.name == key) {
                        let json = json_for_query(c, v);
                        let value = to_param(t, c, &json)
                            .map_err(|e| {
                                ResourceError::BadRequest(format!("{key}: {}", e.message))
                            })?
                            .unwrap_or_default();
                        p.filters.push((c.name.clone(), "=", value));
                    } else {
                        return Err(ResourceError::BadRequest(format!(
                            "unknown query parameter `{key}` for {}",
                            t.name
                        )));
                    }
                }
            }
        }
        if let Some(c) = &p.cursor
            && (c.sort != p.sort || c.dir != p.dir)
        {
            return Err(ResourceError::BadRequest(
                "cursor was issued for a different sort; repeat the same sort with it".into(),
            ));
        }
        Ok(p)
    }
}

/// Query strings are text; give typed columns the JSON their validator expects.
fn json_for_query(c: &Column, v: &str) -> Value {
    match c.sql_type {
        SqlType::Integer | SqlType::BigInt | SqlType::SmallInt => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.into())),
        SqlType::Boolean => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(v.into()),
        },
        _ => Value::String(v.to_string()),
    }
}

pub async fn run<C: GenericClient>(
    client: &C,
    t: &Table,
    p: &ListParams,
) -> Result<ListPage, ResourceError> {
    let cols = field_columns(t, p.fields.as_deref())?;
    let mut params: Vec<Option<String>> = Vec::new();
    let mut where_: Vec<String> = Vec::new();
    let add = |params: &mut Vec<Option<String>>, v: String| -> usize {
        params.push(Some(v));
        params.len()
    };
    for r in &p.selector.0 {
        match r {
            Requirement::Equals(k, v) => {
                let n = add(&mut params, serde_json::json!({ k: v }).to_string());
                where_.push(format!("labels @> ${n}::text::jsonb"));
            }
            Requirement::NotEquals(k, v) => {
                let n = add(&mut params, serde_json::json!({ k: v }).to_string());
                where_.push(format!("NOT (labels @> ${n}::text::jsonb)"));
            }
            Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                let ors: Vec<String> = vs
                    .iter()
                    .map(|v| {
                        let n = add(&mut params, serde_json::json!({ k: v }).to_string());
                        format!("labels @> ${n}::text::jsonb")
                    })
                    .collect();
                let any = format!("({})", ors.join(" OR "));
                if matches!(r, Requirement::In(..)) {
                    where_.push(any);
                } else {
                    where_.push(format!("NOT {any}"));
                }
            }
            Requirement::Exists(k) => {
                let n = add(&mut params, k.clone());
                where_.push(format!("labels ? ${n}::text"));
            }
            Requirement::NotExists(k) => {
                let n = add(&mut params, k.clone());
                where_.push(format!("NOT (labels ? ${n}::text)"));
            }
        }
    }
    if !p.phases.is_empty() {
        let ors: Vec<String> = p
            .phases
            .iter()
            .map(|ph| {
                let n = add(&mut params, ph.clone());
                format!("status ->> 'phase' = ${n}::text")
            })
            .collect();
        where_.push(format!("({})", ors.join(" OR ")));
    }
    for (col, op, value) in &p.filters {
        let n = add(&mut params, value.clone());
        where_.push(format!("{} {op} {}", ident(col), param(t, col, n)));
    }
    if let Some((sql, extra)) = &p.extra {
        let base = params.len();
        let mut sql = sql.clone();
        for i in (0..extra.len()).rev() {
            sql = sql.replace(&format!("${}", i + 1), &format!("${}", base + i + 1));
        }
        for v in extra {
            params.push(Some(v.clone()));
        }
        where_.push(format!("({sql})"));
    }
    let sort = ident(&p.sort);
    let cmp = match p.dir {
        SortDir::Asc => ">",
        SortDir::Desc => "<",
    };
    if let Some(c) = &p.cursor {
        let nu = add(&mut params, c.uid.clone());
        if p.sort == "uid" {
            where_.push(format!("uid {cmp} ${nu}::text"));
        } else {
            let nv = add(&mut params, c.value.clone().unwrap_or_default());
            where_.push(format!(
                "({sort}, uid) {cmp} ({}, ${nu}::text)",
                param(t, &p.sort, nv)
            ));
        }
    }
    let dir = match p.dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    let order = if p.sort == "uid" {
        format!("uid {dir}")
    } else {
        format!("{sort} {dir}, uid {dir}")
    };
    let where_sql = if where_.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", where_.join(" AND "))
    };
    let q = format!(
        "SELECT row_to_json(r)::text, r.__sort FROM (SELECT {}, {sort}::text AS __sort FROM {} {where_sql} ORDER BY {order} LIMIT {}) r",
        select_list(t, &cols),
        ident(&t.name),
        p.limit + 1
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    let rows = client
        .query(&q, &refs)
        .await
        .map_err(|e| ResourceError::from_pg(t, e))?;
    let more = rows.len() as i64 > p.limit;
    let mut items = Vec::with_capacity(rows.len());
    let mut last: Option<(Option<String>, String)> = None;
    for row in rows.into_iter().take(p.limit as usize) {
        let mut r = resource_of(row.get::<_, String>(0))?;
        r.body.remove("__sort");
        last = Some((row.get::<_, Option<String>>(1), r.uid().to_string()));
        items.push(r);
    }
    let next_cursor = match (more, last) {
        (true, Some((value, uid))) => Some(
            Cursor {
                sort: p.sort.clone(),
                dir: p.dir,
                value,
                uid,
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(ListPage { items, next_cursor })
}
