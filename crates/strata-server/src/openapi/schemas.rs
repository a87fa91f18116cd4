//! `components.schemas`: the representation of every table (read), what create and merge patch
//! accept (write, mirroring `resource::value::to_param` and the store's read-only rules), the
//! status subresource, pages, and the shared shapes (`Condition`, `Problem`, `RawMoney`, …).

use serde_json::{Map, Value, json};
use strata_schema::{Column, ColumnConstraints, Schema, SqlType, Table};

use super::{insert_unique, pascal, schema_ref};

/// Which side of the API a column schema describes.
/// Strings PostgreSQL can store: anything but NUL.
pub(crate) const NO_NUL: &str = "^[^\\u0000]*$";
/// The shared schema of free-form JSON written to a jsonb column.
pub(crate) const JSON_VALUE: &str = "JsonValue";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A resource as the server returns it.
    Read,
    /// A `POST` body.
    Create,
    /// A merge-patch body.
    Patch,
    /// A `<column>=<value>` query filter (text, converted like the list parser does).
    Query,
}

/// Columns clients never write (the store's `read_only`).
pub(crate) fn read_only(name: &str) -> bool {
    matches!(name, "uid" | "create_ts" | "update_ts") || name.starts_with("raw_")
}

/// Columns a create body may carry.
pub(crate) fn create_columns(t: &Table) -> impl Iterator<Item = &Column> {
    t.columns.iter().filter(|c| !read_only(&c.name))
}

/// Columns a merge patch may carry: the writable ones except `status` (subresource only).
pub(crate) fn patch_columns(t: &Table) -> impl Iterator<Item = &Column> {
    create_columns(t).filter(|c| c.name != "status")
}

/// Columns a create must give: NOT NULL, no DEFAULT, not maintained by the server.
pub(crate) fn required_on_create(t: &Table) -> Vec<&str> {
    create_columns(t)
        .filter(|c| c.not_null && c.default.is_none())
        .map(|c| c.name.as_str())
        .collect()
}

// ---- component names ---------------------------------------------------------------------------

pub(crate) fn resource_name(t: &Table) -> String {
    pascal(&t.name)
}
pub(crate) fn create_name(t: &Table) -> String {
    format!("{}Create", pascal(&t.name))
}
pub(crate) fn patch_name(t: &Table) -> String {
    format!("{}Patch", pascal(&t.name))
}
/// `<Table>Page` rather than `<Table>List`: `price` + `List` would collide with `price_list`.
pub(crate) fn page_name(t: &Table) -> String {
    format!("{}Page", pascal(&t.name))
}
pub(crate) fn status_name(t: &Table) -> String {
    format!("{}Status", pascal(&t.name))
}
pub(crate) fn status_update_name(t: &Table) -> String {
    format!("{}StatusUpdate", pascal(&t.name))
}

/// Friendly `/v1/orders` shapes.
pub(crate) const ORDER: &str = "Order";
pub(crate) const ORDER_PAGE: &str = "OrderPage";
const ORDER_LINE_ITEM_WITH_DETAILS: &str = "OrderLineItemWithDetails";

/// Tables the friendly `include=lineItems` embedding needs.
pub(crate) const ORDER_TABLES: [&str; 4] = [
    "order_header",
    "order_line_item",
    "order_line_item_tax_line",
    "order_line_item_adjustment",
];

// ---- patterns ----------------------------------------------------------------------------------

/// Crockford base32 ULID, as minted by the server after `<prefix>_`.
const ULID: &str = "[0-9A-HJKMNP-TV-Z]{26}";
/// What a NUMERIC input string must look like (numbers are accepted as JSON numbers too).
pub(crate) const DECIMAL_INPUT: &str = r"^-?[0-9]+(\.[0-9]+)?$";
/// Label and annotation keys: `[prefix/]name`, Kubernetes rules (`selector::valid_key`).
const LABEL_KEY: &str =
    r"^([a-z0-9-]+(\.[a-z0-9-]+)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
/// Label values: empty, or up to 63 of `[A-Za-z0-9._-]` starting and ending alphanumeric.
const LABEL_VALUE: &str = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$";

pub(crate) fn uid_pattern(t: &Table) -> Option<String> {
    t.prefix.as_ref().map(|p| format!("^{p}_{ULID}$"))
}

