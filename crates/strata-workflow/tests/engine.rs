//! The engine's semantics one by one, on the embedded store (real SQLite files), the real event
//! log as the audit sink, and a manual clock so timings are exact.

mod common;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use common::{Harness, Script};
use serde_json::{Value, json};
use strata_workflow::{
    Backoff, Context, CreateInstance, CronSchedule, EngineError, InstanceId, InstanceStatus,
    RetryPolicy, RunError, StepConfig, StepError, Workflow, WorkflowOptions,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 5, 0, 0).unwrap()
}

/// Runs step `a`, sleeps an hour durably, runs step `b`; counts every execution of each step.
struct SleepyWorkflow {
    runs: Arc<Mutex<BTreeMap<String, u32>>>,
}

#[async_trait]
impl Workflow for SleepyWorkflow {
    fn name(&self) -> &str {
        "sleepy"
    }

    async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
        let runs = self.runs.clone();
        let bump = move |name: &str| {
            *runs.lock().unwrap().entry(name.to_owned()).or_default() += 1;
        };
        let b1 = bump.clone();
        let a: i64 = ctx
            .step("a", StepConfig::default(), |_| {
                b1("a");
                let n = params["n"].as_i64().unwrap_or(0);
                async move { Ok(n * 2) }
            })
            .await?;
        ctx.sleep("nap", Duration::from_secs(3600)).await?;
        let b2 = bump.clone();
        let b: i64 = ctx
            .step("b", StepConfig::default(), |_| {
                b2("b");
                async move { Ok(a + 1) }
            })
            .await?;
        Ok(json!({ "a": a, "b": b }))
    }
}

#[tokio::test]
async fn replay_skips_completed_steps_and_sleep_survives_a_restart() {
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let h = Harness::new(t0());
    let engine = h.engine(|e| e.register(SleepyWorkflow { runs: runs.clone() }));
    let running = h.start(&engine);
    let (instance, created) = engine
        .create(CreateInstance {
            workflow: "sleepy".into(),
            id: Some(InstanceId::parse("nap-1").unwrap()),
            params: json!({ "n": 20 }),
            trigger: "manual".into(),
        })
        .await
        .unwrap();
    assert!(created);
    let waiting = h
        .until(&engine, &instance.id, |i| {
            i.status == InstanceStatus::Waiting
        })
        .await;
    assert_eq!(waiting.wake_at, Some(t0() + chrono::Duration::hours(1)));
    running.stop().await;
    drop(engine);

    // A new process on the same directory: the sleep's end is stored, so it finishes after the
    // hour, and step `a` is not run again.
    let engine = h.engine(|e| e.register(SleepyWorkflow { runs: runs.clone() }));
    let running = h.start(&engine);
    h.clock.advance(chrono::Duration::minutes(59));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        engine.get(&instance.id).await.unwrap().status,
        InstanceStatus::Waiting
    );
    h.clock.advance(chrono::Duration::minutes(1));
    let done = h
        .until(&engine, &instance.id, |i| i.status.is_finished())
        .await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!({ "a": 40, "b": 41 })));
    assert_eq!(
        *runs.lock().unwrap(),
        BTreeMap::from([("a".into(), 1), ("b".into(), 1)])
    );

    // Creating the same id again is idempotent: the finished instance comes back.
    let (again, created) = engine
        .create(CreateInstance {
            workflow: "sleepy".into(),
            id: Some(instance.id.clone()),
            params: json!({ "n": 1 }),
            trigger: "manual".into(),
        })
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.status, InstanceStatus::Complete);

    // The audit trail reached sync telemetry: started, two step completions, completed.
    let trail = h.audit_types("nap-1").await;
    assert_eq!(
        trail,
        [
            "started",
            "step_completed:a",
            "step_completed:b",
            "completed"
        ]
    );
}

