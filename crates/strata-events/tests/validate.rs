//! Validation of untrusted batches: every event is accepted or rejected with a reason that names
//! the problem; only whole-batch problems refuse the batch.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{at, commerce, every_type, publication, sync};
use serde_json::{Value, json};
use strata_events::{
    BatchError, BatchFormat, BatchOutcome, Event, EventId, Limits, RejectionKind, StreamName,
    SyncOutcome, validate_batch,
};

/// The server clock of these tests: a minute after the samples happened.
fn now() -> DateTime<Utc> {
    at() + TimeDelta::minutes(1)
}

fn check(stream: StreamName, values: &[Value]) -> BatchOutcome {
    let body = serde_json::to_vec(values).expect("encodes");
    validate_batch(
        stream,
        &body,
        BatchFormat::JsonArray,
        now(),
        &Limits::default(),
    )
    .expect("batch is not refused")
}

fn check_one(stream: StreamName, value: Value) -> BatchOutcome {
    check(stream, &[value])
}

/// The single rejection of a one-event batch.
fn rejection(stream: StreamName, value: Value) -> (RejectionKind, String) {
    let outcome = check_one(stream, value);
    assert!(outcome.accepted.is_empty(), "expected a rejection");
    let r = outcome.rejected.into_iter().next().expect("one rejection");
    (r.kind, r.reason)
}

fn ndjson(values: &[Value]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in values {
        body.extend(serde_json::to_vec(v).expect("encodes"));
        body.push(b'\n');
    }
    body
}

fn payment() -> Value {
    serde_json::to_value(commerce("payment_captured")).expect("encodes")
}

#[test]
fn good_events_pass_as_json_array_and_as_ndjson() {
    for stream in StreamName::ALL {
        let events: Vec<Event> = every_type()
            .into_iter()
            .filter(|e| e.stream() == stream)
            .collect();
        let values: Vec<Value> = events
            .iter()
            .map(|e| serde_json::to_value(e).expect("encodes"))
            .collect();

        let outcome = check(stream, &values);
        assert!(
            outcome.rejected.is_empty(),
            "{stream}: {:?}",
            outcome.rejected
        );
        assert_eq!(outcome.received(), 5);
        assert!(outcome.accepted.iter().all(|a| !a.id_minted));
        assert_eq!(
            outcome.into_events(),
            events,
            "{stream}: typed events equal the samples"
        );

        let body = ndjson(&values);
        let outcome = validate_batch(
            stream,
            &body,
            BatchFormat::Ndjson,
            now(),
            &Limits::default(),
        )
        .expect("not refused");
        assert!(
            outcome.rejected.is_empty(),
            "{stream}: {:?}",
            outcome.rejected
        );
        assert_eq!(outcome.into_events(), events);
    }
}

#[test]
fn a_minimal_partner_event_passes_and_gets_an_id() {
    let outcome = check_one(
        StreamName::Publication,
        json!({
            "event_type": "click",
            "occurred_ts": "2025-03-14T10:26:00+01:00",
            "source": "partner:pub_01JNZ6S1Q7J5W4X3V2T1R0P9N8",
            "publisher_uid": "pub_01JNZ6S1Q7J5W4X3V2T1R0P9N8",
        }),
    );
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let accepted = &outcome.accepted[0];
    assert!(accepted.id_minted);
    assert!(EventId::parse(accepted.event.event_id().as_str()).is_ok());
    assert_eq!(
        accepted.event.occurred_ts(),
        at() - TimeDelta::seconds(53),
        "converted to UTC"
    );
    match &accepted.event {
        Event::Publication(e) => {
            assert_eq!(e.body.device_type, strata_events::DeviceType::Unknown);
            assert_eq!(e.schema_version, 1);
        }
        other => panic!("wrong stream: {other:?}"),
    }
}