/// How PostgreSQL prints a NUMERIC as text: a fixed number of decimals for `NUMERIC(p,s)`.
fn numeric_output_pattern(precision: Option<u64>, scale: Option<u64>) -> String {
    match (precision, scale) {
        (Some(p), Some(s)) if s > 0 => {
            let int = p.saturating_sub(s).max(1);
            format!(r"^-?[0-9]{{1,{int}}}\.[0-9]{{{s}}}$")
        }
        (Some(p), _) => format!("^-?[0-9]{{1,{}}}$", p.max(1)),
        (None, _) => r"^-?[0-9]+(\.[0-9]+)?$".to_string(),
    }
}

fn numeric_note(precision: Option<u64>, scale: Option<u64>) -> String {
    match (precision, scale) {
        (Some(p), Some(s)) => format!(
            "NUMERIC({p},{s}): at most {} integer digits and {s} decimal places.",
            p.saturating_sub(s)
        ),
        (Some(p), None) => format!("NUMERIC({p}): an integer of at most {p} digits."),
        _ => "NUMERIC: an exact decimal.".to_string(),
    }
}

pub(crate) use strata_domain::resource::value::json_shape;

// ---- column schemas ----------------------------------------------------------------------------

/// The schema of one column's value for `mode`, with `null` allowed where the column is nullable.
pub(crate) fn column_schema(t: &Table, c: &Column, mode: Mode) -> Value {
    let mut s = base_schema(t, c, mode);
    with_check_facts(c, &mut s);
    if !c.not_null && mode != Mode::Query {
        s = nullable(s);
    } else if c.not_null && matches!(mode, Mode::Create | Mode::Patch) && is_untyped(&s) {
        // Any JSON value but null: the store rejects null for a NOT NULL column.
        s = json!({"allOf": [s], "not": {"type": "null"}});
    }
    if mode != Mode::Query
        && let (Some(d), Value::Object(o)) = (describe(t, c), &mut s)
    {
        if o.contains_key("$ref") {
            // Keep `$ref` alone with its description (allowed in 3.1).
            o.insert("description".into(), Value::String(d));
        } else {
            o.entry("description").or_insert(Value::String(d));
        }
    }
    if mode == Mode::Read
        && read_only(&c.name)
        && let Value::Object(o) = &mut s
    {
        o.insert("readOnly".into(), Value::Bool(true));
    }
    if mode == Mode::Create
        && let (Some(d), Value::Object(o)) = (literal_default(c), &mut s)
    {
        o.insert("default".into(), d);
    }
    s
}

/// Any JSON value: `{}` or the shared `JsonValue`.
fn is_untyped(s: &Value) -> bool {
    *s == schema_ref(JSON_VALUE)
        || s.as_object().is_some_and(|o| {
            !o.contains_key("type") && !o.contains_key("$ref") && !o.contains_key("anyOf")
        })
}

fn base_schema(t: &Table, c: &Column, mode: Mode) -> Value {
    let name = c.name.as_str();
    let jsonish = matches!(c.sql_type, SqlType::Jsonb | SqlType::Json);
    match (name, mode) {
        ("uid", _) => {
            let mut s = json!({"type": "string"});
            if let Some(p) = uid_pattern(t) {
                s["pattern"] = Value::String(p);
            }
            return s;
        }
        ("status", Mode::Read) if jsonish => return schema_ref(&status_name(t)),
        ("status", _) if jsonish => return schema_ref(&status_update_name(t)),
        ("labels", Mode::Patch) if jsonish => return schema_ref("LabelsPatch"),
        ("labels", _) if jsonish => return schema_ref("Labels"),
        ("annotations", Mode::Patch) if jsonish => return schema_ref("AnnotationsPatch"),
        ("annotations", _) if jsonish => return schema_ref("Annotations"),
        (n, _) if n.starts_with("raw_") && jsonish => return schema_ref("RawMoney"),
        _ => {}
    }
    match &c.sql_type {
        SqlType::Text => {
            let mut s = json!({"type": "string"});
            if let Some(values) = &c.enum_values {
                s["enum"] = json!(values);
            } else {
                // PostgreSQL text cannot hold NUL.
                s["pattern"] = json!(NO_NUL);
            }
            s
        }
        SqlType::SmallInt => {
            json!({"type": "integer", "format": "int16", "minimum": i16::MIN, "maximum": i16::MAX})
        }
        SqlType::Integer => {
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        SqlType::BigInt => json!({"type": "integer", "format": "int64"}),
        SqlType::Boolean => json!({"type": "boolean"}),
        SqlType::Numeric { precision, scale } => match mode {
            Mode::Read => json!({
                "type": "string",
                "pattern": numeric_output_pattern(*precision, *scale),
            }),
            Mode::Query => json!({"type": "string", "pattern": DECIMAL_INPUT}),
            Mode::Create | Mode::Patch => numeric_input(c, *precision, *scale),
        },
        SqlType::DoublePrecision => json!({"type": "number"}),
        // What clients send is judged as jsonb will store it: no NUL in any string or key.
        SqlType::Jsonb | SqlType::Json => match (json_shape(t, name), mode) {
            (Some("object"), Mode::Read | Mode::Query) => json!({"type": "object"}),
            (Some("array"), Mode::Read | Mode::Query) => json!({"type": "array"}),
            (_, Mode::Read | Mode::Query) => json!({}),
            (Some("object"), _) => json!({
                "type": "object",
                "propertyNames": {"pattern": NO_NUL},
                "additionalProperties": schema_ref(JSON_VALUE),
            }),
            (Some("array"), _) => json!({"type": "array", "items": schema_ref(JSON_VALUE)}),
            _ => schema_ref(JSON_VALUE),
        },
        SqlType::TimestampTz => json!({"type": "string", "format": "date-time"}),
        SqlType::Date => json!({"type": "string", "format": "date"}),
        SqlType::Timestamp => json!({"type": "string"}),
        SqlType::Other(ty) if ty.eq_ignore_ascii_case("inet") => json!({
            "type": "string",
            "description": "A host IP address, IPv4 or IPv6 (`inet`).",
            "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
        }),
        SqlType::Other(ty) => json!({"type": "string", "x-sql-type": ty.to_lowercase()}),
    }
}

/// Allow `null` as well.
fn nullable(s: Value) -> Value {
    let Value::Object(mut o) = s else { return s };
    if o.contains_key("$ref") {
        return json!({"anyOf": [Value::Object(o), {"type": "null"}]});
    }
    match o.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            o.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) => ts.push(Value::String("null".into())),
        _ => {}
    }
    if let Some(Value::Array(values)) = o.get_mut("enum") {
        values.push(Value::Null);
    }
    Value::Object(o)
}

