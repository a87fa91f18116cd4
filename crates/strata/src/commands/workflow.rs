//! `strata workflow …`: run, list, show and control durable workflow instances.
//!
//! The store is `<data-dir>/workflows` (SQLite). One process executes from it at a time (the
//! store's lock): `strata serve` does; beside it, these commands only create and control
//! instances, and `run` waits for the server to execute its instance.
//!
//! With `--nats-url` the store is NATS JetStream key-value buckets (`STRATA_WF_*`) instead, shared
//! by every Strata process using that server: each executes, and leases keep an instance on one
//! process at a time (taken over when that process dies).

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Result;
use serde_json::{Value, json};
use strata_shopify::ShopifyConfig;
use strata_sync::{BulkSignals, DAILY_SHOPIFY_SYNC, SyncEnv};
use strata_workflow::{
    CreateInstance, Engine, EngineError, EngineOptions, EventLogSink, Instance, InstanceId,
    InstanceStatus, ListFilter, StepState, Store, StoreError,
    store::{NatsStore, NatsStoreOptions, Role, SqliteStore},
};
use tokio_util::sync::CancellationToken;

use super::pipeline::{open_lake, open_log};
use crate::cli::{
    GlobalOpts, WorkflowCommand, WorkflowEventsArgs, WorkflowInstanceArgs, WorkflowListArgs,
    WorkflowRunArgs,
};

/// Exit code for a usage mistake (bad JSON, unknown workflow, bad id, wrong status).
const USAGE: u8 = 2;

pub async fn run(global: &GlobalOpts, cmd: WorkflowCommand) -> Result<ExitCode> {
    let result = match cmd {
        WorkflowCommand::Run(args) => run_instance(global, args).await,
        WorkflowCommand::List(args) => list(global, args).await,
        WorkflowCommand::Show(args) => show(global, args).await,
        WorkflowCommand::Pause(args) => {
            control(global, args, "paused", |e, id| {
                Box::pin(async move { e.pause(&id).await })
            })
            .await
        }
        WorkflowCommand::Resume(args) => {
            control(global, args, "resumed", |e, id| {
                Box::pin(async move { e.resume(&id).await })
            })
            .await
        }
        WorkflowCommand::Terminate(args) => {
            control(global, args, "terminated", |e, id| {
                Box::pin(async move { e.terminate(&id).await })
            })
            .await
        }
        WorkflowCommand::Restart(args) => {
            control(global, args, "restarted", |e, id| {
                Box::pin(async move { e.restart(&id).await })
            })
            .await
        }
        WorkflowCommand::Events(args) => events(global, args).await,
    };
    match result {
        Err(e) => match e.downcast_ref::<EngineError>() {
            Some(
                EngineError::UnknownWorkflow { .. }
                | EngineError::NotFound(_)
                | EngineError::InvalidTransition { .. }
                | EngineError::InvalidInstanceId(_)
                | EngineError::InvalidStatus(_)
                | EngineError::InvalidEventType(_)
                | EngineError::PayloadTooLarge { .. },
            ) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(USAGE))
            }
            _ => Err(e),
        },
        ok => ok,
    }
}

/// The directory of the embedded workflow store.
pub fn store_dir(global: &GlobalOpts) -> std::path::PathBuf {
    global.data_dir.join("workflows")
}

/// Where the workflow store is, for messages.
pub fn store_location(global: &GlobalOpts) -> String {
    match &global.nats_url {
        Some(url) => format!("NATS {url} (buckets STRATA_WF_*)"),
        None => store_dir(global).display().to_string(),
    }
}

/// The shared store on NATS (`--nats-url`).
async fn open_nats_store(url: &str) -> Result<Arc<dyn Store>> {
    let store = NatsStore::open(NatsStoreOptions::new(url)).await?;
    Ok(Arc::new(store))
}

