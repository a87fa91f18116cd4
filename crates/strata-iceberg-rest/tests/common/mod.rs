//! A Strata lake in a temporary directory served over real HTTP on 127.0.0.1:0 by the crate's
//! router, behind a bearer-token authorizer with a read token and a write token (Strata's API-key
//! authorizer is tested with the server, crates/strata-server/tests/iceberg.rs).

#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, header};
use strata_iceberg_rest::{Authorizer, Denied, Service, Target, Verb};
use strata_lake::{Lake, LakeConfig};
use tempfile::TempDir;

pub const READ_TOKEN: &str = "read-token";
pub const WRITE_TOKEN: &str = "write-token";

/// `Bearer read-token` reads, `Bearer write-token` reads and writes; nothing else passes.
pub struct Tokens;

#[async_trait]
impl Authorizer for Tokens {
    async fn authorize(
        &self,
        headers: &HeaderMap,
        _target: Target<'_>,
        verb: Verb,
    ) -> Result<(), Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (token, verb) {
            (Some(WRITE_TOKEN), _) | (Some(READ_TOKEN), Verb::Read) => Ok(()),
            (Some(READ_TOKEN), Verb::Write) => Err(Denied::Forbidden("read only".to_owned())),
            _ => Err(Denied::Unauthenticated("no valid token".to_owned())),
        }
    }
}

/// A running server and its lake.
pub struct Server {
    /// `http://127.0.0.1:<port>/iceberg`: the catalog URI clients are given.
    pub uri: String,
    pub lake: Lake,
    pub dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Opens an embedded lake in a fresh directory (tables created when `tables`) and serves its
/// catalog at `/iceberg`.
pub async fn start(tables: bool) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(LakeConfig::embedded(dir.path()))
        .await
        .expect("lake opens");
    if tables {
        lake.ensure_tables().await.expect("tables");
    }
    serve(dir, lake).await
}

/// Serves `lake`'s embedded catalog.
pub async fn serve(dir: TempDir, lake: Lake) -> Server {
    let catalog = lake.embedded_catalog().expect("embedded catalog").clone();
    let app = axum::Router::new().nest(
        "/iceberg",
        strata_iceberg_rest::router(Service::new(catalog, Arc::new(Tokens))),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Server {
        uri: format!("http://{addr}/iceberg"),
        lake,
        dir,
        stop: Some(tx),
    }
}