#[tokio::test]
async fn retries_follow_the_backoff_under_the_clock() {
    let h = Harness::new(t0());
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let config = StepConfig::default().with_retries(RetryPolicy {
        limit: 5,
        delay: Duration::from_secs(10),
        backoff: Backoff::Exponential,
    });
    let script = Script::new(
        "flaky",
        move |ctx: &Context, attempts: Arc<Mutex<Vec<DateTime<Utc>>>>| {
            Box::pin(async move {
                let v: u32 = ctx
                    .step("call", config, |a| {
                        attempts.lock().unwrap().push(ctx.now());
                        async move {
                            if a.number < 4 {
                                Err(StepError::retryable(format!("503 on attempt {}", a.number)))
                            } else {
                                Ok(a.number)
                            }
                        }
                    })
                    .await?;
                Ok(json!(v))
            })
        },
        attempts.clone(),
    );
    let engine = h.engine(|e| e.register(script));
    let running = h.start(&engine);
    let id = h.create(&engine, "flaky").await;
    let done = h
        .drive(&engine, &id, chrono::Duration::seconds(1), 200)
        .await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Complete, "{:?}", done.error);
    assert_eq!(done.output, Some(json!(4)));
    let times = attempts.lock().unwrap().clone();
    // Attempts at 0, +10 s, +10+20 s, +10+20+40 s: never early, and at most one tick late.
    let expected = [0, 10, 30, 70];
    assert_eq!(times.len(), expected.len(), "{times:?}");
    for (t, e) in times.iter().zip(expected) {
        let offset = (*t - t0()).num_seconds();
        assert!(
            (e..e + 2).contains(&offset),
            "attempt at +{offset}s, expected +{e}s: {times:?}"
        );
    }
    let trail = h.audit_types(id.as_str()).await;
    assert_eq!(
        trail,
        [
            "started",
            "retried:call",
            "retried:call",
            "retried:call",
            "step_completed:call",
            "completed"
        ]
    );
}

#[tokio::test]
async fn fatal_errors_fail_at_once_and_exhausted_retries_fail_the_run() {
    let h = Harness::new(t0());
    let calls = Arc::new(AtomicU32::new(0));
    let fatal = Script::new(
        "fatal",
        |ctx: &Context, calls: Arc<AtomicU32>| {
            Box::pin(async move {
                ctx.step("bad-input", StepConfig::default(), |_| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err::<(), _>(StepError::fatal("order 42 has no line items")) }
                })
                .await?;
                Ok(Value::Null)
            })
        },
        calls.clone(),
    );
    let exhausted = Script::new(
        "exhausted",
        |ctx: &Context, _: ()| {
            Box::pin(async move {
                let config = StepConfig::default().with_retries(RetryPolicy {
                    limit: 2,
                    delay: Duration::from_secs(1),
                    backoff: Backoff::Constant,
                });
                ctx.step("down", config, |_| async {
                    Err::<(), _>(StepError::retryable("connection refused"))
                })
                .await?;
                Ok(Value::Null)
            })
        },
        (),
    );
    let engine = h.engine(|e| e.register(fatal).register(exhausted));
    let running = h.start(&engine);
    let a = h.create(&engine, "fatal").await;
    let b = h.create(&engine, "exhausted").await;
    let a = h.drive(&engine, &a, chrono::Duration::seconds(1), 50).await;
    let b = h.drive(&engine, &b, chrono::Duration::seconds(1), 50).await;
    running.stop().await;
    assert_eq!(a.status, InstanceStatus::Errored);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a fatal error is not retried"
    );
    assert!(
        a.error
            .as_deref()
            .unwrap()
            .contains("order 42 has no line items"),
        "{:?}",
        a.error
    );
    assert_eq!(b.status, InstanceStatus::Errored);
    assert!(
        b.error
            .as_deref()
            .unwrap()
            .contains("failed after 3 attempt(s): connection refused"),
        "{:?}",
        b.error
    );
    let trail = h.audit_types(b.id.as_str()).await;
    assert_eq!(
        trail,
        [
            "started",
            "retried:down",
            "retried:down",
            "failed:down",
            "failed"
        ]
    );
}

