//! The generic resource store: list, get, create, merge-patch, delete and the status
//! subresource for any of the 153 tables, driven entirely by the schema model.
//!
//! Values are validated against the model before PostgreSQL sees them; what only PostgreSQL can
//! check (CHECK regexes, uniqueness) comes back as the same typed errors. Every row carries a
//! version (its `update_ts` in microseconds) used as the HTTP ETag for optimistic concurrency.

mod error;
mod list;
pub mod selector;
mod sql;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use strata_schema::{Schema, SqlType, Table};
use tokio_postgres::GenericClient;

pub use error::ResourceError;
pub use list::{
    DEFAULT_LIMIT, ListPage, ListParams, MAX_LIMIT, RANGE_OPS, SortDir, filterable_columns,
    range_columns, sortable_columns,
};
use sql::{ident, select_list};
use value::{FieldError, check_annotations, check_labels, to_param};

/// One row as the API shows it, with its version for ETags.
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Map<String, Value>,
    /// Microseconds of `update_ts`: changes on every write.
    pub version: i64,
}

impl Resource {
    /// Strong ETag derived from uid and version.
    pub fn etag(&self) -> String {
        format!("\"{:x}\"", self.version)
    }

    pub fn uid(&self) -> &str {
        self.body
            .get("uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What an `If-Match` header allows: any version (`*`), or one of a list of ETags. A header
/// that names no valid ETag matches nothing (the write is refused with 412, once the row is known
/// to exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    OneOf(Vec<i64>),
}

impl IfMatch {
    pub fn parse(header: &str) -> Self {
        let mut versions = Vec::new();
        for part in header.split(',') {
            let v = part.trim();
            if v == "*" {
                return IfMatch::Any;
            }
            let v = v.strip_prefix("W/").unwrap_or(v);
            if let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
                && let Ok(n) = i64::from_str_radix(inner, 16)
            {
                versions.push(n);
            }
        }
        IfMatch::OneOf(versions)
    }

    pub fn matches(&self, version: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::OneOf(v) => v.contains(&version),
        }
    }
}

impl From<i64> for IfMatch {
    fn from(version: i64) -> Self {
        IfMatch::OneOf(vec![version])
    }
}

/// The store over one schema model.
#[derive(Clone)]
pub struct ResourceStore {
    schema: Arc<Schema>,
    /// Table name → (module index, table index): every request looks its table up.
    index: Arc<HashMap<String, (usize, usize)>>,
}

/// Columns clients never write: maintained by Strata.
fn read_only(name: &str) -> bool {
    matches!(name, "uid" | "create_ts" | "update_ts") || name.starts_with("raw_")
}

impl ResourceStore {
    pub fn new(schema: Arc<Schema>) -> Self {
        let index = schema
            .modules
            .iter()
            .enumerate()
            .flat_map(|(mi, m)| {
                m.tables
                    .iter()
                    .enumerate()
                    .map(move |(ti, t)| (t.name.clone(), (mi, ti)))
            })
            .collect();
        Self {
            schema,
            index: Arc::new(index),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn table(&self, name: &str) -> Result<&Table, ResourceError> {
        self.index
            .get(name)
            .map(|&(mi, ti)| &self.schema.modules[mi].tables[ti])
            .ok_or_else(|| ResourceError::UnknownTable(name.to_string()))
    }

    /// The schema module a table belongs to (scopes are per module).
    pub fn module_of(&self, table: &str) -> Option<&str> {
        self.index
            .get(table)
            .map(|&(mi, _)| self.schema.modules[mi].name.as_str())
    }

    /// Read one row by uid.
    pub async fn get<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        uid: &str,
        fields: Option<&[String]>,
    ) -> Result<Resource, ResourceError> {
        let t = self.table(table)?;
        read_row(client, t, uid, fields, false).await
    }

    /// A page of rows, filtered, label-selected and sorted; see [`ListParams`].
    pub async fn list<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        params: &ListParams,
    ) -> Result<ListPage, ResourceError> {
        let t = self.table(table)?;
        list::run(client, t, params).await
    }

