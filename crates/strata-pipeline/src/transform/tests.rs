//! The SQL subset: what loads, what is refused at load (naming the construct), and what each
//! event becomes (passed, filtered, or rejected with a reason).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use strata_events::{Delivery, Envelope, Event, EventSource, StreamName, SyncBody, SyncOutcome};

use super::{KIND_OUTPUT_INVALID, KIND_TRANSFORM_ERROR, Transform, TransformError, Verdict};

fn sync_event(i: u64, step: Option<&str>, error: Option<&str>) -> Event {
    Envelope::new(
        EventSource::parse("strata-sync").expect("source"),
        Utc.with_ymd_and_hms(2025, 3, 14, 9, 0, 0)
            .single()
            .expect("ts")
            + chrono::Duration::minutes(i as i64),
        SyncBody {
            run_id: format!("run_{i}"),
            workflow: "daily_shopify_sync".to_owned(),
            step: step.map(str::to_owned),
            attempt: (i % 3 + 1) as u32,
            outcome: if error.is_some() {
                SyncOutcome::Retried
            } else {
                SyncOutcome::StepCompleted
            },
            record_counts: BTreeMap::from([("orders".to_owned(), i as i64)]),
            watermark: None,
            duration_ms: 1_000 + i,
            error: error.map(str::to_owned),
        },
    )
    .into()
}

fn sync(sql: &str) -> Transform {
    Transform::parse(StreamName::Sync, sql).unwrap_or_else(|e| panic!("{sql}\n→ {e}"))
}

fn refused(sql: &str) -> TransformError {
    match Transform::parse(StreamName::Sync, sql) {
        Ok(_) => panic!("expected a load error for {sql}"),
        Err(e) => e,
    }
}

fn passed(v: &Verdict) -> bool {
    matches!(v, Verdict::Pass(_))
}

fn projected(v: Verdict) -> serde_json::Value {
    match v {
        Verdict::Pass(Some(e)) => serde_json::to_value(&*e).expect("json"),
        other => panic!("expected a projected event, got {other:?}"),
    }
}

#[test]
fn identity_passes_events_untouched() {
    let t = sync("INSERT INTO sync.telemetry SELECT * FROM sync_telemetry");
    assert!(t.is_identity());
    assert_eq!(
        t.evaluate(&sync_event(1, Some("a"), None)),
        Verdict::Pass(None)
    );
    assert!(Transform::identity(StreamName::Sync).is_identity());
    let again = Transform::parse(StreamName::Sync, &super::identity_sql(StreamName::Sync))
        .expect("the identity definition parses");
    assert!(again.is_identity());
}

#[test]
fn where_filters_with_sql_semantics() {
    let t = sync(
        "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry \
         WHERE duration_ms >= 1002 AND attempt IN (1, 2) AND step IS NOT NULL",
    );
    // attempt = i % 3 + 1; duration = 1000 + i.
    assert_eq!(
        t.evaluate(&sync_event(1, Some("s"), None)),
        Verdict::Filtered
    ); // 1001
    assert_eq!(
        t.evaluate(&sync_event(3, Some("s"), None)),
        Verdict::Pass(None)
    ); // attempt 1
    assert_eq!(
        t.evaluate(&sync_event(5, Some("s"), None)),
        Verdict::Filtered
    ); // attempt 3
    assert_eq!(t.evaluate(&sync_event(3, None, None)), Verdict::Filtered); // step NULL
    // NULL in a comparison filters, it does not reject.
    let t = sync("INSERT INTO sync.telemetry SELECT * FROM sync_telemetry WHERE step = 'x'");
    assert_eq!(t.evaluate(&sync_event(1, None, None)), Verdict::Filtered);
}

