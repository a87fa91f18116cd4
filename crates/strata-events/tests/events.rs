//! Events round-trip through their wire format, and the published JSON Schemas agree with the
//! decoder on what is valid.

mod common;

use common::{commerce, every_type, publication, sync};
use serde_json::{Value, json};
use strata_events::{
    CommerceEventType, Event, PublicationEventType, StreamName, SyncOutcome, json_schema,
};

fn validator(stream: StreamName) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&json_schema(stream))
        .expect("schema compiles")
}

#[test]
fn stream_names() {
    for (stream, wire, table, slug) in [
        (
            StreamName::Commerce,
            "COMMERCE_TELEMETRY",
            "commerce.telemetry",
            "commerce",
        ),
        (
            StreamName::Publication,
            "PUBLICATION_TELEMETRY",
            "publication.telemetry",
            "publication",
        ),
        (StreamName::Sync, "SYNC_TELEMETRY", "sync.telemetry", "sync"),
    ] {
        assert_eq!(stream.wire_name(), wire);
        assert_eq!(stream.lake_table(), table);
        assert_eq!(stream.slug(), slug);
        assert_eq!(StreamName::from_slug(slug), Some(stream));
        assert_eq!(slug.parse::<StreamName>().ok(), Some(stream));
        assert_eq!(wire.parse::<StreamName>().ok(), Some(stream));
        assert_eq!(serde_json::to_value(stream).ok(), Some(json!(wire)));
    }
    assert!("orders".parse::<StreamName>().is_err());
    assert_eq!(StreamName::Commerce.event_types(), CommerceEventType::NAMES);
    assert_eq!(
        StreamName::Publication.event_types(),
        PublicationEventType::NAMES
    );
    assert_eq!(StreamName::Sync.event_types(), SyncOutcome::NAMES);
}

#[test]
fn every_event_type_round_trips_through_json() {
    for event in every_type() {
        let json = event.to_json().expect("encodes");
        let back = Event::from_json(event.stream(), json.as_bytes())
            .unwrap_or_else(|e| panic!("{} does not decode: {e}\n{json}", event.event_type()));
        assert_eq!(back, event, "{}", event.event_type());
    }
}

#[test]
fn wire_format_is_flat_with_exact_decimal_strings() {
    let event = commerce("payment_captured");
    let value = serde_json::to_value(&event).expect("encodes");
    assert_eq!(value["event_type"], "payment_captured");
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["occurred_ts"], "2025-03-14T09:26:53Z");
    assert_eq!(value["source"], "strata-domain");
    assert_eq!(value["payment_amount"], "48.1300");
    assert_eq!(value["total"], "48.1300");
    assert_eq!(value["lines"][0]["unit_price"], "19.9900");
    assert_eq!(value["lines"][0]["quantity"], 2);
    assert_eq!(
        value["attribution"]["publisher_uid"],
        json!(
            event
                .body
                .attribution
                .as_ref()
                .map(|a| a.publisher_uid.as_str())
        )
    );
    assert!(
        value.get("fulfillment_uid").is_none(),
        "other types' fields stay out"
    );
    assert!(
        value["event_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_") && id.len() == 30)
    );

    let sync = serde_json::to_value(sync(SyncOutcome::StepCompleted)).expect("encodes");
    assert_eq!(
        sync["event_type"], "step_completed",
        "the outcome is the event type"
    );
    assert_eq!(sync["record_counts"]["orders"], 1204);

    let click = serde_json::to_value(publication("click")).expect("encodes");
    assert_eq!(click["device_type"], "mobile");
    assert!(
        click["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("partner:pub_"))
    );
}

#[test]
fn samples_conform_to_the_published_schemas() {
    for event in every_type() {
        let value = serde_json::to_value(&event).expect("encodes");
        let validator = validator(event.stream());
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{}: {errors:?}\n{value:#}",
            event.event_type()
        );
    }
}

