//! The performance screen's settings (`crates/strata-server/src/routes/settings.rs`): the
//! classification spec, its versions, and `PUT` of a new version.
//!
//! `ClassificationSpec` states exactly what `strata_domain::classification` accepts (integers
//! from 0 to `MAX_VALUE`, the precedence a permutation of the four tiers as four unique items
//! of the tier enum), so a body the document accepts is stored and one it refuses is a 400.

use serde_json::{Map, Value, json};
use strata_domain::classification::{MAX_VALUE, Tier};
use strata_schema::Schema;

use super::params::param_ref;
use super::paths::{Target, json_content, with_responses};
use super::responses::header_ref;
use super::{insert_unique, schema_ref};

pub(crate) const PATH: &str = "/api/performance-metrics/settings/classification";
pub(crate) const VERSIONS_PATH: &str = "/api/performance-metrics/settings/classification/versions";

const SPEC: &str = "ClassificationSpec";
const VERSION: &str = "ClassificationSpecVersion";
const VERSION_LIST: &str = "ClassificationSpecVersionList";

fn threshold(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": MAX_VALUE, "description": description})
}

fn schemas() -> Vec<(&'static str, Value)> {
    let tiers: Vec<&str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
    let spec = json!({
        "type": "object",
        "description": "The product performance classification settings. Every member is required (a `PUT` replaces the whole spec).",
        "required": ["top_riser_7_day_threshold", "top_riser_14_day_threshold", "winner_30_day_threshold", "banana_count", "precedence"],
        "properties": {
            "top_riser_7_day_threshold": threshold("Minimum 7-day rise for `top_riser` (default 10)."),
            "top_riser_14_day_threshold": threshold("Minimum 14-day rise for `top_riser` (default 20)."),
            "winner_30_day_threshold": threshold("Minimum 30-day result for `winner` (default 30)."),
            "banana_count": threshold("How many products are `banana` (default 10)."),
            "precedence": {
                "type": "array",
                "description": "The tiers in the order they win when a product qualifies for several: each of the four exactly once (default `winner`, `top_riser`, `archive_candidate`, `banana`). A product's `nominal_classification` is the first tier whose flag is set, else `none`.",
                "items": {"type": "string", "enum": tiers},
                "minItems": tiers.len(),
                "maxItems": tiers.len(),
                "uniqueItems": true,
            },
        },
        "additionalProperties": false,
    });
    let version = json!({
        "type": "object",
        "description": "One version of the classification spec. Version 0 is the built-in defaults, in force since the Unix epoch until a version is stored; it is never written.",
        "required": ["version", "uid", "phase", "effective_ts", "spec", "owner_principal_uid"],
        "properties": {
            "version": {"type": "integer", "minimum": 0, "maximum": i32::MAX, "description": "`artifact_version` (from 1); 0 for the defaults."},
            "uid": {"type": ["string", "null"], "pattern": "^mda_[0-9A-HJKMNP-TV-Z]{26}$", "description": "The `macrodata_artifact` row; `null` for version 0."},
            "phase": {"type": "string", "enum": ["draft", "active", "superseded", "archived"], "description": "`active`: in force; `superseded`: in force until a newer version."},
            "effective_ts": {"type": "string", "format": "date-time", "description": "When the version took effect."},
            "spec": schema_ref(SPEC),
            "owner_principal_uid": {"type": ["string", "null"], "description": "The principal who stored it, when known."},
        },
        "additionalProperties": false,
    });
    let list = json!({
        "type": "object",
        "description": "Every version, newest first, ending with version 0.",
        "required": ["items"],
        "properties": {"items": {"type": "array", "minItems": 1, "items": schema_ref(VERSION)}},
        "additionalProperties": false,
    });
    vec![(SPEC, spec), (VERSION, version), (VERSION_LIST, list)]
}

/// Adds the settings' schemas to `components.schemas`.
pub(crate) fn components(out: &mut Map<String, Value>) {
    for (name, s) in schemas() {
        insert_unique(out, name.to_string(), s);
    }
}

fn version_ok(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {"ETag": header_ref("ETag")},
        "content": json_content(schema_ref(VERSION)),
    })
}

