//! JSON Schema (draft 2020-12) of each stream's wire format, for HTTP clients and partners.
//!
//! The schemas are generated from the very structs that decode the wire, so they cannot describe a
//! format the decoder does not accept. Copies live in the crate's `schemas/` folder (a test fails
//! when they are stale) so clients can fetch them without running Rust.

use serde_json::{Value, json};

use crate::{
    SCHEMA_VERSION, StreamName, commerce::CommerceWire, publication::PublicationWire,
    sync::SyncWire,
};

/// The JSON Schema (draft 2020-12) of one event of `stream`, as accepted by
/// [`crate::validate_batch`] and written by the log.
///
/// Some checks go beyond what the schema can say (for example, that shipped lines name lines of
/// the same event); the decoder applies them and names them in its rejection reasons.
pub fn json_schema(stream: StreamName) -> Value {
    let schema = match stream {
        StreamName::Commerce => schemars::schema_for!(CommerceWire),
        StreamName::Publication => schemars::schema_for!(PublicationWire),
        StreamName::Sync => schemars::schema_for!(SyncWire),
    };
    let mut value = schema.to_value();
    if let Some(root) = value.as_object_mut() {
        root.insert(
            "$id".to_owned(),
            json!(format!(
                "urn:strata:events:{}:v{SCHEMA_VERSION}",
                stream.slug()
            )),
        );
        root.insert(
            "title".to_owned(),
            json!(format!(
                "{} event (schema_version {SCHEMA_VERSION}), landed in {}",
                stream.wire_name(),
                stream.lake_table()
            )),
        );
        if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "schema_version".to_owned(),
                json!({
                    "description": "Version of this schema the event follows; the current one when absent.",
                    "enum": [SCHEMA_VERSION, null],
                    "default": SCHEMA_VERSION,
                }),
            );
        }
    }
    sort_keys(value)
}

/// The file name of `stream`'s schema in the crate's `schemas/` folder.
pub fn schema_file_name(stream: StreamName) -> String {
    format!("{}.schema.json", stream.slug())
}

/// The exact text of `stream`'s schema file: pretty JSON with sorted keys and a final newline, so
/// the files diff cleanly and do not depend on serde_json's map ordering features.
pub fn json_schema_text(stream: StreamName) -> String {
    let mut text = serde_json::to_string_pretty(&json_schema(stream))
        .expect("a serde_json::Value always serializes");
    text.push('\n');
    text
}

/// Rebuilds every object with its keys in sorted order.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
