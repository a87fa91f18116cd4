//! The document's invariants, its validity against the official OpenAPI 3.1 schema
//! (`oas-3.1-schema.json`, vendored from the `openapi-spec-validator` package, Apache-2.0, © the
//! OpenAPI Initiative), and its agreement with what the list parser and the value checks accept.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use strata_domain::resource::ListParams;
use strata_domain::resource::value::to_param;
use strata_schema::{Column, Schema, SqlType, Table};

use super::params::{LIST_KEYS, RANGE_OPS, filterable_columns, range_columns, sortable_columns};
use super::schemas::{self, json_shape, read_only, required_on_create};
use super::{docs_html, document, viewer_asset};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| strata_schema::embedded().expect("embedded schema parses"))
}

fn doc() -> &'static Value {
    static D: OnceLock<Value> = OnceLock::new();
    D.get_or_init(|| document(schema()))
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op));
            }
        }
    }
    out
}

/// Follow a local `$ref`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("local ref"))
            .unwrap_or_else(|| panic!("unresolved {r}")),
        None => v,
    }
}

/// Path-level and operation-level parameters, resolved.
fn params_of<'a>(doc: &'a Value, path: &str, op: &'a Value) -> Vec<&'a Value> {
    let item = &doc["paths"][path];
    let mut out: Vec<&Value> = Vec::new();
    for list in [&item["parameters"], &op["parameters"]] {
        if let Some(a) = list.as_array() {
            out.extend(a.iter().map(|p| resolve(doc, p)));
        }
    }
    out
}

fn op_id(doc: &Value, path: &str, method: &str) -> Option<String> {
    doc["paths"][path][method]["operationId"]
        .as_str()
        .map(str::to_string)
}

// ---- structure ----------------------------------------------------------------------------------

#[test]
fn every_table_has_its_seven_operations() {
    let doc = doc();
    assert_eq!(schema().table_count(), 153);
    for t in schema().tables() {
        let n = &t.name;
        let base = format!("/v1/resources/{n}");
        let expected = [
            (base.clone(), "get", format!("list_{n}")),
            (base.clone(), "post", format!("create_{n}")),
            (format!("{base}/{{uid}}"), "get", format!("get_{n}")),
            (format!("{base}/{{uid}}"), "patch", format!("patch_{n}")),
            (format!("{base}/{{uid}}"), "delete", format!("delete_{n}")),
            (
                format!("{base}/{{uid}}/status"),
                "get",
                format!("get_{n}_status"),
            ),
            (
                format!("{base}/{{uid}}/status"),
                "put",
                format!("put_{n}_status"),
            ),
        ];
        for (path, method, id) in expected {
            assert_eq!(
                op_id(doc, &path, method).as_deref(),
                Some(id.as_str()),
                "{method} {path}"
            );
            let tags = &doc["paths"][&path][method]["tags"];
            let (tag, _) = super::module_of(schema(), t);
            assert_eq!(tags, &json!([tag]), "{method} {path}");
        }
        let delete = &doc["paths"][format!("{base}/{{uid}}")]["delete"]["responses"];
        if t.is_link() {
            assert!(
                delete.get("204").is_some() && delete.get("200").is_none(),
                "{n}"
            );
        } else {
            assert!(
                delete.get("200").is_some() && delete.get("204").is_none(),
                "{n}"
            );
        }
    }
}

