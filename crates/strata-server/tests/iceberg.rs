//! The lake's Iceberg REST catalog at `/iceberg` behind Strata's real API keys (PostgreSQL):
//! 401 without a valid key, scopes per namespace (a telemetry namespace needs its stream's
//! module scope, others `*`), the Iceberg error model rather than problem+json, and none of it in
//! `/openapi.json`.

mod common;

use common::{Options, start_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn iceberg_error(answer: &common::Answer, status: StatusCode, kind: &str) {
    let (got, headers, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert!(
        !common::is_problem(headers),
        "Iceberg errors are not problem+json"
    );
    assert_eq!(body["error"]["code"], json!(status.as_u16()), "{body}");
    assert_eq!(body["error"]["type"], json!(kind), "{body}");
}

async fn call(
    s: &common::Server,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> common::Answer {
    s.req(method, &format!("/iceberg{path}"), key, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lake_catalog_is_served_behind_api_keys() {
    let s = start_with(Options {
        lake: true,
        ..Options::default()
    })
    .await;
    let commerce = "/v1/namespaces/commerce/tables/telemetry";
    let sync = "/v1/namespaces/sync/tables/telemetry";

    // No key, an unknown key: 401 in the Iceberg model.
    iceberg_error(
        &call(&s, Method::GET, "/v1/config", None, None).await,
        StatusCode::UNAUTHORIZED,
        "NotAuthorizedException",
    );
    iceberg_error(
        &call(&s, Method::GET, commerce, Some("sk_nope_nope"), None).await,
        StatusCode::UNAUTHORIZED,
        "NotAuthorizedException",
    );

    // Any valid key reads the config and the namespace list.
    let (st, _, config) = call(
        &s,
        Method::GET,
        "/v1/config",
        Some(&s.product_read_key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{config}");
    let (st, _, list) = call(
        &s,
        Method::GET,
        "/v1/namespaces",
        Some(&s.product_read_key),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(
        list["namespaces"],
        json!([["commerce"], ["publication"], ["sync"]])
    );

    // commerce is the order module's: order:read loads it, product:read does not, and
    // order:read does not reach sync (governance).
    let (st, _, loaded) = call(&s, Method::GET, commerce, Some(&s.read_key), None).await;
    assert_eq!(st, StatusCode::OK, "{loaded}");
    assert!(
        loaded["metadata-location"]
            .as_str()
            .is_some_and(|l| l.ends_with(".metadata.json")),
        "{loaded}"
    );
    iceberg_error(
        &call(&s, Method::GET, commerce, Some(&s.product_read_key), None).await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    iceberg_error(
        &call(&s, Method::GET, sync, Some(&s.read_key), None).await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    let (st, _, _) = call(&s, Method::GET, sync, Some(&s.admin_key), None).await;
    assert_eq!(st, StatusCode::OK);

    // Commits need the write scope of the namespace's module.
    let commit = json!({
        "requirements": [{"type": "assert-table-uuid", "uuid": loaded["metadata"]["table-uuid"]}],
        "updates": [{"action": "set-properties", "updates": {"owner": "ops"}}],
    });
    iceberg_error(
        &call(
            &s,
            Method::POST,
            commerce,
            Some(&s.read_key),
            Some(commit.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    let (st, _, committed) =
        call(&s, Method::POST, commerce, Some(&s.order_key), Some(commit)).await;
    assert_eq!(st, StatusCode::OK, "{committed}");
    assert_eq!(committed["metadata"]["properties"]["owner"], json!("ops"));

    // A namespace outside the streams takes `*:write` to create.
    let scratch = json!({"namespace": ["scratch"]});
    iceberg_error(
        &call(
            &s,
            Method::POST,
            "/v1/namespaces",
            Some(&s.order_key),
            Some(scratch.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    let (st, _, _) = call(
        &s,
        Method::POST,
        "/v1/namespaces",
        Some(&s.admin_key),
        Some(scratch),
    )
    .await;
    assert_eq!(st, StatusCode::OK);

    // Errors of the mount itself are in the Iceberg model too; the API's stay problem+json.
    iceberg_error(
        &call(&s, Method::GET, "/v1/nothing", Some(&s.admin_key), None).await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    );
    let (st, headers, _) = s.get("/v1/nothing/at/all/here").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(common::is_problem(&headers));

    // Not part of Strata's own API description.
    let doc = s.openapi().await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|p| !p.starts_with("/iceberg")),
        "{:?}",
        paths.keys()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_lake_there_is_no_iceberg_endpoint() {
    let s = start_with(Options::default()).await;
    let (st, headers, _) = s.get("/iceberg/v1/config").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(common::is_problem(&headers));
}