    /// Rows whose `column` is one of `keys` (children of a page of parents), in uid order.
    pub async fn list_by<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        column: &str,
        keys: &[String],
    ) -> Result<Vec<Resource>, ResourceError> {
        let t = self.table(table)?;
        if t.column(column).is_none() {
            return Err(ResourceError::Internal(format!(
                "{table} has no column {column}"
            )));
        }
        let all = sql::field_columns(t, None)?;
        let q = format!(
            "SELECT row_to_json(r)::text FROM (SELECT {} FROM {} WHERE {} = ANY($1::text[]) ORDER BY uid) r",
            select_list(t, &all),
            ident(&t.name),
            ident(column)
        );
        let rows = client
            .query(&q, &[&keys])
            .await
            .map_err(|e| ResourceError::from_pg(t, e))?;
        rows.into_iter()
            .map(|r| sql::resource_of(r.get::<_, String>(0)))
            .collect()
    }

    /// Insert a row from a client's JSON object. The server mints the uid.
    pub async fn create<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        body: &Value,
    ) -> Result<Resource, ResourceError> {
        let t = self.table(table)?;
        let obj = body.as_object().ok_or_else(|| {
            ResourceError::Invalid(vec![FieldError::new("", "the body must be a JSON object")])
        })?;
        let mut errors = Vec::new();
        let mut values: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in obj {
            match t.column(k) {
                None => errors.push(FieldError::new(k, "is not a field of this resource")),
                Some(_) if read_only(k) => {
                    errors.push(FieldError::new(k, "is read-only (set by the server)"))
                }
                Some(c) if c.name == "status" => match validate_status(t, v, None) {
                    Ok(s) => values.push(("status".into(), Some(s.to_string()))),
                    Err(e) => errors.push(e),
                },
                Some(c) => {
                    if c.name == "labels" {
                        if let Err(e) = check_labels(v) {
                            errors.push(e);
                            continue;
                        }
                    } else if c.name == "annotations"
                        && let Err(e) = check_annotations(v)
                    {
                        errors.push(e);
                        continue;
                    }
                    match to_param(t, c, v) {
                        Ok(p) => values.push((c.name.clone(), p)),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        for c in &t.columns {
            if c.not_null
                && c.default.is_none()
                && !read_only(&c.name)
                && !obj.contains_key(&c.name)
            {
                errors.push(FieldError::new(&c.name, "is required"));
            }
        }
        if !errors.is_empty() {
            return Err(ResourceError::Invalid(errors));
        }
        add_raw_money(
            t,
            &mut values,
            obj.get("currency_code").and_then(Value::as_str),
        );
        let prefix = t.prefix.as_deref().unwrap_or("x");
        let uid = format!("{prefix}_{}", ulid::Ulid::new());
        let mut cols = vec!["uid".to_string()];
        let mut params: Vec<Option<String>> = vec![Some(uid)];
        for (c, v) in values {
            cols.push(c);
            params.push(v);
        }
        let placeholders: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| sql::param(t, c, i + 1))
            .collect();
        let all = sql::field_columns(t, None)?;
        let q = format!(
            "WITH r AS (INSERT INTO {} ({}) VALUES ({}) RETURNING *) SELECT row_to_json(x)::text FROM (SELECT {} FROM r) x",
            ident(&t.name),
            cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "),
            placeholders.join(", "),
            select_list(t, &all)
        );
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let row = client
            .query_one(&q, &refs)
            .await
            .map_err(|e| ResourceError::from_pg(t, e))?;
        sql::resource_of(row.get::<_, String>(0))
    }

    /// Lock a row for a write and check the caller's `If-Match`.
    async fn lock<C: GenericClient>(
        &self,
        client: &C,
        t: &Table,
        uid: &str,
        if_match: Option<IfMatch>,
    ) -> Result<Resource, ResourceError> {
        let current = read_row(client, t, uid, None, true).await?;
        if let Some(expected) = if_match
            && !expected.matches(current.version)
        {
            return Err(ResourceError::PreconditionFailed);
        }
        Ok(current)
    }

    /// Apply a JSON merge patch (RFC 7396) to the writable fields of a row.
    pub async fn patch<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        uid: &str,
        patch: &Value,
        if_match: Option<IfMatch>,
    ) -> Result<Resource, ResourceError> {
        let t = self.table(table)?;
        let obj = patch.as_object().ok_or_else(|| {
            ResourceError::Invalid(vec![FieldError::new(
                "",
                "a merge patch must be a JSON object",
            )])
        })?;
        // What can be judged without the row is judged first, so a malformed patch is a 422
        // whatever the row's state or the caller's If-Match.
        let early = prevalidate_patch(t, obj);
        if !early.is_empty() {
            return Err(ResourceError::Invalid(early));
        }
        let current = self.lock(client, t, uid, if_match).await?;
        let mut errors = Vec::new();
        let mut sets: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in obj {
            let Some(c) = t.column(k) else {
                errors.push(FieldError::new(k, "is not a field of this resource"));
                continue;
            };
            if read_only(k) {
                errors.push(FieldError::new(k, "is read-only (set by the server)"));
                continue;
            }
            if k == "status" {
                errors.push(FieldError::new(
                    k,
                    "is changed through the status subresource (PUT …/status)",
                ));
                continue;
            }
            // Merge patch: objects merge key by key (labels, annotations, JSON columns).
            let merged = match (current.body.get(k), v) {
                (Some(Value::Object(old)), Value::Object(_)) if c.sql_type == SqlType::Jsonb => {
                    let mut doc = Value::Object(old.clone());
                    merge_patch(&mut doc, v);
                    doc
                }
                _ => v.clone(),
            };
            if k == "labels" {
                if let Err(e) = check_labels(&merged) {
                    errors.push(e);
                    continue;
                }
            } else if k == "annotations"
                && let Err(e) = check_annotations(&merged)
            {
                errors.push(e);
                continue;
            }
            match to_param(t, c, &merged) {
                Ok(p) => sets.push((k.clone(), p)),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(ResourceError::Invalid(errors));
        }
        if sets.is_empty() {
            return Ok(current);
        }
        let currency = obj
            .get("currency_code")
            .and_then(Value::as_str)
            .or_else(|| current.body.get("currency_code").and_then(Value::as_str))
            .map(str::to_string);
        add_raw_money(t, &mut sets, currency.as_deref());
        self.update(client, t, uid, sets).await
    }

    async fn update<C: GenericClient>(
        &self,
        client: &C,
        t: &Table,
        uid: &str,
        sets: Vec<(String, Option<String>)>,
    ) -> Result<Resource, ResourceError> {
        let mut params: Vec<Option<String>> = vec![Some(uid.to_string())];
        let mut assignments = Vec::new();
        for (c, v) in sets {
            params.push(v);
            assignments.push(format!(
                "{} = {}",
                ident(&c),
                sql::param(t, &c, params.len())
            ));
        }
        // Strictly increasing even within one transaction or clock tick, so ETags always change.
        assignments.push(
            "update_ts = greatest(clock_timestamp(), update_ts + interval '1 microsecond')".into(),
        );
        let all = sql::field_columns(t, None)?;
        let q = format!(
            "WITH r AS (UPDATE {} SET {} WHERE uid = $1 RETURNING *) SELECT row_to_json(x)::text FROM (SELECT {} FROM r) x",
            ident(&t.name),
            assignments.join(", "),
            select_list(t, &all)
        );
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let row = client
            .query_opt(&q, &refs)
            .await
            .map_err(|e| ResourceError::from_pg(t, e))?;
        match row {
            Some(r) => sql::resource_of(r.get::<_, String>(0)),
            None => Err(ResourceError::NotFound {
                table: t.name.clone(),
                uid: uid.to_string(),
            }),
        }
    }

    /// Delete: link tables lose the row; domain tables move to their terminal phase.
    /// Returns the row as it now is (`None` for a removed link).
    pub async fn delete<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        uid: &str,
        if_match: Option<IfMatch>,
    ) -> Result<Option<Resource>, ResourceError> {
        let t = self.table(table)?;
        let current = self.lock(client, t, uid, if_match).await?;
        if t.is_link() {
            let q = format!("DELETE FROM {} WHERE uid = $1", ident(&t.name));
            client
                .execute(&q, &[&uid])
                .await
                .map_err(|e| ResourceError::from_pg(t, e))?;
            return Ok(None);
        }
        let Some(terminal) = t.terminal_phases.first() else {
            return Err(ResourceError::Conflict(format!(
                "{} has no terminal phase to delete into",
                t.name
            )));
        };
        if phase_of(&current) == Some(terminal.as_str()) {
            return Ok(Some(current));
        }
        let status = with_phase(&current, terminal, None);
        self.update(
            client,
            t,
            uid,
            vec![("status".into(), Some(status.to_string()))],
        )
        .await
        .map(Some)
    }

    /// `PUT …/status`: a phase transition and/or new conditions.
    pub async fn set_status<C: GenericClient>(
        &self,
        client: &C,
        table: &str,
        uid: &str,
        body: &Value,
        if_match: Option<IfMatch>,
    ) -> Result<Resource, ResourceError> {
        let t = self.table(table)?;
        if !body.is_object() {
            return Err(ResourceError::Invalid(vec![FieldError::new(
                "status",
                "must be an object {\"phase\": ..., \"conditions\": [...]}",
            )]));
        }
        // The body's shape is judged before the row's state or the caller's If-Match.
        validate_status(t, body, None).map_err(|e| ResourceError::Invalid(vec![e]))?;
        let current = self.lock(client, t, uid, if_match).await?;
        let status = validate_status(t, body, Some(&current))
            .map_err(|e| ResourceError::Invalid(vec![e]))?;
        let from = phase_of(&current).unwrap_or_default().to_string();
        let to = status
            .get("phase")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if from != to && t.terminal_phases.contains(&from) {
            return Err(ResourceError::Conflict(format!(
                "{} {uid} is in terminal phase `{from}` and cannot move to `{to}`",
                t.name
            )));
        }
        self.update(
            client,
            t,
            uid,
            vec![("status".into(), Some(status.to_string()))],
        )
        .await
    }
}

/// One row by uid (optionally locked for update), or `NotFound`.
async fn read_row<C: GenericClient>(
    client: &C,
    t: &Table,
    uid: &str,
    fields: Option<&[String]>,
    for_update: bool,
) -> Result<Resource, ResourceError> {
    let cols = sql::field_columns(t, fields)?;
    let q = format!(
        "SELECT row_to_json(r)::text FROM (SELECT {} FROM {} WHERE uid = $1{}) r",
        select_list(t, &cols),
        ident(&t.name),
        if for_update { " FOR UPDATE" } else { "" }
    );
    let row = client
        .query_opt(&q, &[&uid])
        .await
        .map_err(|e| ResourceError::from_pg(t, e))?;
    match row {
        Some(r) => sql::resource_of(r.get::<_, String>(0)),
        None => Err(ResourceError::NotFound {
            table: t.name.clone(),
            uid: uid.to_string(),
        }),
    }
}

fn phase_of(r: &Resource) -> Option<&str> {
    r.body.get("status")?.get("phase")?.as_str()
}

fn with_phase(current: &Resource, phase: &str, conditions: Option<Value>) -> Value {
    let conditions = conditions
        .or_else(|| {
            current
                .body
                .get("status")
                .and_then(|s| s.get("conditions"))
                .cloned()
        })
        .unwrap_or_else(|| Value::Array(vec![]));
    serde_json::json!({"phase": phase, "conditions": conditions})
}

/// Validate a status body (`{phase, conditions}`); stamps `last_transition_ts` on conditions
/// whose status changed.
fn validate_status(t: &Table, v: &Value, current: Option<&Resource>) -> Result<Value, FieldError> {
    let obj = v.as_object().ok_or_else(|| {
        FieldError::new(
            "status",
            "must be an object {\"phase\": ..., \"conditions\": [...]}",
        )
    })?;
    for k in obj.keys() {
        if k != "phase" && k != "conditions" {
            return Err(FieldError::new(
                format!("status.{k}"),
                "is not a status field (phase, conditions)",
            ));
        }
    }
    let phase = match obj.get("phase") {
        Some(Value::String(p)) => p.clone(),
        None => current
            .and_then(phase_of)
            .map(str::to_string)
            .or_else(|| t.initial_phase.clone())
            .unwrap_or_default(),
        Some(_) => return Err(FieldError::new("status.phase", "must be a string")),
    };
    if !t.phases.contains(&phase) {
        return Err(FieldError::new(
            "status.phase",
            format!("must be one of: {}", t.phases.join(", ")),
        ));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let old: Vec<Value> = current
        .and_then(|c| c.body.get("status"))
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let conditions = match obj.get("conditions") {
        None => Value::Array(old),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, c) in items.iter().enumerate() {
                out.push(validate_condition(i, c, &old, &now)?);
            }
            Value::Array(out)
        }
        Some(_) => return Err(FieldError::new("status.conditions", "must be an array")),
    };
    Ok(serde_json::json!({"phase": phase, "conditions": conditions}))
}