#[test]
fn client_event_ids_are_kept_or_rejected() {
    let mut value = payment();
    let id = "evt_01JNZ6S1Q7J5W4X3V2T1R0P9N8";
    value["event_id"] = json!(id);
    let outcome = check_one(StreamName::Commerce, value.clone());
    assert_eq!(outcome.accepted[0].event.event_id().as_str(), id);
    assert!(!outcome.accepted[0].id_minted);

    for bad in [
        json!("evt_123"),
        json!("EVT_01JNZ6S1Q7J5W4X3V2T1R0P9N8"),
        json!("evt_01JNZ6S1Q7J5W4X3V2T1R0P9NU"),
        json!(42),
    ] {
        value["event_id"] = bad.clone();
        let (kind, reason) = rejection(StreamName::Commerce, value.clone());
        assert_eq!(kind, RejectionKind::InvalidEventId, "{bad}");
        assert!(
            reason.contains("event_id") && reason.contains("evt_"),
            "{reason}"
        );
    }
}

#[test]
fn missing_required_fields_are_named() {
    let mut value = payment();
    value.as_object_mut().map(|o| o.remove("order_uid"));
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::MissingField);
    assert_eq!(reason, "missing required field `order_uid`");

    let mut value = payment();
    value["lines"][1]
        .as_object_mut()
        .map(|o| o.remove("unit_price"));
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::MissingField);
    assert_eq!(reason, "missing required field `lines[1].unit_price`");

    let mut value = payment();
    value.as_object_mut().map(|o| o.remove("payment_amount"));
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::MissingField);
    assert!(
        reason.contains("`payment_amount`") && reason.contains("payment_captured"),
        "{reason}"
    );

    let mut value = serde_json::to_value(sync(SyncOutcome::Completed)).expect("encodes");
    value.as_object_mut().map(|o| o.remove("event_type"));
    let (kind, reason) = rejection(StreamName::Sync, value);
    assert_eq!(kind, RejectionKind::MissingField);
    assert!(
        reason.contains("`event_type`") && reason.contains("step_completed"),
        "{reason}"
    );
}

#[test]
fn wrong_types_and_values_are_named() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "quantity as string",
            |v| v["lines"][0]["quantity"] = json!("two"),
            "lines[0].quantity",
        ),
        ("amount as number", |v| v["total"] = json!(48.13), "total"),
        (
            "bad uid",
            |v| v["store_uid"] = json!("store-1"),
            "store_uid",
        ),
        (
            "bad currency",
            |v| v["currency_code"] = json!("US Dollar"),
            "currency_code",
        ),
        (
            "bad timestamp",
            |v| v["occurred_ts"] = json!("14/03/2025"),
            "occurred_ts",
        ),
        ("lines not a list", |v| v["lines"] = json!({}), "lines"),
        (
            "empty order number",
            |v| v["order_number"] = json!(" "),
            "order_number",
        ),
    ];
    for (name, edit, field) in cases {
        let mut value = payment();
        edit(&mut value);
        let (kind, reason) = rejection(StreamName::Commerce, value);
        assert_eq!(kind, RejectionKind::InvalidField, "{name}: {reason}");
        assert!(reason.contains(&format!("`{field}`")), "{name}: {reason}");
    }
}

#[test]
fn unknown_event_types_list_the_allowed_ones() {
    let mut value = payment();
    value["event_type"] = json!("order_exploded");
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::UnknownEventType);
    assert!(reason.contains("order_exploded"), "{reason}");
    for allowed in StreamName::Commerce.event_types() {
        assert!(reason.contains(allowed), "{reason} lacks {allowed}");
    }

    // A valid type of another stream is still unknown here.
    let mut value = serde_json::to_value(publication("click")).expect("encodes");
    value["event_type"] = json!("order_created");
    let (kind, _) = rejection(StreamName::Publication, value);
    assert_eq!(kind, RejectionKind::UnknownEventType);
}

#[test]
fn unknown_and_foreign_fields_are_rejected() {
    let mut value = payment();
    value["order_uuid"] = json!("ord_01JNZ6S1Q7J5W4X3V2T1R0P9N8");
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::UnknownField);
    assert!(reason.contains("order_uuid"), "{reason}");

    let mut value = payment();
    value["lines"][0]["colour"] = json!("red");
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::UnknownField);
    assert!(
        reason.starts_with("unknown field `lines[0].colour`"),
        "{reason}"
    );

    let mut value = payment();
    value["fulfillment_uid"] = json!("ful_01JNZ6S1Q7J5W4X3V2T1R0P9N8");
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::UnknownField);
    assert!(
        reason.contains("fulfillment_uid") && reason.contains("fulfillment_shipped"),
        "{reason}"
    );
}