#[test]
fn friendly_and_public_paths_are_described() {
    let doc = doc();
    let expected = [
        ("/v1/orders", "get", "orders_list"),
        ("/v1/orders/{uid}", "get", "orders_get"),
        (
            "/v1/orders/{uid}/line-items",
            "get",
            "orders_line_items_list",
        ),
        (
            "/v1/macrodata-catalogs/{uid}/artifacts",
            "get",
            "macrodata_catalogs_artifacts_list",
        ),
        ("/openapi.json", "get", "get_openapi"),
        ("/docs", "get", "get_docs"),
        ("/healthz", "get", "get_healthz"),
        ("/metrics", "get", "get_metrics"),
        ("/api/health", "get", "get_api_health"),
        ("/v1/workflows", "get", "workflows_list"),
        ("/v1/workflows", "post", "workflows_create"),
        ("/v1/workflows/{instance}", "get", "workflows_get"),
        ("/v1/workflows/{instance}/pause", "post", "workflows_pause"),
        (
            "/v1/workflows/{instance}/resume",
            "post",
            "workflows_resume",
        ),
        (
            "/v1/workflows/{instance}/terminate",
            "post",
            "workflows_terminate",
        ),
        (
            "/v1/workflows/{instance}/restart",
            "post",
            "workflows_restart",
        ),
        (
            "/v1/workflows/{instance}/events",
            "get",
            "workflows_events_list",
        ),
        (
            "/v1/workflows/{instance}/events",
            "post",
            "workflows_events_send",
        ),
        (
            "/api/performance-metrics/sync",
            "post",
            "performance_metrics_sync",
        ),
        ("/api/ingest/runs", "get", "ingest_runs_list"),
        ("/analytics/pipelines", "get", "analytics_pipelines"),
        ("/webhooks/shopify", "post", "shopify_webhook"),
    ];
    for (path, method, id) in expected {
        assert_eq!(
            op_id(doc, path, method).as_deref(),
            Some(id),
            "{method} {path}"
        );
    }
    for (alias, _) in super::paths::ALIASES {
        let id = alias.replace('-', "_");
        for (path, method, verb) in [
            (format!("/v1/{alias}"), "get", "list"),
            (format!("/v1/{alias}"), "post", "create"),
            (format!("/v1/{alias}/{{uid}}"), "get", "get"),
            (format!("/v1/{alias}/{{uid}}"), "patch", "patch"),
            (format!("/v1/{alias}/{{uid}}"), "delete", "delete"),
        ] {
            assert_eq!(
                op_id(doc, &path, method),
                Some(format!("{id}_{verb}")),
                "{method} {path}"
            );
        }
    }
    // The public paths, and only they, opt out of the global bearer requirement.
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    for (path, method, op) in operations(doc) {
        let public = [
            "/openapi.json",
            "/docs",
            "/healthz",
            "/metrics",
            "/api/health",
            // Shopify signs its webhooks instead of sending an API key.
            "/webhooks/shopify",
        ]
        .contains(&path.as_str());
        assert_eq!(
            op.get("security") == Some(&json!([])),
            public,
            "{method} {path}"
        );
    }
    // `search` and `include` on /v1/orders; `kind` (an enum) on a catalog's artifacts.
    let names = |path: &str| -> BTreeMap<String, Value> {
        params_of(doc, path, &doc["paths"][path]["get"])
            .into_iter()
            .map(|p| (p["name"].as_str().unwrap().to_string(), p["schema"].clone()))
            .collect()
    };
    let orders = names("/v1/orders");
    assert_eq!(orders["include"]["enum"], json!(["lineItems"]));
    assert_eq!(orders["search"]["type"], "string");
    assert!(orders.contains_key("customer_uid") && orders.contains_key("placed_ts.gte"));
    let artifacts = names("/v1/macrodata-catalogs/{uid}/artifacts");
    let kinds = schema()
        .table("macrodata_artifact")
        .unwrap()
        .column("kind")
        .unwrap()
        .enum_values
        .clone();
    assert_eq!(artifacts["kind"]["enum"], json!(kinds));
    assert!(!artifacts.contains_key("catalog_uid"));
    assert!(!names("/v1/orders/{uid}/line-items").contains_key("order_uid"));
}

