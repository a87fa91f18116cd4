//! Which optional wire fields belong to which event type.
//!
//! Each stream's wire object is flat, so the fields that only some event types carry (a payment's
//! uid, an engagement's kind) are optional columns of one table. This table of "extras" is the
//! single statement of who owns which column: decoding checks it and the JSON Schema is built from
//! it, so the two cannot drift.

use schemars::Schema;
use serde_json::{Map, Value, json};

/// An optional wire field that only one event type may carry.
pub(crate) struct Extra {
    /// The wire field.
    pub field: &'static str,
    /// The event type that carries it.
    pub owner: &'static str,
    /// Whether that event type must carry it.
    pub required: bool,
}

/// Rejects an event whose `present` fields include one its type does not own.
pub(crate) fn check_extras(
    event_type: &str,
    extras: &[Extra],
    present: &[(&'static str, bool)],
) -> Result<(), String> {
    for (field, is_present) in present {
        if !is_present {
            continue;
        }
        if let Some(extra) = extras.iter().find(|e| e.field == *field)
            && extra.owner != event_type
        {
            return Err(format!(
                "field `{field}` does not belong to {event_type} events (only to {})",
                extra.owner
            ));
        }
    }
    Ok(())
}

/// The value of a field that `event_type` requires, or the reason it is missing.
pub(crate) fn require<T>(value: Option<T>, field: &str, event_type: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing required field `{field}` (required for {event_type})"))
}

/// Rejects an empty required text field (serde alone accepts `""`).
pub(crate) fn non_empty(value: &str, field: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("field `{field}` must not be empty"))
    } else {
        Ok(())
    }
}

/// Adds to a stream's schema one `if event_type == T then …` rule per event type: the extras `T`
/// requires, and `null` for the extras of other types.
pub(crate) fn add_extras_rules(schema: &mut Schema, event_types: &[&str], extras: &[Extra]) {
    let rules: Vec<Value> = event_types
        .iter()
        .map(|t| {
            let required: Vec<&str> = extras
                .iter()
                .filter(|e| e.owner == *t && e.required)
                .map(|e| e.field)
                .collect();
            // Other types' extras must be absent (or null); this type's required ones present
            // and not null, since the decoder reads null as absent.
            let mut properties: Map<String, Value> = extras
                .iter()
                .filter(|e| e.owner != *t)
                .map(|e| (e.field.to_owned(), json!({ "type": "null" })))
                .collect();
            for field in &required {
                properties.insert((*field).to_owned(), json!({ "not": { "type": "null" } }));
            }
            let mut then = Map::new();
            if !required.is_empty() {
                then.insert("required".to_owned(), json!(required));
            }
            then.insert("properties".to_owned(), Value::Object(properties));
            json!({
                "if": { "properties": { "event_type": { "const": t } }, "required": ["event_type"] },
                "then": then,
            })
        })
        .collect();
    schema.insert("allOf".to_owned(), Value::Array(rules));
}