/// The workflow store, opened to execute; `None` when another process (a `strata serve`)
/// already executes from the data directory's embedded store. A NATS store is shared: every
/// process may execute from it.
pub async fn open_executor_store(global: &GlobalOpts) -> Result<Option<Arc<dyn Store>>> {
    if let Some(url) = &global.nats_url {
        return Ok(Some(open_nats_store(url).await?));
    }
    let dir = store_dir(global);
    match tokio::task::spawn_blocking(move || SqliteStore::open(&dir, Role::Executor)).await? {
        Ok(store) => Ok(Some(Arc::new(store))),
        Err(StoreError::Locked { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The Shopify shop from the environment for the daily sync; `None` (logged) when none is
/// configured or its configuration is invalid, so the rest still runs.
pub fn shopify_or_none() -> Option<ShopifyConfig> {
    match shopify_from_env() {
        Ok(Some(config)) => Some(config),
        Ok(None) => {
            tracing::info!(
                "no Shopify shop configured (SHOPIFY_SHOP, SHOPIFY_ADMIN_TOKEN): {DAILY_SHOPIFY_SYNC} is off"
            );
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "the Shopify configuration is incomplete or invalid: {DAILY_SHOPIFY_SYNC} is off");
            None
        }
    }
}

/// The store's reporting time zone (`STRATA_REPORTING_TIME_ZONE`, default UTC): the days of the
/// measurements.
pub fn reporting_zone() -> Result<strata_measure::ReportingZone> {
    std::env::var("STRATA_REPORTING_TIME_ZONE")
        .ok()
        .map(|z| z.parse())
        .transpose()
        .map_err(|e| anyhow::anyhow!("STRATA_REPORTING_TIME_ZONE: {e}"))
        .map(Option::unwrap_or_default)
}

/// The engine executing from `store`, with the built-in workflows registered: the daily sync
/// when `shopify` is given (see [`shopify_or_none`]), waking on `bulk_signals` (which the
/// `bulk_operations/finish` webhook notifies).
pub fn executor(
    global: &GlobalOpts,
    store: Arc<dyn Store>,
    db: Arc<strata_domain::Database>,
    lake: strata_lake::Lake,
    log: Arc<dyn strata_events::EventLog>,
    shopify: Option<ShopifyConfig>,
    bulk_signals: BulkSignals,
) -> Result<Engine> {
    let zone = reporting_zone()?;
    let env = Arc::new(SyncEnv {
        db,
        lake,
        data_dir: global.data_dir.clone(),
        zone,
        events: log.clone(),
        shopify,
        bulk_signals,
    });
    Ok(strata_sync::register_all(
        Engine::new(store, Arc::new(EventLogSink(log)), EngineOptions::default()),
        env,
    ))
}

/// The shop from the environment: `None` when neither `SHOPIFY_SHOP` nor `SHOPIFY_ADMIN_TOKEN`
/// is set (Shopify is simply not used here), an error naming what is missing or wrong otherwise.
pub fn shopify_from_env() -> Result<Option<ShopifyConfig>, strata_shopify::ConfigError> {
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    if !set("SHOPIFY_SHOP") && !set("SHOPIFY_ADMIN_TOKEN") {
        return Ok(None);
    }
    ShopifyConfig::from_env().map(Some)
}

/// An engine that creates and controls instances without executing them.
pub async fn client(global: &GlobalOpts) -> Result<Engine> {
    let store: Arc<dyn Store> = match &global.nats_url {
        Some(url) => open_nats_store(url).await?,
        None => {
            let dir = store_dir(global);
            Arc::new(
                tokio::task::spawn_blocking(move || SqliteStore::open(&dir, Role::Client))
                    .await??,
            )
        }
    };
    let log = open_log(global).await?;
    Ok(
        Engine::new(store, Arc::new(EventLogSink(log)), EngineOptions::default())
            .declare(strata_sync::WORKFLOW_NAMES.iter().copied()),
    )
}

fn instance_id(text: &str) -> Result<InstanceId> {
    Ok(InstanceId::parse(text)?)
}

fn parse_json(flag: &str, text: Option<&str>) -> Result<Value, String> {
    match text {
        None => Ok(Value::Null),
        Some(t) => serde_json::from_str(t).map_err(|e| format!("{flag} is not valid JSON: {e}")),
    }
}

async fn run_instance(global: &GlobalOpts, args: WorkflowRunArgs) -> Result<ExitCode> {
    let params = match parse_json("--params", args.params.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(USAGE));
        }
    };
    let id = args.id.as_deref().map(instance_id).transpose()?;
    let request = CreateInstance {
        workflow: args.workflow.clone(),
        id,
        params,
        trigger: "cli".to_owned(),
    };
    if !strata_sync::WORKFLOW_NAMES.contains(&args.workflow.as_str()) {
        return Err(EngineError::UnknownWorkflow {
            name: args.workflow,
            known: strata_sync::WORKFLOW_NAMES.join(", "),
        }
        .into());
    }
    let Some(store) = open_executor_store(global).await? else {
        // A server executes from this directory: hand it the instance.
        let engine = client(global).await?;
        let (instance, created) = engine.create(request).await?;
        eprintln!(
            "{} instance {}; the running server executes it",
            if created { "created" } else { "found existing" },
            instance.id
        );
        let settled = if args.no_wait {
            instance
        } else {
            engine
                .wait_settled(&instance.id, Duration::from_secs(args.timeout))
                .await?
        };
        return print_settled(&settled, args.json);
    };
    let daily_sync = args.workflow == DAILY_SHOPIFY_SYNC;
    let shopify = match shopify_from_env() {
        Ok(Some(config)) => Some(config),
        Ok(None) if daily_sync => {
            eprintln!(
                "error: {DAILY_SHOPIFY_SYNC} needs a shop: set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN \
                 (or try it on a local stand-in: `strata sync shopify --fake 100`)"
            );
            return Ok(ExitCode::from(USAGE));
        }
        Ok(None) => None,
        Err(e) if daily_sync => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(USAGE));
        }
        Err(e) => {
            tracing::warn!(error = %e, "the Shopify configuration is incomplete or invalid: {DAILY_SHOPIFY_SYNC} is not available");
            None
        }
    };
    let db = Arc::new(super::connect(global).await?);
    let lake = open_lake(global).await?;
    let log = open_log(global).await?;
    // The daily sync's refresh waits for its events to land in the lake: run the pipelines here.
    let pipelines = if daily_sync && !args.no_wait {
        Some(super::sync::start_pipelines(global, log.clone(), lake.clone()).await?)
    } else {
        None
    };
    let engine = executor(
        global,
        store,
        db.clone(),
        lake,
        log,
        shopify,
        BulkSignals::new(),
    )?;
    let (instance, created) = engine.create(request).await?;
    eprintln!(
        "{} instance {} of {}",
        if created { "created" } else { "found existing" },
        instance.id,
        instance.workflow
    );
    let code = if args.no_wait {
        eprintln!("queued: the next `strata serve` or `strata workflow run` executes it");
        print_settled(&instance, args.json)
    } else {
        match execute_until_settled(&engine, &instance.id, Duration::from_secs(args.timeout)).await
        {
            Ok(Some(settled)) => print_settled(&settled, args.json),
            Ok(None) => {
                eprintln!(
                    "interrupted: instance {} keeps its completed steps; `strata workflow run {} --id {}` continues it",
                    instance.id, instance.workflow, instance.id
                );
                Ok(ExitCode::from(130))
            }
            Err(e) => Err(e),
        }
    };
    drop(engine);
    if let Some(pipelines) = pipelines
        && !pipelines.stop().await
    {
        tracing::warn!("a pipeline failed while stopping; what it held is landed on the next run");
    }
    if let Ok(db) = Arc::try_unwrap(db) {
        db.shutdown().await?;
    }
    code
}