#[test]
fn operation_ids_are_unique() {
    let mut seen = BTreeSet::new();
    for (path, method, op) in operations(doc()) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(seen.insert(id.to_string()), "duplicate operationId {id}");
    }
    assert!(seen.len() >= 153 * 7);
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                out.push(r);
            }
            o.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_and_every_component_is_used() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(!refs.is_empty());
    let used: BTreeSet<&str> = refs.iter().copied().collect();
    for r in &used {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("non-local $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }
    for kind in ["schemas", "parameters", "responses", "headers"] {
        for name in doc["components"][kind].as_object().unwrap().keys() {
            let r = format!("#/components/{kind}/{name}");
            assert!(used.contains(r.as_str()), "unused component {r}");
        }
    }
}

#[test]
fn path_parameters_are_declared_and_parameters_unique() {
    let doc = doc();
    for (path, method, op) in operations(doc) {
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        let params = params_of(doc, &path, op);
        let declared: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(templated, declared, "{method} {path}");
        let mut seen = BTreeSet::new();
        for p in &params {
            let key = (
                p["name"].as_str().unwrap().to_string(),
                p["in"].as_str().unwrap().to_string(),
            );
            assert!(
                seen.insert(key.clone()),
                "{method} {path}: parameter {key:?} twice"
            );
        }
    }
}

#[test]
fn responses_follow_the_contract() {
    let doc = doc();
    for (path, method, op) in operations(doc) {
        let responses = op["responses"].as_object().unwrap();
        if op.get("security") == Some(&json!([])) {
            continue;
        }
        for code in ["400", "401", "403", "429", "503"] {
            assert!(responses.contains_key(code), "{method} {path} lacks {code}");
        }
        for (code, r) in responses {
            let r = resolve(doc, r);
            if code.starts_with('4') || code.starts_with('5') {
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {code}"
                );
            }
        }
        let has = |c: &str| responses.contains_key(c);
        let if_match = params_of(doc, &path, op)
            .iter()
            .any(|p| p["name"] == "If-Match" && p["in"] == "header");
        let body = op.get("requestBody").is_some();
        match method.as_str() {
            // Telemetry batches are not resource creation: 200 with a per-event receipt.
            "post" if path.starts_with("/v1/telemetry/") => {
                assert!(has("200") && has("413") && has("415"), "{path}");
            }
            // A query answers its result (JSON, NDJSON or CSV), not a resource.
            "post" if path == "/v1/query" => {
                assert!(
                    has("200")
                        && has("404")
                        && has("408")
                        && has("413")
                        && has("415")
                        && has("422"),
                    "{path}"
                );
                assert!(body && !if_match, "{path}");
            }
            // Domain commands answer with their result, not a resource: no ETag; 201 with
            // Location, or 200 for a completion.
            "post" if path == "/v1/orders" || path.starts_with("/v1/orders/") => {
                assert!(
                    has("404") && has("409") && has("413") && has("415") && has("422"),
                    "{path}"
                );
                assert!(has("201") != has("200"), "{path}");
                if let Some(created) = responses.get("201") {
                    assert!(created["headers"].get("Location").is_some(), "{path}");
                }
                assert!(body && !if_match, "{path}");
                assert!(
                    op["requestBody"]["content"]
                        .get("application/json")
                        .is_some()
                );
            }
            // Tag analytics: a report over a body of tag names, not a creation.
            "post" if path.starts_with("/api/tag-analytics/") => {
                assert!(has("200") && has("413") && has("415"), "{path}");
                assert!(body && !if_match, "{path}");
            }
            // Workflows: control answers the instance (200), events and the sync trigger are
            // accepted (202), creation is 201 or 200 (an existing idempotency id); invalid
            // members are a 400, an unknown workflow or instance a 404.
            "post"
                if path.starts_with("/v1/workflows") || path == "/api/performance-metrics/sync" =>
            {
                assert!(has("413") && has("415") && !has("422"), "{path}");
                assert!(has("200") || has("201") || has("202"), "{path}");
                assert!(body && !if_match, "{path}");
                if path.contains("{instance}") {
                    assert!(has("404") && has("409"), "{path}");
                }
                assert!(
                    op["requestBody"]["content"]
                        .get("application/json")
                        .is_some()
                );
            }
            "post" => {
                assert!(
                    has("201") && has("409") && has("413") && has("415") && has("422"),
                    "{path}"
                );
                let h = &responses["201"]["headers"];
                assert!(
                    h.get("ETag").is_some() && h.get("Location").is_some(),
                    "{path}"
                );
                assert!(body && !if_match);
                assert!(
                    op["requestBody"]["content"]
                        .get("application/json")
                        .is_some()
                );
            }
            "patch" => {
                assert!(
                    has("200") && has("404") && has("412") && has("415") && has("422"),
                    "{path}"
                );
                assert!(body && if_match, "{path}");
                let content = &op["requestBody"]["content"];
                assert!(
                    content.get("application/merge-patch+json").is_some()
                        && content.get("application/json").is_some()
                );
            }
            // The classification spec: a settings document, not a row (no 404, 400 for invalid
            // fields as the legacy endpoint); `If-Match` names the version edited.
            "put" if path.starts_with("/api/performance-metrics/") => {
                assert!(
                    has("200") && has("409") && has("412") && has("413") && has("415"),
                    "{path}"
                );
                assert!(body && if_match, "{path}");
            }
            "put" => {
                assert!(
                    has("200") && has("404") && has("409") && has("412") && has("422"),
                    "{path}"
                );
                assert!(body && if_match, "{path}");
            }
            "delete" => assert!(has("404") && has("412") && if_match && !body, "{path}"),
            "get" => {
                assert!(has("200") && !body && !if_match, "{path}");
                let single = path.ends_with("{uid}") || path.ends_with("/status");
                if single {
                    assert!(has("404"), "{path}");
                    assert!(responses["200"]["headers"].get("ETag").is_some(), "{path}");
                }
            }
            other => panic!("unexpected method {other}"),
        }
        if let Some(ok) = responses.get("200").or(responses.get("201")) {
            assert!(
                ok["content"]["application/json"]["schema"].is_object(),
                "{method} {path}"
            );
        }
    }
}