fn describe(t: &Table, c: &Column) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(comment) = &c.comment {
        parts.push(comment.trim().to_string());
    }
    if let SqlType::Numeric { precision, scale } = c.sql_type {
        if c.is_money(t) {
            parts.push(format!(
                "Money: an exact decimal string; `raw_{}` is kept consistent by the server.",
                c.name
            ));
        }
        if let Some(u) = &c.unit {
            parts.push(format!("Unit: {u}."));
        }
        parts.push(numeric_note(precision, scale));
    }
    match c.name.as_str() {
        "uid" => parts.push("Server-minted identifier: the table's prefix and a ULID.".into()),
        "create_ts" => parts.push("When the row was created (set by the server).".into()),
        "update_ts" => parts.push("When the row last changed (set by the server).".into()),
        n if n.starts_with("raw_") => {
            parts.push("Set by the server from its amount column.".into())
        }
        _ => {}
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The DEFAULT of a column when it is a plain literal a client can rely on.
fn literal_default(c: &Column) -> Option<Value> {
    let raw = c.default.as_deref()?.trim();
    let quoted = |s: &str| -> Option<String> {
        let s = s.strip_suffix("::jsonb").unwrap_or(s);
        let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
        (!inner.replace("''", "").contains('\'')).then(|| inner.replace("''", "'"))
    };
    match &c.sql_type {
        SqlType::Text => {
            let v = quoted(raw)?;
            match &c.enum_values {
                Some(allowed) if !allowed.contains(&v) => None,
                _ => Some(Value::String(v)),
            }
        }
        SqlType::Integer | SqlType::SmallInt | SqlType::BigInt => {
            raw.parse::<i64>().ok().map(Value::from)
        }
        SqlType::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        SqlType::Numeric { .. } => {
            let v = quoted(raw).unwrap_or_else(|| raw.to_string());
            let ok = v
                .trim_start_matches('-')
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && v.matches('.').count() <= 1;
            ok.then_some(Value::String(v))
        }
        SqlType::Jsonb | SqlType::Json if !matches!(c.name.as_str(), "status") => {
            let v: Value = serde_json::from_str(&quoted(raw)?).ok()?;
            (v.is_object() || v.is_array()).then_some(v)
        }
        _ => None,
    }
}

// ---- per-table components ----------------------------------------------------------------------

fn object(
    title: String,
    description: Option<String>,
    properties: Map<String, Value>,
) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("type".into(), json!("object"));
    o.insert("title".into(), Value::String(title));
    if let Some(d) = description {
        o.insert("description".into(), Value::String(d));
    }
    o.insert("properties".into(), Value::Object(properties));
    o
}