#[test]
fn future_timestamps_beyond_the_allowance_are_rejected() {
    let mut value = payment();
    value["occurred_ts"] = json!("2025-03-14T09:31:30Z"); // 3m37s after now(): within 5 min
    assert_eq!(
        check_one(StreamName::Commerce, value.clone())
            .accepted
            .len(),
        1
    );

    value["occurred_ts"] = json!("2025-03-14T11:27:53Z"); // 2 h after now()
    let (kind, reason) = rejection(StreamName::Commerce, value);
    assert_eq!(kind, RejectionKind::FutureTimestamp);
    assert!(
        reason.contains("occurred_ts") && reason.contains("2h") && reason.contains("5m"),
        "{reason}"
    );

    // Old events (backfills) are fine.
    let mut value = payment();
    value["occurred_ts"] = json!("2019-01-01T00:00:00Z");
    assert_eq!(check_one(StreamName::Commerce, value).accepted.len(), 1);
}

#[test]
fn unsupported_schema_versions_are_rejected() {
    let mut value = payment();
    value["schema_version"] = json!(2);
    let (kind, reason) = rejection(StreamName::Commerce, value.clone());
    assert_eq!(kind, RejectionKind::UnsupportedSchemaVersion);
    assert!(reason.contains("schema_version 2"), "{reason}");

    value.as_object_mut().map(|o| o.remove("schema_version"));
    assert_eq!(
        check_one(StreamName::Commerce, value).accepted.len(),
        1,
        "absent means current"
    );
}

#[test]
fn ndjson_reports_malformed_lines_with_their_number() {
    let good = serde_json::to_string(&publication("view")).expect("encodes");
    let body = format!("{good}\r\n\n{{\"event_type\": \"click\",\n{good}\n[1, 2]\n   \n{good}");
    let outcome = validate_batch(
        StreamName::Publication,
        body.as_bytes(),
        BatchFormat::Ndjson,
        now(),
        &Limits::default(),
    )
    .expect("not refused");
    assert_eq!(outcome.received(), 5, "blank lines are not events");
    assert_eq!(outcome.accepted.len(), 3);
    assert_eq!(
        outcome.accepted.iter().map(|a| a.index).collect::<Vec<_>>(),
        vec![0, 2, 4]
    );
    let malformed = &outcome.rejected[0];
    assert_eq!(malformed.index, 1);
    assert_eq!(malformed.line, Some(3));
    assert_eq!(malformed.kind, RejectionKind::MalformedJson);
    assert!(malformed.reason.contains("line 3"), "{}", malformed.reason);
    let array = &outcome.rejected[1];
    assert_eq!((array.index, array.line), (3, Some(5)));
    assert_eq!(array.kind, RejectionKind::NotAnObject);
    assert!(array.reason.contains("found an array"), "{}", array.reason);
}

#[test]
fn mixed_batch_gives_exact_counts_in_body_order() {
    let mut bad_type = payment();
    bad_type["event_type"] = json!("nope");
    let mut missing = payment();
    missing.as_object_mut().map(|o| o.remove("currency_code"));
    let values = vec![
        payment(),
        bad_type,
        serde_json::to_value(commerce("order_created")).expect("encodes"),
        json!("not an event"),
        serde_json::to_value(commerce("return_requested")).expect("encodes"),
        missing,
        serde_json::to_value(commerce("fulfillment_shipped")).expect("encodes"),
    ];
    let outcome = check(StreamName::Commerce, &values);
    assert_eq!(outcome.accepted.len(), 4);
    assert_eq!(outcome.rejected.len(), 3);
    assert_eq!(
        outcome.accepted.iter().map(|a| a.index).collect::<Vec<_>>(),
        vec![0, 2, 4, 6]
    );
    assert_eq!(
        outcome
            .rejected
            .iter()
            .map(|r| (r.index, r.kind))
            .collect::<Vec<_>>(),
        vec![
            (1, RejectionKind::UnknownEventType),
            (3, RejectionKind::NotAnObject),
            (5, RejectionKind::MissingField),
        ]
    );
    let reply = serde_json::to_value(&outcome.rejected[0]).expect("serializes");
    assert_eq!(reply["kind"], "unknown_event_type");
    assert_eq!(reply["index"], 1);
}