#[test]
fn document_is_small_and_deterministic() {
    let a = serde_json::to_string(doc()).unwrap();
    let b = serde_json::to_string(&document(schema())).unwrap();
    assert_eq!(a, b);
    assert!(a.len() < 10 * 1024 * 1024, "{} bytes", a.len());
    assert_eq!(doc()["openapi"], "3.1.0");
}

// ---- validity -----------------------------------------------------------------------------------

fn error_report<'a>(errors: impl Iterator<Item = jsonschema::ValidationError<'a>>) -> Vec<String> {
    errors
        .take(20)
        .map(|e| format!("{} at {}: {e}", e.schema_path(), e.instance_path()))
        .collect()
}

#[test]
fn validates_against_the_official_openapi_31_schema() {
    let oas: Value = serde_json::from_str(include_str!("oas-3.1-schema.json")).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&oas)
        .expect("the OpenAPI 3.1 schema compiles");
    let errors = error_report(validator.iter_errors(doc()));
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator is not vacuous.
    let mut broken = doc().clone();
    broken["paths"]["/v1/orders"]["get"]["responses"] = json!({"200": {}});
    assert!(!validator.is_valid(&broken));
}

/// One validator over all component schemas: `{"<Name>": <instance>}` checks an instance against
/// `#/components/schemas/<Name>`, with every `$ref` resolved inside the document.
fn components_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schemas = doc()["components"]["schemas"].as_object().unwrap();
        let properties: Map<String, Value> = schemas
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    json!({"$ref": format!("#/components/schemas/{k}")}),
                )
            })
            .collect();
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": {"schemas": schemas},
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        jsonschema::options()
            .should_validate_formats(true)
            .build(&wrapper)
            .expect("every component schema compiles (regexes included)")
    })
}

fn check(name: &str, instance: Value) -> Vec<String> {
    error_report(components_validator().iter_errors(&json!({ name: instance })))
}

#[test]
fn component_schemas_are_valid_json_schema_2020_12() {
    for (name, s) in doc()["components"]["schemas"].as_object().unwrap() {
        assert!(
            jsonschema::meta::is_valid(s),
            "{name} is not a valid JSON Schema"
        );
    }
    components_validator();
}

// ---- agreement with the server's parsers --------------------------------------------------------