fn table_comment(t: &Table) -> String {
    t.comment
        .clone()
        .unwrap_or_else(|| format!("A row of `{}`.", t.name))
}

fn resource_schema(t: &Table) -> Value {
    let props: Map<String, Value> = t
        .columns
        .iter()
        .map(|c| (c.name.clone(), column_schema(t, c, Mode::Read)))
        .collect();
    let mut o = object(
        resource_name(t),
        Some(format!(
            "{} A `{}` resource: every column, as the server returns it (a list with `fields` returns `uid` and the requested columns only).",
            table_comment(t),
            t.name
        )),
        props,
    );
    // `fields` trims a response to `uid` and the requested columns, so only `uid` is certain.
    o.insert("required".into(), json!(["uid"]));
    Value::Object(o)
}

fn create_schema(t: &Table) -> Value {
    let props: Map<String, Value> = create_columns(t)
        .map(|c| (c.name.clone(), column_schema(t, c, Mode::Create)))
        .collect();
    let initial = t
        .initial_phase
        .as_deref()
        .map(|p| format!(" `status` may give the initial phase (default `{p}`)."))
        .unwrap_or_default();
    let mut o = object(
        create_name(t),
        Some(format!(
            "The body of `POST` for `{}`. The server mints `uid`, fills defaults and sets `raw_*`, `create_ts` and `update_ts`; those are read-only.{initial}",
            t.name
        )),
        props,
    );
    let required = required_on_create(t);
    if !required.is_empty() {
        o.insert("required".into(), json!(required));
    }
    o.insert("additionalProperties".into(), Value::Bool(false));
    Value::Object(o)
}

fn patch_schema(t: &Table) -> Value {
    let props: Map<String, Value> = patch_columns(t)
        .map(|c| (c.name.clone(), column_schema(t, c, Mode::Patch)))
        .collect();
    let mut o = object(
        patch_name(t),
        Some(format!(
            "A JSON merge patch (RFC 7396) of `{}`: objects (labels, annotations, JSON columns) merge key by key, `null` clears a nullable field or removes a key. `status` is changed only through `PUT …/status`.",
            t.name
        )),
        props,
    );
    o.insert("additionalProperties".into(), Value::Bool(false));
    Value::Object(o)
}

fn page_schema(t: &Table) -> Value {
    json!({
        "type": "object",
        "title": page_name(t),
        "description": format!("One page of `{}` resources.", t.name),
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": schema_ref(&resource_name(t))},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Opaque token for the next page (pass it as `cursor` with the same `sort`); null on the last page.",
            },
        },
    })
}