/// Adds the three operations to `paths`, tagged and scoped as the `macrodata` module.
pub(crate) fn paths(schema: &Schema, out: &mut Map<String, Value>) {
    let Some(table) = schema.table("macrodata_artifact") else {
        return;
    };
    let target = Target::new(schema, table);
    let get = target.op(
        "classification_settings_get",
        "Read the classification spec".into(),
        "The version in force: the highest `active` one, else the defaults as version 0. Its `ETag` goes into `If-Match` of a `PUT`.".into(),
        false,
    );
    let get = with_responses(get, vec![("200", version_ok("The current version."))], &[]);
    let mut put = target.op(
        "classification_settings_put",
        "Store a new classification spec".into(),
        "Validates the spec and stores it as the next version (effective now), marking the previous one `superseded`, in one transaction with the request's `audit_event` row. Every version is kept. With `If-Match: <ETag of a version>`, stores only if that version is still current (else 412).".into(),
        true,
    );
    put.insert("parameters".into(), json!([param_ref("If-Match")]));
    put.insert(
        "requestBody".into(),
        json!({"required": true, "content": json_content(schema_ref(SPEC))}),
    );
    let mut put = with_responses(
        put,
        vec![("200", version_ok("The version stored."))],
        &[409, 412, 413, 415],
    );
    put["responses"]["400"] = json!({
        "description": "Malformed JSON or query, or an invalid spec: `errors` has one entry per wrong field (`precedence`, `precedence[2]`, `banana_count`, …) saying what is allowed. Nothing is written.",
        "content": {"application/problem+json": {"schema": schema_ref("Problem")}},
    });
    put["responses"]["409"] = json!({
        "description": "Concurrent writers kept winning after retries; nothing was written, retry.",
        "content": {"application/problem+json": {"schema": schema_ref("Problem")}},
    });
    let mut item = Map::new();
    item.insert("get".into(), get);
    item.insert("put".into(), put);
    insert_unique(out, PATH.to_string(), Value::Object(item));

    let list = target.op(
        "classification_settings_versions_list",
        "List the classification spec's versions".into(),
        "Every version, newest first, with its phase and effective time, ending with version 0 (the defaults).".into(),
        false,
    );
    let ok =
        json!({"description": "Every version.", "content": json_content(schema_ref(VERSION_LIST))});
    let list = with_responses(list, vec![("200", ok)], &[]);
    let mut item = Map::new();
    item.insert("get".into(), list);
    insert_unique(out, VERSIONS_PATH.to_string(), Value::Object(item));
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use strata_domain::classification::{ClassificationSpec, Phase, SpecVersion};

    fn doc() -> Value {
        super::super::document(&strata_schema::embedded().expect("schema"))
    }

    fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": doc["components"],
            "$ref": format!("#/components/schemas/{name}"),
        });
        jsonschema::options()
            .should_validate_formats(true)
            .build(&wrapper)
            .expect("the schema compiles")
    }

    #[test]
    fn operations_are_tagged_and_scoped_as_macrodata() {
        let doc = doc();
        for (path, method, id, scope) in [
            (
                super::PATH,
                "get",
                "classification_settings_get",
                "macrodata:read",
            ),
            (
                super::PATH,
                "put",
                "classification_settings_put",
                "macrodata:write",
            ),
            (
                super::VERSIONS_PATH,
                "get",
                "classification_settings_versions_list",
                "macrodata:read",
            ),
        ] {
            let op = &doc["paths"][path][method];
            assert_eq!(op["operationId"], id);
            assert_eq!(op["tags"], json!(["23 macrodata"]));
            let d = op["description"].as_str().unwrap_or_default();
            assert!(d.contains(&format!("`{scope}`")), "{id}: {d}");
        }
    }

    #[test]
    fn the_spec_schema_accepts_exactly_what_the_domain_accepts() {
        let doc = doc();
        let v = validator(&doc, super::SPEC);
        let good = serde_json::to_value(ClassificationSpec::default()).expect("json");
        assert!(v.is_valid(&good));
        assert!(ClassificationSpec::from_json(&good).is_ok());
        let mutations = [
            json!({"precedence": ["winner", "winner", "top_riser", "banana"]}),
            json!({"precedence": ["winner", "top_riser", "banana"]}),
            json!({"precedence": ["winner", "top_riser", "banana", "archive_candidate", "winner"]}),
            json!({"precedence": ["winner", "top_riser", "banana", "apple"]}),
            json!({"banana_count": -1}),
            json!({"banana_count": strata_domain::classification::MAX_VALUE + 1}),
            json!({"winner_30_day_threshold": "30"}),
            json!({"winner_30_day_threshold": 2.5}),
            json!({"colour": "red"}),
        ];
        for m in mutations {
            let mut bad = good.clone();
            for (k, x) in m.as_object().unwrap() {
                bad[k] = x.clone();
            }
            assert!(!v.is_valid(&bad), "schema accepts {bad}");
            assert!(
                ClassificationSpec::from_json(&bad).is_err(),
                "domain accepts {bad}"
            );
        }
        let mut integral = good.clone();
        integral["banana_count"] = json!(12.0);
        assert!(v.is_valid(&integral));
        assert!(ClassificationSpec::from_json(&integral).is_ok());
        let mut permuted = good.clone();
        permuted["precedence"] = json!(["banana", "archive_candidate", "top_riser", "winner"]);
        assert!(v.is_valid(&permuted));
        assert!(ClassificationSpec::from_json(&permuted).is_ok());
    }

    #[test]
    fn versions_serialize_to_their_schema() {
        let doc = doc();
        let v = validator(&doc, super::VERSION);
        let builtin = serde_json::to_value(SpecVersion::builtin(Phase::Active)).expect("json");
        assert!(v.is_valid(&builtin), "{builtin}");
        assert_eq!(builtin["effective_ts"], "1970-01-01T00:00:00Z");
        let mut stored = SpecVersion::builtin(Phase::Superseded);
        stored.version = 7;
        stored.uid = Some("mda_01ARZ3NDEKTSV4RRFFQ69G5FAV".into());
        stored.effective_ts = chrono::Utc::now();
        let stored = serde_json::to_value(stored).expect("json");
        assert!(v.is_valid(&stored), "{stored}");
    }
}