fn validate_condition(i: usize, c: &Value, old: &[Value], now: &str) -> Result<Value, FieldError> {
    let field = |k: &str| format!("status.conditions[{i}].{k}");
    let obj = c
        .as_object()
        .ok_or_else(|| FieldError::new(format!("status.conditions[{i}]"), "must be an object"))?;
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "type" | "status" | "reason" | "message" | "last_transition_ts"
        ) {
            return Err(FieldError::new(
                field(k),
                "is not a condition field (type, status, reason, message, last_transition_ts)",
            ));
        }
    }
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.chars().count() <= 316 && !s.contains('\0'))
        .ok_or_else(|| FieldError::new(field("type"), "is required: a non-empty string"))?;
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .filter(|s| matches!(*s, "True" | "False" | "Unknown"))
        .ok_or_else(|| FieldError::new(field("status"), "must be one of: True, False, Unknown"))?;
    let text = |k: &str| -> Result<Option<String>, FieldError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.contains('\0') => Ok(Some(s.clone())),
            Some(_) => Err(FieldError::new(field(k), "must be a string")),
        }
    };
    let reason = text("reason")?;
    let message = text("message")?;
    let prior = old
        .iter()
        .find(|o| o.get("type").and_then(Value::as_str) == Some(ty));
    let last = match prior {
        Some(p) if p.get("status").and_then(Value::as_str) == Some(status) => p
            .get("last_transition_ts")
            .and_then(Value::as_str)
            .unwrap_or(now)
            .to_string(),
        _ => now.to_string(),
    };
    let mut out = serde_json::json!({"type": ty, "status": status, "last_transition_ts": last});
    if let Some(r) = reason {
        out["reason"] = Value::String(r);
    }
    if let Some(m) = message {
        out["message"] = Value::String(m);
    }
    Ok(out)
}

