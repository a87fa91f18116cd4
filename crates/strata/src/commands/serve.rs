//! `strata serve`: the HTTP API on the embedded database or DATABASE_URL, with the telemetry
//! pipelines (event log → Iceberg lake under the data directory) in the background, and the
//! lake's catalog over the Iceberg REST protocol at `/iceberg` (docs/lake.md), and read-only SQL
//! over the lake at `POST /v1/query`, and the durable workflows (`/v1/workflows`): this process
//! executes them from the data directory's workflow store, or, when another process already does
//! (a `strata workflow run` in progress), serves them as that store's client.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use strata_domain::identity::Verifier;
use strata_schema::SchemaSource;
use tokio_util::sync::CancellationToken;

use super::{connect, pipeline, schema, workflow};
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
    let workflows = Workflows::start(global, &db, &lake, &events).await?;
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
    let state = state
        .with_analytics(staff_analytics(global, &lake).await)
        .with_workflows(Some(workflows.engine.clone()))
        .with_bulk_finished(workflows.bulk_finished.clone())
        .with_shopify_webhook_secret(shopify_webhook_secret());
    let state = match &pipelines {
        Some(p) => state.with_pipelines(p.stats_source()),
        None => state,
    };
    let config = strata_server::ServeConfig {
        addr,
        rate_limit: args.rate_limit,
    };
    let served = strata_server::serve(config, state, strata_server::shutdown_signal()).await;
    // After the last request: running workflow steps stop at their next await (they resume from
    // their last completed step on the next start), and the pipelines commit what they hold.
    workflows.stop().await;
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

/// The process's workflow engine and, when this process executes, its scheduler task.
struct Workflows {
    engine: strata_workflow::Engine,
    runner: Option<(
        CancellationToken,
        tokio::task::JoinHandle<Result<(), strata_workflow::EngineError>>,
    )>,
    /// Wakes the daily sync waiting for a bulk operation (`bulk_operations/finish` webhooks);
    /// `None` in a process that does not execute the workflows.
    bulk_finished: Option<strata_server::state::BulkFinishedFn>,
}

impl Workflows {
    async fn start(
        global: &GlobalOpts,
        db: &Arc<strata_domain::Database>,
        lake: &strata_lake::Lake,
        events: &Arc<dyn strata_events::EventLog>,
    ) -> Result<Self> {
        let Some(store) = workflow::open_executor_store(global).await? else {
            tracing::warn!(
                store = %workflow::store_location(global),
                "another process executes the workflows of this data directory; this server only creates and controls them"
            );
            return Ok(Self {
                engine: workflow::client(global).await?,
                runner: None,
                bulk_finished: None,
            });
        };
        let shopify = workflow::shopify_or_none();
        let signals = strata_sync::BulkSignals::new();
        let engine = workflow::executor(
            global,
            store,
            db.clone(),
            lake.clone(),
            events.clone(),
            shopify,
            signals.clone(),
        )?;
        let stop = CancellationToken::new();
        let task = {
            let engine = engine.clone();
            let stop = stop.clone();
            tokio::spawn(async move { engine.run(stop).await })
        };
        let bulk_finished: strata_server::state::BulkFinishedFn =
            Arc::new(move |gid: &str| signals.notify(gid));
        Ok(Self {
            engine,
            runner: Some((stop, task)),
            bulk_finished: Some(bulk_finished),
        })
    }

    async fn stop(self) {
        if let Some((stop, task)) = self.runner {
            stop.cancel();
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "the workflow engine stopped with an error")
                }
                Err(e) => tracing::error!(error = %e, "the workflow engine task failed"),
            }
        }
    }
}

/// `SHOPIFY_WEBHOOK_SECRET`, the app's client secret that signs webhooks; unset, `POST
/// /webhooks/shopify` answers 503.
fn shopify_webhook_secret() -> Option<strata_shopify::Secret> {
    std::env::var("SHOPIFY_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(strata_shopify::Secret::from)
}
