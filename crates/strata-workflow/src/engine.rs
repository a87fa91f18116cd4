//! The engine: registry of workflows, the scheduler that claims due instances under leases, the
//! executor, cron triggers, the audit pump, and the control API (create, pause, resume, terminate,
//! restart, events).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use strata_events::SyncOutcome;
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    MAX_STEP_RESULT_BYTES,
    clock::{Clock, SystemClock},
    config::{EngineOptions, WorkflowOptions},
    context::{Context, Values},
    error::{EngineError, RunError},
    model::{
        CreateInstance, Instance, InstanceId, InstanceStatus, Lease, ListFilter, StepRecord,
        WorkflowEvent,
    },
    store::{Created, Store},
    telemetry::{self, Audit, AuditSink},
};

/// A workflow: named code whose durable operations go through its [`Context`].
#[async_trait]
pub trait Workflow: Send + Sync + 'static {
    /// The registered name (`daily_shopify_sync`); the key of instances and cron triggers.
    fn name(&self) -> &str;

    /// Concurrency limit and cron trigger.
    fn options(&self) -> WorkflowOptions {
        WorkflowOptions::default()
    }

    /// Runs (or replays) the workflow. Propagate the context's errors with `?`.
    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError>;
}

/// A registered workflow.
#[derive(Clone)]
pub struct WorkflowHandle {
    workflow: Arc<dyn Workflow>,
    options: WorkflowOptions,
}

impl WorkflowHandle {
    /// Its name.
    pub fn name(&self) -> &str {
        self.workflow.name()
    }

    /// Its options.
    pub fn options(&self) -> &WorkflowOptions {
        &self.options
    }
}

/// State shared by the engine's tasks and the contexts of running instances.
pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub options: EngineOptions,
    sink: Arc<dyn AuditSink>,
    workflows: BTreeMap<String, WorkflowHandle>,
    /// Workflow names accepted for new instances that another process executes.
    declared: std::collections::BTreeSet<String>,
    /// Wakes the scheduler (an instance was created, resumed, woken, or a slot freed).
    wake: Notify,
    running: Mutex<HashMap<InstanceId, CancellationToken>>,
}

impl Shared {
    fn running(&self) -> MutexGuard<'_, HashMap<InstanceId, CancellationToken>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The durable workflow engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// Longest accepted event type.
const MAX_EVENT_TYPE: usize = 100;

pub(crate) fn check_event_type(event_type: &str) -> Result<(), EngineError> {
    let ok = (1..=MAX_EVENT_TYPE).contains(&event_type.len())
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidEventType(
            event_type.chars().take(120).collect(),
        ))
    }
}

impl Engine {
    /// An engine over `store` delivering its audit trail to `sink`, with the system clock.
    pub fn new(store: Arc<dyn Store>, sink: Arc<dyn AuditSink>, options: EngineOptions) -> Self {
        Self::with_clock(store, sink, options, Arc::new(SystemClock))
    }

    /// An engine with another clock (tests).
    pub fn with_clock(
        store: Arc<dyn Store>,
        sink: Arc<dyn AuditSink>,
        options: EngineOptions,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                clock,
                options,
                sink,
                workflows: BTreeMap::new(),
                declared: std::collections::BTreeSet::new(),
                wake: Notify::new(),
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Registers a workflow. Call before the engine runs or is cloned.
    pub fn register(mut self, workflow: impl Workflow) -> Self {
        let options = workflow.options();
        let handle = WorkflowHandle {
            workflow: Arc::new(workflow),
            options,
        };
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => {
                shared.workflows.insert(handle.name().to_owned(), handle);
            }
            None => tracing::error!(
                workflow = handle.name(),
                "workflow registered after the engine was shared; it is ignored"
            ),
        }
        self
    }

