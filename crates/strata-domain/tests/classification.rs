//! The classification spec store end to end, on the real PostgreSQL server and on the embedded
//! engine: the defaults as version 0, versions kept and superseded, `spec_at` over time,
//! concurrent puts, `If-Match`-style puts, the seeded version 1 and the audit row.

mod common;

use chrono::{Duration, Utc};
use serde_json::json;
use strata_domain::Database;
use strata_domain::audit::AuditContext;
use strata_domain::classification::{
    self, ClassificationSpec, Phase, SpecVersion, StoreError, Tier, ValidSpec,
};
use strata_schema::{SchemaSource, migrate};

async fn apply(db: &Database) {
    let mut client = db.client().await.expect("a connection");
    migrate::apply(&mut client, &SchemaSource::embedded(), |_, _, _| {})
        .await
        .expect("apply the embedded schema");
}

fn spec(t7: i64, precedence: [Tier; 4]) -> ValidSpec {
    ClassificationSpec {
        top_riser_7_day_threshold: t7,
        precedence: precedence.to_vec(),
        ..ClassificationSpec::default()
    }
    .validate()
    .expect("a valid spec")
}

async fn count(db: &Database, sql: &str) -> i64 {
    let client = db.client().await.expect("a connection");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// The whole life of the spec; the same on both engines.
async fn lifecycle(db: &Database) {
    // Before any put: the defaults as version 0, nothing stored.
    let v0 = classification::current(db).await.expect("current");
    assert_eq!(v0, SpecVersion::builtin(Phase::Active));
    assert_eq!(v0.spec, ValidSpec::default());
    assert_eq!(v0.effective_ts, chrono::DateTime::<Utc>::UNIX_EPOCH);
    let all = classification::versions(db).await.expect("versions");
    assert_eq!(all, vec![SpecVersion::builtin(Phase::Active)]);
    assert_eq!(
        classification::spec_at(db, Utc::now())
            .await
            .expect("at")
            .version,
        0
    );

    let before_v1 = Utc::now();
    let first = spec(
        15,
        [
            Tier::TopRiser,
            Tier::Winner,
            Tier::ArchiveCandidate,
            Tier::Banana,
        ],
    );
    let v1 = classification::put(db, &first, None).await.expect("put v1");
    assert_eq!((v1.version, v1.phase), (1, Phase::Active));
    assert!(v1.uid.as_deref().is_some_and(|u| u.starts_with("mda_")));
    assert!(v1.effective_ts >= before_v1 - Duration::seconds(5));
    assert_eq!(classification::current(db).await.expect("current"), v1);

    let second = spec(25, Tier::ALL);
    let v2 = classification::put(db, &second, None)
        .await
        .expect("put v2");
    assert_eq!(v2.version, 2);
    assert!(v2.effective_ts > v1.effective_ts);
    let third = spec(35, Tier::ALL);
    let v3 = classification::put(db, &third, None).await.expect("put v3");
    assert_eq!(v3.version, 3);

    let current = classification::current(db).await.expect("current");
    assert_eq!(current, v3);
    assert_eq!(current.spec.top_riser_7_day_threshold, 35);

    // Every version kept, newest first; the older ones superseded, version 0 last.
    let all = classification::versions(db).await.expect("versions");
    let summary: Vec<(i32, Phase, i64)> = all
        .iter()
        .map(|v| (v.version, v.phase, v.spec.top_riser_7_day_threshold))
        .collect();
    assert_eq!(
        summary,
        vec![
            (3, Phase::Active, 35),
            (2, Phase::Superseded, 25),
            (1, Phase::Superseded, 15),
            (0, Phase::Superseded, 10),
        ]
    );
    assert_eq!(all[2].spec.precedence()[0], Tier::TopRiser);
    // One catalog, created on the first put; the superseded rows carry the condition.
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM macrodata_catalog WHERE name = 'performance'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM macrodata_artifact WHERE status -> 'conditions' @> \
             '[{\"type\": \"Superseded\", \"reason\": \"NewVersion\"}]'"
        )
        .await,
        2
    );

    // The version in force at a past time.
    let at = |ts| classification::spec_at(db, ts);
    assert_eq!(
        at(v1.effective_ts - Duration::seconds(1))
            .await
            .unwrap()
            .version,
        0
    );
    assert_eq!(at(v1.effective_ts).await.unwrap().version, 1);
    let between = v1.effective_ts + (v2.effective_ts - v1.effective_ts) / 2;
    assert_eq!(at(between).await.unwrap().version, 1);
    assert_eq!(at(v2.effective_ts).await.unwrap().version, 2);
    assert_eq!(at(Utc::now()).await.unwrap(), v3);

    // A put that expects an older version writes nothing.
    let err = classification::put_if_current(db, &first, None, 2)
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            StoreError::VersionMismatch {
                expected: 2,
                current: 3
            }
        ),
        "{err}"
    );
    let v4 = classification::put_if_current(db, &first, None, 3)
        .await
        .expect("fresh");
    assert_eq!(v4.version, 4);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM macrodata_artifact WHERE kind = 'classification_spec'"
        )
        .await,
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_on_postgres() {
    let (db, _tdb, _dir) = common::open_server().await;
    apply(&db).await;
    lifecycle(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_on_the_embedded_engine() {
    let (db, _dir) = common::open_embedded().await;
    apply(&db).await;
    lifecycle(&db).await;
    db.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_puts_get_distinct_versions() {
    let (db, _tdb, _dir) = common::open_server().await;
    apply(&db).await;
    let db = std::sync::Arc::new(db);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                classification::put(&db, &spec(i, Tier::ALL), None)
                    .await
                    .expect("put")
            })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.expect("task").version);
    }
    got.sort();
    assert_eq!(got, (1..=8).collect::<Vec<_>>());
    let all = classification::versions(&db).await.expect("versions");
    assert_eq!(all.len(), 9);
    assert_eq!(
        all.iter().filter(|v| v.phase == Phase::Active).count(),
        1,
        "exactly one active version"
    );
    // Effective times increase with the version.
    assert!(
        all.windows(2)
            .all(|w| w[0].effective_ts > w[1].effective_ts)
    );
    assert_eq!(all[0].version, 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_store_has_version_one_and_puts_are_audited() {
    let (db, _tdb, _dir) = common::open_server().await;
    apply(&db).await;
    // The synthetic store seeds version 1 into the same catalog.
    let client = db.client().await.expect("a connection");
    client
        .batch_execute(
            "INSERT INTO macrodata_catalog (uid, name, catalog_kind) \
               VALUES ('mdc_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'performance', 'team'); \
             INSERT INTO macrodata_artifact (uid, catalog_uid, kind, name, artifact_version, spec, effective_ts) \
               VALUES ('mda_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'mdc_01ARZ3NDEKTSV4RRFFQ69G5FAV', \
                       'classification_spec', 'default', 1, \
                       '{\"top_riser_7_day_threshold\": 10, \"top_riser_14_day_threshold\": 20, \
                         \"winner_30_day_threshold\": 30, \"banana_count\": 10, \
                         \"precedence\": [\"winner\", \"top_riser\", \"archive_candidate\", \"banana\"]}', \
                       '2026-01-01T00:00:00Z')",
        )
        .await
        .expect("seed version 1");
    drop(client);
    let v1 = classification::current(&db).await.expect("current");
    assert_eq!(v1.version, 1);
    assert_eq!(v1.spec, ValidSpec::default());
    let context = AuditContext {
        actor_principal_uid: Some("prn_01ARZ3NDEKTSV4RRFFQ69G5FAV".into()),
        request_id: Some("req-1".into()),
        ..AuditContext::default()
    };
    let v2 = classification::put(&db, &spec(11, Tier::ALL), Some(&context))
        .await
        .expect("put");
    assert_eq!(v2.version, 2);
    assert_eq!(
        v2.owner_principal_uid.as_deref(),
        Some("prn_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    );
    let client = db.client().await.expect("a connection");
    let row = client
        .query_one(
            "SELECT target_key, change FROM audit_event WHERE target_table = 'macrodata_artifact'",
            &[],
        )
        .await
        .expect("one audit row");
    assert_eq!(row.get::<_, String>(0), v2.uid.clone().unwrap());
    let change: serde_json::Value = row.get(1);
    assert_eq!(change["after"]["artifact_version"], 2);
    assert_eq!(
        change["superseded"],
        json!(["mda_01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    );
    // The seeded version applied before the put, the defaults before the seed.
    let at = |s: &str| classification::spec_at(&db, s.parse().expect("ts"));
    assert_eq!(at("2026-06-01T00:00:00Z").await.unwrap().version, 1);
    assert_eq!(at("2025-12-31T23:59:59Z").await.unwrap().version, 0);
    // A corrupt row written around the store is reported, not used.
    client
        .batch_execute(
            "UPDATE macrodata_artifact SET spec = '{\"banana_count\": -1}' WHERE artifact_version = 2",
        )
        .await
        .expect("corrupt");
    let err = classification::current(&db).await.expect_err("corrupt");
    assert!(
        matches!(err, StoreError::Corrupt { version: 2, .. }),
        "{err}"
    );
}
