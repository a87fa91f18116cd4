//! `paths`: the generated resource API of every table, the friendly paths and the public ones.

use serde_json::{Map, Value, json};
use strata_schema::{Schema, Table};

use super::params::{self, list_params, param_ref};
use super::responses::{self, header_ref};
use super::schemas::{self, ORDER, ORDER_PAGE, ORDER_TABLES};
use super::{insert_unique, module_of, schema_ref};

pub(crate) const META_TAG: &str = "meta";

/// Friendly collection name → table (docs/api.md).
pub(crate) const ALIASES: [(&str, &str); 5] = [
    ("products", "product"),
    ("tags", "product_tag"),
    ("categories", "product_category"),
    ("fulfillments", "fulfillment"),
    ("macrodata-artifacts", "macrodata_artifact"),
];

/// Who an operation is for: its table, tag and scope.
pub(crate) struct Target<'a> {
    t: &'a Table,
    tag: String,
    module: &'a str,
}

impl<'a> Target<'a> {
    pub(crate) fn new(schema: &'a Schema, t: &'a Table) -> Self {
        let (tag, module) = module_of(schema, t);
        Self { t, tag, module }
    }

    pub(crate) fn op(
        &self,
        id: &str,
        summary: String,
        description: String,
        write: bool,
    ) -> Map<String, Value> {
        let verb = if write { "write" } else { "read" };
        let mut o = Map::new();
        o.insert("operationId".into(), Value::String(id.to_string()));
        o.insert("tags".into(), json!([self.tag]));
        o.insert("summary".into(), Value::String(summary));
        let scope = format!(
            "Requires scope `{m}:{verb}` (or `*:{verb}`, `*`{w}).",
            m = self.module,
            w = if write { "" } else { ", or a write scope" }
        );
        let description = if description.is_empty() {
            scope
        } else {
            format!("{description}\n\n{scope}")
        };
        o.insert("description".into(), Value::String(description));
        o
    }
}

pub(crate) fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

/// A 200/201 carrying one resource and its `ETag`.
fn resource_response(description: &str, schema: Value, location: bool) -> Value {
    let mut headers = Map::new();
    headers.insert("ETag".into(), header_ref("ETag"));
    if location {
        headers.insert("Location".into(), header_ref("Location"));
    }
    json!({"description": description, "headers": headers, "content": json_content(schema)})
}

pub(crate) fn with_responses(
    mut o: Map<String, Value>,
    ok: Vec<(&str, Value)>,
    errors: &[u16],
) -> Value {
    let mut r = responses::errors(errors);
    for (status, v) in ok {
        r.insert(status.to_string(), v);
    }
    o.insert("responses".into(), Value::Object(r));
    Value::Object(o)
}

fn list_operation(
    target: &Target,
    id: &str,
    summary: String,
    params: Vec<Value>,
    page: &str,
) -> Value {
    let mut o = target.op(
        id,
        summary,
        target.t.comment.clone().unwrap_or_default(),
        false,
    );
    o.insert("parameters".into(), Value::Array(params));
    let ok =
        json!({"description": "One page of resources.", "content": json_content(schema_ref(page))});
    with_responses(o, vec![("200", ok)], &[])
}

fn create_operation(target: &Target, id: &str, base: &str) -> Value {
    let t = target.t;
    let mut o = target.op(
        id,
        format!("Create {}", t.name),
        format!(
            "The server mints `uid`, fills defaults and sets `raw_*`, `create_ts`, `update_ts`. Responds with `Location: {base}/{{uid}}`."
        ),
        true,
    );
    o.insert(
        "requestBody".into(),
        json!({"required": true, "content": json_content(schema_ref(&schemas::create_name(t)))}),
    );
    with_cross_field_rules(t, &mut o);
    let ok = resource_response("Created.", schema_ref(&schemas::resource_name(t)), true);
    with_responses(o, vec![("201", ok)], &[409, 413, 415, 422])
}

/// The table's CHECKs that relate several columns (`ends_ts > starts_ts`,
/// `num_nonnulls(a, b) = 1`) or judge a function of a value (`email = lower(email)`). JSON
/// Schema cannot say them, so the operation lists them, and
/// `x-strata-cross-field-rules` marks it for tools: a body valid by the schema that breaks one is
/// answered 422 naming the rule.
pub(crate) fn cross_field_rules(t: &Table) -> Vec<&str> {
    let columns: std::collections::HashSet<&str> =
        t.columns.iter().map(|c| c.name.as_str()).collect();
    t.checks
        .iter()
        .filter(|c| !c.sql.contains("'phase'"))
        .filter(|c| {
            let named: std::collections::HashSet<&str> = c
                .sql
                .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                .filter(|w| columns.contains(w))
                .collect();
            // Several columns, or a function of the value (`email = lower(email)`).
            named.len() >= 2 || c.sql.contains("lower(") || c.sql.contains("upper(")
        })
        .map(|c| c.sql.as_str())
        .collect()
}