/// A value a client could send for a column, as JSON.
/// A text value every `~` CHECK of the column accepts (the checks are PostgreSQL regexes).
fn text_sample(c: &Column) -> String {
    const ULID: &str = "01HZY3K5V6W7X8Y9Z0ABCDEFGH";
    let mut candidates: Vec<String> = vec![
        "x".into(),
        "usd".into(),
        "us".into(),
        "0".repeat(64),
        "a-b".into(),
        "abc".into(),
        "x@example.com".into(),
        "AB12".into(),
        "123".into(),
        "abcd".into(),
        format!("prd_{ULID}"),
    ];
    for p in &c.constraints.patterns {
        if let Some(prefix) = p
            .strip_prefix('^')
            .and_then(|r| r.split_once('_'))
            .map(|(a, _)| a)
            && prefix.chars().all(|ch| ch.is_ascii_lowercase())
        {
            candidates.insert(0, format!("{prefix}_{ULID}"));
        }
    }
    let patterns: Vec<regex::Regex> = c
        .constraints
        .patterns
        .iter()
        .map(|p| {
            regex::Regex::new(&super::schemas::ecma_pattern(p)).expect("CHECK pattern compiles")
        })
        .collect();
    candidates
        .into_iter()
        .find(|v| patterns.iter().all(|r| r.is_match(v)))
        .unwrap_or_else(|| {
            panic!(
                "no sample text for {} matches {:?}",
                c.name, c.constraints.patterns
            )
        })
}

fn sample(t: &Table, c: &Column) -> Value {
    if let Some(e) = &c.enum_values {
        return json!(e[0]);
    }
    match (&c.name[..], &c.sql_type) {
        ("status", _) => json!({}),
        (_, SqlType::Text) => json!(text_sample(c)),
        (_, SqlType::Integer | SqlType::SmallInt | SqlType::BigInt) => json!(1),
        (_, SqlType::Boolean) => json!(true),
        (_, SqlType::Numeric { .. }) => json!("1"),
        (_, SqlType::DoublePrecision) => json!(1.5),
        (_, SqlType::Jsonb | SqlType::Json) => match json_shape(t, &c.name) {
            Some("array") => json!([]),
            _ => json!({}),
        },
        (_, SqlType::TimestampTz) => json!("2026-11-28T15:36:00Z"),
        (_, SqlType::Date) => json!("2026-11-28"),
        (_, SqlType::Timestamp) => json!("2026-11-28 15:36:00"),
        (_, SqlType::Other(_)) => json!("127.0.0.1"),
    }
}

/// A query value matching a documented parameter schema.
fn query_sample(t: &Table, name: &str, s: &Value) -> Option<String> {
    match name {
        "cursor" => None,
        "limit" => Some("500".into()),
        "labelSelector" => Some("tier=gold,!archived".into()),
        "fields" => Some("uid,create_ts".into()),
        "phase" => t.phases.first().cloned(),
        col if t
            .column(col)
            .is_some_and(|c| c.sql_type == SqlType::Text && c.enum_values.is_none()) =>
        {
            t.column(col).map(text_sample)
        }
        _ => Some(
            match (&s["enum"], s["type"].as_str(), s["format"].as_str()) {
                (Value::Array(e), _, _) => e[0].as_str().unwrap().to_string(),
                (_, Some("integer"), _) => "7".into(),
                (_, Some("boolean"), _) => "false".into(),
                (_, Some("string"), Some("date-time")) => "2026-11-28T15:36:00Z".into(),
                (_, Some("string"), Some("date")) => "2026-11-28".into(),
                (_, Some("string"), None) if s.get("pattern").is_some() => "12".into(),
                _ => "x".into(),
            },
        ),
    }
}

fn list_query_params<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    params_of(doc, path, &doc["paths"][path]["get"])
        .into_iter()
        .filter(|p| p["in"] == "query")
        .collect()
}

fn parse(t: &Table, key: &str, value: &str, extra: &[&str]) -> Result<ListParams, String> {
    ListParams::from_query(t, &[(key.to_string(), value.to_string())], extra)
        .map_err(|e| e.to_string())
}