/// Keep every `raw_<money>` consistent with its NUMERIC column.
fn add_raw_money(t: &Table, values: &mut Vec<(String, Option<String>)>, currency: Option<&str>) {
    let money: Vec<(String, Option<String>)> = values
        .iter()
        .filter(|(c, _)| t.column(c).is_some_and(|col| col.is_money(t)))
        .cloned()
        .collect();
    for (c, v) in money {
        let raw = v.map(|amount| {
            let mut o = serde_json::json!({"value": amount});
            if let Some(cur) = currency {
                o["currency_code"] = Value::String(cur.to_string());
            }
            o.to_string()
        });
        values.push((format!("raw_{c}"), raw));
    }
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes a key.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Patch errors visible without the current row: unknown, read-only or status fields, and values
/// of the wrong type (JSON objects are merged later, so only their shape is checked here).
fn prevalidate_patch(t: &Table, obj: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (k, v) in obj {
        let Some(c) = t.column(k) else {
            errors.push(FieldError::new(k, "is not a field of this resource"));
            continue;
        };
        if read_only(k) {
            errors.push(FieldError::new(k, "is read-only (set by the server)"));
        } else if k == "status" {
            errors.push(FieldError::new(
                k,
                "is changed through the status subresource (PUT …/status)",
            ));
        } else if c.sql_type == SqlType::Jsonb
            && v.is_object()
            && value::json_shape(t, k) != Some("array")
        {
            if value::contains_nul(v) {
                errors.push(FieldError::new(k, "must not contain NUL characters"));
            } else if k == "labels" || k == "annotations" {
                for (key, val) in v.as_object().into_iter().flatten() {
                    let ok_value = val.is_null()
                        || val.as_str().is_some_and(|s| {
                            !s.contains('\0') && (k != "labels" || selector::valid_value(s))
                        });
                    if !selector::valid_key(key) || !ok_value {
                        errors.push(FieldError::new(
                            format!("{k}.{key}"),
                            "must be a valid key with a string (or null to remove)",
                        ));
                    }
                }
            }
        } else if let Err(e) = to_param(t, c, v) {
            errors.push(e);
        }
    }
    errors
}