    /// Accepts instances of `names` without running them here: for a client beside the process
    /// that executes them (the CLI beside `strata serve`). Call before the engine is shared.
    pub fn declare<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.declared.extend(names.into_iter().map(str::to_owned)),
            None => tracing::error!(
                "workflow names declared after the engine was shared; they are ignored"
            ),
        }
        self
    }

    /// The registered workflows, by name.
    pub fn workflows(&self) -> impl Iterator<Item = &WorkflowHandle> {
        self.shared.workflows.values()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Named durable values (watermarks, cursors).
    pub fn values(&self) -> Values {
        Values::new(self.shared.clone())
    }

    /// Checks that instances of `name` can be created here.
    fn check_workflow(&self, name: &str) -> Result<(), EngineError> {
        let shared = &self.shared;
        if shared.workflows.contains_key(name) || shared.declared.contains(name) {
            return Ok(());
        }
        let mut known: Vec<&str> = shared.workflows.keys().map(String::as_str).collect();
        known.extend(shared.declared.iter().map(String::as_str));
        known.sort_unstable();
        known.dedup();
        Err(EngineError::UnknownWorkflow {
            name: name.to_owned(),
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        })
    }

    /// Creates an instance; with an id that already exists, returns that instance instead
    /// (`false` in the pair). The engine's scheduler runs it.
    pub async fn create(&self, request: CreateInstance) -> Result<(Instance, bool), EngineError> {
        self.check_workflow(&request.workflow)?;
        let now = self.shared.clock.now();
        let instance = Instance {
            id: request.id.unwrap_or_else(InstanceId::mint),
            workflow: request.workflow,
            status: InstanceStatus::Queued,
            params: request.params,
            output: None,
            error: None,
            generation: 0,
            trigger: request.trigger,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            wake_at: None,
            waiting_for: None,
            lease: None,
            version: 0,
        };
        let created = self.shared.store.create(instance, Vec::new()).await?;
        self.shared.wake.notify_one();
        Ok(match created {
            Created::New(i) => (i, true),
            Created::Existing(i) => (i, false),
        })
    }

    /// The instance.
    pub async fn get(&self, id: &InstanceId) -> Result<Instance, EngineError> {
        self.shared
            .store
            .get(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(id.clone()))
    }

    /// Instances matching `filter`, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>, EngineError> {
        Ok(self.shared.store.list(filter).await?)
    }

    /// The step records of the instance's current generation.
    pub async fn steps(&self, id: &InstanceId) -> Result<Vec<StepRecord>, EngineError> {
        let instance = self.get(id).await?;
        Ok(self.shared.store.steps(id, instance.generation).await?)
    }

    /// The instance's event inbox.
    pub async fn events(&self, id: &InstanceId) -> Result<Vec<WorkflowEvent>, EngineError> {
        self.get(id).await?;
        Ok(self.shared.store.events(id).await?)
    }

    /// Applies `change` to the instance with compare-and-set, retrying on concurrent changes.
    async fn transition(
        &self,
        id: &InstanceId,
        action: &'static str,
        change: impl Fn(&mut Instance) -> Result<(), &'static str>,
    ) -> Result<Instance, EngineError> {
        loop {
            let mut instance = self.get(id).await?;
            let status = instance.status;
            if let Err(hint) = change(&mut instance) {
                return Err(EngineError::InvalidTransition {
                    id: id.clone(),
                    action,
                    status,
                    hint,
                });
            }
            instance.updated_at = self.shared.clock.now();
            if let Some(updated) = self.shared.store.update(instance, Vec::new()).await? {
                if let Some(token) = self.shared.running().get(id)
                    && updated.status != InstanceStatus::Running
                {
                    token.cancel();
                }
                self.shared.wake.notify_one();
                return Ok(updated);
            }
        }
    }

    /// Pauses a queued, running or waiting instance; a running step is abandoned and runs again on
    /// resume.
    pub async fn pause(&self, id: &InstanceId) -> Result<Instance, EngineError> {
        self.transition(id, "pause", |i| match i.status {
            InstanceStatus::Queued | InstanceStatus::Running | InstanceStatus::Waiting => {
                i.status = InstanceStatus::Paused;
                i.lease = None;
                Ok(())
            }
            InstanceStatus::Paused => Err(" already"),
            _ => Err("; `restart` runs a finished instance again"),
        })
        .await
    }

    /// Queues a paused instance again; it continues after its last completed step.
    pub async fn resume(&self, id: &InstanceId) -> Result<Instance, EngineError> {
        self.transition(id, "resume", |i| match i.status {
            InstanceStatus::Paused => {
                i.status = InstanceStatus::Queued;
                i.wake_at = None;
                Ok(())
            }
            s if s.is_finished() => Err("; `restart` runs a finished instance again"),
            _ => Err("; only a paused instance can be resumed"),
        })
        .await
    }

    /// Stops an instance for good.
    pub async fn terminate(&self, id: &InstanceId) -> Result<Instance, EngineError> {
        let now = self.shared.clock.now();
        self.transition(id, "terminate", |i| {
            if i.status.is_finished() {
                return Err(" already finished");
            }
            i.status = InstanceStatus::Terminated;
            i.lease = None;
            i.wake_at = None;
            i.finished_at = Some(now);
            Ok(())
        })
        .await
    }

    /// Runs an instance again from the start, as a new generation (earlier step results are kept
    /// for the record but no longer used).
    pub async fn restart(&self, id: &InstanceId) -> Result<Instance, EngineError> {
        self.transition(id, "restart", |i| {
            i.generation += 1;
            i.status = InstanceStatus::Queued;
            i.output = None;
            i.error = None;
            i.started_at = None;
            i.finished_at = None;
            i.wake_at = None;
            i.waiting_for = None;
            i.lease = None;
            Ok(())
        })
        .await
    }

    /// Sends an event to an instance (consumed by a `wait_for_event` of its type).
    pub async fn send_event(
        &self,
        id: &InstanceId,
        event_type: &str,
        payload: Value,
    ) -> Result<WorkflowEvent, EngineError> {
        check_event_type(event_type)?;
        let size = serde_json::to_string(&payload)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if size > MAX_STEP_RESULT_BYTES {
            return Err(EngineError::PayloadTooLarge {
                size,
                limit: MAX_STEP_RESULT_BYTES,
            });
        }
        let instance = self.get(id).await?;
        if instance.status.is_finished() {
            return Err(EngineError::InvalidTransition {
                id: id.clone(),
                action: "send an event to",
                status: instance.status,
                hint: "; events are only accepted by unfinished instances",
            });
        }
        let now = self.shared.clock.now();
        let event = self
            .shared
            .store
            .insert_event(id, event_type, payload, now)
            .await?;
        self.wake_waiter(id, event_type).await?;
        Ok(event)
    }

    /// Makes a waiting instance due now if it waits for `event_type`.
    async fn wake_waiter(&self, id: &InstanceId, event_type: &str) -> Result<(), EngineError> {
        loop {
            let Some(mut instance) = self.shared.store.get(id).await? else {
                return Ok(());
            };
            if instance.status != InstanceStatus::Waiting
                || instance.waiting_for.as_deref() != Some(event_type)
            {
                return Ok(());
            }
            instance.wake_at = Some(self.shared.clock.now());
            if self
                .shared
                .store
                .update(instance, Vec::new())
                .await?
                .is_some()
            {
                self.shared.wake.notify_one();
                return Ok(());
            }
        }
    }

    /// Polls until the instance is finished, paused, or `timeout` passes; returns it as last seen.
    pub async fn wait_settled(
        &self,
        id: &InstanceId,
        timeout: std::time::Duration,
    ) -> Result<Instance, EngineError> {
        let started = Instant::now();
        loop {
            let instance = self.get(id).await?;
            if instance.status.is_finished()
                || instance.status == InstanceStatus::Paused
                || started.elapsed() >= timeout
            {
                return Ok(instance);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Runs the scheduler until `shutdown` is cancelled: claims due instances, fires cron
    /// triggers, renews leases and delivers the audit trail. On shutdown, running instances are
    /// stopped and released at once so any process can resume them.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), EngineError> {
        let shared = &self.shared;
        if shared.store.exclusive() {
            self.take_over_dead_leases().await?;
        }
        let mut tasks = JoinSet::new();
        let renewer = {
            let engine = self.clone();
            let stop = shutdown.child_token();
            tokio::spawn(async move { engine.renew_leases(stop).await })
        };
        tracing::info!(
            store = %shared.store.describe(),
            owner = %shared.options.owner,
            workflows = %shared.workflows.keys().cloned().collect::<Vec<_>>().join(", "),
            "workflow engine started"
        );
        loop {
            // The next wake-up counts from the start of the tick, so a clock that moves during the
            // tick's work (a manual clock in tests) cannot put the scheduler to sleep past it.
            let next = shared.clock.now()
                + chrono::Duration::from_std(shared.options.poll_interval).unwrap_or_default();
            if let Err(e) = self.fire_crons().await {
                tracing::error!(error = %e, "cron triggers failed; retrying on the next tick");
            }
            if let Err(e) = self.claim_due(&mut tasks).await {
                tracing::error!(error = %e, "claiming due instances failed; retrying on the next tick");
            }
            if let Err(e) = self.deliver_audit().await {
                tracing::warn!(error = %e, "audit delivery failed; the events stay in the outbox and are retried");
            }
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = shared.wake.notified() => {}
                () = shared.clock.sleep_until(next) => {}
            }
        }
        // Stop the running instances and release them.
        let stopping: Vec<InstanceId> = {
            let running = shared.running();
            for token in running.values() {
                token.cancel();
            }
            running.keys().cloned().collect()
        };
        while tasks.join_next().await.is_some() {}
        renewer.abort();
        for id in stopping {
            if let Err(e) = self.release(&id).await {
                tracing::warn!(instance = %id, error = %e, "could not release the instance; it is taken over when its lease lapses");
            }
        }
        if let Err(e) = self.deliver_audit().await {
            tracing::warn!(error = %e, "audit delivery failed at shutdown; the events stay in the outbox");
        }
        tracing::info!("workflow engine stopped");
        Ok(())
    }

    /// Puts an instance this process was running back in the queue.
    async fn release(&self, id: &InstanceId) -> Result<(), EngineError> {
        loop {
            let Some(mut instance) = self.shared.store.get(id).await? else {
                return Ok(());
            };
            let mine = instance
                .lease
                .as_ref()
                .is_some_and(|l| l.owner == self.shared.options.owner);
            if instance.status != InstanceStatus::Running || !mine {
                return Ok(());
            }
            instance.status = InstanceStatus::Queued;
            instance.lease = None;
            instance.updated_at = self.shared.clock.now();
            if self
                .shared
                .store
                .update(instance, Vec::new())
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
    }

    /// With an exclusive store, every lease not ours belongs to a dead process: queue those
    /// instances now instead of waiting for their leases to lapse.
    async fn take_over_dead_leases(&self) -> Result<(), EngineError> {
        let filter = ListFilter {
            statuses: vec![InstanceStatus::Running],
            limit: usize::MAX >> 1,
            ..ListFilter::default()
        };
        for mut instance in self.shared.store.list(&filter).await? {
            if instance
                .lease
                .as_ref()
                .is_some_and(|l| l.owner == self.shared.options.owner)
            {
                continue;
            }
            tracing::info!(instance = %instance.id, workflow = %instance.workflow, "taking over an instance of a stopped process");
            instance.status = InstanceStatus::Queued;
            instance.lease = None;
            instance.updated_at = self.shared.clock.now();
            self.shared.store.update(instance, Vec::new()).await?;
        }
        Ok(())
    }

    async fn claim_due(&self, tasks: &mut JoinSet<()>) -> Result<(), EngineError> {
        let shared = &self.shared;
        let max = shared.options.max_running;
        if shared.running().len() >= max {
            return Ok(());
        }
        let now = shared.clock.now();
        let due = shared.store.due(now, max * 4).await?;
        for instance in due {
            if shared.running().len() >= max {
                break;
            }
            if shared.running().contains_key(&instance.id) {
                continue;
            }
            let Some(handle) = shared.workflows.get(&instance.workflow) else {
                continue;
            };
            if let Some(limit) = handle.options.concurrency
                && shared.store.count_leased(&instance.workflow, now).await? >= limit as usize
            {
                continue;
            }
            let first_start = instance.started_at.is_none();
            let mut claimed = instance;
            claimed.status = InstanceStatus::Running;
            claimed.lease = Some(Lease {
                owner: shared.options.owner.clone(),
                until: now
                    + chrono::Duration::from_std(shared.options.lease_ttl).unwrap_or_default(),
            });
            claimed.wake_at = None;
            claimed.waiting_for = None;
            claimed.started_at.get_or_insert(now);
            claimed.updated_at = now;
            let audit = if first_start {
                vec![Audit::run(&claimed, SyncOutcome::Started).record(now)]
            } else {
                Vec::new()
            };
            let Some(claimed) = shared.store.update(claimed, audit).await? else {
                continue;
            };
            let token = CancellationToken::new();
            shared.running().insert(claimed.id.clone(), token.clone());
            let engine = self.clone();
            let workflow = handle.workflow.clone();
            tasks.spawn(async move { engine.execute(workflow, claimed, token).await });
        }
        Ok(())
    }

    async fn execute(
        &self,
        workflow: Arc<dyn Workflow>,
        instance: Instance,
        token: CancellationToken,
    ) {
        let id = instance.id.clone();
        let ctx = Context::new(self.shared.clone(), instance.clone());
        let started = Instant::now();
        let params = instance.params.clone();
        let outcome = tokio::select! {
            r = workflow.run(&ctx, params) => Some(r),
            () = token.cancelled() => None,
        };
        drop(ctx);
        if let Some(outcome) = outcome {
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            if let Err(e) = self.finish(&instance, outcome, duration_ms).await {
                tracing::error!(instance = %id, error = %e, "could not record how the run ended; it runs again when its lease lapses");
            }
        }
        self.shared.running().remove(&id);
        self.shared.wake.notify_one();
    }

    /// Records how a run ended, if this process still holds the instance.
    async fn finish(
        &self,
        ran: &Instance,
        outcome: Result<Value, RunError>,
        duration_ms: u64,
    ) -> Result<(), EngineError> {
        let shared = &self.shared;
        let mut recheck_event = None;
        loop {
            let Some(mut instance) = shared.store.get(&ran.id).await? else {
                return Ok(());
            };
            let mine = instance.status == InstanceStatus::Running
                && instance.generation == ran.generation
                && instance
                    .lease
                    .as_ref()
                    .is_some_and(|l| l.owner == shared.options.owner);
            if !mine {
                return Ok(());
            }
            let now = shared.clock.now();
            instance.updated_at = now;
            instance.lease = None;
            let mut audit = Vec::new();
            match &outcome {
                Ok(output) => {
                    instance.status = InstanceStatus::Complete;
                    instance.output = Some(output.clone());
                    instance.finished_at = Some(now);
                    let mut a = Audit::run(&instance, SyncOutcome::Completed);
                    a.duration_ms = duration_ms;
                    audit.push(a.record(now));
                }
                Err(RunError::Suspended {
                    wake_at,
                    waiting_for,
                }) => {
                    instance.status = InstanceStatus::Waiting;
                    instance.wake_at = Some(*wake_at);
                    instance.waiting_for.clone_from(waiting_for);
                    recheck_event.clone_from(waiting_for);
                }
                Err(RunError::Interrupted) => {
                    instance.status = InstanceStatus::Queued;
                }
                Err(RunError::Store(e)) if !e.is_permanent() => {
                    // The store hiccuped mid-run: try again shortly from the last persisted step.
                    tracing::warn!(instance = %instance.id, error = %e, "the workflow store failed during the run; retrying in 1 s");
                    instance.status = InstanceStatus::Waiting;
                    instance.wake_at = Some(now + chrono::Duration::seconds(1));
                }
                Err(e) => {
                    instance.status = InstanceStatus::Errored;
                    instance.error = Some(e.to_string());
                    instance.finished_at = Some(now);
                    let mut a = Audit::run(&instance, SyncOutcome::Failed);
                    a.duration_ms = duration_ms;
                    a.error = Some(e.to_string());
                    audit.push(a.record(now));
                    tracing::warn!(instance = %instance.id, workflow = %instance.workflow, error = %e, "workflow run failed");
                }
            }
            if shared.store.update(instance, audit).await?.is_some() {
                break;
            }
        }
        // An event may have arrived between the run's last look at its inbox and the suspension.
        if let Some(event_type) = recheck_event
            && shared.store.has_unconsumed(&ran.id, &event_type).await?
        {
            self.wake_waiter(&ran.id, &event_type).await?;
        }
        Ok(())
    }

    /// Renews this process's leases every third of their time to live, and stops the instances
    /// whose lease was lost (paused or terminated elsewhere, or taken over).
    async fn renew_leases(&self, stop: CancellationToken) {
        let shared = &self.shared;
        let period = chrono::Duration::from_std(shared.options.lease_ttl / 3).unwrap_or_default();
        loop {
            let next = shared.clock.now() + period;
            tokio::select! {
                () = stop.cancelled() => return,
                () = shared.clock.sleep_until(next) => {}
            }
            let ids: Vec<InstanceId> = shared.running().keys().cloned().collect();
            if ids.is_empty() {
                continue;
            }
            let until = shared.clock.now()
                + chrono::Duration::from_std(shared.options.lease_ttl).unwrap_or_default();
            match shared.store.renew(&shared.options.owner, &ids, until).await {
                Ok(lost) => {
                    let running = shared.running();
                    for id in lost {
                        if let Some(token) = running.get(&id) {
                            tracing::info!(instance = %id, "lease lost (paused, terminated or taken over); stopping the run here");
                            token.cancel();
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "lease renewal failed; retrying"),
            }
        }
    }

    /// Creates the instance of each cron trigger whose time has come, once per scheduled time
    /// across every process (the instance id is derived from the time; the last fired time is a
    /// compare-and-set value). After downtime only the latest missed time fires.
    async fn fire_crons(&self) -> Result<(), EngineError> {
        let now = self.shared.clock.now();
        for handle in self.shared.workflows.values() {
            let Some(schedule) = &handle.options.cron else {
                continue;
            };
            let key = format!("cron/{}", handle.name());
            let values = self.values();
            let Some(stored) = values.get(&key).await? else {
                // First sight of this trigger: start counting from now, firing nothing past.
                let _ = values.put(&key, json!({ "last": now }), Some(0)).await;
                continue;
            };
            let last: DateTime<Utc> = stored
                .value
                .get("last")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or(now);
            let mut due = None;
            let mut cursor = last;
            while let Some(next) = schedule.next_after(cursor) {
                if next > now {
                    break;
                }
                due = Some(next);
                cursor = next;
            }
            let Some(fire_at) = due else { continue };
            let id = InstanceId::parse(&format!(
                "{}-cron-{}",
                handle.name(),
                fire_at.format("%Y%m%dT%H%M%SZ")
            ))?;
            self.create(CreateInstance {
                workflow: handle.name().to_owned(),
                id: Some(id.clone()),
                params: json!({ "scheduled_time": fire_at }),
                trigger: "cron".to_owned(),
            })
            .await?;
            match values
                .put(&key, json!({ "last": fire_at }), Some(stored.revision))
                .await
            {
                Ok(_) => {
                    tracing::info!(workflow = handle.name(), instance = %id, scheduled = %fire_at, "cron trigger fired")
                }
                Err(EngineError::ValueConflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves audit events from the outbox to the sink.
    async fn deliver_audit(&self) -> Result<(), EngineError> {
        loop {
            let pending = self.shared.store.audit_pending(500).await?;
            if pending.is_empty() {
                return Ok(());
            }
            let events = telemetry::decode(&pending);
            if !events.is_empty() {
                self.shared
                    .sink
                    .deliver(events)
                    .await
                    .map_err(EngineError::AuditSink)?;
            }
            let ids: Vec<String> = pending.into_iter().map(|r| r.event_id).collect();
            self.shared.store.audit_delivered(&ids).await?;
            if ids.len() < 500 {
                return Ok(());
            }
        }
    }
}
