//! What a running workflow sees: durable steps, sleeps, event waits, and named values.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use strata_events::SyncOutcome;

use crate::{
    MAX_STEP_RESULT_BYTES,
    config::StepConfig,
    engine::Shared,
    error::{EngineError, RunError, StepError},
    model::{Consumed, Instance, InstanceId, StepRecord, StepState, StoredValue, WorkflowEvent},
    store::Store,
    telemetry::Audit,
};

/// The handle a workflow's `run` gets: every durable operation goes through it.
pub struct Context {
    shared: Arc<Shared>,
    instance: Instance,
}

/// One attempt of a step, handed to the step's code.
#[derive(Clone)]
pub struct Attempt {
    /// The attempt number, from 1.
    pub number: u32,
    values: Values,
    report: Arc<Mutex<Report>>,
}

#[derive(Default)]
struct Report {
    counts: BTreeMap<String, i64>,
    watermark: Option<String>,
}

impl Attempt {
    /// Named durable values (watermarks, cursors), read and advanced inside steps.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// Adds `n` to the record count `name` reported in this step's audit event.
    pub fn count(&self, name: &str, n: i64) {
        if let Ok(mut r) = self.report.lock() {
            *r.counts.entry(name.to_owned()).or_default() += n;
        }
    }

    /// Sets the watermark reported in this step's audit event.
    pub fn report_watermark(&self, watermark: impl Into<String>) {
        if let Ok(mut r) = self.report.lock() {
            r.watermark = Some(watermark.into());
        }
    }
}

/// Named durable values in the workflow store (not the domain database).
#[derive(Clone)]
pub struct Values {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
}

impl Values {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            store: shared.store.clone(),
            shared,
        }
    }

    /// The value under `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<StoredValue>, EngineError> {
        check_value_key(key)?;
        Ok(self.store.get_value(key).await?)
    }

    /// Writes `value` under `key`. With `expected = Some(revision)` only if the stored revision is
    /// still that (`Some(0)`: only if absent), so two writers cannot both advance a watermark.
    pub async fn put(
        &self,
        key: &str,
        value: Value,
        expected: Option<u64>,
    ) -> Result<StoredValue, EngineError> {
        check_value_key(key)?;
        let now = self.shared.clock.now();
        match self.store.put_value(key, value, expected, now).await? {
            Ok(stored) => Ok(stored),
            Err(found) => Err(EngineError::ValueConflict {
                key: key.to_owned(),
                expected,
                found,
            }),
        }
    }
}

/// Value keys: 1 to 200 characters of letters, digits and `-_/=.`, not starting or ending with
/// `.` or `/` (valid NATS key-value keys, readable paths like `watermark/shopify/orders`).
fn check_value_key(key: &str) -> Result<(), EngineError> {
    let ok = (1..=200).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'=' | b'.'))
        && !key.starts_with(['.', '/'])
        && !key.ends_with(['.', '/'])
        && !key.contains("..");
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidValueKey(
            key.chars().take(220).collect(),
        ))
    }
}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(_) | EngineError::ValueConflict { .. } => StepError::retryable(e),
            other => StepError::fatal(other),
        }
    }
}

impl Context {
    pub(crate) fn new(shared: Arc<Shared>, instance: Instance) -> Self {
        Self { shared, instance }
    }

    /// The instance being run.
    pub fn instance_id(&self) -> &InstanceId {
        &self.instance.id
    }

    /// The instance's parameters.
    pub fn params(&self) -> &Value {
        &self.instance.params
    }

    /// The restart generation (0 until the instance is restarted).
    pub fn generation(&self) -> u32 {
        self.instance.generation
    }

    /// The engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Named durable values, also reachable from inside steps through [`Attempt::values`].
    pub fn values(&self) -> Values {
        Values::new(self.shared.clone())
    }

    fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    /// Runs `f` as the step `name`: if a step of that name already completed in this generation,
    /// its stored result is returned and `f` does not run; otherwise `f` runs (retried per
    /// `config`) and its result is stored durably before this returns.
    pub async fn step<T, F, Fut>(
        &self,
        name: &str,
        config: StepConfig,
        mut f: F,
    ) -> Result<T, RunError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, StepError>>,
    {
        let id = &self.instance.id;
        let generation = self.instance.generation;
        let mut attempt = 1;
        match self
            .store()
            .step(id, generation, name)
            .await?
            .map(|r| r.state)
        {
            None => {}
            Some(StepState::Done { result, .. }) => {
                return serde_json::from_value(result).map_err(|e| {
                    RunError::failed(format!(
                        "the stored result of step `{name}` no longer matches its type ({e}); restart the instance to run it again"
                    ))
                });
            }
            Some(StepState::Failed { attempts, error }) => {
                return Err(RunError::StepFailed {
                    step: name.to_owned(),
                    attempts,
                    error,
                });
            }
            Some(StepState::Retrying {
                attempt: failed,
                next_at,
                ..
            }) => {
                self.wait_until(next_at, None).await?;
                attempt = failed + 1;
            }
            Some(other) => return Err(duplicate_name(name, &other)),
        }
        loop {
            let report = Arc::new(Mutex::new(Report::default()));
            let handle = Attempt {
                number: attempt,
                values: self.values(),
                report: report.clone(),
            };
            let started = Instant::now();
            let deadline = self.now()
                + chrono::Duration::from_std(config.timeout).unwrap_or(chrono::Duration::MAX);
            let result = tokio::select! {
                r = f(handle) => r,
                () = self.shared.clock.sleep_until(deadline) => Err(StepError::retryable(format!(
                    "the attempt did not finish within its timeout of {:?}", config.timeout
                ))),
            };
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (counts, watermark) = report
                .lock()
                .map(|mut r| (std::mem::take(&mut r.counts), r.watermark.take()))
                .unwrap_or_default();
            let now = self.now();
            let audit = |outcome, error: Option<String>| {
                Audit {
                    instance: &self.instance,
                    step: Some(name),
                    attempt,
                    outcome,
                    counts: counts.clone(),
                    watermark: watermark.clone(),
                    duration_ms,
                    error,
                }
                .record(now)
            };
            let failure = match result {
                Ok(value) => match encode_result(name, &value) {
                    Ok(result) => {
                        let record = StepRecord {
                            name: name.to_owned(),
                            state: StepState::Done {
                                result,
                                attempts: attempt,
                            },
                            updated_at: now,
                        };
                        self.store()
                            .put_step(
                                id,
                                generation,
                                record,
                                vec![audit(SyncOutcome::StepCompleted, None)],
                            )
                            .await?;
                        return Ok(value);
                    }
                    Err(too_large) => StepError::fatal(too_large),
                },
                Err(e) => e,
            };
            let error = failure.to_string();
            if failure.is_fatal() || attempt > config.retries.limit {
                let record = StepRecord {
                    name: name.to_owned(),
                    state: StepState::Failed {
                        attempts: attempt,
                        error: error.clone(),
                    },
                    updated_at: now,
                };
                self.store()
                    .put_step(
                        id,
                        generation,
                        record,
                        vec![audit(SyncOutcome::Failed, Some(error.clone()))],
                    )
                    .await?;
                return Err(RunError::StepFailed {
                    step: name.to_owned(),
                    attempts: attempt,
                    error,
                });
            }
            let delay = config.retries.delay_before(attempt);
            let next_at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            tracing::warn!(instance = %id, step = name, attempt, retry_in = ?delay, error = %error, "step failed; retrying");
            let record = StepRecord {
                name: name.to_owned(),
                state: StepState::Retrying {
                    attempt,
                    next_at,
                    error: error.clone(),
                },
                updated_at: now,
            };
            self.store()
                .put_step(
                    id,
                    generation,
                    record,
                    vec![audit(SyncOutcome::Retried, Some(error))],
                )
                .await?;
            self.wait_until(next_at, None).await?;
            attempt += 1;
        }
    }

    /// Sleeps durably for `duration`: the end time is stored at the first call, so a replay after
    /// a restart sleeps only for what is left.
    pub async fn sleep(&self, name: &str, duration: std::time::Duration) -> Result<(), RunError> {
        let until =
            self.now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        self.sleep_until(name, until).await
    }

