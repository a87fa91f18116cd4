//! `GET/PUT /api/performance-metrics/settings/classification` and `…/versions` over HTTP on a real
//! PostgreSQL database: the defaults, new versions, history, If-Match, invalid specs (400 naming
//! the field, nothing written), scopes, and every answer against the document's schemas.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use strata_domain::identity::{Scopes, create_key};

use common::{Schemas, Server, is_problem};

const PATH: &str = "/api/performance-metrics/settings/classification";
const VERSIONS: &str = "/api/performance-metrics/settings/classification/versions";

fn defaults() -> Value {
    json!({
        "top_riser_7_day_threshold": 10,
        "top_riser_14_day_threshold": 20,
        "winner_30_day_threshold": 30,
        "banana_count": 10,
        "precedence": ["winner", "top_riser", "archive_candidate", "banana"],
    })
}

async fn key(s: &Server, scopes: &str) -> String {
    let mut client = s.db.client().await.expect("client");
    let (_, secret) = create_key(
        &mut **client,
        scopes,
        &Scopes::parse_list(scopes).expect("scopes"),
        None,
    )
    .await
    .expect("key");
    secret
}

async fn put(s: &Server, body: Value) -> common::Answer {
    s.req(Method::PUT, PATH, Some(&s.admin_key), Some(body))
        .await
}

