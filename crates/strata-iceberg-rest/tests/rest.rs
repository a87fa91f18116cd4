//! The Iceberg REST endpoint over real HTTP: status codes and the error model per the spec
//! (raw requests), and a full round trip through iceberg-rust's own REST client (the lake opened
//! with a REST catalog pointing at the server: tables created, events appended through commits,
//! read back) that agrees with the embedded catalog underneath.

mod common;

use std::collections::BTreeMap;

use common::{READ_TOKEN, WRITE_TOKEN};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use strata_events::StreamName;
use strata_lake::{
    CatalogConfig, Lake, LakeConfig, LakeTable, RestCatalogConfig, StorageConfig, WriteOptions,
    iceberg::NamespaceIdent,
};

#[path = "../../strata-lake/tests/common/mod.rs"]
mod events;

struct Http {
    base: String,
    client: Client,
}

impl Http {
    fn new(server: &common::Server) -> Self {
        Self {
            base: server.uri.clone(),
            client: Client::new(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(READ_TOKEN), None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(WRITE_TOKEN), Some(body))
            .await
    }
}

/// The body is the spec's error model with `code` = the status and the given type.
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, kind: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], json!(status.as_u16()), "{body}");
    assert_eq!(body["error"]["type"], json!(kind), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn schema() -> Value {
    json!({
        "type": "struct",
        "schema-id": 0,
        "fields": [
            {"id": 1, "name": "id", "required": true, "type": "long"},
            {"id": 2, "name": "amount", "required": false, "type": "decimal(20, 4)"},
        ],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn config_and_auth() {
    let server = common::start(false).await;
    let http = Http::new(&server);

    let (status, config) = http.get("/v1/config").await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert!(config["defaults"].is_object(), "{config}");
    assert!(config["overrides"].is_object(), "{config}");
    assert!(config["overrides"].get("prefix").is_none(), "{config}");
    let endpoints: Vec<&str> = config["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        endpoints.contains(&"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}"),
        "{config}"
    );
    // The catalog's own name as warehouse; an unknown warehouse is 404.
    assert_eq!(
        http.get("/v1/config?warehouse=strata").await.0,
        StatusCode::OK
    );
    assert_error(
        &http.get("/v1/config?warehouse=elsewhere").await,
        StatusCode::NOT_FOUND,
        "NoSuchWarehouseException",
    );

    // No token, a wrong one, a read token writing.
    assert_error(
        &http.call(Method::GET, "/v1/config", None, None).await,
        StatusCode::UNAUTHORIZED,
        "NotAuthorizedException",
    );
    assert_error(
        &http
            .call(Method::GET, "/v1/namespaces", Some("nope"), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "NotAuthorizedException",
    );
    assert_error(
        &http
            .call(
                Method::POST,
                "/v1/namespaces",
                Some(READ_TOKEN),
                Some(json!({"namespace": ["x"]})),
            )
            .await,
        StatusCode::FORBIDDEN,
        "ForbiddenException",
    );
    // Unknown routes and methods answer in the same model.
    assert_error(
        &http.get("/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "NotFoundException",
    );
    assert_error(
        &http
            .call(Method::PUT, "/v1/namespaces", Some(WRITE_TOKEN), None)
            .await,
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowedException",
    );
    assert_error(
        &http
            .call(
                Method::POST,
                "/v1/namespaces",
                Some(WRITE_TOKEN),
                Some(json!({"namespace": "not-a-list"})),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces() {
    let server = common::start(false).await;
    let http = Http::new(&server);

    let (status, created) = http
        .post(
            "/v1/namespaces",
            json!({"namespace": ["shop"], "properties": {"owner": "ops"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["namespace"], json!(["shop"]));
    assert_eq!(created["properties"]["owner"], json!("ops"));
    assert_error(
        &http
            .post("/v1/namespaces", json!({"namespace": ["shop"]}))
            .await,
        StatusCode::CONFLICT,
        "AlreadyExistsException",
    );
    // A nested namespace, addressed with the 0x1F separator.
    let (status, _) = http
        .post("/v1/namespaces", json!({"namespace": ["shop", "eu"]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, top) = http.get("/v1/namespaces").await;
    assert_eq!(top["namespaces"], json!([["shop"]]), "{top}");
    let (_, children) = http.get("/v1/namespaces?parent=shop").await;
    assert_eq!(
        children["namespaces"],
        json!([["shop", "eu"]]),
        "{children}"
    );
    let (status, nested) = http.get("/v1/namespaces/shop%1Feu").await;
    assert_eq!(status, StatusCode::OK, "{nested}");
    assert_eq!(nested["namespace"], json!(["shop", "eu"]));

    let (status, shop) = http.get("/v1/namespaces/shop").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shop["properties"]["owner"], json!("ops"));
    assert_error(
        &http.get("/v1/namespaces/nowhere").await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );
    assert_error(
        &http.get("/v1/namespaces?parent=nowhere").await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );
    let head = |path: &'static str| {
        let http = &http;
        async move {
            http.call(Method::HEAD, path, Some(READ_TOKEN), None)
                .await
                .0
        }
    };
    assert_eq!(head("/v1/namespaces/shop").await, StatusCode::NO_CONTENT);
    assert_eq!(head("/v1/namespaces/nowhere").await, StatusCode::NOT_FOUND);

    // Properties: set, remove, report the missing; a key in both lists is 422.
    let (status, change) = http
        .post(
            "/v1/namespaces/shop/properties",
            json!({"updates": {"tier": "gold"}, "removals": ["owner", "absent"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{change}");
    assert_eq!(change["updated"], json!(["tier"]));
    assert_eq!(change["removed"], json!(["owner"]));
    assert_eq!(change["missing"], json!(["absent"]));
    let (_, shop) = http.get("/v1/namespaces/shop").await;
    assert_eq!(shop["properties"]["tier"], json!("gold"));
    assert!(shop["properties"].get("owner").is_none(), "{shop}");
    assert_error(
        &http
            .post(
                "/v1/namespaces/shop/properties",
                json!({"updates": {"a": "1"}, "removals": ["a"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UnprocessableEntityException",
    );
    assert_error(
        &http
            .post("/v1/namespaces/nowhere/properties", json!({"updates": {}}))
            .await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );

    // Drop: 404 when absent, 409 while it has a table, 204 when empty.
    let (status, _) = http
        .post(
            "/v1/namespaces/shop/tables",
            json!({"name": "t", "schema": schema()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let delete = |path: &'static str| {
        let http = &http;
        async move {
            http.call(Method::DELETE, path, Some(WRITE_TOKEN), None)
                .await
        }
    };
    assert_error(
        &delete("/v1/namespaces/nowhere").await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );
    assert_error(
        &delete("/v1/namespaces/shop").await,
        StatusCode::CONFLICT,
        "NamespaceNotEmptyException",
    );
    assert_eq!(
        delete("/v1/namespaces/shop%1Feu").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete("/v1/namespaces/shop/tables/t").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete("/v1/namespaces/shop").await.0,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &http.get("/v1/namespaces/shop").await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_and_commits() {
    let server = common::start(false).await;
    let http = Http::new(&server);
    http.post("/v1/namespaces", json!({"namespace": ["shop"]}))
        .await;

    let create = json!({
        "name": "orders",
        "schema": schema(),
        "partition-spec": {"spec-id": 0, "fields": []},
        "write-order": {"order-id": 0, "fields": []},
        "properties": {"format-version": "2", "owner": "ops"},
    });
    let (status, created) = http
        .post("/v1/namespaces/shop/tables", create.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let location = created["metadata-location"].as_str().expect("location");
    assert!(location.starts_with("file:///"), "{location}");
    assert!(location.ends_with(".metadata.json"), "{location}");
    assert_eq!(created["metadata"]["format-version"], json!(2));
    assert_eq!(created["metadata"]["properties"]["owner"], json!("ops"));
    assert!(created["config"].is_object());
    assert_error(
        &http
            .post("/v1/namespaces/shop/tables", create.clone())
            .await,
        StatusCode::CONFLICT,
        "AlreadyExistsException",
    );
    assert_error(
        &http.post("/v1/namespaces/nowhere/tables", create).await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );

    let (_, list) = http.get("/v1/namespaces/shop/tables").await;
    assert_eq!(
        list["identifiers"],
        json!([{"namespace": ["shop"], "name": "orders"}])
    );
    assert_error(
        &http.get("/v1/namespaces/nowhere/tables").await,
        StatusCode::NOT_FOUND,
        "NoSuchNamespaceException",
    );
    let (status, loaded) = http.get("/v1/namespaces/shop/tables/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(loaded["metadata-location"], created["metadata-location"]);
    assert_eq!(
        loaded["metadata"]["table-uuid"],
        created["metadata"]["table-uuid"]
    );
    assert_error(
        &http.get("/v1/namespaces/shop/tables/missing").await,
        StatusCode::NOT_FOUND,
        "NoSuchTableException",
    );
    let head = http
        .call(
            Method::HEAD,
            "/v1/namespaces/shop/tables/orders",
            Some(READ_TOKEN),
            None,
        )
        .await;
    assert_eq!(head.0, StatusCode::NO_CONTENT);

    // A commit whose requirement holds: the new metadata is returned and loaded from then on.
    let uuid = loaded["metadata"]["table-uuid"].clone();
    let (status, committed) = http
        .post(
            "/v1/namespaces/shop/tables/orders",
            json!({
                "identifier": {"namespace": ["shop"], "name": "orders"},
                "requirements": [
                    {"type": "assert-table-uuid", "uuid": uuid},
                    {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null},
                ],
                "updates": [{"action": "set-properties", "updates": {"tier": "gold"}}],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{committed}");
    assert_ne!(committed["metadata-location"], loaded["metadata-location"]);
    assert_eq!(committed["metadata"]["properties"]["tier"], json!("gold"));
    let (_, reloaded) = http.get("/v1/namespaces/shop/tables/orders").await;
    assert_eq!(
        reloaded["metadata-location"],
        committed["metadata-location"]
    );
    // The metadata file the catalog points to is the one the commit answered with.
    let table = server
        .lake
        .catalog()
        .load_table(&strata_lake::iceberg::TableIdent::new(
            NamespaceIdent::new("shop".to_owned()),
            "orders".to_owned(),
        ))
        .await
        .expect("load");
    assert_eq!(
        Some(table.metadata_location().expect("location")),
        committed["metadata-location"].as_str()
    );

    // Failing requirements: 409 CommitFailedException, and nothing changes.
    for requirement in [
        json!({"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}),
        json!({"type": "assert-current-schema-id", "current-schema-id": 7}),
        json!({"type": "assert-create"}),
    ] {
        let answer = http
            .post(
                "/v1/namespaces/shop/tables/orders",
                json!({
                    "requirements": [requirement],
                    "updates": [{"action": "set-properties", "updates": {"tier": "lost"}}],
                }),
            )
            .await;
        assert_error(&answer, StatusCode::CONFLICT, "CommitFailedException");
    }
    let (_, after) = http.get("/v1/namespaces/shop/tables/orders").await;
    assert_eq!(after["metadata-location"], committed["metadata-location"]);
    assert_eq!(after["metadata"]["properties"]["tier"], json!("gold"));

    // Other commit errors: unknown table 404, an identifier that is not the path's 400, an
    // invalid update 400.
    assert_error(
        &http
            .post(
                "/v1/namespaces/shop/tables/missing",
                json!({"requirements": [], "updates": []}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "NoSuchTableException",
    );
    assert_error(
        &http
            .post(
                "/v1/namespaces/shop/tables/orders",
                json!({"identifier": {"namespace": ["shop"], "name": "other"}, "updates": []}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    );
    assert_error(
        &http
            .post(
                "/v1/namespaces/shop/tables/orders",
                json!({"updates": [{"action": "set-current-schema", "schema-id": 42}]}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    );

    // Rename, then drop; both 404 afterwards where they should be.
    let (status, _) = http
        .call(
            Method::POST,
            "/v1/tables/rename",
            Some(WRITE_TOKEN),
            Some(json!({
                "source": {"namespace": ["shop"], "name": "orders"},
                "destination": {"namespace": ["shop"], "name": "orders_v2"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &http.get("/v1/namespaces/shop/tables/orders").await,
        StatusCode::NOT_FOUND,
        "NoSuchTableException",
    );
    let drop = http
        .call(
            Method::DELETE,
            "/v1/namespaces/shop/tables/orders_v2",
            Some(WRITE_TOKEN),
            None,
        )
        .await;
    assert_eq!(drop.0, StatusCode::NO_CONTENT);
    assert_error(
        &http
            .call(
                Method::DELETE,
                "/v1/namespaces/shop/tables/orders_v2",
                Some(WRITE_TOKEN),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "NoSuchTableException",
    );
    // Register the dropped table's last metadata file back.
    let (status, registered) = http
        .post(
            "/v1/namespaces/shop/register",
            json!({"name": "orders", "metadata-location": committed["metadata-location"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    assert_eq!(registered["metadata"]["properties"]["tier"], json!("gold"));
}

/// The lake opened with a REST catalog pointing at the server (iceberg-rust's REST client):
/// tables created through the endpoint, events appended through its commits, and what the
/// embedded catalog underneath holds is what the REST client reads.
#[tokio::test(flavor = "multi_thread")]
async fn iceberg_rust_rest_client_round_trip() {
    let server = common::start(false).await;
    let remote = Lake::open(LakeConfig {
        catalog: CatalogConfig::Rest(RestCatalogConfig {
            uri: server.uri.clone(),
            token: Some(WRITE_TOKEN.into()),
            warehouse: Some("strata".to_owned()),
            properties: BTreeMap::new(),
        }),
        storage: StorageConfig::Local {
            root: server.dir.path().join("lake").join("warehouse"),
        },
        write: WriteOptions::default(),
    })
    .await
    .expect("REST lake");
    let created = remote.ensure_tables().await.expect("tables over REST");
    assert_eq!(created.len(), LakeTable::all().len());
    // Again: nothing to create, properties already right (no commit needed).
    assert!(remote.ensure_tables().await.expect("again").is_empty());

    let commerce: Vec<_> = (0..500).map(|i| events::commerce(i, 3)).collect();
    let sync: Vec<_> = (0..40).map(events::sync).collect();
    for chunk in commerce.chunks(200) {
        remote
            .write_events(StreamName::Commerce, chunk, None)
            .await
            .expect("append over REST");
    }
    remote
        .write_events(StreamName::Sync, &sync, None)
        .await
        .expect("append over REST");

    let ident = LakeTable::Telemetry(StreamName::Commerce).ident();
    let over_rest = remote
        .scan_stats(&ident, Some("total"))
        .await
        .expect("scan over REST");
    let local = server
        .lake
        .scan_stats(&ident, Some("total"))
        .await
        .expect("scan embedded");
    assert_eq!(over_rest, local);
    assert_eq!(local.rows, 500);
    let expected_total: rust_decimal::Decimal = (1..=500).map(rust_decimal::Decimal::from).sum();
    assert_eq!(
        local.sum,
        Some(strata_lake::ColumnSum::Decimal(expected_total))
    );
    let described = server.lake.describe(&ident).await.expect("describe");
    assert_eq!(described.snapshots.len(), 3, "one snapshot per commit");
    let sync_rows = remote
        .scan_stats(&LakeTable::Telemetry(StreamName::Sync).ident(), None)
        .await
        .expect("sync");
    assert_eq!(sync_rows.rows, 40);
    assert_eq!(
        remote.list_tables().await.expect("list"),
        server.lake.list_tables().await.expect("list")
    );
}

/// A day replacement (Iceberg's overwrite, which Strata commits itself) sent to the REST
/// endpoint by a lake opened on it: the embedded catalog underneath holds the new rows only,
/// in one overwrite snapshot, and a stale commit gets the spec's 409.
#[tokio::test(flavor = "multi_thread")]
async fn replacing_days_over_rest() {
    use std::{collections::HashMap, sync::Arc};

    use arrow_array::{Date32Array, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use strata_lake::iceberg::spec::{Operation, PrimitiveType};
    use strata_lake::{ColumnSum, TableDef, col, long};

    let server = common::start(false).await;
    let remote = Lake::open(LakeConfig {
        catalog: CatalogConfig::Rest(RestCatalogConfig {
            uri: server.uri.clone(),
            token: Some(WRITE_TOKEN.into()),
            warehouse: Some("strata".to_owned()),
            properties: BTreeMap::new(),
        }),
        storage: StorageConfig::Local {
            root: server.dir.path().join("lake").join("warehouse"),
        },
        write: WriteOptions::default(),
    })
    .await
    .expect("REST lake");
    let def = TableDef {
        namespace: "measurement",
        name: "counts",
        columns: vec![
            col("day", PrimitiveType::Date, true, "the day"),
            long("n", true, "a count"),
        ],
        partition_column: "day",
        comment: "test",
    };
    assert!(remote.ensure_table(&def).await.expect("create over REST"));
    let rows = |days: &[i32], n: i64| {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("day", DataType::Date32, false),
                Field::new("n", DataType::Int64, false),
            ])),
            vec![
                Arc::new(Date32Array::from(days.to_vec())),
                Arc::new(Int64Array::from(vec![n; days.len()])),
            ],
        )
        .expect("batch")
    };
    let day = |d: i32| chrono::NaiveDate::default() + chrono::Duration::days(d.into());
    let all: std::collections::BTreeSet<_> = [20_000, 20_001].into_iter().map(day).collect();
    remote
        .replace_days(
            &def.ident(),
            &all,
            futures_util::stream::iter(vec![Ok(rows(&[20_000, 20_000, 20_001], 1))]),
            HashMap::new(),
        )
        .await
        .expect("first write over REST");
    let one: std::collections::BTreeSet<_> = [day(20_001)].into_iter().collect();
    let report = remote
        .replace_days(
            &def.ident(),
            &one,
            futures_util::stream::iter(vec![Ok(rows(&[20_001, 20_001], 10))]),
            HashMap::new(),
        )
        .await
        .expect("replace over REST");
    assert_eq!((report.added_rows, report.removed_rows), (2, 1));
    let local = server
        .lake
        .scan_stats(&def.ident(), Some("n"))
        .await
        .expect("scan embedded");
    assert_eq!(local.rows, 4);
    assert_eq!(local.sum, Some(ColumnSum::Integer(22)));
    let table = server.lake.load(&def.ident()).await.expect("load");
    let snapshot = table.metadata().current_snapshot().expect("snapshot");
    assert_eq!(snapshot.summary().operation, Operation::Overwrite);

    // A commit built on a snapshot that is no longer current is refused with 409.
    let stale = remote
        .commit_updates(
            &def.ident(),
            vec![strata_lake::iceberg::TableRequirement::RefSnapshotIdMatch {
                r#ref: "main".to_owned(),
                snapshot_id: snapshot.parent_snapshot_id(),
            }],
            vec![],
        )
        .await
        .expect_err("stale requirement");
    assert!(
        matches!(&stale, strata_lake::LakeError::Iceberg(e) if e.kind() == strata_lake::iceberg::ErrorKind::CatalogCommitConflicts),
        "{stale}"
    );
}
