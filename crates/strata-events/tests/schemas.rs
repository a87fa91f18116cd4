//! The JSON Schema files in `schemas/` match what the code generates, so HTTP clients that use the
//! files see the format the server really accepts.
//!
//! To regenerate after changing an event type: `STRATA_BLESS_SCHEMAS=1 cargo test -p strata-events
//! --test schemas`.

use std::{fs, path::Path};

use serde_json::Value;
use strata_events::{StreamName, json_schema, json_schema_text, schema_file_name};

#[test]
fn schema_files_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let bless = std::env::var_os("STRATA_BLESS_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for stream in StreamName::ALL {
        let path = dir.join(schema_file_name(stream));
        let want = json_schema_text(stream);
        if bless {
            fs::create_dir_all(&dir).expect("create schemas/");
            fs::write(&path, &want).expect("write schema file");
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(have) if have == want => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing schema files: {stale:?}; regenerate with \
         `STRATA_BLESS_SCHEMAS=1 cargo test -p strata-events --test schemas`"
    );
}

#[test]
fn schemas_are_draft_2020_12_and_list_the_event_types() {
    for stream in StreamName::ALL {
        let schema = json_schema(stream);
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{stream}"
        );
        assert_eq!(schema["type"], "object", "{stream}");
        assert_eq!(schema["additionalProperties"], false, "{stream}");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for field in ["event_type", "occurred_ts", "source"] {
            assert!(required.contains(&field), "{stream} requires {field}");
        }
        assert!(
            !required.contains(&"event_id"),
            "{stream}: event_id is optional on input"
        );
        let text = json_schema_text(stream);
        for event_type in stream.event_types() {
            assert!(
                text.contains(&format!("\"{event_type}\"")),
                "{stream} schema lacks event type {event_type}"
            );
        }
    }
}