fn with_cross_field_rules(t: &Table, o: &mut Map<String, Value>) {
    let rules = cross_field_rules(t);
    if rules.is_empty() {
        return;
    }
    let listed: Vec<String> = rules.iter().map(|r| format!("- `{r}`")).collect();
    if let Some(Value::String(d)) = o.get_mut("description") {
        d.push_str(&format!(
            "\n\nRules across fields (a body that breaks one is answered 422 naming it):\n{}",
            listed.join("\n")
        ));
    }
    o.insert("x-strata-cross-field-rules".into(), Value::Bool(true));
}

fn get_operation(target: &Target, id: &str) -> Value {
    let t = target.t;
    let mut o = target.op(id, format!("Read {}", t.name), String::new(), false);
    o.insert("parameters".into(), json!([params::fields_param(t)]));
    let ok = resource_response(
        "The resource.",
        schema_ref(&schemas::resource_name(t)),
        false,
    );
    with_responses(o, vec![("200", ok)], &[404])
}

fn patch_operation(target: &Target, id: &str) -> Value {
    let t = target.t;
    let mut o = target.op(
        id,
        format!("Update {} (merge patch)", t.name),
        "Objects (labels, annotations, JSON columns) merge; `null` clears a nullable field. `status` is changed only through `PUT …/status`.".into(),
        true,
    );
    o.insert("parameters".into(), json!([param_ref("If-Match")]));
    with_cross_field_rules(t, &mut o);
    let body = schema_ref(&schemas::patch_name(t));
    o.insert(
        "requestBody".into(),
        json!({
            "required": true,
            "content": {
                "application/merge-patch+json": {"schema": body},
                "application/json": {"schema": body},
            },
        }),
    );
    let ok = resource_response(
        "The updated resource.",
        schema_ref(&schemas::resource_name(t)),
        false,
    );
    with_responses(o, vec![("200", ok)], &[404, 409, 412, 413, 415, 422])
}

fn delete_operation(target: &Target, id: &str) -> Value {
    let t = target.t;
    let (description, ok) = if t.is_link() {
        (
            "A link table: the row is removed.".to_string(),
            ("204", json!({"description": "Deleted."})),
        )
    } else {
        let phase = t
            .terminal_phases
            .first()
            .map(|p| format!(" (`{p}`)"))
            .unwrap_or_default();
        (
            format!("Moves the row to its first terminal phase{phase} and returns it."),
            (
                "200",
                resource_response(
                    "The resource in its terminal phase.",
                    schema_ref(&schemas::resource_name(t)),
                    false,
                ),
            ),
        )
    };
    let mut o = target.op(id, format!("Delete {}", t.name), description, true);
    o.insert("parameters".into(), json!([param_ref("If-Match")]));
    with_responses(o, vec![ok], &[404, 409, 412])
}

fn get_status_operation(target: &Target, id: &str) -> Value {
    let t = target.t;
    let o = target.op(id, format!("Read {} status", t.name), String::new(), false);
    let ok = resource_response(
        "The status subresource.",
        schema_ref(&schemas::status_name(t)),
        false,
    );
    with_responses(o, vec![("200", ok)], &[404])
}