#[test]
fn text_meets_numbers_and_timestamps_by_implicit_cast() {
    let ev = sync_event(4, Some("upsert_orders"), None);
    for (cond, expect) in [
        ("run_id = 'run_4'", true),
        ("occurred_ts >= TIMESTAMP '2025-03-14 09:04:00'", true),
        ("occurred_ts < '2025-03-14T09:03:00Z'", false),
        ("CAST(occurred_ts AS TIMESTAMP) > '2025-03-14'", true),
        ("duration_ms BETWEEN 1000 AND 1004", true),
        ("duration_ms NOT BETWEEN 1000 AND 1004", false),
        ("step LIKE 'upsert%'", true),
        ("step ILIKE 'UPSERT_%' OR step LIKE '_psert_orders'", true),
        (
            "lower(upper(workflow)) = workflow AND length(step) = 13",
            true,
        ),
        ("coalesce(error, watermark, 'none') = 'none'", true),
        ("duration_ms / 2 = 502", true),
        ("duration_ms % 3 = 2", true),
        ("(duration_ms - 4) * 2 = 2000", true),
        ("-duration_ms < 0 AND NOT (attempt > 5)", true),
        (
            "workflow || ':' || step = 'daily_shopify_sync:upsert_orders'",
            true,
        ),
        ("record_counts->>'orders' = '4'", true),
        ("record_counts->'orders' = 4", true),
        ("payload->'record_counts'->>'orders' = '4'", true),
        ("payload.record_counts.orders = 4", true),
        ("sync_telemetry.run_id = 'run_4'", true),
        ("record_counts->>'missing' IS NULL", true),
        ("CAST(record_counts->>'orders' AS INTEGER) + 1 = 5", true),
        ("CAST('12.3456' AS DECIMAL(6,2)) = 12.35", true),
        ("TRY_CAST(run_id AS BIGINT) IS NULL", true),
        ("run_id::VARCHAR = 'run_4'", true),
        ("CAST('yes' AS BOOLEAN) IS TRUE", true),
        ("duration_ms / 0.5 = 2008", true),
    ] {
        let t = sync(&format!(
            "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry WHERE {cond}"
        ));
        assert_eq!(passed(&t.evaluate(&ev)), expect, "WHERE {cond}");
    }
}