fn phase_enum(t: &Table) -> Value {
    let mut s = json!({"type": "string"});
    if !t.phases.is_empty() {
        s["enum"] = json!(t.phases);
    }
    let mut notes = Vec::new();
    if let Some(p) = &t.initial_phase {
        notes.push(format!("Rows start in `{p}`."));
    }
    if !t.terminal_phases.is_empty() {
        notes.push(format!(
            "Terminal: {} (a row there cannot leave it).",
            t.terminal_phases
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !notes.is_empty() {
        s["description"] = Value::String(notes.join(" "));
    }
    s
}

fn status_schema(t: &Table) -> Value {
    json!({
        "title": status_name(t),
        "description": format!("The status subresource of `{}`.", t.name),
        "allOf": [
            schema_ref("Status"),
            {"type": "object", "properties": {"phase": phase_enum(t)}},
        ],
    })
}

fn status_update_schema(t: &Table) -> Value {
    json!({
        "type": "object",
        "title": status_update_name(t),
        "description": format!(
            "A status change of `{}`: a phase transition and/or the full new list of conditions. Omitted members keep their current value.",
            t.name
        ),
        "properties": {
            "phase": phase_enum(t),
            "conditions": {"type": "array", "items": schema_ref("ConditionWrite")},
        },
        "additionalProperties": false,
    })
}

// ---- shared components -------------------------------------------------------------------------

fn shared() -> Vec<(&'static str, Value)> {
    let key = json!({"type": "string", "maxLength": 317, "pattern": LABEL_KEY});
    let label_value = json!({"type": "string", "maxLength": 63, "pattern": LABEL_VALUE});
    vec![
        (
            JSON_VALUE,
            json!({
                "description": "Any JSON value PostgreSQL's jsonb can hold: strings and keys without NUL characters.",
                "anyOf": [
                    {"type": ["null", "boolean", "number"]},
                    {"type": "string", "pattern": NO_NUL},
                    {"type": "array", "items": schema_ref(JSON_VALUE)},
                    {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": schema_ref(JSON_VALUE)},
                ],
            }),
        ),
        (
            "Status",
            json!({
                "type": "object",
                "description": "Lifecycle state: the phase and Kubernetes-style conditions.",
                "required": ["phase", "conditions"],
                "properties": {
                    "phase": {"type": "string"},
                    "conditions": {"type": "array", "items": schema_ref("Condition")},
                },
            }),
        ),
        (
            "Condition",
            json!({
                "type": "object",
                "required": ["type", "status", "last_transition_ts"],
                "properties": {
                    "type": {"type": "string", "minLength": 1, "maxLength": 316},
                    "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                    "reason": {"type": "string"},
                    "message": {"type": "string"},
                    "last_transition_ts": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When `status` last changed (set by the server).",
                    },
                },
            }),
        ),
        (
            "ConditionWrite",
            json!({
                "type": "object",
                "description": "A condition as a client sends it; `last_transition_ts` is set by the server when the condition's status changes.",
                "required": ["type", "status"],
                "properties": {
                    "type": {"type": "string", "minLength": 1, "maxLength": 316, "pattern": NO_NUL},
                    "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                    "reason": {"type": ["string", "null"], "pattern": NO_NUL},
                    "message": {"type": ["string", "null"], "pattern": NO_NUL},
                    "last_transition_ts": {"description": "Ignored: the server sets it."},
                },
                "additionalProperties": false,
            }),
        ),
        (
            "RawMoney",
            json!({
                "type": "object",
                "description": "The exact amount of a money column with its currency, kept consistent by the server.",
                "required": ["value"],
                "properties": {
                    "value": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
                    "currency_code": {"type": "string", "description": "ISO 4217 code, lower case."},
                },
            }),
        ),
        (
            "Labels",
            json!({
                "type": "object",
                "description": "Identifying key/value pairs (Kubernetes label syntax), selectable with `labelSelector`.",
                "propertyNames": key,
                "additionalProperties": label_value,
            }),
        ),
        (
            "LabelsPatch",
            json!({
                "type": "object",
                "description": "Labels to merge: a string sets a label, `null` removes it.",
                "propertyNames": key,
                "additionalProperties": {"anyOf": [label_value, {"type": "null"}]},
            }),
        ),
        (
            "Annotations",
            json!({
                "type": "object",
                "description": "Non-identifying key/value pairs (Kubernetes annotation syntax).",
                "propertyNames": key,
                "additionalProperties": {"type": "string", "pattern": NO_NUL},
            }),
        ),
        (
            "AnnotationsPatch",
            json!({
                "type": "object",
                "description": "Annotations to merge: a string sets an annotation, `null` removes it.",
                "propertyNames": key,
                "additionalProperties": {"anyOf": [{"type": "string", "pattern": NO_NUL}, {"type": "null"}]},
            }),
        ),
        (
            "FieldError",
            json!({
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "description": "The field (e.g. `currency_code`, `labels.tier`, `status.phase`); empty for the body as a whole."},
                    "message": {"type": "string"},
                },
            }),
        ),
        (
            "Problem",
            json!({
                "type": "object",
                "description": "RFC 9457 problem details.",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string", "format": "uri-reference"},
                    "title": {"type": "string"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "detail": {"type": "string"},
                    "instance": {"type": "string", "format": "uri-reference"},
                    "errors": {
                        "type": "array",
                        "description": "One entry per invalid field (422).",
                        "items": schema_ref("FieldError"),
                    },
                },
            }),
        ),
        (
            "QueryRequest",
            json!({
                "type": "object",
                "description": "One read-only SQL query over the lake (DuckDB dialect).",
                "required": ["sql"],
                "properties": {
                    "sql": {
                        "type": "string",
                        "minLength": 1,
                        "description": "One SELECT / WITH / VALUES / TABLE query, EXPLAIN or DESCRIBE of one, or DESCRIBE <namespace>.<table>. Tables are addressed by their Iceberg names (`commerce.telemetry`), optionally at a snapshot: `commerce.telemetry AT SNAPSHOT <id>` or `commerce.telemetry AS OF '<RFC 3339 time>'`. Table functions other than range, generate_series and unnest, file names, and statements that write, attach, install, load, copy or set are refused (400).",
                        "examples": ["SELECT event_type, count(*) AS events FROM commerce.telemetry GROUP BY ALL ORDER BY events DESC"],
                    },
                    "max_rows": {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000, "default": 10_000, "description": "Rows returned at most (null: the default); a longer result is cut and says so (`truncated`)."},
                    "timeout_ms": {"type": ["integer", "null"], "minimum": 1, "maximum": 25_000, "default": 10_000, "description": "Time limit in milliseconds (null: the default), waiting for the engine included (queries run one at a time): past it the query is stopped (408, or an `error` at the end of a body already being sent)."},
                    "format": {"type": ["string", "null"], "enum": ["json", "ndjson", "csv", null], "description": "The encoding of the answer; without it (or null), the `Accept` header's choice among application/json, application/x-ndjson and text/csv; JSON by default."},
                },
                "additionalProperties": false,
            }),
        ),
        (
            "QueryResult",
            json!({
                "type": "object",
                "description": "A query's answer as one JSON document, streamed: `columns` and `snapshots` first, then `rows`, then `row_count`, `truncated` and (only when it failed after the first rows were sent) `error`.",
                "required": ["columns", "snapshots", "rows", "row_count", "truncated"],
                "properties": {
                    "columns": {"type": "array", "items": {
                        "type": "object",
                        "required": ["name", "type"],
                        "properties": {
                            "name": {"type": "string"},
                            "type": {"type": "string", "description": "The column's Arrow data type, e.g. `Int64`, `Utf8`, `Timestamp(µs, \"UTC\")`."},
                        },
                    }},
                    "snapshots": {"type": "array", "description": "Each lake table the query read and the snapshot it read (null: the table had no snapshot yet and read as empty); `AT SNAPSHOT` with these ids repeats the answer.", "items": {
                        "type": "object",
                        "required": ["table", "snapshot_id"],
                        "properties": {
                            "table": {"type": "string"},
                            "snapshot_id": {"type": ["integer", "null"]},
                        },
                    }},
                    "rows": {"type": "array", "items": {"type": "object", "description": "One row: column name to value (null written out)."}},
                    "row_count": {"type": "integer", "minimum": 0},
                    "truncated": {"type": "boolean", "description": "Rows were left out: the result had more than `max_rows`, or it failed part way (`error`)."},
                    "error": schema_ref("Problem"),
                },
            }),
        ),
        (
            "Health",
            json!({
                "type": "object",
                "required": ["status", "database"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded"]},
                    "database": {"type": "boolean", "description": "Whether a database round trip succeeded."},
                },
            }),
        ),
        (
            "ApiHealth",
            json!({
                "type": "object",
                "required": ["status", "database", "event_log", "pipelines", "workflows", "problems", "streams"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded", "failing"], "description": "`ok`; `degraded` (200): a pipeline is retrying or reported an error, or the workflow store cannot be read; `failing` (503): the database or the event log does not answer, or a pipeline failed."},
                    "database": {"type": "boolean", "description": "Whether a database round trip (`SELECT 1`) succeeded."},
                    "event_log": {"type": "boolean", "description": "Whether every stream's log could be read."},
                    "pipelines": {"type": "boolean", "description": "Whether this server runs the telemetry pipelines."},
                    "workflows": {"type": "boolean", "description": "Whether this server has a workflow engine."},
                    "last_sync": {"allOf": [schema_ref("WorkflowRunSummary")], "description": "The latest `daily_shopify_sync` instance; absent when there is none."},
                    "problems": {"type": "array", "items": {"type": "string"}, "description": "What made the status other than `ok`."},
                    "streams": {"type": "array", "items": {
                        "type": "object",
                        "required": ["stream", "table", "state", "head_offset", "acked_offset", "lag", "last_commit_age_seconds", "last_error"],
                        "properties": {
                            "stream": {"type": "string", "enum": ["commerce", "publication", "sync"]},
                            "table": {"type": "string", "description": "The stream's Iceberg table."},
                            "state": {"type": ["string", "null"], "enum": ["starting", "running", "retrying", "draining", "stopped", "failed", null], "description": "The pipeline's state; null when this server does not run the pipelines."},
                            "head_offset": {"type": ["integer", "null"], "minimum": 0, "description": "The log's head offset (null if the log could not be read)."},
                            "acked_offset": {"type": ["integer", "null"], "minimum": 0, "description": "The lake pipeline's acknowledged offset."},
                            "lag": {"type": ["integer", "null"], "minimum": 0, "description": "Events in the log not yet in the lake."},
                            "last_commit_age_seconds": {"type": ["number", "null"], "minimum": 0, "description": "Seconds since the pipeline's last commit in this process."},
                            "last_error": {"type": ["string", "null"], "description": "The pipeline's last error, cleared by its next commit."},
                        },
                    }},
                },
            }),
        ),
    ]
}

/// The friendly `/v1/orders` shapes (`include=lineItems` embeds `line_items`).
fn order_components(schema: &Schema, out: &mut Map<String, Value>) {
    let tables: Option<Vec<&Table>> = ORDER_TABLES.iter().map(|n| schema.table(n)).collect();
    let Some(tables) = tables else { return };
    let [header, line, tax, adjustment] = [tables[0], tables[1], tables[2], tables[3]];
    insert_unique(
        out,
        ORDER_LINE_ITEM_WITH_DETAILS.into(),
        json!({
            "description": "An order line item with its tax lines and adjustments.",
            "allOf": [
                schema_ref(&resource_name(line)),
                {
                    "type": "object",
                    "required": ["tax_lines", "adjustments"],
                    "properties": {
                        "tax_lines": {"type": "array", "items": schema_ref(&resource_name(tax))},
                        "adjustments": {"type": "array", "items": schema_ref(&resource_name(adjustment))},
                    },
                },
            ],
        }),
    );
    insert_unique(
        out,
        ORDER.into(),
        json!({
            "description": "An order (`order_header`); with `include=lineItems` it carries `line_items`.",
            "allOf": [
                schema_ref(&resource_name(header)),
                {
                    "type": "object",
                    "properties": {
                        "line_items": {
                            "type": "array",
                            "description": "Present with `include=lineItems`.",
                            "items": schema_ref(ORDER_LINE_ITEM_WITH_DETAILS),
                        },
                    },
                },
            ],
        }),
    );
    insert_unique(
        out,
        ORDER_PAGE.into(),
        json!({
            "type": "object",
            "description": "One page of orders.",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": schema_ref(ORDER)},
                "next_cursor": {"type": ["string", "null"]},
            },
        }),
    );
}