/// Runs `engine`'s scheduler until instance `id` settles, `timeout` passes (the instance as
/// last seen), or Ctrl-C (`None`: the instance keeps its completed steps); then stops it, which
/// releases a still running instance to the next executor.
pub async fn execute_until_settled(
    engine: &Engine,
    id: &InstanceId,
    timeout: Duration,
) -> Result<Option<Instance>> {
    let stop = CancellationToken::new();
    let runner = {
        let engine = engine.clone();
        let stop = stop.clone();
        tokio::spawn(async move { engine.run(stop).await })
    };
    let settled = tokio::select! {
        s = engine.wait_settled(id, timeout) => Some(s),
        _ = tokio::signal::ctrl_c() => None,
    };
    stop.cancel();
    runner.await??;
    Ok(settled.transpose()?)
}

/// Prints a settled (or still running) instance; the exit code says how it ended.
pub fn print_settled(instance: &Instance, as_json: bool) -> Result<ExitCode> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(instance)?);
    } else {
        println!("{} {} {}", instance.id, instance.workflow, instance.status);
        if let Some(output) = &instance.output {
            println!("output: {}", serde_json::to_string_pretty(output)?);
        }
        if let Some(error) = &instance.error {
            println!("error: {error}");
        }
    }
    Ok(match instance.status {
        InstanceStatus::Complete => ExitCode::SUCCESS,
        InstanceStatus::Errored | InstanceStatus::Terminated => ExitCode::FAILURE,
        // Still going (timeout or --no-wait): not a failure, but not done either.
        _ => ExitCode::from(3),
    })
}