#[tokio::test]
async fn a_step_past_its_timeout_counts_as_failed() {
    let h = Harness::new(t0());
    let script = Script::new(
        "hangs",
        |ctx: &Context, _: ()| {
            Box::pin(async move {
                let config = StepConfig::default()
                    .with_retries(RetryPolicy::none())
                    .with_timeout(Duration::from_secs(30));
                ctx.step("forever", config, |_| {
                    std::future::pending::<Result<(), StepError>>()
                })
                .await?;
                Ok(Value::Null)
            })
        },
        (),
    );
    let engine = h.engine(|e| e.register(script));
    let running = h.start(&engine);
    let id = h.create(&engine, "hangs").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.clock.advance(chrono::Duration::seconds(29));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        engine.get(&id).await.unwrap().status,
        InstanceStatus::Running
    );
    let done = h
        .drive(&engine, &id, chrono::Duration::seconds(1), 10)
        .await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Errored);
    assert!(done.error.unwrap().contains("timeout of 30s"));
}

#[tokio::test]
async fn a_step_result_over_one_mebibyte_fails_clearly() {
    let h = Harness::new(t0());
    let script = Script::new(
        "big",
        |ctx: &Context, _: ()| {
            Box::pin(async move {
                let s: String = ctx
                    .step("huge", StepConfig::default(), |_| async {
                        Ok("x".repeat(1024 * 1024 + 1))
                    })
                    .await?;
                Ok(json!(s.len()))
            })
        },
        (),
    );
    let engine = h.engine(|e| e.register(script));
    let running = h.start(&engine);
    let id = h.create(&engine, "big").await;
    let done = h
        .drive(&engine, &id, chrono::Duration::seconds(1), 10)
        .await;
    running.stop().await;
    assert_eq!(done.status, InstanceStatus::Errored);
    let error = done.error.unwrap();
    assert!(
        error.contains("1048579 bytes") && error.contains("at most 1048576"),
        "{error}"
    );
}

/// Waits for `approval` (1 h), and on a timeout waits again under another name.
fn approval_script() -> Script<()> {
    Script::new(
        "approval",
        |ctx: &Context, _: ()| {
            Box::pin(async move {
                match ctx
                    .wait_for_event("first", "approval", Duration::from_secs(3600))
                    .await
                {
                    Ok(e) => Ok(json!({ "first": e.payload })),
                    Err(RunError::WaitTimedOut { .. }) => {
                        let e = ctx
                            .wait_for_event("second", "approval", Duration::from_secs(3600))
                            .await?;
                        Ok(json!({ "second": e.payload }))
                    }
                    Err(e) => Err(e),
                }
            })
        },
        (),
    )
}