    /// Sleeps durably until `until`.
    pub async fn sleep_until(&self, name: &str, until: DateTime<Utc>) -> Result<(), RunError> {
        let id = &self.instance.id;
        let generation = self.instance.generation;
        let until = match self
            .store()
            .step(id, generation, name)
            .await?
            .map(|r| r.state)
        {
            Some(StepState::Sleeping { until }) => until,
            Some(other) => return Err(duplicate_name(name, &other)),
            None => {
                let record = StepRecord {
                    name: name.to_owned(),
                    state: StepState::Sleeping { until },
                    updated_at: self.now(),
                };
                self.store()
                    .put_step(id, generation, record, Vec::new())
                    .await?;
                until
            }
        };
        self.wait_until(until, None).await
    }

    /// Waits durably for an event of `event_type` sent to this instance, for at most `timeout`
    /// (counted from the first call). An event sent before the wait began is kept and consumed;
    /// once the wait has timed out, no later event can be consumed by it.
    pub async fn wait_for_event(
        &self,
        name: &str,
        event_type: &str,
        timeout: std::time::Duration,
    ) -> Result<WorkflowEvent, RunError> {
        crate::engine::check_event_type(event_type).map_err(RunError::failed)?;
        let id = &self.instance.id;
        let generation = self.instance.generation;
        let deadline = match self
            .store()
            .step(id, generation, name)
            .await?
            .map(|r| r.state)
        {
            None => {
                let deadline = self.now()
                    + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX);
                let record = StepRecord {
                    name: name.to_owned(),
                    state: StepState::Waiting {
                        event_type: event_type.to_owned(),
                        deadline,
                    },
                    updated_at: self.now(),
                };
                self.store()
                    .put_step(id, generation, record, Vec::new())
                    .await?;
                deadline
            }
            Some(StepState::Waiting { deadline, .. }) => deadline,
            // Already decided: consume_event returns the stored outcome.
            Some(StepState::Done { .. } | StepState::TimedOut { .. }) => self.now(),
            Some(other) => return Err(duplicate_name(name, &other)),
        };
        match self
            .store()
            .consume_event(id, generation, name, event_type, self.now(), deadline)
            .await?
        {
            Consumed::Event(event) => Ok(event),
            Consumed::TimedOut => Err(RunError::WaitTimedOut {
                step: name.to_owned(),
                event_type: event_type.to_owned(),
            }),
            Consumed::Pending => Err(RunError::Suspended {
                wake_at: deadline,
                waiting_for: Some(event_type.to_owned()),
            }),
        }
    }

    /// Waits in process for short waits; suspends the instance for long ones.
    async fn wait_until(
        &self,
        until: DateTime<Utc>,
        waiting_for: Option<String>,
    ) -> Result<(), RunError> {
        let left = until - self.now();
        if left <= chrono::Duration::zero() {
            return Ok(());
        }
        let inline =
            chrono::Duration::from_std(self.shared.options.inline_wait).unwrap_or_default();
        if left <= inline {
            self.shared.clock.sleep_until(until).await;
            return Ok(());
        }
        Err(RunError::Suspended {
            wake_at: until,
            waiting_for,
        })
    }
}

fn encode_result<T: Serialize>(name: &str, value: &T) -> Result<Value, String> {
    let text = serde_json::to_string(value)
        .map_err(|e| format!("the result of step `{name}` cannot be stored as JSON: {e}"))?;
    if text.len() > MAX_STEP_RESULT_BYTES {
        return Err(format!(
            "the result of step `{name}` is {} bytes; a step result may be at most {MAX_STEP_RESULT_BYTES} bytes \
             (1 MiB): return a reference (a file path, an object key) instead of the data",
            text.len()
        ));
    }
    serde_json::from_str(&text)
        .map_err(|e| format!("the result of step `{name}` does not round-trip as JSON: {e}"))
}

fn duplicate_name(name: &str, found: &StepState) -> RunError {
    let kind = match found {
        StepState::Done { .. } | StepState::Retrying { .. } | StepState::Failed { .. } => "step",
        StepState::Sleeping { .. } => "sleep",
        StepState::Waiting { .. } | StepState::TimedOut { .. } => "event wait",
    };
    RunError::failed(format!(
        "the name `{name}` is already used by a {kind} of this run; step, sleep and event-wait names must be unique within a run"
    ))
}
