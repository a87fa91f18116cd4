//! The generic resource store against the real PostgreSQL server: CRUD on a table of every
//! module, label selectors, keyset pagination under concurrent inserts, ETags, and the error
//! classes a client can cause.

mod common;

use std::ops::Deref;
use std::sync::Arc;

use serde_json::{Value, json};
use strata_domain::Database;
use strata_domain::resource::{ListParams, ResourceError, ResourceStore};
use strata_schema::SchemaSource;

async fn setup() -> (common::TestDb, Database, ResourceStore, tempfile::TempDir) {
    let (db, tdb, dir) = common::open_server().await;
    {
        let mut client = db.client().await.expect("client");
        strata_schema::migrate::apply(&mut client, &SchemaSource::embedded(), |_, _, _| {})
            .await
            .expect("apply");
    }
    let schema = Arc::new(strata_schema::embedded().expect("schema"));
    (tdb, db, ResourceStore::new(schema), dir)
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A minimal valid body for any table: every required column gets a value its type and CHECKs
/// accept (the same generator the HTTP tests use is too big; this covers the sample tables).
fn body_for(store: &ResourceStore, table: &str, n: usize) -> Value {
    let t = store.table(table).expect("table");
    let mut o = serde_json::Map::new();
    for c in &t.columns {
        if !c.not_null
            || c.default.is_some()
            || matches!(c.name.as_str(), "uid" | "create_ts" | "update_ts")
            || c.name.starts_with("raw_")
        {
            continue;
        }
        let v = if let Some(values) = &c.enum_values {
            json!(values[0])
        } else if c.name.ends_with("_uid") {
            json!(format!("xxx_{n}"))
        } else if c.name == "currency_code" || c.name.ends_with("_currency_code") {
            json!("usd")
        } else {
            match &c.sql_type {
                strata_schema::SqlType::Text => json!(format!("v{n}-{}", c.name.replace('_', "-"))),
                strata_schema::SqlType::Integer
                | strata_schema::SqlType::BigInt
                | strata_schema::SqlType::SmallInt => json!(n as i64 + 1),
                strata_schema::SqlType::Boolean => json!(false),
                strata_schema::SqlType::Numeric { .. } => json!("1.50"),
                strata_schema::SqlType::TimestampTz => json!("2026-01-02T03:04:05Z"),
                strata_schema::SqlType::Date => json!("2026-01-02"),
                strata_schema::SqlType::Jsonb => json!({}),
                _ => json!(format!("v{n}")),
            }
        };
        o.insert(c.name.clone(), v);
    }
    Value::Object(o)
}

#[tokio::test(flavor = "multi_thread")]
async fn crud_on_a_table_of_every_module() {
    let (_tdb, db, store, _dir) = setup().await;
    let client = db.client().await.expect("client");
    let c = client.deref().deref();
    let samples = [
        ("sales_channel", json!({"name": "Web"})),
        (
            "product_tag",
            json!({"category_name": "style", "tag_name": "minimal"}),
        ),
        (
            "macrodata_catalog",
            json!({"name": "ops", "catalog_kind": "team"}),
        ),
        ("customer_group", body_for(&store, "customer_group", 1)),
        (
            "return_reason",
            json!({"value": "damaged", "label": "Damaged"}),
        ),
        (
            "currency",
            json!({"code": "usd", "symbol": "$", "symbol_native": "$", "name": "US Dollar"}),
        ),
        ("user_account", json!({"email": "ops@example.com"})),
    ];
    for (table, body) in samples {
        let created = store
            .create(c, table, &body)
            .await
            .unwrap_or_else(|e| panic!("create {table}: {e}"));
        let uid = created.uid().to_string();
        let prefix = store.table(table).unwrap().prefix.clone().unwrap();
        assert!(uid.starts_with(&format!("{prefix}_")), "{uid}");
        let got = store.get(c, table, &uid, None).await.expect("get");
        assert_eq!(got.body, created.body);
        let patched = store
            .patch(
                c,
                table,
                &uid,
                &json!({"labels": {"tier": "gold"}}),
                Some(got.version.into()),
            )
            .await
            .expect("patch");
        assert_eq!(patched.body["labels"], json!({"tier": "gold"}));
        assert_ne!(
            patched.version, got.version,
            "the version changes on every write"
        );
        let deleted = store
            .delete(c, table, &uid, None)
            .await
            .expect("delete")
            .expect("domain row stays");
        let terminal = store.table(table).unwrap().terminal_phases[0].clone();
        assert_eq!(deleted.body["status"]["phase"], json!(terminal));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn money_is_exact_and_raw_is_consistent() {
    let (_tdb, db, store, _dir) = setup().await;
    let client = db.client().await.expect("client");
    let c = client.deref().deref();
    let mut body = body_for(&store, "payment_collection", 1);
    body["amount"] = json!("1234.5678");
    body["currency_code"] = json!("eur");
    let r = store
        .create(c, "payment_collection", &body)
        .await
        .expect("create");
    assert_eq!(r.body["amount"], json!("1234.5678"));
    assert_eq!(
        r.body["raw_amount"],
        json!({"value": "1234.5678", "currency_code": "eur"})
    );
    let p = store
        .patch(
            c,
            "payment_collection",
            r.uid(),
            &json!({"amount": 0.1}),
            None,
        )
        .await
        .expect("patch");
    assert_eq!(p.body["amount"], json!("0.1000"));
    assert_eq!(p.body["raw_amount"]["value"], json!("0.1"));
    assert_eq!(p.body["raw_amount"]["currency_code"], json!("eur"));
}

#[tokio::test(flavor = "multi_thread")]
async fn label_selectors_phases_and_filters() {
    let (_tdb, db, store, _dir) = setup().await;
    let client = db.client().await.expect("client");
    let c = client.deref().deref();
    let t = store.table("product_tag").unwrap().clone();
    let specs = [
        ("a", json!({"tier": "gold", "region": "eu"})),
        (
            "b",
            json!({"tier": "gold", "region": "us", "legacy": "yes"}),
        ),
        ("c", json!({"tier": "silver", "region": "apac"})),
        ("d", json!({})),
    ];
    for (name, labels) in &specs {
        store
            .create(
                c,
                "product_tag",
                &json!({"category_name": "style", "tag_name": name, "labels": labels}),
            )
            .await
            .expect("create");
    }
    let names = |page: &strata_domain::resource::ListPage| -> Vec<String> {
        let mut v: Vec<String> = page
            .items
            .iter()
            .map(|r| r.body["tag_name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let cases = [
        ("tier=gold", vec!["a", "b"]),
        ("tier=gold,region!=us", vec!["a"]),
        ("region in (eu,apac)", vec!["a", "c"]),
        ("region notin (eu,apac)", vec!["b", "d"]),
        ("legacy", vec!["b"]),
        ("!legacy,tier", vec!["a", "c"]),
    ];
    for (sel, want) in cases {
        let p = ListParams::from_query(&t, &q(&[("labelSelector", sel)]), &[]).expect("params");
        let page = store.list(c, "product_tag", &p).await.expect("list");
        assert_eq!(names(&page), want, "selector {sel}");
    }
    let p = ListParams::from_query(&t, &q(&[("tag_name", "c")]), &[]).expect("params");
    assert_eq!(
        names(&store.list(c, "product_tag", &p).await.unwrap()),
        vec!["c"]
    );
    let p = ListParams::from_query(&t, &q(&[("phase", "archived")]), &[]).expect("params");
    assert!(
        store
            .list(c, "product_tag", &p)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    for bad in [
        ("labelSelector", "a in (b"),
        ("phase", "bogus"),
        ("sort", "labels"),
        ("nope", "1"),
        ("limit", "0"),
        ("cursor", "!!"),
    ] {
        assert!(
            matches!(
                ListParams::from_query(&t, &q(&[bad]), &[]),
                Err(ResourceError::BadRequest(_))
            ),
            "{bad:?} accepted"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pagination_is_stable_under_concurrent_inserts() {
    let (_tdb, db, store, _dir) = setup().await;
    let client = db.client().await.expect("client");
    let c = client.deref().deref();
    let t = store.table("product_tag").unwrap().clone();
    for i in 0..25 {
        store
            .create(
                c,
                "product_tag",
                &json!({"category_name": "theme", "tag_name": format!("t{i:02}")}),
            )
            .await
            .expect("create");
    }
    for sort in ["uid", "-create_ts", "tag_name"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut inserted = 0;
        loop {
            let mut pairs = vec![("limit", "7".to_string()), ("sort", sort.to_string())];
            if let Some(cur) = &cursor {
                pairs.push(("cursor", cur.clone()));
            }
            let pairs: Vec<(String, String)> =
                pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let p = ListParams::from_query(&t, &pairs, &[]).expect("params");
            let page = store.list(c, "product_tag", &p).await.expect("list");
            seen.extend(page.items.iter().map(|r| r.uid().to_string()));
            // Someone inserts while we page.
            store
                .create(c, "product_tag", &json!({"category_name": format!("new-{sort}"), "tag_name": format!("n{inserted}")}))
                .await
                .expect("insert during paging");
            inserted += 1;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "no row twice with sort {sort}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn etags_errors_and_status() {
    let (_tdb, db, store, _dir) = setup().await;
    let client = db.client().await.expect("client");
    let c = client.deref().deref();
    let r = store
        .create(
            c,
            "product_tag",
            &json!({"category_name": "style", "tag_name": "x"}),
        )
        .await
        .expect("create");
    // Lost update: a write with a stale version is refused.
    store
        .patch(
            c,
            "product_tag",
            r.uid(),
            &json!({"tag_name": "y"}),
            Some(r.version.into()),
        )
        .await
        .expect("first write");
    assert!(matches!(
        store
            .patch(
                c,
                "product_tag",
                r.uid(),
                &json!({"tag_name": "z"}),
                Some(r.version.into())
            )
            .await,
        Err(ResourceError::PreconditionFailed)
    ));
    // Duplicate unique key → conflict.
    store
        .create(
            c,
            "product_tag",
            &json!({"category_name": "style", "tag_name": "dup"}),
        )
        .await
        .expect("first");
    assert!(matches!(
        store
            .create(
                c,
                "product_tag",
                &json!({"category_name": "style", "tag_name": "dup"})
            )
            .await,
        Err(ResourceError::Conflict(_))
    ));
    // Invalid fields are listed one by one.
    match store
        .create(
            c,
            "product_tag",
            &json!({"category_name": 5, "nope": 1, "uid": "x"}),
        )
        .await
    {
        Err(ResourceError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert!(
                fields.contains(&"category_name")
                    && fields.contains(&"nope")
                    && fields.contains(&"uid")
                    && fields.contains(&"tag_name"),
                "{fields:?}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // A CHECK only PostgreSQL knows (currency format) is a 422 naming the field.
    match store
        .create(c, "region", &json!({"name": "X", "currency_code": "EURO"}))
        .await
    {
        Err(ResourceError::Invalid(errors)) => assert_eq!(errors[0].field, "currency_code"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(matches!(
        store.get(c, "product_tag", "ptag_nope", None).await,
        Err(ResourceError::NotFound { .. })
    ));
    assert!(matches!(
        store.get(c, "no_such_table", "x", None).await,
        Err(ResourceError::UnknownTable(_))
    ));
    // Status: conditions get a transition time; a terminal phase is final.
    let s = store
        .set_status(
            c,
            "product_tag",
            r.uid(),
            &json!({"conditions": [{"type": "Reviewed", "status": "True", "reason": "Ok"}]}),
            None,
        )
        .await
        .expect("status");
    assert!(s.body["status"]["conditions"][0]["last_transition_ts"].is_string());
    assert!(matches!(
        store
            .set_status(c, "product_tag", r.uid(), &json!({"phase": "bogus"}), None)
            .await,
        Err(ResourceError::Invalid(_))
    ));
    store
        .delete(c, "product_tag", r.uid(), None)
        .await
        .expect("delete");
    assert!(matches!(
        store
            .set_status(c, "product_tag", r.uid(), &json!({"phase": "active"}), None)
            .await,
        Err(ResourceError::Conflict(_))
    ));
    // Link rows are removed outright.
    let link = store
        .create(
            c,
            "link_product_sales_channel",
            &json!({"product_uid": "prd_x", "sales_channel_uid": "sc_y"}),
        )
        .await
        .expect("link");
    assert!(
        store
            .delete(c, "link_product_sales_channel", link.uid(), None)
            .await
            .expect("delete")
            .is_none()
    );
    assert!(matches!(
        store
            .get(c, "link_product_sales_channel", link.uid(), None)
            .await,
        Err(ResourceError::NotFound { .. })
    ));
}