#[tokio::test]
async fn wait_for_event_consumes_early_and_late_events_and_no_stale_waiter_takes_one() {
    let h = Harness::new(t0());
    let engine = h.engine(|e| e.register(approval_script()));
    let running = h.start(&engine);

    // An event sent before the wait begins is kept and consumed.
    let early = InstanceId::parse("early").unwrap();
    engine
        .create(CreateInstance {
            workflow: "approval".into(),
            id: Some(early.clone()),
            params: Value::Null,
            trigger: "t".into(),
        })
        .await
        .unwrap();
    engine
        .send_event(&early, "approval", json!("yes"))
        .await
        .unwrap();
    let done = h.until(&engine, &early, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "first": "yes" })));

    // A waiting instance is woken by its event.
    let late = h.create(&engine, "approval").await;
    h.until(&engine, &late, |i| i.status == InstanceStatus::Waiting)
        .await;
    engine
        .send_event(&late, "other-type", json!(1))
        .await
        .unwrap();
    engine
        .send_event(&late, "approval", json!({ "by": "ops" }))
        .await
        .unwrap();
    let done = h.until(&engine, &late, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "first": { "by": "ops" } })));

    // After the first wait times out, an event goes to the second waiter, never the stale one.
    let stale = h.create(&engine, "approval").await;
    h.until(&engine, &stale, |i| i.status == InstanceStatus::Waiting)
        .await;
    h.clock.advance(chrono::Duration::minutes(61));
    let waiting = h
        .until(&engine, &stale, |i| {
            i.status == InstanceStatus::Waiting
                && i.wake_at > Some(t0() + chrono::Duration::minutes(61))
        })
        .await;
    assert_eq!(waiting.waiting_for.as_deref(), Some("approval"));
    engine
        .send_event(&stale, "approval", json!("late"))
        .await
        .unwrap();
    let done = h.until(&engine, &stale, |i| i.status.is_finished()).await;
    assert_eq!(done.output, Some(json!({ "second": "late" })));
    let steps = engine.steps(&stale).await.unwrap();
    assert!(
        matches!(steps[0].state, strata_workflow::StepState::TimedOut { .. }),
        "{steps:?}"
    );

    // Events for finished instances are refused with a clear error.
    let err = engine
        .send_event(&stale, "approval", json!(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidTransition { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("it is complete"), "{err}");
    let err = engine
        .send_event(&stale, "bad type!", json!(1))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidEventType(_)), "{err}");
    running.stop().await;
}

