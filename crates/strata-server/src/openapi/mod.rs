//! The OpenAPI 3.1 document, generated from the schema model (see docs/api.md), and the static
//! viewer served at `/docs`.
//!
//! - [`schemas`]: `components.schemas` — per table `<Table>`, `<Table>Create`, `<Table>Patch`,
//!   `<Table>Page`, `<Table>Status`, `<Table>StatusUpdate`, plus the shared shapes.
//! - [`params`]: query, path and header parameters, mirroring `ListParams::from_query`.
//! - [`responses`]: problem+json error responses, `ETag`/`Location` headers, security.
//! - [`paths`]: `/v1/resources/<table>…` for every table, the friendly paths, telemetry ingest,
//!   `POST /v1/query`, the public paths.
//! - [`commands`]: the domain commands (`POST /v1/orders`, `…/complete|payments|fulfillments|returns`),
//!   their request and answer schemas and the `COMMERCE_TELEMETRY` event schema.
//! - [`settings`]: the performance screen's classification spec
//!   (`/api/performance-metrics/settings/classification`, its versions).
//! - [`analytics`]: the staff analytics (performance metrics, commerce, tag analytics, the
//!   fulfillment daily summary).
//! - [`workflows`]: durable workflows (`/v1/workflows…`), the Shopify sync trigger and its runs,
//!   `/analytics/pipelines`, and the Shopify webhook receiver (`/webhooks/shopify`).
//! - [`viewer`]: the vendored Swagger UI bundle and `docs.html`.

mod analytics;
mod commands;
mod params;
mod paths;
mod responses;
mod schemas;
mod settings;
mod viewer;
mod workflows;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};
use strata_schema::{Schema, Table};

pub use viewer::{docs_html, viewer_asset};

/// The whole document.
pub fn document(schema: &Schema) -> Value {
    let mut tags: Vec<Value> = schema
        .modules
        .iter()
        .map(|m| {
            let tables = m
                .tables
                .iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", ");
            let description = match m.description.trim() {
                "" => format!("Tables: {tables}."),
                d => format!("{d}\n\nTables: {tables}."),
            };
            json!({"name": module_tag(m.number, &m.name), "description": description})
        })
        .collect();
    tags.push(json!({"name": paths::META_TAG, "description": "The API description, its viewer, liveness, health and metrics; no authentication."}));
    tags.push(json!({"name": workflows::TAG, "description": "Durable workflows: instances, their steps and events, the Shopify sync and its runs, the pipelines at a glance. Scopes `governance:read` / `governance:write`."}));
    tags.push(json!({"name": workflows::WEBHOOK_TAG, "description": "Webhooks Shopify sends, verified by their HMAC signature instead of an API key."}));
    let mut paths = paths::paths(schema);
    let mut component_schemas = schemas::components(schema);
    let mut parameters = params::components();
    if let (Value::Object(p), Value::Object(s), Value::Object(params)) =
        (&mut paths, &mut component_schemas, &mut parameters)
    {
        commands::paths(schema, p);
        commands::components(s);
        settings::paths(schema, p);
        settings::components(s);
        analytics::paths(schema, p);
        analytics::components(s);
        workflows::paths(schema, p);
        workflows::components(s);
        params.insert(
            commands::ORDER_UID_PARAM.into(),
            commands::order_uid_param(),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Strata API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "The commerce data platform's resource API, generated from the schema model.",
            "description": INFO_DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{responses::BEARER: []}],
        "tags": tags,
        "x-tagGroups": tag_groups(schema),
        "paths": paths,
        "components": {
            "schemas": component_schemas,
            "parameters": parameters,
            "responses": responses::components(),
            "headers": responses::headers(),
            "securitySchemes": responses::security_schemes(),
        },
    })
}

const INFO_DESCRIPTION: &str = "Every table of the domain schema is a resource collection under \
`/v1/resources/{table}`, with a few friendly aliases (`/v1/orders`, `/v1/products`, …).\n\n\
A resource is a flat JSON object of its columns. NUMERIC columns are exact decimal **strings**; \
`raw_<money>` companions are maintained by the server; timestamps are RFC 3339 in UTC.\n\n\
Lists return `{\"items\": [...], \"next_cursor\": \"<opaque>\" | null}`; pass `next_cursor` back as \
`cursor` (with the same `sort`) for the next page. Unknown query parameters are a 400.\n\n\
Writes: `POST` creates (201 with `Location` and `ETag`), `PATCH` applies a JSON merge patch, \
`DELETE` moves domain rows to their first terminal phase (200) and removes link rows (204), \
`PUT …/status` changes the status subresource. `PATCH`, `DELETE` and `PUT …/status` honour \
`If-Match` (412 when the row changed).\n\n\
Domain commands: `POST /v1/orders` places an order; `POST /v1/orders/{uid}/complete`, \
`…/payments`, `…/fulfillments` and `…/returns` complete it, capture money, ship and take returns. \
Each is one transaction with its audit row, then one `COMMERCE_TELEMETRY` event, returned in the \
answer.\n\n\
Queries: `POST /v1/query` runs one read-only SQL query (DuckDB) over the Iceberg lake, tables \
named `namespace.table` (`commerce.telemetry`), at their current snapshot or `AT SNAPSHOT <id>` / \
`AS OF '<time>'`, with row and time limits, streamed as JSON, NDJSON or CSV.\n\n\
Errors are RFC 9457 `application/problem+json` documents; 422 lists one entry per invalid field.\n\n\
Authentication: `Authorization: Bearer <api key>` (`strata apikey create --name N --scopes S`). \
Scopes are `<module>:read` and `<module>:write` (module names as in the tags, without the \
number), `*:read`, `*:write` or `*`; write implies read.";

/// `06 order`: the tag of a module's operations.
pub(crate) fn module_tag(number: u8, name: &str) -> String {
    format!("{number:02} {name}")
}

/// The tag and scope name of the module owning a table.
pub(crate) fn module_of<'a>(schema: &'a Schema, t: &Table) -> (String, &'a str) {
    schema
        .modules
        .iter()
        .find(|m| m.number == t.module)
        .map(|m| (module_tag(m.number, &m.name), m.name.as_str()))
        .unwrap_or_else(|| (module_tag(t.module, "unknown"), "unknown"))
}

/// `x-tagGroups` (read by Redoc and Scalar): the seed's passes, then the public endpoints.
fn tag_groups(schema: &Schema) -> Value {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for m in &schema.modules {
        let label = m.pass().map(|p| p.label()).unwrap_or("Other").to_string();
        let tag = Value::String(module_tag(m.number, &m.name));
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, tags)) => tags.push(tag),
            None => groups.push((label, vec![tag])),
        }
    }
    groups.push((
        "Workflows".into(),
        vec![
            Value::String(workflows::TAG.into()),
            Value::String(workflows::WEBHOOK_TAG.into()),
        ],
    ));
    groups.push(("Meta".into(), vec![Value::String(paths::META_TAG.into())]));
    Value::Array(
        groups
            .into_iter()
            .map(|(name, tags)| json!({"name": name, "tags": tags}))
            .collect(),
    )
}

/// `order_header` → `OrderHeader`.
pub(crate) fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `{"$ref": "#/components/<kind>/<name>"}`.
pub(crate) fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

pub(crate) fn schema_ref(name: &str) -> Value {
    reference("schemas", name)
}

/// Insert a component, refusing to silently overwrite another one of the same name.
pub(crate) fn insert_unique(map: &mut Map<String, Value>, name: String, value: Value) {
    let dup = map.insert(name.clone(), value);
    debug_assert!(dup.is_none(), "OpenAPI component `{name}` generated twice");
}