pub(crate) fn components(schema: &Schema) -> Value {
    let mut out = Map::new();
    for (name, s) in shared() {
        insert_unique(&mut out, name.to_string(), s);
    }
    for t in schema.tables() {
        insert_unique(&mut out, resource_name(t), resource_schema(t));
        insert_unique(&mut out, create_name(t), create_schema(t));
        insert_unique(&mut out, patch_name(t), patch_schema(t));
        insert_unique(&mut out, page_name(t), page_schema(t));
        insert_unique(&mut out, status_name(t), status_schema(t));
        insert_unique(&mut out, status_update_name(t), status_update_schema(t));
    }
    order_components(schema, &mut out);
    Value::Object(out)
}

/// What the column's CHECKs require, where JSON Schema can say it: `~` patterns on strings and
/// bounds on integers (see `ColumnConstraints`).
fn with_check_facts(c: &Column, s: &mut Value) {
    let k = &c.constraints;
    let Value::Object(o) = s else { return };
    let is_type =
        |o: &Map<String, Value>, ty: &str| o.get("type").and_then(Value::as_str) == Some(ty);
    if is_type(o, "string") && o.get("enum").is_none() && !k.patterns.is_empty() {
        let mut all: Vec<Value> = k
            .patterns
            .iter()
            .map(|p| json!({"pattern": ecma_pattern(p)}))
            .collect();
        if let Some(existing) = o.remove("pattern") {
            all.push(json!({"pattern": existing}));
        }
        let first = all.remove(0);
        o.insert("pattern".into(), first["pattern"].clone());
        if !all.is_empty() {
            o.insert("allOf".into(), Value::Array(all));
        }
    }
    if is_type(o, "integer") {
        let mut set = |key: &str, v: Option<f64>, tighter: fn(f64, f64) -> f64| {
            if let Some(v) = v {
                let merged = match o.get(key).and_then(Value::as_f64) {
                    Some(old) => tighter(old, v),
                    None => v,
                };
                o.insert(key.into(), json!(merged as i64));
            }
        };
        set("minimum", k.minimum, f64::max);
        set("maximum", k.maximum, f64::min);
        set("exclusiveMinimum", k.exclusive_minimum, f64::max);
        set("exclusiveMaximum", k.exclusive_maximum, f64::min);
    }
}