/// Each case breaks a valid event in one way; the schema and the decoder must both refuse it.
#[test]
fn schema_and_decoder_agree_on_invalid_events() {
    let base_commerce = serde_json::to_value(commerce("payment_captured")).expect("encodes");
    let base_engagement = serde_json::to_value(publication("engagement")).expect("encodes");
    let base_sync = serde_json::to_value(sync(SyncOutcome::Started)).expect("encodes");

    type Edit = fn(&mut Value);
    let cases: Vec<(StreamName, &Value, &str, Edit)> = vec![
        (
            StreamName::Commerce,
            &base_commerce,
            "payment uid missing",
            |v| {
                v.as_object_mut().map(|o| o.remove("payment_uid"));
            },
        ),
        (StreamName::Commerce, &base_commerce, "foreign extra", |v| {
            v["return_uid"] = json!("ret_01JNZ6S1Q7J5W4X3V2T1R0P9N8");
        }),
        (
            StreamName::Commerce,
            &base_commerce,
            "amount as number",
            |v| {
                v["total"] = json!(48.13);
            },
        ),
        (StreamName::Commerce, &base_commerce, "five decimals", |v| {
            v["total"] = json!("48.13001");
        }),
        (
            StreamName::Commerce,
            &base_commerce,
            "bad uid prefix",
            |v| {
                v["order_uid"] = json!("ordx_01JNZ6S1Q7J5W4X3V2T1R0P9N8");
            },
        ),
        (
            StreamName::Commerce,
            &base_commerce,
            "upper-case currency",
            |v| {
                v["currency_code"] = json!("USD");
            },
        ),
        (StreamName::Commerce, &base_commerce, "unknown field", |v| {
            v["order_uuid"] = json!("x");
        }),
        (
            StreamName::Commerce,
            &base_commerce,
            "negative quantity",
            |v| {
                v["lines"][1]["quantity"] = json!(-1);
            },
        ),
        (StreamName::Commerce, &base_commerce, "unknown type", |v| {
            v["event_type"] = json!("order_exploded");
        }),
        (
            StreamName::Commerce,
            &base_commerce,
            "schema version 2",
            |v| {
                v["schema_version"] = json!(2);
            },
        ),
        (
            StreamName::Publication,
            &base_engagement,
            "engagement kind missing",
            |v| {
                v.as_object_mut().map(|o| o.remove("engagement_kind"));
            },
        ),
        (
            StreamName::Publication,
            &base_engagement,
            "bad device",
            |v| {
                v["device_type"] = json!("fridge");
            },
        ),
        (
            StreamName::Publication,
            &base_engagement,
            "country upper case",
            |v| {
                v["country_code"] = json!("DE");
            },
        ),
        (
            StreamName::Publication,
            &base_engagement,
            "hash not hex",
            |v| {
                v["session_key_hash"] = json!("not-a-hash");
            },
        ),
        (StreamName::Publication, &base_engagement, "ftp url", |v| {
            v["url"] = json!("ftp://example.com/x");
        }),
        (
            StreamName::Publication,
            &base_engagement,
            "publisher missing",
            |v| {
                v.as_object_mut().map(|o| o.remove("publisher_uid"));
            },
        ),
        (StreamName::Sync, &base_sync, "attempt zero", |v| {
            v["attempt"] = json!(0);
        }),
        (StreamName::Sync, &base_sync, "counts not integers", |v| {
            v["record_counts"] = json!({ "orders": "many" });
        }),
        (StreamName::Sync, &base_sync, "bad timestamp", |v| {
            v["occurred_ts"] = json!("yesterday");
        }),
    ];
    for (stream, base, name, edit) in cases {
        let mut value = base.clone();
        edit(&mut value);
        assert!(
            !validator(stream).is_valid(&value),
            "schema accepts `{name}`: {value:#}"
        );
        let bytes = serde_json::to_vec(&value).expect("encodes");
        assert!(
            Event::from_json(stream, &bytes).is_err(),
            "decoder accepts `{name}`"
        );
    }
}

#[test]
fn line_quantities_must_name_lines_of_the_event() {
    let mut value = serde_json::to_value(commerce("fulfillment_shipped")).expect("encodes");
    value["shipped_lines"][0]["line_item_uid"] = json!("ordli_01JNZ6S1Q7J5W4X3V2T1R0P9N8");
    let err = Event::from_json(StreamName::Commerce, value.to_string().as_bytes())
        .expect_err("unknown line");
    assert!(
        err.to_string().contains("is not one of the event's lines"),
        "{err}"
    );

    let mut value = serde_json::to_value(commerce("return_requested")).expect("encodes");
    value["returned_lines"][0]["quantity"] = json!(3);
    let err =
        Event::from_json(StreamName::Commerce, value.to_string().as_bytes()).expect_err("too many");
    assert!(
        err.to_string()
            .contains("between 1 and the line's quantity 2"),
        "{err}"
    );
}

#[test]
fn uid_prefixes_match_the_domain_schema() {
    use strata_events::*;
    let ddl_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema");
    let mut ddl = String::new();
    for entry in std::fs::read_dir(&ddl_dir).expect("schema/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "sql") {
            ddl.push_str(&std::fs::read_to_string(&path).expect("read DDL"));
        }
    }
    let uids: [(&str, &str); 17] = [
        (OrderUid::TABLE, OrderUid::PREFIX),
        (OrderLineItemUid::TABLE, OrderLineItemUid::PREFIX),
        (StoreUid::TABLE, StoreUid::PREFIX),
        (CustomerUid::TABLE, CustomerUid::PREFIX),
        (RegionUid::TABLE, RegionUid::PREFIX),
        (SalesChannelUid::TABLE, SalesChannelUid::PREFIX),
        (ProductUid::TABLE, ProductUid::PREFIX),
        (VariantUid::TABLE, VariantUid::PREFIX),
        (PaymentUid::TABLE, PaymentUid::PREFIX),
        (FulfillmentUid::TABLE, FulfillmentUid::PREFIX),
        (StockLocationUid::TABLE, StockLocationUid::PREFIX),
        (ReturnUid::TABLE, ReturnUid::PREFIX),
        (PublisherUid::TABLE, PublisherUid::PREFIX),
        (PublicationUid::TABLE, PublicationUid::PREFIX),
        (ReferralUid::TABLE, ReferralUid::PREFIX),
        (ReferralLinkUid::TABLE, ReferralLinkUid::PREFIX),
        (TelemetrySourceUid::TABLE, TelemetrySourceUid::PREFIX),
    ];
    for (table, prefix) in uids {
        let start = ddl
            .find(&format!("CREATE TABLE {table} ("))
            .unwrap_or_else(|| panic!("no table {table} in schema/"));
        let check = format!("uid ~ '^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$'");
        let body = &ddl[start..];
        let end = body.find(");").unwrap_or(body.len());
        assert!(
            body[..end].contains(&check),
            "table {table} does not use prefix {prefix}_"
        );
    }
}
