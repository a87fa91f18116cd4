//! The API through real HTTP against the real PostgreSQL server: CRUD, selectors, ETags, every
//! error class, auth, audit, and the scenario paths.

use reqwest::StatusCode;
use serde_json::{Value, json};
use strata_domain::identity::{Scopes, create_key, revoke_key};
use strata_events::EventLog;

mod common;

use common::{Options, is_problem, start, start_with};

#[tokio::test(flavor = "multi_thread")]
async fn crud_etags_and_audit() {
    let s = start().await;
    let (st, h, created) = s
        .post(
            "/v1/resources/product_tag",
            json!({"category_name": "style", "tag_name": "floral", "labels": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let uid = created["uid"].as_str().expect("uid").to_string();
    assert!(uid.starts_with("ptag_"));
    assert_eq!(
        h.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/v1/resources/product_tag/{uid}").as_str())
    );
    let etag = h
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_string();

    let (st, h, got) = s.get(&format!("/v1/resources/product_tag/{uid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(got, created);
    assert_eq!(
        h.get("etag").and_then(|v| v.to_str().ok()),
        Some(etag.as_str())
    );

    // Merge patch with the right ETag, then a lost update with the stale one.
    let patch = |etag: &str, body: Value| {
        s.http
            .patch(s.url(&format!("/v1/resources/product_tag/{uid}")))
            .bearer_auth(&s.admin_key)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", etag.to_string())
            .body(body.to_string())
            .send()
    };
    let r = patch(&etag, json!({"labels": {"region": "eu"}}))
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["labels"], json!({"tier": "gold", "region": "eu"}));
    let r = patch(&etag, json!({"tag_name": "x"})).await.expect("patch");
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);

    // Selector over HTTP.
    let (st, _, page) = s
        .get("/v1/resources/product_tag?labelSelector=tier%3Dgold,region%20in%20(eu,us)")
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));

    // Delete moves to the terminal phase; the status subresource shows it.
    let (st, _, deleted) = s
        .req(
            reqwest::Method::DELETE,
            &format!("/v1/resources/product_tag/{uid}"),
            Some(&s.admin_key),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(deleted["status"]["phase"], json!("archived"));
    let (st, _, status) = s
        .get(&format!("/v1/resources/product_tag/{uid}/status"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["phase"], json!("archived"));

    // Every write left an audit row with the caller's principal.
    let client = s.db.client().await.expect("client");
    let rows = client
        .query("SELECT action, actor_principal_uid FROM audit_event WHERE target_key = $1 ORDER BY occurred_ts", &[&uid])
        .await
        .expect("audit");
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, vec!["create", "update", "delete"]);
    assert!(rows.iter().all(|r| {
        r.get::<_, Option<String>>(1)
            .is_some_and(|p| p.starts_with("prn_"))
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_class_is_problem_json() {
    let s = start().await;
    s.post(
        "/v1/resources/product_tag",
        json!({"category_name": "a", "tag_name": "b"}),
    )
    .await;
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key)
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            s.http
                .get(s.url("/v1/resources/product_tag?limit=0"))
                .bearer_auth(&s.admin_key),
            StatusCode::BAD_REQUEST,
            "bad limit",
        ),
        (
            s.http
                .get(s.url("/v1/resources/product_tag/ptag_01HZY3K5V6W7X8Y9Z0ABCDEFGH"))
                .bearer_auth(&s.admin_key),
            StatusCode::NOT_FOUND,
            "unknown uid",
        ),
        (
            s.http
                .get(s.url("/v1/resources/nope"))
                .bearer_auth(&s.admin_key),
            StatusCode::NOT_FOUND,
            "unknown table",
        ),
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key)
                .json(&json!({"category_name": "a", "tag_name": "b"})),
            StatusCode::CONFLICT,
            "duplicate pair",
        ),
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key)
                .header("content-type", "text/plain")
                .body("x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong media type",
        ),
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key)
                // Just over the limit: a much larger body races the server's early 413 against the
                // client still writing (a reset connection instead of a response).
                .json(&json!({"category_name": "a", "tag_name": "c", "x": "y".repeat((1 << 20) + 64)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key)
                .json(&json!({"tag_name": 3, "bogus": true})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid fields",
        ),
        (
            s.http.get(s.url("/v1/resources/product_tag")),
            StatusCode::UNAUTHORIZED,
            "no key",
        ),
        (
            s.http
                .get(s.url("/v1/resources/product_tag"))
                .bearer_auth("sk_nope_nope"),
            StatusCode::UNAUTHORIZED,
            "wrong key",
        ),
        (
            s.http
                .post(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.product_read_key)
                .json(&json!({"category_name": "a", "tag_name": "z"})),
            StatusCode::FORBIDDEN,
            "read-only key writes",
        ),
        (
            s.http
                .get(s.url("/v1/resources/order_header"))
                .bearer_auth(&s.product_read_key),
            StatusCode::FORBIDDEN,
            "key of another module",
        ),
        (
            s.http
                .put(s.url("/v1/resources/product_tag"))
                .bearer_auth(&s.admin_key),
            StatusCode::METHOD_NOT_ALLOWED,
            "method",
        ),
        (
            s.http.get(s.url("/nowhere")),
            StatusCode::NOT_FOUND,
            "unknown path",
        ),
    ];
    for (req, want, what) in cases {
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let problem = is_problem(resp.headers());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, want, "{what}: {body}");
        assert!(problem, "{what}: not problem+json");
        assert_eq!(body["status"], json!(want.as_u16()), "{what}");
        if want == StatusCode::UNPROCESSABLE_ENTITY {
            let fields: Vec<&str> = body["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .filter_map(|e| e["field"].as_str())
                .collect();
            assert!(
                fields.contains(&"tag_name")
                    && fields.contains(&"bogus")
                    && fields.contains(&"category_name"),
                "{fields:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_keys_stop_working() {
    let s = start().await;
    let mut client = s.db.client().await.expect("client");
    let c: &mut tokio_postgres::Client = &mut client;
    let (info, key) = create_key(
        c,
        "temp",
        &Scopes::parse_list("*:read").expect("scope"),
        None,
    )
    .await
    .expect("key");
    let (st, _, _) = s
        .req(reqwest::Method::GET, "/v1/products", Some(&key), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    revoke_key(c, &info.uid).await.expect("revoke");
    let (st, h, _) = s
        .req(reqwest::Method::GET, "/v1/products", Some(&key), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(is_problem(&h));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_search_and_line_items() {
    let s = start().await;
    let ord = json!({
        "order_number": "#1042", "display_id": 1042, "store_uid": "sto_x", "currency_code": "usd",
        "email": "mia.chen@example.com", "item_total": "21.59", "subtotal": "19.99", "shipping_total": "0",
        "tax_total": "1.60", "total": "21.59", "quantity": 1, "placed_ts": "2026-11-27T10:00:00Z"
    });
    let (st, _, order) = s.post("/v1/resources/order_header", ord).await;
    assert_eq!(st, StatusCode::CREATED, "{order}");
    let ouid = order["uid"].as_str().expect("uid");
    let line = json!({"order_uid": ouid, "title": "Daisy Case", "quantity": 1, "unit_price": "19.99", "subtotal": "19.99",
        "discount_total": "0", "tax_total": "1.60", "total": "21.59"});
    let (st, _, line) = s.post("/v1/resources/order_line_item", line).await;
    assert_eq!(st, StatusCode::CREATED, "{line}");
    let (st, _, _) = s
        .post(
            "/v1/resources/order_line_item_tax_line",
            json!({"line_item_uid": line["uid"], "code": "US", "rate": "8", "amount": "1.60"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, _) = s
        .post("/v1/resources/order_address", json!({"order_uid": ouid, "address_role": "shipping", "first_name": "Mia", "last_name": "Chen"}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    for term in ["1042", "mia.chen", "Mia Chen"] {
        let (st, _, page) = s
            .get(&format!(
                "/v1/orders?search={}&include=lineItems",
                term.replace(' ', "%20")
            ))
            .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "search {term}");
        assert_eq!(
            items[0]["line_items"][0]["tax_lines"][0]["amount"],
            json!("1.6000")
        );
    }
    let (_, _, page) = s.get("/v1/orders?search=nobody").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
    let (st, _, lines) = s.get(&format!("/v1/orders/{ouid}/line-items")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(lines["items"][0]["total"], json!("21.5900"));
    let (st, _, doc) = s
        .req(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn publication_batches_are_validated_event_by_event_and_logged() {
    let s = start().await;
    let now = chrono::Utc::now().to_rfc3339();
    let good = json!({"event_type": "click", "occurred_ts": now, "source": "partner:pub_x",
        "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH"});
    let batch = json!([
        good,
        {"event_type": "teleport", "occurred_ts": now, "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH"},
        {"event_type": "impression", "occurred_ts": "2999-01-01T00:00:00Z", "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH"},
    ]);
    let (st, _, body) = s.post("/v1/telemetry/publication", batch).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["rejected_count"], json!(2), "{body}");
    let accepted = body["accepted_count"].as_u64().expect("count");
    // Whatever was accepted is in the durable log, nothing else.
    let stats = s
        .log
        .stats(strata_events::StreamName::Publication)
        .await
        .expect("stats");
    assert_eq!(stats.head_offset, accepted, "{body}");
    assert!(
        body["rejected"]
            .as_array()
            .expect("rejected")
            .iter()
            .all(|r| r["reason"].as_str().is_some_and(|x| !x.is_empty()))
    );
    let (st, h, _) = s.post("/v1/telemetry/nope", json!([])).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(is_problem(&h));
    let (st, _, _) = s
        .req(
            reqwest::Method::POST,
            "/v1/telemetry/publication",
            Some(&s.product_read_key.clone()),
            Some(json!([])),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_answers_503_past_the_backlog_bound_and_appends_nothing_of_the_refused_batch() {
    let s = start_with(Options {
        max_backlog: 3,
        ..Options::default()
    })
    .await;
    let now = chrono::Utc::now().to_rfc3339();
    let click = || {
        json!({"event_type": "click", "occurred_ts": now, "source": "partner:pub_x",
            "publisher_uid": "pub_01HZY3K5V6W7X8Y9Z0ABCDEFGH"})
    };
    let (st, _, body) = s
        .post(
            "/v1/telemetry/publication",
            json!([click(), click(), click()]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["accepted_count"], json!(3), "{body}");
    let (st, h, body) = s.post("/v1/telemetry/publication", json!([click()])).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(is_problem(&h));
    assert!(h.get("retry-after").is_some(), "{h:?}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3 events")),
        "{body}"
    );
    let log = &s.log;
    let stream = strata_events::StreamName::Publication;
    assert_eq!(log.stats(stream).await.expect("stats").head_offset, 3);
    // Once the lake consumer acknowledges, ingest is accepted again (after the cached
    // measurement expires).
    log.commit(stream, "lake", 3).await.expect("commit");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (st, _, body) = s.post("/v1/telemetry/publication", json!([click()])).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(log.stats(stream).await.expect("stats").head_offset, 4);
}