async fn list(global: &GlobalOpts, args: WorkflowListArgs) -> Result<ExitCode> {
    let statuses = args
        .statuses
        .iter()
        .map(|s| InstanceStatus::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let engine = client(global).await?;
    let filter = ListFilter {
        workflow: args.workflow,
        statuses,
        created_after: None,
        limit: args.limit.max(1),
    };
    let instances = engine.list(&filter).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&instances)?);
        return Ok(ExitCode::SUCCESS);
    }
    if instances.is_empty() {
        println!(
            "no workflow instances{}",
            if filter.statuses.is_empty() && filter.workflow.is_none() {
                ""
            } else {
                " match"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:<24} {:<10} {:<20} {:<20} error",
        "instance", "workflow", "status", "created", "finished"
    );
    for i in instances {
        println!(
            "{:<32} {:<24} {:<10} {:<20} {:<20} {}",
            i.id,
            i.workflow,
            i.status,
            i.created_at.format("%Y-%m-%d %H:%M:%S"),
            i.finished_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            i.error
                .as_deref()
                .map(|e| e.chars().take(60).collect::<String>())
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(global: &GlobalOpts, args: WorkflowInstanceArgs) -> Result<ExitCode> {
    let id = instance_id(&args.instance)?;
    let engine = client(global).await?;
    let instance = engine.get(&id).await?;
    let steps = engine.steps(&id).await?;
    let events = engine.events(&id).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "instance": instance, "steps": steps, "events": events })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".to_owned())
    };
    println!("instance    {}", instance.id);
    println!("workflow    {}", instance.workflow);
    println!("status      {}", instance.status);
    println!(
        "generation  {}   trigger {}",
        instance.generation, instance.trigger
    );
    println!("created     {}", instance.created_at.to_rfc3339());
    println!("started     {}", time(instance.started_at));
    println!("finished    {}", time(instance.finished_at));
    if let Some(wake) = instance.wake_at {
        println!(
            "wakes at    {}{}",
            wake.to_rfc3339(),
            instance
                .waiting_for
                .as_deref()
                .map(|t| format!(" (or on a `{t}` event)"))
                .unwrap_or_default()
        );
    }
    println!("params      {}", instance.params);
    if let Some(output) = &instance.output {
        println!("output      {output}");
    }
    if let Some(error) = &instance.error {
        println!("error       {error}");
    }
    println!("\nsteps:");
    if steps.is_empty() {
        println!("  (none yet)");
    }
    for s in &steps {
        let what = match &s.state {
            StepState::Done { attempts, .. } => format!("done after {attempts} attempt(s)"),
            StepState::Retrying {
                attempt,
                next_at,
                error,
            } => format!(
                "attempt {attempt} failed ({error}); next at {}",
                next_at.to_rfc3339()
            ),
            StepState::Failed { attempts, error } => {
                format!("failed after {attempts} attempt(s): {error}")
            }
            StepState::Sleeping { until } => format!("sleep until {}", until.to_rfc3339()),
            StepState::Waiting {
                event_type,
                deadline,
            } => format!("waiting for `{event_type}` until {}", deadline.to_rfc3339()),
            StepState::TimedOut { event_type } => {
                format!("no `{event_type}` event before the timeout")
            }
        };
        println!("  {:<28} {what}   ({})", s.name, s.updated_at.to_rfc3339());
    }
    if !events.is_empty() {
        println!("\nevents:");
        for e in &events {
            println!(
                "  #{:<5} {:<20} {}  {}",
                e.seq,
                e.event_type,
                e.received_at.to_rfc3339(),
                e.payload
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

type ControlFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Instance, EngineError>> + Send + 'a>>;

async fn control(
    global: &GlobalOpts,
    args: WorkflowInstanceArgs,
    done: &str,
    op: impl FnOnce(Engine, InstanceId) -> ControlFuture<'static>,
) -> Result<ExitCode> {
    let id = instance_id(&args.instance)?;
    let engine = client(global).await?;
    let instance = op(engine, id).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&instance)?);
    } else {
        println!("{done} {} (now {})", instance.id, instance.status);
    }
    Ok(ExitCode::SUCCESS)
}

async fn events(global: &GlobalOpts, args: WorkflowEventsArgs) -> Result<ExitCode> {
    let id = instance_id(&args.instance)?;
    let engine = client(global).await?;
    if let Some(event_type) = &args.send {
        let payload = match parse_json("--payload", args.payload.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(USAGE));
            }
        };
        let event = engine.send_event(&id, event_type, payload).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&event)?);
        } else {
            println!("sent `{}` event #{} to {}", event.event_type, event.seq, id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let events = engine.events(&id).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
    } else if events.is_empty() {
        println!("no events sent to {id}");
    } else {
        for e in &events {
            println!(
                "#{:<5} {:<20} {}  {}",
                e.seq,
                e.event_type,
                e.received_at.to_rfc3339(),
                e.payload
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