#[test]
fn list_parameters_are_exactly_what_the_parser_accepts() {
    let doc = doc();
    for t in schema().tables() {
        let path = format!("/v1/resources/{}", t.name);
        let params = list_query_params(doc, &path);
        let mut documented = BTreeSet::new();
        for p in &params {
            let name = p["name"].as_str().unwrap();
            documented.insert(name.to_string());
            if name == "sort" {
                for v in p["schema"]["enum"].as_array().unwrap() {
                    let v = v.as_str().unwrap();
                    parse(t, "sort", v, &[])
                        .unwrap_or_else(|e| panic!("{}: sort={v}: {e}", t.name));
                }
                continue;
            }
            if let Some(v) = query_sample(t, name, &p["schema"]) {
                parse(t, name, &v, &[]).unwrap_or_else(|e| panic!("{}: {name}={v}: {e}", t.name));
            }
        }
        // Nothing the parser accepts is missing, and a limit over the maximum is refused.
        let filterable: BTreeSet<&str> = filterable_columns(t)
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let ranged: BTreeSet<&str> = range_columns(t).iter().map(|c| c.name.as_str()).collect();
        let sortable: BTreeSet<&str> = sortable_columns(t)
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        for c in &t.columns {
            let n = c.name.as_str();
            let value = query_sample(t, n, &column_query_schema(t, c)).unwrap_or_default();
            let accepted = parse(t, n, &value, &[]).is_ok();
            if !LIST_KEYS.contains(&n) {
                assert_eq!(accepted, documented.contains(n), "{}: `{n}` filter", t.name);
                assert_eq!(
                    filterable.contains(n),
                    documented.contains(n),
                    "{}: `{n}`",
                    t.name
                );
            }
            for (op, _) in RANGE_OPS {
                let key = format!("{n}.{op}");
                assert_eq!(
                    ranged.contains(n),
                    documented.contains(&key),
                    "{}: {key}",
                    t.name
                );
                if !ranged.contains(n) {
                    assert!(
                        parse(t, &key, "2026-11-28", &[]).is_err(),
                        "{}: {key} accepted",
                        t.name
                    );
                }
            }
            assert_eq!(
                parse(t, "sort", n, &[]).is_ok(),
                sortable.contains(n),
                "{}: sort={n}",
                t.name
            );
        }
        assert!(parse(t, "limit", "501", &[]).is_err());
        assert!(parse(t, "no_such_parameter", "1", &[]).is_err());
    }
    // The friendly lists: the endpoint's own keys are accepted as extras.
    let orders = schema().table("order_header").unwrap();
    for p in list_query_params(doc, "/v1/orders") {
        let name = p["name"].as_str().unwrap();
        if let Some(v) = query_sample(orders, name, &p["schema"]) {
            parse(orders, name, &v, &["search", "include"])
                .unwrap_or_else(|e| panic!("/v1/orders {name}={v}: {e}"));
        }
    }
}

fn column_query_schema(t: &Table, c: &Column) -> Value {
    schemas::column_schema(t, c, schemas::Mode::Query)
}