#[test]
fn oversized_batches_are_refused_whole() {
    let limits = Limits::default();
    assert_eq!(limits.max_batch_bytes, 5 * 1024 * 1024);
    assert_eq!(limits.max_events, 10_000);
    assert_eq!(limits.max_future, TimeDelta::minutes(5));

    let body = vec![b' '; limits.max_batch_bytes + 1];
    let err = validate_batch(
        StreamName::Commerce,
        &body,
        BatchFormat::Ndjson,
        now(),
        &limits,
    )
    .expect_err("too large");
    assert!(matches!(err, BatchError::TooLarge { .. }));
    assert!(err.to_string().contains("5242881 bytes"), "{err}");

    let body = "{}\n".repeat(limits.max_events + 1);
    let err = validate_batch(
        StreamName::Sync,
        body.as_bytes(),
        BatchFormat::Ndjson,
        now(),
        &limits,
    )
    .expect_err("too many");
    assert_eq!(
        err,
        BatchError::TooManyEvents {
            count: 10_001,
            limit: 10_000
        }
    );

    let tight = Limits {
        max_events: 2,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&vec![json!({}); 3]).expect("encodes");
    let err = validate_batch(
        StreamName::Sync,
        &body,
        BatchFormat::JsonArray,
        now(),
        &tight,
    )
    .expect_err("too many");
    assert!(err.to_string().contains("at most 2"), "{err}");

    // Exactly at the limit is fine: every event gets a verdict.
    let body = "{}\n".repeat(limits.max_events);
    let outcome = validate_batch(
        StreamName::Sync,
        body.as_bytes(),
        BatchFormat::Ndjson,
        now(),
        &limits,
    )
    .expect("at the limit");
    assert_eq!(outcome.rejected.len(), 10_000);
}

#[test]
fn json_bodies_that_are_not_arrays_are_refused_whole() {
    let err = validate_batch(
        StreamName::Commerce,
        b"[{\"event_type\": \"order_created\",\n  ",
        BatchFormat::JsonArray,
        now(),
        &Limits::default(),
    )
    .expect_err("malformed");
    match &err {
        BatchError::MalformedJson { line, .. } => assert_eq!(*line, 2),
        other => panic!("{other:?}"),
    }
    let err = validate_batch(
        StreamName::Commerce,
        b"{\"event_type\": \"order_created\"}",
        BatchFormat::JsonArray,
        now(),
        &Limits::default(),
    )
    .expect_err("object");
    assert_eq!(err, BatchError::NotAnArray { found: "an object" });

    let outcome = validate_batch(
        StreamName::Commerce,
        b" [ ] ",
        BatchFormat::JsonArray,
        now(),
        &Limits::default(),
    )
    .expect("empty array");
    assert_eq!(outcome.received(), 0);
}

#[test]
fn hostile_values_do_not_bloat_reasons() {
    let mut value = payment();
    value["event_type"] = json!("x".repeat(100_000));
    let (_, reason) = rejection(StreamName::Commerce, value);
    assert!(reason.chars().count() <= 500, "{} chars", reason.len());
}

#[test]
fn content_types_map_to_formats() {
    assert_eq!(
        BatchFormat::from_content_type("application/json"),
        Some(BatchFormat::JsonArray)
    );
    assert_eq!(
        BatchFormat::from_content_type("Application/JSON; charset=utf-8"),
        Some(BatchFormat::JsonArray)
    );
    assert_eq!(
        BatchFormat::from_content_type("application/x-ndjson"),
        Some(BatchFormat::Ndjson)
    );
    assert_eq!(
        BatchFormat::from_content_type("application/jsonl"),
        Some(BatchFormat::Ndjson)
    );
    assert_eq!(BatchFormat::from_content_type("text/plain"), None);
}