#[test]
fn failures_reject_with_the_expression_in_the_reason() {
    let t = sync(
        "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry WHERE CAST(run_id AS BIGINT) > 3",
    );
    match t.evaluate(&sync_event(1, None, None)) {
        Verdict::Rejected { kind, reason } => {
            assert_eq!(kind, KIND_TRANSFORM_ERROR);
            assert!(reason.contains("CAST(run_id AS BIGINT)"), "{reason}");
            assert!(reason.contains("`run_1` is not a valid BIGINT"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    for cond in [
        "run_id > 3",
        "duration_ms / 0 = 1",
        "run_id",
        "CAST(attempt AS TINYINT) + 9223372036854775807 > 0",
    ] {
        let t = sync(&format!(
            "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry WHERE {cond}"
        ));
        assert!(
            matches!(
                t.evaluate(&sync_event(1, None, None)),
                Verdict::Rejected { .. }
            ),
            "WHERE {cond}"
        );
    }
}

#[test]
fn projection_drops_renames_and_casts_fields() {
    let t = sync(
        "INSERT INTO sync.telemetry \
         SELECT * EXCLUDE (watermark, record_counts), upper(step) AS step, \
                CAST(duration_ms AS DECIMAL) * 2 AS duration_ms \
         FROM sync_telemetry",
    );
    let mut ev = sync_event(2, Some("load"), None);
    if let Event::Sync(s) = &mut ev {
        s.body.watermark = Some("cursor-9".to_owned());
    }
    let out = projected(t.evaluate(&ev));
    assert_eq!(out["step"], "LOAD");
    assert_eq!(out["duration_ms"], 2004);
    assert!(out.get("watermark").is_none());
    assert_eq!(out["record_counts"], serde_json::json!({}));
    assert_eq!(out["event_id"], ev.event_id().as_str());

    // Explicit columns: every required field must be there (checked at load).
    let t = sync(
        "INSERT INTO sync.telemetry \
         SELECT event_id, event_type, occurred_ts, source, run_id, workflow, attempt, duration_ms \
         FROM sync_telemetry",
    );
    let out = projected(t.evaluate(&sync_event(3, Some("x"), None)));
    assert!(out.get("step").is_none());
    assert_eq!(out["run_id"], "run_3");
}

#[test]
fn a_required_field_that_comes_out_null_rejects_the_event() {
    // `step` is NULL for some events, and the projection puts it into `run_id`.
    let t = sync("INSERT INTO sync.telemetry SELECT *, step AS run_id FROM sync_telemetry");
    assert!(passed(&t.evaluate(&sync_event(1, Some("s"), None))));
    match t.evaluate(&sync_event(1, None, None)) {
        Verdict::Rejected { kind, reason } => {
            assert_eq!(kind, KIND_OUTPUT_INVALID);
            assert!(reason.contains("missing field `run_id`"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A value out of the field's range is caught by the event's own decoder…
    let t = sync("INSERT INTO sync.telemetry SELECT *, attempt - 5 AS attempt FROM sync_telemetry");
    assert!(matches!(
        t.evaluate(&sync_event(1, None, None)),
        Verdict::Rejected {
            kind: KIND_OUTPUT_INVALID,
            ..
        }
    ));
    // …and text that cannot become the field's JSON type by the conversion to it.
    let t = sync("INSERT INTO sync.telemetry SELECT *, 'soon' AS attempt FROM sync_telemetry");
    match t.evaluate(&sync_event(1, None, None)) {
        Verdict::Rejected { kind, reason } => {
            assert_eq!(kind, KIND_TRANSFORM_ERROR);
            assert!(
                reason.contains("AS attempt") && reason.contains("`soon` is not an integer"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn apply_splits_a_batch_and_keeps_offsets() {
    let t = sync(
        "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry \
         WHERE CAST(step AS INTEGER) > 1",
    );
    let deliveries: Vec<Delivery> = [Some("1"), Some("2"), Some("x"), None, Some("3")]
        .iter()
        .enumerate()
        .map(|(i, s)| Delivery {
            offset: 10 + i as u64,
            event: sync_event(i as u64, *s, None),
        })
        .collect();
    let ids: Vec<String> = deliveries
        .iter()
        .map(|d| d.event.event_id().as_str().to_owned())
        .collect();
    let out = t.apply(deliveries, Utc::now());
    assert_eq!(
        out.passed.iter().map(|d| d.offset).collect::<Vec<_>>(),
        [11, 14]
    );
    assert_eq!(out.filtered, 2); // "1" (not > 1) and NULL
    assert_eq!(out.rejected.len(), 1);
    let r = &out.rejected[0];
    assert_eq!(r.offset, Some(12));
    assert_eq!(r.event_id.as_deref(), Some(ids[2].as_str()));
    assert_eq!(r.kind.as_deref(), Some(KIND_TRANSFORM_ERROR));
    assert!(
        r.reason.contains("`x` is not a valid INTEGER"),
        "{}",
        r.reason
    );
    assert!(r.raw.contains("\"step\":\"x\""), "{}", r.raw);
}

#[test]
fn everything_outside_the_subset_is_refused_by_name() {
    let base = "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry";
    for (sql, needle) in [
        ("SELECT * FROM sync_telemetry", "SELECT"),
        ("DELETE FROM sync.telemetry", "DELETE"),
        (&format!("{base}; {base}"), "2 statements"),
        (
            &format!("{base} WHERE run_id IN (SELECT 1)"),
            "IN with a subquery",
        ),
        (
            &format!("{base} WHERE CASE WHEN attempt > 1 THEN true ELSE false END"),
            "Case",
        ),
        (
            &format!("{base} WHERE regexp_matches(run_id, 'x')"),
            "regexp_matches",
        ),
        (&format!("{base} ORDER BY run_id"), "ORDER BY"),
        (&format!("{base} LIMIT 5"), "LIMIT"),
        (
            "INSERT INTO sync.telemetry SELECT DISTINCT * FROM sync_telemetry",
            "DISTINCT",
        ),
        (
            "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry a JOIN sync_telemetry b ON a.run_id = b.run_id",
            "JOIN",
        ),
        (
            "INSERT INTO sync.telemetry SELECT workflow, count(*) FROM sync_telemetry GROUP BY workflow",
            "GROUP BY",
        ),
        (
            "INSERT INTO sync.telemetry SELECT *, count(*) AS attempt FROM sync_telemetry",
            "count",
        ),
        (
            "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry GROUP BY workflow",
            "GROUP BY",
        ),
        (
            "WITH x AS (SELECT 1) INSERT INTO sync.telemetry SELECT * FROM sync_telemetry",
            "",
        ),
        (
            "INSERT INTO sync.telemetry (run_id) SELECT run_id FROM sync_telemetry",
            "column list",
        ),
        (
            &format!("{base} WHERE CAST(run_id AS DATE) > '2025-01-01'"),
            "DATE",
        ),
        (&format!("{base} WHERE run_id ~ 'x'"), "~"),
        (
            "INSERT INTO sync.telemetry SELECT * FROM sync_telemetry UNION ALL SELECT * FROM sync_telemetry",
            "UNION",
        ),
    ] {
        let e = refused(sql);
        assert!(
            e.to_string().contains(needle),
            "{sql}\n→ {e}\n(expected to mention {needle:?})"
        );
    }
}

#[test]
fn names_are_checked_against_the_stream() {
    assert!(matches!(
        refused("INSERT INTO commerce.telemetry SELECT * FROM sync_telemetry"),
        TransformError::WrongTable {
            expected: "sync.telemetry",
            ..
        }
    ));
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT * FROM commerce_telemetry"),
        TransformError::WrongSource { .. }
    ));
    // A typo would otherwise filter every event out.
    let e = refused("INSERT INTO sync.telemetry SELECT * FROM sync_telemetry WHERE wrokflow = 'x'");
    assert!(
        matches!(&e, TransformError::UnknownField { field, .. } if field == "wrokflow"),
        "{e}"
    );
    assert!(e.to_string().contains("workflow"), "lists the fields: {e}");
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT *, 1 AS shoe_size FROM sync_telemetry"),
        TransformError::UnknownField { .. }
    ));
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT *, lower(step) FROM sync_telemetry"),
        TransformError::NeedsName { .. }
    ));
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT * EXCLUDE (run_id) FROM sync_telemetry"),
        TransformError::MissingRequired { .. }
    ));
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT event_id, run_id FROM sync_telemetry"),
        TransformError::MissingRequired { .. }
    ));
    assert!(matches!(
        refused(
            "INSERT INTO sync.telemetry SELECT *, step AS run_id, step AS run_id FROM sync_telemetry"
        ),
        TransformError::DuplicateField { .. }
    ));
    assert!(matches!(
        refused("INSERT INTO sync.telemetry SELECT * FROM"),
        TransformError::Syntax(_)
    ));
    assert!(matches!(refused("-- nothing"), TransformError::Empty));
    // Quoted and upper-case names resolve as SQL says; an alias qualifies fields.
    sync(
        "insert into SYNC.TELEMETRY select * from SYNC_TELEMETRY AS s where s.\"run_id\" = 'x' and S.Workflow = 'y'",
    );
}

#[test]
fn like_patterns() {
    use super::eval::like_for_tests as like;
    assert!(like("abc", "abc"));
    assert!(like("abc", "a%"));
    assert!(like("abc", "%c"));
    assert!(like("abc", "%b%"));
    assert!(like("abc", "a_c"));
    assert!(like("", "%"));
    assert!(!like("abc", "a_"));
    assert!(!like("abc", "%d%"));
    assert!(like("aXbXc", "a%b%c"));
    assert!(like("mississippi", "m%iss%ppi"));
}

#[test]
fn the_built_in_definitions_load() {
    for stream in StreamName::ALL {
        let t = Transform::parse(stream, super::builtin_sql(stream))
            .unwrap_or_else(|e| panic!("{stream}: {e}"));
        assert!(
            t.is_identity(),
            "{stream}: the shipped definitions pass everything"
        );
    }
}