#[test]
fn create_and_patch_bodies_match_the_value_checks() {
    for t in schema().tables() {
        let create = schemas::create_name(t);
        let patch = schemas::patch_name(t);
        let required = required_on_create(t);
        // The smallest valid body: the required columns.
        let mut body = Map::new();
        for c in t
            .columns
            .iter()
            .filter(|c| required.contains(&c.name.as_str()))
        {
            let v = sample(t, c);
            to_param(t, c, &v).unwrap_or_else(|e| panic!("{}.{}: {e:?}", t.name, c.name));
            body.insert(c.name.clone(), v);
        }
        let errors = check(&create, Value::Object(body.clone()));
        assert!(errors.is_empty(), "{create}: {errors:#?}");
        // A missing required column, a read-only column, an unknown one: all refused.
        if let Some(first) = required.first() {
            let mut missing = body.clone();
            missing.remove(*first);
            assert!(
                !check(&create, Value::Object(missing)).is_empty(),
                "{create} without {first}"
            );
        }
        for bad in ["uid", "create_ts", "no_such_column"] {
            let mut b = body.clone();
            b.insert(bad.into(), json!("x"));
            assert!(
                !check(&create, Value::Object(b)).is_empty(),
                "{create} with {bad}"
            );
        }
        // Every writable column with a sample value, and null for the nullable ones.
        for c in t.columns.iter().filter(|c| !read_only(&c.name)) {
            let v = sample(t, c);
            let mut b = body.clone();
            b.insert(c.name.clone(), v.clone());
            assert!(
                check(&create, Value::Object(b)).is_empty(),
                "{create}.{}={v}",
                c.name
            );
            if c.name != "status" {
                assert!(
                    check(&patch, json!({ &c.name: v })).is_empty(),
                    "{patch}.{}={v}",
                    c.name
                );
            }
            let null_ok = to_param(t, c, &Value::Null).is_ok();
            if c.name != "status" {
                assert_eq!(
                    check(&patch, json!({ &c.name: null })).is_empty(),
                    null_ok,
                    "{patch}.{}=null",
                    c.name
                );
            }
            if matches!(c.sql_type, SqlType::Numeric { .. }) {
                // 1 fits every NUMERIC(p, s) here (12 would not fit NUMERIC(5,4)).
                assert!(
                    check(&patch, json!({ &c.name: 1 })).is_empty(),
                    "{patch}.{} as a number",
                    c.name
                );
                assert!(
                    !check(&patch, json!({ &c.name: "12,5" })).is_empty(),
                    "{patch}.{}",
                    c.name
                );
            }
        }
        assert!(
            !check(&patch, json!({"status": {"phase": t.phases.first()}})).is_empty(),
            "{patch} with status"
        );
        assert!(
            check(&patch, json!({"labels": {"tier": "gold", "old": null}})).is_empty(),
            "{patch}"
        );
        assert!(
            !check(&patch, json!({"labels": {"bad key": "x"}})).is_empty(),
            "{patch}"
        );
        assert!(check(&patch, json!({})).is_empty());
        // The status subresource.
        let update = schemas::status_update_name(t);
        for p in &t.phases {
            let body = json!({"phase": p, "conditions": [{"type": "Ready", "status": "True", "reason": null}]});
            assert!(check(&update, body).is_empty(), "{update} {p}");
        }
        assert!(
            !check(&update, json!({"phase": "no-such-phase"})).is_empty(),
            "{update}"
        );
        assert!(
            !check(
                &update,
                json!({"conditions": [{"type": "Ready", "status": "Yes"}]})
            )
            .is_empty()
        );
        assert!(!check(&update, json!({"phase": t.phases.first(), "extra": 1})).is_empty());
    }
}

/// A row the way the store returns it (`row_to_json`, NUMERIC as text).
fn stored_row(t: &Table) -> Value {
    let mut row = Map::new();
    for c in &t.columns {
        let v = match (&c.name[..], &c.sql_type) {
            ("uid", _) => json!(format!(
                "{}_01JDQ5V6Z8K3M4N5P6Q7R8S9T0",
                t.prefix.as_deref().unwrap_or("x")
            )),
            ("status", _) => json!({
                "phase": t.initial_phase.clone().or_else(|| t.phases.first().cloned()),
                "conditions": [{"type": "Ready", "status": "True", "last_transition_ts": "2026-11-28T15:36:00.123456Z"}],
            }),
            ("labels", _) => json!({"tier": "gold", "strata.dev/source": "seed"}),
            ("annotations", _) => json!({"note": "anything at all"}),
            (n, _) if n.starts_with("raw_") => json!({"value": "12.5", "currency_code": "usd"}),
            (_, SqlType::Numeric { scale, .. }) => match scale {
                Some(s) if *s > 0 => json!(format!("-1.{}", "3".repeat(*s as usize))),
                _ => json!("1"),
            },
            (_, SqlType::TimestampTz) => json!("2026-11-28T15:36:00.123456+00:00"),
            _ => sample(t, c),
        };
        row.insert(c.name.clone(), v);
    }
    Value::Object(row)
}

#[test]
fn stored_rows_match_the_resource_schemas() {
    for t in schema().tables() {
        let name = schemas::resource_name(t);
        let row = stored_row(t);
        let errors = check(&name, row.clone());
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let page = json!({"items": [row.clone()], "next_cursor": null});
        assert!(check(&schemas::page_name(t), page).is_empty());
        assert!(check(&schemas::status_name(t), row["status"].clone()).is_empty());
        // Nullable columns may be null; NOT NULL ones may not.
        for c in &t.columns {
            let mut r = row.clone();
            r[&c.name] = Value::Null;
            assert_eq!(
                check(&name, r).is_empty(),
                !c.not_null,
                "{name}.{} = null",
                c.name
            );
        }
        if t.prefix.is_some() {
            let mut r = row.clone();
            r["uid"] = json!("zzz_01JDQ5V6Z8K3M4N5P6Q7R8S9T0");
            assert!(!check(&name, r).is_empty(), "{name}: uid pattern");
        }
    }
    let problem = json!({
        "type": "https://strata.dev/problems/unprocessable-entity",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "the request has invalid fields",
        "errors": [{"field": "currency_code", "message": "is required"}],
    });
    assert!(check("Problem", problem).is_empty());
}

