//! `strata serve`: the HTTP API on the embedded database or DATABASE_URL, with the telemetry
//! pipelines (event log → Iceberg lake under the data directory) in the background, and the
//! lake's catalog over the Iceberg REST protocol at `/iceberg` (docs/lake.md), and read-only SQL
//! over the lake at `POST /v1/query`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use strata_domain::identity::Verifier;
use strata_schema::SchemaSource;

use super::{connect, pipeline, schema};
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
    let events = pipeline::open_log(global).await?;
    // One lake for the pipelines and the Iceberg REST catalog at /iceberg.
    let lake = pipeline::open_lake(global).await?;
    let pipelines = if args.no_pipelines {
        None
    } else {
        Some(pipeline::start(global, &args.pipeline, events.clone(), lake.clone()).await?)
    };
    let state = strata_server::state(
        db.clone(),
        model,
        Verifier::new(strata_domain::identity::VerifierConfig::default()),
        args.rate_limit,
        events,
    )
    .with_backlog(strata_server::backlog::Backlog::new(
        args.max_backlog,
        strata_pipeline::DEFAULT_CONSUMER,
    ))
    .with_lake_catalog(lake.embedded_catalog().cloned())
    .with_query_engine(Some(Arc::new(
        strata_query::QueryEngine::open(
            lake.clone(),
            strata_query::QueryOptions::under(&global.data_dir),
        )
        .await
        .context("start DuckDB over the lake for POST /v1/query")?,
    )));
    let state = state.with_analytics(staff_analytics(global, &lake).await);
    let state = match &pipelines {
        Some(p) => state.with_pipelines(p.stats_source()),
        None => state,
    };
    let config = strata_server::ServeConfig {
        addr,
        rate_limit: args.rate_limit,
    };
    let served = strata_server::serve(config, state, strata_server::shutdown_signal()).await;
    // After the last request: the pipelines commit what they hold before the process ends.
    let pipelines_ok = match pipelines {
        Some(p) => p.stop().await,
        None => true,
    };
    match Arc::try_unwrap(db) {
        Ok(db) => db.shutdown().await?,
        Err(_) => tracing::warn!("database still in use at shutdown"),
    }
    served.with_context(|| format!("serving on {addr}"))?;
    Ok(if pipelines_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The staff analytics over the lake's measurements; without them (DuckDB failed to open) those
/// endpoints answer 503 and the rest of the API still serves.
async fn staff_analytics(
    global: &GlobalOpts,
    lake: &strata_lake::Lake,
) -> Option<Arc<strata_server::analytics::Analytics>> {
    let options = strata_query::QueryOptions::under(&global.data_dir);
    let opened = async {
        let engine = strata_query::QueryEngine::open(lake.clone(), options).await?;
        Ok::<_, anyhow::Error>(strata_server::analytics::Analytics::open(Arc::new(engine)).await?)
    };
    match opened.await {
        Ok(a) => {
            let a = Arc::new(a);
            let warming = a.clone();
            tokio::spawn(async move { warming.warm().await });
            Some(a)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the staff analytics are off (they answer 503)");
            None
        }
    }
}