async fn stored(s: &Server) -> i64 {
    let client = s.db.client().await.expect("client");
    client
        .query_one(
            "SELECT count(*) FROM macrodata_artifact WHERE kind = 'classification_spec'",
            &[],
        )
        .await
        .expect("count")
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn defaults_then_versions_over_http() {
    let s = common::start().await;
    let schemas = Schemas::of(&s.openapi().await);

    // Before any PUT: the defaults as version 0.
    let (st, h, v0) = s.get(PATH).await;
    assert_eq!(st, StatusCode::OK, "{v0}");
    schemas.assert_valid("ClassificationSpecVersion", &v0);
    assert_eq!(v0["version"], 0);
    assert_eq!(v0["uid"], Value::Null);
    assert_eq!(v0["phase"], "active");
    assert_eq!(v0["effective_ts"], "1970-01-01T00:00:00Z");
    assert_eq!(v0["spec"], defaults());
    assert_eq!(h["etag"], "\"classification-spec-v0\"");

    // PUT, then GET returns the new version.
    let mut first = defaults();
    first["top_riser_7_day_threshold"] = json!(12);
    first["precedence"] = json!(["top_riser", "winner", "banana", "archive_candidate"]);
    let (st, h, v1) = put(&s, first.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v1}");
    schemas.assert_valid("ClassificationSpecVersion", &v1);
    assert_eq!(
        (v1["version"].clone(), v1["phase"].clone()),
        (json!(1), json!("active"))
    );
    assert_eq!(v1["spec"], first);
    assert_eq!(v1["owner_principal_uid"], s.admin_principal.as_str());
    assert_eq!(h["etag"], "\"classification-spec-v1\"");
    let (_, _, got) = s.get(PATH).await;
    assert_eq!(got, v1);

    // Versions increase, every one is kept, the old one is superseded.
    let mut second = first.clone();
    second["banana_count"] = json!(3);
    let (st, _, v2) = put(&s, second.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    let (st, _, list) = s.get(VERSIONS).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    schemas.assert_valid("ClassificationSpecVersionList", &list);
    let summary: Vec<(i64, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["phase"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, "active".to_string()),
            (1, "superseded".to_string()),
            (0, "superseded".to_string())
        ]
    );
    assert_eq!(list["items"][1]["spec"], first);

    // If-Match: a stale version is refused, the current one accepted.
    let stale = s
        .http
        .put(s.url(PATH))
        .bearer_auth(&s.admin_key)
        .header("if-match", "\"classification-spec-v1\"")
        .json(&defaults())
        .send()
        .await
        .expect("request");
    let (st, h, body) = common::answer(stale).await;
    assert_eq!(st, StatusCode::PRECONDITION_FAILED, "{body}");
    assert!(is_problem(&h));
    let fresh = s
        .http
        .put(s.url(PATH))
        .bearer_auth(&s.admin_key)
        .header("if-match", "\"classification-spec-v2\"")
        .json(&defaults())
        .send()
        .await
        .expect("request");
    let (st, _, v3) = common::answer(fresh).await;
    assert_eq!(st, StatusCode::OK, "{v3}");
    assert_eq!(v3["version"], 3);
    assert_eq!(stored(&s).await, 3);

    // Each PUT wrote its audit row.
    let client = s.db.client().await.expect("client");
    let audited: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_event WHERE target_table = 'macrodata_artifact' \
               AND actor_principal_uid = $1",
            &[&s.admin_principal],
        )
        .await
        .expect("audit")
        .get(0);
    assert_eq!(audited, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_specs_are_400_naming_the_field_and_write_nothing() {
    let s = common::start().await;
    let with = |field: &str, value: Value| {
        let mut b = defaults();
        b[field] = value;
        b
    };
    let mut missing_field = defaults();
    missing_field
        .as_object_mut()
        .unwrap()
        .remove("winner_30_day_threshold");
    let cases = [
        (
            with(
                "precedence",
                json!(["winner", "winner", "top_riser", "banana"]),
            ),
            "precedence",
        ),
        (
            with("precedence", json!(["winner", "top_riser", "banana"])),
            "precedence",
        ),
        (
            with(
                "precedence",
                json!(["winner", "top_riser", "banana", "kiwi"]),
            ),
            "precedence[3]",
        ),
        (
            with("top_riser_7_day_threshold", json!(-1)),
            "top_riser_7_day_threshold",
        ),
        (with("banana_count", json!(10_000_000)), "banana_count"),
        (
            with("winner_30_day_threshold", json!("30")),
            "winner_30_day_threshold",
        ),
        (with("banana_count", json!(2.5)), "banana_count"),
        (with("precedence", json!({"winner": 1})), "precedence"),
        (with("colour", json!("red")), "colour"),
        (missing_field, "winner_30_day_threshold"),
        (json!([1, 2]), ""),
    ];
    for (body, field) in cases {
        let (st, h, problem) = put(&s, body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert!(is_problem(&h), "{body}");
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{problem}"))
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{body}: {problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{problem}");
    }
    // Malformed JSON and a wrong media type are refused before validation.
    let (st, _, _) = s.req(Method::PUT, PATH, Some(&s.admin_key), None).await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let raw = s
        .http
        .put(s.url(PATH))
        .bearer_auth(&s.admin_key)
        .header("content-type", "application/json")
        .body("{\"banana_count\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(common::answer(raw).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(stored(&s).await, 0, "nothing was written");
    let (_, _, current) = s.get(PATH).await;
    assert_eq!(current["version"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_needs_macrodata_read_and_writing_macrodata_write() {
    let s = common::start().await;
    let reader = key(&s, "macrodata:read").await;
    let writer = key(&s, "macrodata:write").await;
    // No key: 401. Another module's scope: 403.
    let (st, _, _) = s.req(Method::GET, PATH, None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    for path in [PATH, VERSIONS] {
        let (st, _, _) = s.req(Method::GET, path, Some(&s.read_key), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        let (st, _, _) = s.req(Method::GET, path, Some(&reader), None).await;
        assert_eq!(st, StatusCode::OK, "{path}");
    }
    let (st, _, _) = s
        .req(Method::PUT, PATH, Some(&reader), Some(defaults()))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, v) = s
        .req(Method::PUT, PATH, Some(&writer), Some(defaults()))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Unknown query parameters are a 400, as everywhere.
    let (st, _, _) = s.get(&format!("{PATH}?history=true")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}