/// A PostgreSQL regular expression as an ECMA-262 one (the dialect of OpenAPI `pattern`):
/// POSIX bracket classes are spelled out; the rest of the patterns the schema uses is common.
pub(crate) fn ecma_pattern(pg: &str) -> String {
    pg.replace("[:space:]", "\\s")
        .replace("[:alpha:]", "A-Za-z")
        .replace("[:digit:]", "0-9")
        .replace("[:alnum:]", "A-Za-z0-9")
        .replace("[:lower:]", "a-z")
        .replace("[:upper:]", "A-Z")
}

/// The decimal strings a NUMERIC column with `int_digits` integer and `scale` fraction digits
/// accepts under its CHECK bounds. The bounds the schema uses are spelled out exactly: a lower
/// bound of zero (inclusive or exclusive) and an inclusive upper bound that is a power of ten
/// (`BETWEEN 0 AND 100`, `> 0 AND <= 1`). Other bounds keep the digit limits only (the store
/// still judges them, with a 422).
pub(crate) fn decimal_pattern(k: &ColumnConstraints, int_digits: u32, scale: u32) -> String {
    let positive = k.exclusive_minimum == Some(0.0) && k.minimum.is_none_or(|m| m <= 0.0);
    let non_negative = positive || k.minimum == Some(0.0) && k.exclusive_minimum.is_none();
    let lower_is_zero = positive || non_negative;
    let power_of_ten_max = k
        .maximum
        .and_then(|m| (0..int_digits).find(|&e| 10f64.powi(e as i32) == m));
    let bounded_otherwise = k.exclusive_maximum.is_some()
        || (k.maximum.is_some() && power_of_ten_max.is_none())
        || k.minimum.is_some_and(|m| m != 0.0)
        || k.exclusive_minimum.is_some_and(|m| m != 0.0);
    let frac = |digits: u32| -> String {
        if scale == 0 {
            String::new()
        } else {
            format!("(?:\\.[0-9]{{1,{digits}}})?")
        }
    };
    if bounded_otherwise || !lower_is_zero {
        let sign = if non_negative { "" } else { "-?" };
        return format!("^{sign}[0-9]{{1,{int_digits}}}{}$", frac(scale));
    }
    // Values below 10^e (e integer digits), then the maximum itself.
    let e = power_of_ten_max.unwrap_or(int_digits);
    let mut alternatives = Vec::new();
    if positive {
        if e >= 1 {
            alternatives.push(format!("[1-9][0-9]{{0,{}}}{}", e - 1, frac(scale)));
        }
        // 0.x with at least one non-zero fraction digit: the first one at position i.
        for i in 0..scale {
            let zeros = "0".repeat(i as usize);
            let rest = scale - i - 1;
            let tail = if rest == 0 {
                String::new()
            } else {
                format!("[0-9]{{0,{rest}}}")
            };
            alternatives.push(format!("0\\.{zeros}[1-9]{tail}"));
        }
    } else if e >= 1 {
        alternatives.push(format!("[0-9]{{1,{e}}}{}", frac(scale)));
    } else {
        alternatives.push(format!("0{}", frac(scale)));
    }
    if power_of_ten_max.is_some() {
        let max_frac = if scale == 0 {
            String::new()
        } else {
            format!("(?:\\.0{{1,{scale}}})?")
        };
        alternatives.push(format!("1{}{max_frac}", "0".repeat(e as usize)));
    }
    format!("^(?:{})$", alternatives.join("|"))
}

