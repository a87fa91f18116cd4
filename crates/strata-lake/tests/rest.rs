//! The REST catalog option: configuration reaches the client, and an unreachable catalog is an
//! error the caller can retry, not a panic (TLS set up included). The round trip against a live
//! REST catalog comes with Strata's own REST endpoint.

use std::collections::BTreeMap;

use strata_lake::{
    CatalogConfig, Lake, LakeConfig, RestCatalogConfig, StorageConfig, WriteOptions,
};

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn an_unreachable_rest_catalog_is_a_transient_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for scheme in ["http", "https"] {
        let config = LakeConfig {
            catalog: CatalogConfig::Rest(RestCatalogConfig {
                uri: format!("{scheme}://127.0.0.1:{}/catalog", closed_port()),
                token: Some("not-a-real-token".into()),
                warehouse: Some("strata".to_owned()),
                properties: BTreeMap::new(),
            }),
            storage: StorageConfig::Local {
                root: dir.path().join("warehouse"),
            },
            write: WriteOptions::default(),
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("not-a-real-token"), "{debug}");
        let lake = Lake::open(config)
            .await
            .expect("the client is built lazily");
        let err = lake
            .ensure_tables()
            .await
            .expect_err("nothing listens there");
        assert!(err.is_transient(), "{scheme}: {err}");
        // Refused by the closed port, not by a client that cannot speak TLS.
        let detail = format!("{err:?}");
        assert!(!detail.contains("scheme is not http"), "{scheme}: {detail}");
    }
}
