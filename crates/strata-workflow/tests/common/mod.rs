//! The test harness: a temporary data directory with the embedded store and the real event log
//! as the audit sink, a manual clock, and helpers to drive and observe instances.
#![allow(dead_code)]

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use strata_events::{Event, EventLog, SqliteLog, SqliteOptions, StreamName};
use strata_workflow::{
    Context, CreateInstance, Engine, EngineOptions, EventLogSink, Instance, InstanceId,
    ManualClock, RunError, Workflow,
    store::{Role, SqliteStore},
};
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub log: SqliteLog,
}

pub struct Running {
    token: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        self.token.cancel();
        self.task.await.unwrap();
    }
}

impl Harness {
    pub fn new(start: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteLog::open(&dir.path().join("events"), SqliteOptions::default()).unwrap();
        Self {
            dir,
            clock: ManualClock::new(start),
            log,
        }
    }

    pub fn options() -> EngineOptions {
        EngineOptions {
            poll_interval: Duration::from_millis(50),
            ..EngineOptions::default()
        }
    }

    pub fn engine(&self, register: impl FnOnce(Engine) -> Engine) -> Engine {
        let store = SqliteStore::open(&self.dir.path().join("workflows"), Role::Executor).unwrap();
        let engine = Engine::with_clock(
            Arc::new(store),
            Arc::new(EventLogSink(Arc::new(self.log.clone()))),
            Self::options(),
            Arc::new(self.clock.clone()),
        );
        register(engine)
    }

    pub fn start(&self, engine: &Engine) -> Running {
        let token = CancellationToken::new();
        let engine = engine.clone();
        let stop = token.clone();
        let task = tokio::spawn(async move { engine.run(stop).await.unwrap() });
        Running { token, task }
    }

    pub async fn create(&self, engine: &Engine, workflow: &str) -> InstanceId {
        engine
            .create(CreateInstance {
                workflow: workflow.to_owned(),
                id: None,
                params: Value::Null,
                trigger: "test".to_owned(),
            })
            .await
            .unwrap()
            .0
            .id
    }

    /// Polls (real time, up to 10 s) until `pred` holds.
    pub async fn until(
        &self,
        engine: &Engine,
        id: &InstanceId,
        pred: impl Fn(&Instance) -> bool,
    ) -> Instance {
        let mut last = None;
        for _ in 0..1000 {
            let i = engine.get(id).await.unwrap();
            if pred(&i) {
                return i;
            }
            last = Some(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached; last seen: {last:#?}");
    }

    /// Advances the clock by `tick` until the instance is finished (at most `max` ticks).
    pub async fn drive(
        &self,
        engine: &Engine,
        id: &InstanceId,
        tick: chrono::Duration,
        max: u32,
    ) -> Instance {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..max {
            let i = engine.get(id).await.unwrap();
            if i.status.is_finished() {
                return i;
            }
            self.clock.advance(tick);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let i = engine.get(id).await.unwrap();
        assert!(
            i.status.is_finished(),
            "not finished after {max} ticks: {i:#?}"
        );
        i
    }

    /// The audit trail of a run in the event log: `outcome` or `outcome:step`, in order.
    pub async fn audit_types(&self, run_id: &str) -> Vec<String> {
        let consumer = format!("audit-{}", ulid::Ulid::new());
        let deliveries = self
            .log
            .read(StreamName::Sync, &consumer, 100_000)
            .await
            .unwrap();
        deliveries
            .into_iter()
            .filter_map(|d| match d.event {
                Event::Sync(e) if e.body.run_id == run_id => Some(match &e.body.step {
                    Some(step) => format!("{}:{step}", e.body.outcome.as_str()),
                    None => e.body.outcome.as_str().to_owned(),
                }),
                _ => None,
            })
            .collect()
    }
}

pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, RunError>> + Send + 'a>>;

/// A workflow body: the run of one instance, given its context and the script's state.
type RunFn<S> = Box<dyn for<'a> Fn(&'a Context, S) -> RunFuture<'a> + Send + Sync>;

/// A workflow from a closure and a state value handed to each run.
pub struct Script<S> {
    name: String,
    run: RunFn<S>,
    state: S,
}

impl<S: Clone + Send + Sync + 'static> Script<S> {
    pub fn new<F>(name: &str, run: F, state: S) -> Self
    where
        F: for<'a> Fn(&'a Context, S) -> RunFuture<'a> + Send + Sync + 'static,
    {
        Self {
            name: name.to_owned(),
            run: Box::new(run),
            state,
        }
    }
}

#[async_trait]
impl<S: Clone + Send + Sync + 'static> Workflow for Script<S> {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, ctx: &Context, _params: Value) -> Result<Value, RunError> {
        (self.run)(ctx, self.state.clone()).await
    }
}