fn put_status_operation(target: &Target, id: &str) -> Value {
    let t = target.t;
    let terminal = if t.terminal_phases.is_empty() {
        String::new()
    } else {
        format!(
            " A row in a terminal phase ({}) cannot leave it (409).",
            t.terminal_phases
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut o = target.op(
        id,
        format!("Change {} status", t.name),
        format!(
            "Phases must be the table's.{terminal} `last_transition_ts` is set by the server when a condition's status changes."
        ),
        true,
    );
    o.insert("parameters".into(), json!([param_ref("If-Match")]));
    o.insert(
        "requestBody".into(),
        json!({"required": true, "content": json_content(schema_ref(&schemas::status_update_name(t)))}),
    );
    let ok = resource_response(
        "The resource with its new status.",
        schema_ref(&schemas::resource_name(t)),
        false,
    );
    with_responses(o, vec![("200", ok)], &[404, 409, 412, 413, 415, 422])
}

fn with_uid(mut item: Map<String, Value>) -> Value {
    item.insert("parameters".into(), json!([param_ref("uid")]));
    Value::Object(item)
}

fn resource_paths(target: &Target, out: &mut Map<String, Value>) {
    let t = target.t;
    let n = &t.name;
    let base = format!("/v1/resources/{n}");
    let list = list_operation(
        target,
        &format!("list_{n}"),
        format!("List {n}"),
        list_params(t, &[], &[]),
        &schemas::page_name(t),
    );
    let mut collection = Map::new();
    collection.insert("get".into(), list);
    collection.insert(
        "post".into(),
        create_operation(target, &format!("create_{n}"), &base),
    );
    insert_unique(out, base.clone(), Value::Object(collection));

    let mut item = Map::new();
    item.insert("get".into(), get_operation(target, &format!("get_{n}")));
    item.insert(
        "patch".into(),
        patch_operation(target, &format!("patch_{n}")),
    );
    item.insert(
        "delete".into(),
        delete_operation(target, &format!("delete_{n}")),
    );
    insert_unique(out, format!("{base}/{{uid}}"), with_uid(item));

    let mut status = Map::new();
    status.insert(
        "get".into(),
        get_status_operation(target, &format!("get_{n}_status")),
    );
    status.insert(
        "put".into(),
        put_status_operation(target, &format!("put_{n}_status")),
    );
    insert_unique(out, format!("{base}/{{uid}}/status"), with_uid(status));
}

/// `/v1/products` and the other aliases: the resource operations under a short path.
fn alias_paths(target: &Target, alias: &str, out: &mut Map<String, Value>) {
    let t = target.t;
    let id = alias.replace('-', "_");
    let base = format!("/v1/{alias}");
    let mut collection = Map::new();
    collection.insert(
        "get".into(),
        list_operation(
            target,
            &format!("{id}_list"),
            format!("List {n} (alias of /v1/resources/{n})", n = t.name),
            list_params(t, &[], &[]),
            &schemas::page_name(t),
        ),
    );
    collection.insert(
        "post".into(),
        create_operation(target, &format!("{id}_create"), &base),
    );
    insert_unique(out, base.clone(), Value::Object(collection));

    let mut item = Map::new();
    item.insert("get".into(), get_operation(target, &format!("{id}_get")));
    item.insert(
        "patch".into(),
        patch_operation(target, &format!("{id}_patch")),
    );
    item.insert(
        "delete".into(),
        delete_operation(target, &format!("{id}_delete")),
    );
    insert_unique(out, format!("{base}/{{uid}}"), with_uid(item));
}

fn include_param() -> Value {
    json!({
        "name": "include",
        "in": "query",
        "required": false,
        "description": "Embed related rows: `lineItems` adds `line_items` (each with `tax_lines` and `adjustments`).",
        "schema": {"type": "string", "enum": ["lineItems"]},
    })
}

fn order_paths(schema: &Schema, out: &mut Map<String, Value>) {
    if ORDER_TABLES.iter().any(|n| schema.table(n).is_none()) {
        return;
    }
    let (Some(header), Some(line)) = (
        schema.table("order_header"),
        schema.table("order_line_item"),
    ) else {
        return;
    };
    let orders = Target::new(schema, header);
    let mut params = list_params(header, &["search", "include"], &[]);
    params.push(json!({
        "name": "search",
        "in": "query",
        "required": false,
        "description": "Case-insensitive substring of the order number, the email, or the customer's or an address's name.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }));
    params.push(include_param());
    let mut list = Map::new();
    list.insert(
        "get".into(),
        list_operation(
            &orders,
            "orders_list",
            "List orders".into(),
            params,
            ORDER_PAGE,
        ),
    );
    insert_unique(out, "/v1/orders".into(), Value::Object(list));

    let mut get = orders.op("orders_get", "Read an order".into(), String::new(), false);
    get.insert("parameters".into(), json!([include_param()]));
    let ok = resource_response("The order.", schema_ref(ORDER), false);
    let mut item = Map::new();
    item.insert("get".into(), with_responses(get, vec![("200", ok)], &[404]));
    insert_unique(out, "/v1/orders/{uid}".into(), with_uid(item));

    let lines = Target::new(schema, line);
    let mut nested = Map::new();
    nested.insert(
        "get".into(),
        list_operation(
            &lines,
            "orders_line_items_list",
            "List an order's line items".into(),
            list_params(line, &[], &["order_uid"]),
            &schemas::page_name(line),
        ),
    );
    insert_unique(out, "/v1/orders/{uid}/line-items".into(), with_uid(nested));
}

fn catalog_paths(schema: &Schema, out: &mut Map<String, Value>) {
    let Some(artifact) = schema.table("macrodata_artifact") else {
        return;
    };
    let target = Target::new(schema, artifact);
    let mut item = Map::new();
    item.insert(
        "get".into(),
        list_operation(
            &target,
            "macrodata_catalogs_artifacts_list",
            "List the artifacts of a catalog".into(),
            list_params(artifact, &[], &["catalog_uid"]),
            &schemas::page_name(artifact),
        ),
    );
    insert_unique(
        out,
        "/v1/macrodata-catalogs/{uid}/artifacts".into(),
        with_uid(item),
    );
}

fn public(id: &str, summary: &str, responses: Value) -> Value {
    json!({"get": {
        "operationId": id,
        "tags": [META_TAG],
        "summary": summary,
        "security": [],
        "responses": responses,
    }})
}

fn public_paths(out: &mut Map<String, Value>) {
    insert_unique(
        out,
        "/openapi.json".into(),
        public(
            "get_openapi",
            "This OpenAPI 3.1 document",
            json!({"200": {"description": "The document.", "content": json_content(json!({"type": "object"}))}}),
        ),
    );
    insert_unique(
        out,
        "/docs".into(),
        public(
            "get_docs",
            "The API reference viewer (HTML)",
            json!({"200": {"description": "The viewer page.", "content": {"text/html": {"schema": {"type": "string"}}}}}),
        ),
    );
    insert_unique(
        out,
        "/healthz".into(),
        public(
            "get_healthz",
            "Liveness and a database round trip",
            json!({
                "200": {"description": "Alive, database reachable.", "content": json_content(schema_ref("Health"))},
                "503": {"description": "Alive, database unreachable.", "content": json_content(schema_ref("Health"))},
            }),
        ),
    );
    insert_unique(
        out,
        "/metrics".into(),
        public(
            "get_metrics",
            "Prometheus metrics: pipelines, streams, HTTP answers",
            json!({"200": {
                "description": "The Prometheus text exposition format (version 0.0.4): the telemetry pipelines' counters and gauges (`strata_pipeline_*`, when this server runs them), each stream's log head and consumer offsets and lag (`strata_stream_*`), and HTTP answers by status class (`strata_http_requests_total`).",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }}),
        ),
    );
    insert_unique(
        out,
        "/api/health".into(),
        public(
            "get_api_health",
            "Health of the database, the event log and each stream's pipeline",
            json!({
                "200": {"description": "Healthy (`ok`), or working with a pipeline retrying (`degraded`).", "content": json_content(schema_ref("ApiHealth"))},
                "503": {"description": "`failing`: the database or the event log does not answer, or a pipeline failed; `problems` says which.", "content": json_content(schema_ref("ApiHealth"))},
            }),
        ),
    );
}

pub(crate) fn paths(schema: &Schema) -> Value {
    let mut out = Map::new();
    for t in schema.tables() {
        resource_paths(&Target::new(schema, t), &mut out);
    }
    for (alias, table) in ALIASES {
        if let Some(t) = schema.table(table) {
            alias_paths(&Target::new(schema, t), alias, &mut out);
        }
    }
    order_paths(schema, &mut out);
    catalog_paths(schema, &mut out);
    telemetry_paths(&mut out);
    query_paths(&mut out);
    public_paths(&mut out);
    Value::Object(out)
}

/// `POST /v1/telemetry/{stream}`: event batches, validated one by one.
fn telemetry_paths(out: &mut Map<String, Value>) {
    let mut o = Map::new();
    o.insert("operationId".into(), json!("ingest_telemetry"));
    o.insert(
        "summary".into(),
        json!("Append a batch of telemetry events"),
    );
    o.insert(
        "description".into(),
        json!("Each event is validated against the stream's schema (crates/strata-events/schemas). \
               Accepted events are appended to the durable log before the answer; the answer lists \
               every event as accepted (with its event_id and offset) or rejected (with the reason). \
               At most 5 MiB and 10,000 events per batch."),
    );
    o.insert("tags".into(), json!(["telemetry"]));
    o.insert(
        "parameters".into(),
        json!([{
            "name": "stream", "in": "path", "required": true,
            "description": "commerce (COMMERCE_TELEMETRY), publication (PUBLICATION_TELEMETRY) or sync (SYNC_TELEMETRY).",
            "schema": {"type": "string", "enum": ["commerce", "publication", "sync"]},
        }]),
    );
    o.insert(
        "requestBody".into(),
        json!({"required": true, "content": {
            "application/json": {"schema": {
                "type": "array",
                "maxItems": 10000,
                "description": "Events (JSON objects). Any item that is not a valid event, an object or not, is rejected on its own with a reason; the rest of the batch is still accepted.",
                "items": {},
            }},
            "application/x-ndjson": {"schema": {"type": "string"}},
        }}),
    );
    let ok = json!({"description": "Every event of the batch, accepted or rejected.", "content": json_content(json!({
        "type": "object",
        "required": ["stream", "accepted_count", "rejected_count", "accepted", "rejected"],
        "properties": {
            "stream": {"type": "string"},
            "accepted_count": {"type": "integer", "minimum": 0},
            "rejected_count": {"type": "integer", "minimum": 0},
            "accepted": {"type": "array", "items": {"type": "object", "required": ["index", "event_id", "offset", "duplicate"], "properties": {
                "index": {"type": "integer", "minimum": 0},
                "event_id": {"type": "string"},
                "offset": {"type": "integer", "minimum": 0},
                "duplicate": {"type": "boolean"},
            }}},
            "rejected": {"type": "array", "items": {"type": "object", "required": ["index", "reason"], "properties": {
                "index": {"type": "integer", "minimum": 0},
                "line": {"type": "integer", "minimum": 1},
                "event_id": {"type": "string"},
                "kind": {"type": "string"},
                "reason": {"type": "string"},
            }}},
        },
    }))});
    let mut item = Map::new();
    item.insert(
        "post".into(),
        with_responses(o, vec![("200", ok)], &[404, 413, 415]),
    );
    insert_unique(out, "/v1/telemetry/{stream}".into(), Value::Object(item));
}

/// `POST /v1/query`: read-only SQL over the lake, streamed (crate::routes::query).
fn query_paths(out: &mut Map<String, Value>) {
    let mut o = Map::new();
    o.insert("operationId".into(), json!("run_query"));
    o.insert(
        "summary".into(),
        json!("Run a read-only SQL query over the lake"),
    );
    o.insert(
        "description".into(),
        json!("DuckDB over the Iceberg lake: each table is read at its current snapshot, or the one \
               `AT SNAPSHOT <id>` / `AS OF '<time>'` names. The statement is checked before it runs: \
               one read-only query, reading only lake tables (400 otherwise, naming what was refused; \
               404 for a table the lake does not have).\n\n\
               The answer streams as DuckDB produces it, in the `format` asked for (or the `Accept` \
               header's): `application/json` (`QueryResult`), `application/x-ndjson` (one object per \
               row) or `text/csv` (a header line, then rows). `X-Strata-Snapshots` lists the snapshot \
               each table was read at and `X-Strata-Max-Rows` the row limit in force. When the result \
               is cut at `max_rows` or fails after rows were sent, JSON says so in `truncated` and \
               `error`; NDJSON ends with one more line `{\"$strata\": {\"truncated\": true, ...}}`, \
               CSV with a line starting `# strata:`. A complete NDJSON or CSV answer has rows only.\n\n\
               Queries run one at a time per server; the wait counts against `timeout_ms`.\n\n\
               Requires, for each table read, the read scope of its namespace's module (as at \
               `/iceberg`): `commerce` → `order:read`, `publication` → `publisher:read`, `sync` → \
               `governance:read`, other namespaces `*:read` (or `*`, or a write scope). A query \
               that reads no table needs only a valid key."),
    );
    o.insert("tags".into(), json!(["query"]));
    o.insert(
        "requestBody".into(),
        json!({"required": true, "content": {"application/json": {"schema": schema_ref("QueryRequest")}}}),
    );
    let mut headers = Map::new();
    headers.insert(
        "X-Strata-Snapshots".into(),
        json!({"description": "`<table>=<snapshot id>` (or `=none` for a table without a snapshot), comma-separated.", "schema": {"type": "string"}}),
    );
    headers.insert(
        "X-Strata-Max-Rows".into(),
        json!({"description": "The row limit in force.", "schema": {"type": "integer", "minimum": 0}}),
    );
    let ok = json!({
        "description": "The result, streamed.",
        "headers": headers,
        "content": {
            "application/json": {"schema": schema_ref("QueryResult")},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    });
    let mut item = Map::new();
    item.insert(
        "post".into(),
        with_responses(o, vec![("200", ok)], &[404, 408, 413, 415, 422]),
    );
    insert_unique(out, "/v1/query".into(), Value::Object(item));
}