/// A NUMERIC(p, s) as clients may send it: an exact decimal string with at most `p - s` integer
/// and `s` fraction digits, or a whole number in range; non-negative when a CHECK says so.
fn numeric_input(c: &Column, precision: Option<u64>, scale: Option<u64>) -> Value {
    let (Some(p), Some(sc)) = (precision, scale) else {
        return json!({"type": ["string", "number"], "pattern": DECIMAL_INPUT});
    };
    let k = &c.constraints;
    let non_negative =
        k.minimum.is_some_and(|m| m >= 0.0) || k.exclusive_minimum.is_some_and(|m| m >= 0.0);
    // As many integer digits as the column holds (the store refuses more); i64 holds 18.
    let int_digits = p.saturating_sub(sc).clamp(1, 18);
    let pattern = decimal_pattern(k, int_digits as u32, sc as u32);
    let mut max = 10i64.saturating_pow(int_digits as u32) - 1;
    if let Some(m) = k.maximum {
        max = max.min(m.floor() as i64);
    }
    let min = if non_negative {
        k.minimum.unwrap_or(0.0).max(0.0) as i64
    } else {
        -max
    };
    let mut whole = json!({"type": "integer", "minimum": min, "maximum": max});
    if let Some(m) = k.exclusive_minimum {
        whole["exclusiveMinimum"] = json!(m as i64);
    }
    let mut any = vec![json!({"type": "string", "pattern": pattern}), whole];
    if !c.not_null {
        any.push(json!({"type": "null"}));
    }
    json!({"anyOf": any})
}