#[test]
fn error_examples_are_problems_with_their_status() {
    for (name, r) in doc()["components"]["responses"].as_object().unwrap() {
        let example = &r["content"]["application/problem+json"]["example"];
        let errors = check("Problem", example.clone());
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let status = example["status"].as_u64().unwrap().to_string();
        let used_as = operations(doc())
            .into_iter()
            .filter_map(|(_, _, op)| op["responses"].as_object().cloned())
            .flat_map(|rs| rs.into_iter())
            .find(|(_, v)| v["$ref"] == format!("#/components/responses/{name}"))
            .map(|(code, _)| code);
        assert_eq!(used_as, Some(status), "{name}");
    }
}

// ---- the viewer ---------------------------------------------------------------------------------

#[test]
fn docs_page_loads_only_vendored_assets() {
    let html = docs_html();
    for needle in ["http://", "https://", "//cdn", "src=\"//", "href=\"//"] {
        assert!(!html.contains(needle), "docs.html references {needle}");
    }
    let mut assets = 0;
    for part in html.split("docs/assets/").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| !matches!(c, '"' | '\'' | '?' | '#'))
            .collect();
        let (content_type, bytes) =
            viewer_asset(&name).unwrap_or_else(|| panic!("docs.html loads unknown asset {name}"));
        let expected = if name.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(expected), "{name}: {content_type}");
        assert!(!bytes.is_empty());
        assets += 1;
    }
    assert_eq!(assets, 3);
    assert!(html.contains("Content-Security-Policy"));
    let (_, docs_js) = viewer_asset("docs.js").unwrap();
    let docs_js = std::str::from_utf8(docs_js).unwrap();
    assert!(docs_js.contains("\"openapi.json\"") && !docs_js.contains("http"));
    // The validator badge would load from a public service; it must stay off.
    assert!(docs_js.contains("validatorUrl: null"));
    assert!(viewer_asset("../Cargo.toml").is_none() && viewer_asset("").is_none());
}

#[test]
fn decimal_patterns_follow_the_bounds_the_schema_uses() {
    use strata_schema::ColumnConstraints;
    let check = |k: ColumnConstraints, int_digits: u32, scale: u32, ok: &[&str], bad: &[&str]| {
        let p = schemas::decimal_pattern(&k, int_digits, scale);
        let re = regex::Regex::new(&p).expect("pattern compiles");
        for v in ok {
            assert!(re.is_match(v), "{p} should accept {v}");
        }
        for v in bad {
            assert!(!re.is_match(v), "{p} should refuse {v}");
        }
    };
    // NUMERIC(7, 4) CHECK (rate BETWEEN 0 AND 100)
    check(
        ColumnConstraints {
            minimum: Some(0.0),
            maximum: Some(100.0),
            ..Default::default()
        },
        3,
        4,
        &["0", "100", "100.0000", "99.9999", "5.5", "0.0001"],
        &["100.0001", "101", "-1", "1.23456", "1000"],
    );
    // NUMERIC(5, 4) CHECK (w > 0 AND w <= 1)
    check(
        ColumnConstraints {
            exclusive_minimum: Some(0.0),
            maximum: Some(1.0),
            ..Default::default()
        },
        1,
        4,
        &["1", "1.0", "0.5", "0.0001", "0.25"],
        &["0", "0.0", "0.0000", "1.5", "2", "0.00001"],
    );
    // NUMERIC(20, 4) CHECK (amount > 0)
    check(
        ColumnConstraints {
            exclusive_minimum: Some(0.0),
            ..Default::default()
        },
        16,
        4,
        &["1", "0.01", "1234567890123456.1234", "10"],
        &["0", "0.0", "-1", "12345678901234567"],
    );
    // No bounds: signed.
    check(
        ColumnConstraints::default(),
        2,
        2,
        &["-1.5", "99.99"],
        &["100", "1.234"],
    );
}
