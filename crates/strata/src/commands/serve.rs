//! `strata serve`: the HTTP API on the embedded database or DATABASE_URL.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use strata_domain::identity::Verifier;
use strata_schema::SchemaSource;

use super::{connect, schema};
use crate::cli::{GlobalOpts, ServeArgs};

pub async fn run(global: &GlobalOpts, args: ServeArgs) -> Result<ExitCode> {
    let addr: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        )
    })?;
    let db = Arc::new(connect(global).await?);
    if !args.no_migrate {
        let report = schema::apply_schema(&db, &SchemaSource::embedded()).await?;
        schema::print_apply(&report);
    }
    let model = Arc::new(strata_schema::embedded().context("the schema built into this binary")?);
    let streams = global.data_dir.join("streams");
    std::fs::create_dir_all(&streams).with_context(|| format!("create {}", streams.display()))?;
    let events: Arc<dyn strata_events::EventLog> = Arc::new(
        strata_events::SqliteLog::open(&streams, strata_events::SqliteOptions::default())
            .with_context(|| format!("open the event log in {}", streams.display()))?,
    );
    let state = strata_server::state(
        db.clone(),
        model,
        Verifier::new(strata_domain::identity::VerifierConfig::default()),
        args.rate_limit,
        events,
    );
    let config = strata_server::ServeConfig {
        addr,
        rate_limit: args.rate_limit,
    };
    let served = strata_server::serve(config, state, strata_server::shutdown_signal()).await;
    match Arc::try_unwrap(db) {
        Ok(db) => db.shutdown().await?,
        Err(_) => tracing::warn!("database still in use at shutdown"),
    }
    served.with_context(|| format!("serving on {addr}"))?;
    Ok(ExitCode::SUCCESS)
}