#[tokio::test]
async fn concurrency_limit_holds_and_every_instance_finishes() {
    let h = Harness::new(t0());
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let live = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    struct Limited {
        gate: Arc<tokio::sync::Semaphore>,
        live: Arc<AtomicU32>,
        peak: Arc<AtomicU32>,
    }
    #[async_trait]
    impl Workflow for Limited {
        fn name(&self) -> &str {
            "limited"
        }
        fn options(&self) -> WorkflowOptions {
            WorkflowOptions {
                concurrency: Some(2),
                cron: None,
            }
        }
        async fn run(&self, ctx: &Context, _: Value) -> Result<Value, RunError> {
            let n = self.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(n, Ordering::SeqCst);
            let gate = self.gate.clone();
            ctx.step("work", StepConfig::default(), |_| {
                let gate = gate.clone();
                async move {
                    gate.acquire().await.map_err(StepError::fatal)?.forget();
                    Ok(())
                }
            })
            .await?;
            self.live.fetch_sub(1, Ordering::SeqCst);
            Ok(Value::Null)
        }
    }
    let engine = h.engine(|e| {
        e.register(Limited {
            gate: gate.clone(),
            live: live.clone(),
            peak: peak.clone(),
        })
    });
    let running = h.start(&engine);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.create(&engine, "limited").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = engine
        .list(&strata_workflow::ListFilter {
            workflow: Some("limited".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let running_now = list
        .iter()
        .filter(|i| i.status == InstanceStatus::Running)
        .count();
    assert_eq!(
        running_now,
        2,
        "{:?}",
        list.iter().map(|i| i.status).collect::<Vec<_>>()
    );
    gate.add_permits(5);
    for id in &ids {
        let done = h.until(&engine, id, |i| i.status.is_finished()).await;
        assert_eq!(done.status, InstanceStatus::Complete);
    }
    running.stop().await;
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn pause_resume_terminate_restart() {
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let h = Harness::new(t0());
    let engine = h.engine(|e| e.register(SleepyWorkflow { runs: runs.clone() }));
    let running = h.start(&engine);
    let id = h.create(&engine, "sleepy").await;
    h.until(&engine, &id, |i| i.status == InstanceStatus::Waiting)
        .await;

    let paused = engine.pause(&id).await.unwrap();
    assert_eq!(paused.status, InstanceStatus::Paused);
    // A paused instance does not wake when its sleep ends.
    h.clock.advance(chrono::Duration::hours(2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        engine.get(&id).await.unwrap().status,
        InstanceStatus::Paused
    );
    let err = engine.pause(&id).await.unwrap_err().to_string();
    assert!(err.contains("paused already"), "{err}");

    engine.resume(&id).await.unwrap();
    let done = h.until(&engine, &id, |i| i.status.is_finished()).await;
    assert_eq!(done.status, InstanceStatus::Complete);
    assert_eq!(runs.lock().unwrap()["a"], 1);
    let err = engine.resume(&id).await.unwrap_err().to_string();
    assert!(
        err.contains("`restart` runs a finished instance again"),
        "{err}"
    );

    // Restart runs every step again as a new generation.
    let restarted = engine.restart(&id).await.unwrap();
    assert_eq!(restarted.generation, 1);
    h.until(&engine, &id, |i| i.status == InstanceStatus::Waiting)
        .await;
    assert_eq!(runs.lock().unwrap()["a"], 2);
    let terminated = engine.terminate(&id).await.unwrap();
    assert_eq!(terminated.status, InstanceStatus::Terminated);
    h.clock.advance(chrono::Duration::hours(2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        engine.get(&id).await.unwrap().status,
        InstanceStatus::Terminated
    );
    assert_eq!(runs.lock().unwrap().get("b"), Some(&1));
    running.stop().await;

    let err = engine
        .create(CreateInstance {
            workflow: "nope".into(),
            id: None,
            params: Value::Null,
            trigger: "t".into(),
        })
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unknown workflow `nope`; registered workflows: sleepy");
    let err = engine
        .get(&InstanceId::parse("missing").unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "no workflow instance `missing`");
    assert!(InstanceId::parse("has space").is_err());
}

#[tokio::test]
async fn cron_fires_once_per_scheduled_time() {
    let h = Harness::new(Utc.with_ymd_and_hms(2026, 11, 29, 5, 59, 0).unwrap());
    struct Daily;
    #[async_trait]
    impl Workflow for Daily {
        fn name(&self) -> &str {
            "daily"
        }
        fn options(&self) -> WorkflowOptions {
            WorkflowOptions {
                concurrency: Some(1),
                cron: Some(CronSchedule::parse("0 6 * * *").unwrap()),
            }
        }
        async fn run(&self, ctx: &Context, params: Value) -> Result<Value, RunError> {
            let _ = ctx;
            Ok(params)
        }
    }
    let engine = h.engine(|e| e.register(Daily));
    let running = h.start(&engine);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..10 {
        h.clock.advance(chrono::Duration::seconds(15));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let id = InstanceId::parse("daily-cron-20261129T060000Z").unwrap();
    let done = h.until(&engine, &id, |i| i.status.is_finished()).await;
    assert_eq!(
        done.output,
        Some(json!({ "scheduled_time": "2026-11-29T06:00:00Z" }))
    );
    assert_eq!(done.trigger, "cron");
    running.stop().await;
    let all = engine.list(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");

    let err = CronSchedule::parse("0 6 * *").unwrap_err().to_string();
    assert!(
        err.starts_with("invalid cron expression `0 6 * *`: expected five fields"),
        "{err}"
    );
}

#[tokio::test]
async fn named_values_compare_and_set() {
    let h = Harness::new(t0());
    let engine = h.engine(|e| e);
    let values = engine.values();
    assert!(values.get("watermark/shopify").await.unwrap().is_none());
    let v1 = values
        .put("watermark/shopify", json!("2026-11-01T00:00:00Z"), Some(0))
        .await
        .unwrap();
    assert_eq!(v1.revision, 1);
    let err = values
        .put("watermark/shopify", json!("x"), Some(0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::ValueConflict { found: Some(1), .. }),
        "{err}"
    );
    let v2 = values
        .put("watermark/shopify", json!("2026-11-02T00:00:00Z"), Some(1))
        .await
        .unwrap();
    assert_eq!(v2.revision, 2);
    assert_eq!(
        values
            .get("watermark/shopify")
            .await
            .unwrap()
            .unwrap()
            .value,
        json!("2026-11-02T00:00:00Z")
    );
}
