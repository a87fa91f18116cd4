//! `strata bench workflows`: the engine's overhead, throughput and recovery on the embedded store.

use std::{
    path::Path,
    process::{ExitCode, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use async_trait::async_trait;
use serde_json::{Value, json};
use strata_events::{SqliteLog, SqliteOptions};
use strata_workflow::{
    Context, CreateInstance, Engine, EngineOptions, EventLogSink, InstanceStatus, ListFilter,
    RunError, StepConfig, Workflow,
    store::{Role, SqliteStore},
};
use tokio_util::sync::CancellationToken;

use crate::cli::WorkflowBenchArgs;

/// `params.steps` trivial steps, each returning its index.
struct Steps;

#[async_trait]
impl Workflow for Steps {
    fn name(&self) -> &str {
        "bench_steps"
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let n = params["steps"].as_u64().unwrap_or(1);
        let mut sum = 0u64;
        for i in 0..n {
            sum += ctx
                .step(
                    &format!("s{i}"),
                    StepConfig::default(),
                    |_| async move { Ok(i) },
                )
                .await?;
        }
        Ok(json!(sum))
    }
}

/// One step that holds for a minute: the in-flight work of the recovery run.
struct Hold;

#[async_trait]
impl Workflow for Hold {
    fn name(&self) -> &str {
        "bench_hold"
    }

    async fn run(&self, ctx: &Context, _: Value) -> Result<Value, RunError> {
        ctx.step("hold", StepConfig::default(), |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await?;
        Ok(Value::Null)
    }
}

fn engine(dir: &Path, options: EngineOptions) -> Result<Engine> {
    let store = SqliteStore::open(&dir.join("workflows"), Role::Executor)?;
    let log = SqliteLog::open(&dir.join("streams"), SqliteOptions::default())?;
    Ok(Engine::new(
        Arc::new(store),
        Arc::new(EventLogSink(Arc::new(log))),
        options,
    )
    .register(Steps)
    .register(Hold))
}

fn start(
    engine: &Engine,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), strata_workflow::EngineError>>,
) {
    let stop = CancellationToken::new();
    let e = engine.clone();
    let s = stop.clone();
    (stop, tokio::spawn(async move { e.run(s).await }))
}

pub async fn run(args: &WorkflowBenchArgs) -> Result<ExitCode> {
    if let Some(dir) = &args.child {
        return child(dir, args.instances).await;
    }
    let tmp = tempfile::tempdir()?;
    let options = EngineOptions {
        poll_interval: Duration::from_millis(20),
        max_running: 256,
        ..EngineOptions::default()
    };

    // 1. One instance of `steps` trivial steps.
    let dir = tmp.path().join("single");
    let e = engine(&dir, options.clone())?;
    let (stop, task) = start(&e);
    let t = Instant::now();
    let (i, _) = e
        .create(CreateInstance {
            workflow: "bench_steps".into(),
            id: None,
            params: json!({ "steps": args.steps }),
            trigger: "bench".into(),
        })
        .await?;
    let done = e.wait_settled(&i.id, Duration::from_secs(600)).await?;
    let single = t.elapsed();
    if done.status != InstanceStatus::Complete {
        bail!(
            "the single instance ended {}: {:?}",
            done.status,
            done.error
        );
    }
    stop.cancel();
    task.await??;

    // 2. `instances` concurrent instances.
    let dir = tmp.path().join("many");
    let e = engine(&dir, options.clone())?;
    let (stop, task) = start(&e);
    let t = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..args.instances {
        let (i, _) = e
            .create(CreateInstance {
                workflow: "bench_steps".into(),
                id: None,
                params: json!({ "steps": args.steps }),
                trigger: "bench".into(),
            })
            .await?;
        ids.push(i.id);
    }
    for id in &ids {
        let done = e.wait_settled(id, Duration::from_secs(3600)).await?;
        if done.status != InstanceStatus::Complete {
            bail!("instance {id} ended {}: {:?}", done.status, done.error);
        }
    }
    let many = t.elapsed();
    stop.cancel();
    task.await??;
    let completions = f64::from(args.instances) * f64::from(args.steps);

    // 3. Recovery after SIGKILL.
    let dir = tmp.path().join("recovery");
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let mut proc = tokio::process::Command::new(exe)
        .args(["--quiet", "bench", "workflows", "--instances"])
        .arg(args.instances.to_string())
        .arg("--child")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("start the child process")?;
    // The child prints "ready" once every instance is running.
    let mut out = tokio::io::BufReader::new(proc.stdout.take().context("child stdout")?);
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line).await?;
    if line.trim() != "ready" {
        bail!("the child process did not get its instances running: {line:?}");
    }
    proc.start_kill()?;
    proc.wait().await?;
    let t = Instant::now();
    let e = engine(&dir, options)?;
    let (stop, task) = start(&e);
    let filter = ListFilter {
        workflow: Some("bench_hold".into()),
        limit: 100_000,
        ..ListFilter::default()
    };
    let owner = loop {
        let all = e.list(&filter).await?;
        let resumed = all
            .iter()
            .filter(|i| {
                i.status == InstanceStatus::Running
                    && i.lease.as_ref().is_some_and(|l| l.owner != "bench-child")
            })
            .count();
        if resumed == all.len() && !all.is_empty() {
            break resumed;
        }
        if t.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {resumed} of {} instances resumed within 60 s",
                all.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let recovery = t.elapsed();
    stop.cancel();
    task.await??;

    println!(
        "| `strata bench workflows --steps {} --instances {}` | result |",
        args.steps, args.instances
    );
    println!("|---|---|");
    println!(
        "| one instance of {} trivial steps, fsync per step | {:.3} s ({:.2} ms per step; target < 1 s for 100) |",
        args.steps,
        single.as_secs_f64(),
        single.as_secs_f64() * 1000.0 / f64::from(args.steps)
    );
    println!(
        "| {} instances × {} steps at once | {:.2} s: **{:.0} step completions/s** (target ≥ 2,000) |",
        args.instances,
        args.steps,
        many.as_secs_f64(),
        completions / many.as_secs_f64()
    );
    println!(
        "| recovery after SIGKILL: {owner} in-flight instances running again | {:.0} ms after the new engine opened the store (target < 2 s) |",
        recovery.as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

/// The recovery run's child: starts `instances` holding instances, says "ready", waits to be
/// killed.
async fn child(dir: &Path, n: u32) -> Result<ExitCode> {
    let options = EngineOptions {
        owner: "bench-child".into(),
        poll_interval: Duration::from_millis(20),
        max_running: 100_000,
        ..EngineOptions::default()
    };
    let e = engine(dir, options)?;
    let (_stop, _task) = start(&e);
    for _ in 0..n {
        e.create(CreateInstance {
            workflow: "bench_hold".into(),
            id: None,
            params: Value::Null,
            trigger: "bench".into(),
        })
        .await?;
    }
    let filter = ListFilter {
        workflow: Some("bench_hold".into()),
        statuses: vec![InstanceStatus::Running],
        limit: 100_000,
        ..ListFilter::default()
    };
    while e.list(&filter).await?.len() < n as usize {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("ready");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(ExitCode::SUCCESS)
}
