//! Durable workflows over HTTP (`crates/strata-server/src/routes/workflows.rs`) and Shopify's
//! webhooks (`routes/webhooks.rs`).
//!
//! The answers' schemas are exact (`additionalProperties: false`, every member required, nullable
//! ones `null` rather than absent) and tested against what the routes serialize, for every step
//! state; the request schemas refuse what the routes refuse (unknown members, a bad instance id or
//! event type), so a body the document accepts is never a 400 for its shape.

use serde_json::{Map, Value, json};
use strata_schema::Schema;
use strata_workflow::InstanceStatus;

use super::paths::{Target, json_content, with_responses};
use super::responses::header_ref;
use super::{insert_unique, schema_ref};
use crate::routes::workflows::{DAILY_SYNC, MAX_LIMIT, MAX_WORKFLOW_NAME};

/// The tag of the workflow operations and of the webhook.
pub(crate) const TAG: &str = "workflows";
pub(crate) const WEBHOOK_TAG: &str = "webhooks";

pub(crate) const LIST_PATH: &str = "/v1/workflows";
pub(crate) const INSTANCE_PATH: &str = "/v1/workflows/{instance}";
pub(crate) const EVENTS_PATH: &str = "/v1/workflows/{instance}/events";
pub(crate) const SYNC_PATH: &str = "/api/performance-metrics/sync";
pub(crate) const RUNS_PATH: &str = "/api/ingest/runs";
pub(crate) const PIPELINES_PATH: &str = "/analytics/pipelines";
pub(crate) const WEBHOOK_PATH: &str = "/webhooks/shopify";

/// `POST /v1/workflows/{instance}/<action>`: (action, operationId, summary, description, conflict).
pub(crate) const ACTIONS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "pause",
        "workflows_pause",
        "Pause a workflow instance",
        "Pauses a `queued`, `running` or `waiting` instance: a running step is abandoned and runs again on `resume`; a sleep's or event wait's deadline is kept.",
        "The instance is already `paused`, or finished (`complete`, `errored`, `terminated`: `restart` runs it again).",
    ),
    (
        "resume",
        "workflows_resume",
        "Resume a paused workflow instance",
        "Queues a `paused` instance again; it continues after its last completed step.",
        "The instance is not `paused` (a finished one is restarted instead).",
    ),
    (
        "terminate",
        "workflows_terminate",
        "Terminate a workflow instance",
        "Stops an unfinished instance for good (`terminated`); `restart` can still run it again from the start.",
        "The instance is already finished.",
    ),
    (
        "restart",
        "workflows_restart",
        "Restart a workflow instance",
        "Runs the instance again from the start as a new `generation` (`queued`); earlier step results are kept for the record but no longer used. Any status may be restarted.",
        "Concurrent changes kept winning; retry.",
    ),
];

const INSTANCE: &str = "WorkflowInstance";
const INSTANCE_LIST: &str = "WorkflowInstanceList";
const INSTANCE_DETAIL: &str = "WorkflowInstanceDetail";
const STEP: &str = "WorkflowStep";
const EVENT: &str = "WorkflowEvent";
const EVENT_LIST: &str = "WorkflowEventList";
const CREATE: &str = "WorkflowCreateRequest";
const CONTROL: &str = "WorkflowControlRequest";
const SEND_EVENT: &str = "WorkflowEventRequest";
const SYNC: &str = "SyncRequest";
const RUN: &str = "IngestRun";
const RUN_LIST: &str = "IngestRunList";
const PIPELINES: &str = "PipelinesOverview";
const PIPELINE: &str = "PipelineView";
const SUMMARY: &str = "WorkflowSummary";
/// Also `last_sync` of `ApiHealth`.
pub(crate) const RUN_SUMMARY: &str = "WorkflowRunSummary";
const RECEIPT: &str = "ShopifyWebhookReceipt";

/// `[A-Za-z0-9_-]{1,100}` ([`strata_workflow::InstanceId`]).
pub(crate) const INSTANCE_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,100}$";
/// `[A-Za-z0-9_./-]{1,100}` (the engine's event types).
pub(crate) const EVENT_TYPE_PATTERN: &str = "^[A-Za-z0-9_./-]{1,100}$";

fn status_pattern() -> String {
    let names = InstanceStatus::NAMES.join("|");
    format!("^({names})(,({names}))*$")
}

fn time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description})
}

fn nullable_time(description: &str) -> Value {
    json!({"type": ["string", "null"], "format": "date-time", "description": description})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn nullable_count(description: &str) -> Value {
    json!({"type": ["integer", "null"], "minimum": 0, "description": description})
}

/// An object with exactly these members, all required.
fn exact(description: &str, properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

fn status_schema() -> Value {
    json!({
        "type": "string",
        "enum": InstanceStatus::NAMES,
        "description": "`queued` (waiting for a slot), `running` (held by a process), `waiting` (a sleep, a retry delay or an event wait), `paused`, and the finished ones: `complete`, `errored`, `terminated`.",
    })
}

fn step_variant(state: &str, description: &str, fields: Value) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "name".into(),
        json!({"type": "string", "description": "The step's name (its cache key)."}),
    );
    properties.insert("state".into(), json!({"const": state}));
    if let Value::Object(f) = fields {
        properties.extend(f);
    }
    properties.insert("updated_at".into(), time("When it was last written."));
    exact(description, Value::Object(properties))
}

fn schemas() -> Vec<(&'static str, Value)> {
    let instance = exact(
        "A workflow instance: a run of a workflow with its parameters.",
        json!({
            "id": {"type": "string", "pattern": INSTANCE_ID_PATTERN, "description": "The instance: the caller's id, or `wfi_` + ULID."},
            "workflow": {"type": "string", "description": "The workflow's registered name."},
            "status": status_schema(),
            "params": {"description": "The parameters it was created with (any JSON; `{}` when created without)."},
            "output": {"description": "The workflow's output once `complete` (any JSON), else `null`."},
            "error": {"type": ["string", "null"], "description": "Why it `errored`."},
            "generation": {"type": "integer", "minimum": 0, "description": "Incremented by each restart."},
            "trigger": {"type": "string", "description": "How it was created: `api` (HTTP), `manual` (the CLI), `cron`, …"},
            "created_at": time("When it was created."),
            "updated_at": time("When it last changed."),
            "started_at": nullable_time("When its current generation first ran."),
            "finished_at": nullable_time("When it finished."),
            "wake_at": nullable_time("When a `waiting` instance is due again."),
            "waiting_for": {"type": ["string", "null"], "description": "The event type a `waiting` instance waits for."},
            "lease": {
                "type": ["object", "null"],
                "description": "The process running it, while `running`.",
                "required": ["owner", "until"],
                "properties": {
                    "owner": {"type": "string"},
                    "until": time("The lease lapses then unless renewed."),
                },
                "additionalProperties": false,
            },
        }),
    );
    let instance_list = exact(
        "Instances, newest first.",
        json!({"items": {"type": "array", "maxItems": MAX_LIMIT, "items": schema_ref(INSTANCE)}}),
    );
    let step = json!({
        "description": "What is known of one step of the instance's current generation; `state` says which members follow.",
        "oneOf": [
            step_variant("done", "Finished; a replay returns `result`.", json!({
                "result": {"description": "The step's result (any JSON)."},
                "attempts": count("Attempts it took."),
            })),
            step_variant("retrying", "An attempt failed; the next is due at `next_at`.", json!({
                "attempt": count("The attempt that failed (from 1)."),
                "next_at": time("When the next attempt may start."),
                "error": {"type": "string"},
            })),
            step_variant("failed", "Failed for good.", json!({
                "attempts": count("Attempts made."),
                "error": {"type": "string"},
            })),
            step_variant("sleeping", "A durable sleep.", json!({
                "until": time("When it ends."),
            })),
            step_variant("waiting", "An event wait, open until `deadline`.", json!({
                "event_type": {"type": "string", "description": "The event type awaited."},
                "deadline": time("When the wait times out."),
            })),
            step_variant("timed_out", "An event wait that timed out.", json!({
                "event_type": {"type": "string"},
            })),
        ],
    });
    let event = exact(
        "An event sent to an instance, as stored in its inbox.",
        json!({
            "seq": count("Its position in the inbox (increasing)."),
            "type": {"type": "string", "pattern": EVENT_TYPE_PATTERN, "description": "Matched by the workflow's `wait_for_event`."},
            "payload": {"description": "Its payload (any JSON; `null` when sent without)."},
            "received_at": time("When it arrived."),
        }),
    );
    let event_list = exact(
        "The instance's inbox, oldest first.",
        json!({"items": {"type": "array", "items": schema_ref(EVENT)}}),
    );
    let detail = exact(
        "An instance with the step records of its current generation and its events.",
        json!({
            "instance": schema_ref(INSTANCE),
            "steps": {"type": "array", "items": schema_ref(STEP)},
            "events": {"type": "array", "items": schema_ref(EVENT)},
        }),
    );
    let create = json!({
        "type": "object",
        "description": "A new instance. Unknown members are refused (400); `null` is the same as leaving a member out.",
        "required": ["workflow"],
        "properties": {
            "workflow": {"type": "string", "minLength": 1, "maxLength": MAX_WORKFLOW_NAME, "description": "A workflow this server knows (404 otherwise, naming the known ones)."},
            "id": {"type": ["string", "null"], "pattern": INSTANCE_ID_PATTERN, "description": "An idempotency id: creating an id that exists answers that instance (200) instead of creating another."},
            "params": {"type": ["object", "null"], "description": "The workflow's parameters (default `{}`)."},
        },
        "additionalProperties": false,
    });
    let control = json!({
        "type": "object",
        "description": "No members; the body may be left out.",
        "maxProperties": 0,
        "additionalProperties": false,
    });
    let send = json!({
        "type": "object",
        "description": "An event for the instance's inbox; a `wait_for_event` of its type consumes it.",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "pattern": EVENT_TYPE_PATTERN, "description": "1 to 100 characters of letters, digits, `_`, `-`, `.` and `/`."},
            "payload": {"description": "Any JSON, at most 1 MiB serialized (413 above); default `null`."},
        },
        "additionalProperties": false,
    });
    let sync = json!({
        "type": "object",
        "description": "No members needed; the body may be left out.",
        "properties": {
            "since": {"type": ["string", "null"], "format": "date-time", "description": "Sync orders updated since then instead of since the stored watermark (passed to the workflow as `params.since`)."},
        },
        "additionalProperties": false,
    });
    let run = exact(
        "One run of the Shopify sync (a `daily_shopify_sync` instance).",
        json!({
            "run_id": {"type": "string", "pattern": INSTANCE_ID_PATTERN, "description": "The instance id (`/v1/workflows/{run_id}` has its steps)."},
            "status": status_schema(),
            "trigger": {"type": "string", "description": "`cron` (the daily schedule), `api` (`POST /api/performance-metrics/sync`), `manual` (the CLI)."},
            "params": {"description": "The run's parameters."},
            "created_at": time("When it was requested."),
            "started_at": nullable_time("When it first ran."),
            "finished_at": nullable_time("When it finished."),
            "duration_ms": nullable_count("`finished_at - started_at` in milliseconds, once finished."),
            "error": {"type": ["string", "null"], "description": "Why it errored."},
            "ingest": {"type": ["object", "null"], "description": "The counts the run reported in `output.ingest` (orders, products, …), when it did."},
            "watermark": {"description": "`output.watermark`: where the next run starts (any JSON, `null` when not reported)."},
            "quarantined_total": nullable_count("`output.quarantined_total`: records set aside as malformed."),
        }),
    );
    let run_list = exact(
        "Sync runs, newest first.",
        json!({
            "workflow": {"const": DAILY_SYNC},
            "items": {"type": "array", "maxItems": MAX_LIMIT, "items": schema_ref(RUN)},
        }),
    );
    let pipeline = exact(
        "One telemetry pipeline (stream → SQL transform → Iceberg table) as this process runs it; the counters are per process.",
        json!({
            "stream": {"type": "string", "enum": ["commerce", "publication", "sync"]},
            "table": {"type": "string", "description": "Its Iceberg table."},
            "state": {"type": "string", "enum": ["starting", "running", "retrying", "draining", "stopped", "failed"]},
            "definition": {"type": "string", "description": "Where the transform came from (a file, or `inline`)."},
            "events_in": count("Events read from the log."),
            "events_out": count("Events committed to the telemetry table."),
            "events_rejected": count("Events committed to the dead-letter table."),
            "events_filtered": count("Events the transform's `WHERE` turned away."),
            "rows_written": count("Rows written (telemetry and dead letters)."),
            "commits": count("Snapshots committed."),
            "bytes_written": count("Bytes of Parquet written."),
            "retries": count("Retries after transient failures."),
            "buffered_events": count("Events held in memory."),
            "buffered_bytes": count("Bytes of event JSON held in memory."),
            "acked_offset": count("The log's last acknowledged offset for the pipeline."),
            "head_offset": count("The stream's last known head offset."),
            "lag": count("Events in the log not yet in the lake."),
            "last_commit_latency_ms": nullable_count("Seal to commit of the last batch."),
            "last_batch_age_ms": nullable_count("From reading the last batch's first event to acknowledging it."),
            "last_commit_at": nullable_time("When the last batch was acknowledged."),
            "last_error": {"type": ["string", "null"], "description": "The last error, cleared by the next commit."},
        }),
    );
    let run_summary = exact(
        "A workflow's latest instance, in brief.",
        json!({
            "id": {"type": "string", "pattern": INSTANCE_ID_PATTERN},
            "status": status_schema(),
            "created_at": time("When it was created."),
            "finished_at": nullable_time("When it finished."),
            "error": {"type": ["string", "null"], "description": "Why it errored."},
        }),
    );
    let summary = exact(
        "A workflow's recent runs.",
        json!({
            "workflow": {"type": "string"},
            "registered": {"type": "boolean", "description": "Whether this process executes it (else it only has instances in the store)."},
            "last_run": {"anyOf": [schema_ref(RUN_SUMMARY), {"type": "null"}], "description": "Its latest instance, `null` if none."},
            "runs_24h": count("Instances created in the last 24 hours."),
            "failures_24h": count("Of those, the ones that `errored`."),
        }),
    );
    let pipelines = exact(
        "The telemetry pipelines this process runs and the workflows' recent runs.",
        json!({
            "generated_at": time("When this answer was computed."),
            "pipelines_enabled": {"type": "boolean", "description": "Whether this process runs the telemetry pipelines (`strata serve --no-pipelines`: false, and `pipelines` is empty)."},
            "workflows_enabled": {"type": "boolean", "description": "Whether this server has a workflow engine (else `workflows` is empty)."},
            "pipelines": {"type": "array", "items": schema_ref(PIPELINE)},
            "workflows": {"type": "array", "items": schema_ref(SUMMARY)},
        }),
    );
    let receipt = exact(
        "What was done with a verified delivery.",
        json!({
            "topic": {"type": "string", "description": "`X-Shopify-Topic`."},
            "outcome": {"type": "string", "enum": ["delivered", "accepted", "ignored"], "description": "`delivered`: a finished bulk operation handed to the waiting sync; `accepted`: an order change the daily sync picks up by its `updated_at`; `ignored`: a topic not handled here, or a bulk operation nothing here waits for."},
            "detail": {"type": "string"},
        }),
    );
    vec![
        (INSTANCE, instance),
        (INSTANCE_LIST, instance_list),
        (INSTANCE_DETAIL, detail),
        (STEP, step),
        (EVENT, event),
        (EVENT_LIST, event_list),
        (CREATE, create),
        (CONTROL, control),
        (SEND_EVENT, send),
        (SYNC, sync),
        (RUN, run),
        (RUN_LIST, run_list),
        (PIPELINE, pipeline),
        (RUN_SUMMARY, run_summary),
        (SUMMARY, summary),
        (PIPELINES, pipelines),
        (RECEIPT, receipt),
    ]
}

/// Adds the schemas to `components.schemas`.
pub(crate) fn components(out: &mut Map<String, Value>) {
    for (name, s) in schemas() {
        insert_unique(out, name.to_string(), s);
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": schema_ref("Problem")}},
    })
}

fn unavailable(description: &str) -> Value {
    let mut p = problem(description);
    p["headers"] = json!({"Retry-After": header_ref("Retry-After")});
    p
}

const NO_ENGINE: &str = "Workflows are not enabled in this server, or the workflow store (or the database, for the API key) is unavailable: retry shortly. Nothing was changed.";

fn instance_param() -> Value {
    json!({
        "name": "instance",
        "in": "path",
        "required": true,
        "description": "The instance id: 1 to 100 characters of letters, digits, `_` and `-` (400 otherwise); an unknown one is a 404.",
        "schema": {"type": "string", "pattern": INSTANCE_ID_PATTERN},
    })
}

fn limit_param(default: usize) -> Value {
    json!({
        "name": "limit",
        "in": "query",
        "description": format!("At most this many, newest first (default {default})."),
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default},
    })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": json_content(schema_ref(schema))})
}

fn with_location(mut v: Value) -> Value {
    v["headers"] = json!({"Location": header_ref("Location")});
    v
}

/// Scope, tag and the common error descriptions of one operation.
struct Op<'a> {
    target: &'a Target<'a>,
}

impl Op<'_> {
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        id: &str,
        summary: &str,
        description: &str,
        write: bool,
        params: Vec<Value>,
        body: Option<(&str, bool)>,
        ok: Vec<(&str, Value)>,
        errors: &[u16],
        overrides: Vec<(&str, Value)>,
    ) -> Value {
        let mut o = self
            .target
            .op(id, summary.into(), description.into(), write);
        o.insert("tags".into(), json!([TAG]));
        if !params.is_empty() {
            o.insert("parameters".into(), Value::Array(params));
        }
        if let Some((schema, required)) = body {
            o.insert(
                "requestBody".into(),
                json!({"required": required, "content": json_content(schema_ref(schema))}),
            );
        }
        let mut v = with_responses(o, ok, errors);
        v["responses"]["503"] = unavailable(NO_ENGINE);
        let malformed = if body.is_some() {
            "Malformed JSON, an unknown query parameter, an invalid instance id, or a body with invalid members: `errors` names each."
        } else {
            "An unknown or invalid query parameter, or an invalid instance id."
        };
        v["responses"]["400"] = problem(malformed);
        for (status, r) in overrides {
            v["responses"][status] = r;
        }
        v
    }
}

/// Adds every path to `paths`, scoped as the `governance` module.
pub(crate) fn paths(schema: &Schema, out: &mut Map<String, Value>) {
    let Some(table) = schema.table("audit_event") else {
        return;
    };
    let target = Target::new(schema, table);
    let op = Op { target: &target };
    let not_found_instance = problem("No such instance.");

    // /v1/workflows
    let list = op.build(
        "workflows_list",
        "List workflow instances",
        "Instances of every workflow, newest first; `workflow` and `status` narrow the list.",
        false,
        vec![
            json!({"name": "workflow", "in": "query", "description": "Only this workflow's instances.", "schema": {"type": "string", "minLength": 1, "maxLength": MAX_WORKFLOW_NAME}}),
            json!({"name": "status", "in": "query", "description": "Only instances in these statuses: a comma list of `queued`, `running`, `waiting`, `paused`, `complete`, `errored`, `terminated`.", "schema": {"type": "string", "pattern": status_pattern()}}),
            limit_param(crate::routes::workflows::DEFAULT_LIMIT),
        ],
        None,
        vec![("200", ok("Instances, newest first.", INSTANCE_LIST))],
        &[],
        vec![],
    );
    let create = op.build(
        "workflows_create",
        "Create a workflow instance",
        "Creates an instance (trigger `api`) that the server's engine runs. With an `id` that exists, answers that instance with 200 and creates nothing (the parameters it was created with are kept): retrying a create is safe.",
        true,
        vec![],
        Some((CREATE, true)),
        vec![
            ("201", with_location(ok("Created.", INSTANCE))),
            (
                "200",
                with_location(ok("The instance with that `id` already existed.", INSTANCE)),
            ),
        ],
        &[404, 409, 413, 415],
        vec![
            ("404", problem("No such workflow here: `detail` names the known ones.")),
            ("409", problem("The `id` exists as an instance of another workflow.")),
        ],
    );
    let mut item = Map::new();
    item.insert("get".into(), list);
    item.insert("post".into(), create);
    insert_unique(out, LIST_PATH.to_string(), Value::Object(item));

    // /v1/workflows/{instance}
    let get = op.build(
        "workflows_get",
        "Read a workflow instance",
        "The instance, the step records of its current generation (each with its state: done, retrying, failed, sleeping, waiting, timed_out) and its events.",
        false,
        vec![instance_param()],
        None,
        vec![("200", ok("The instance.", INSTANCE_DETAIL))],
        &[404],
        vec![("404", not_found_instance.clone())],
    );
    let mut item = Map::new();
    item.insert("get".into(), get);
    insert_unique(out, INSTANCE_PATH.to_string(), Value::Object(item));

    for (action, id, summary, description, conflict) in ACTIONS {
        let o = op.build(
            id,
            summary,
            description,
            true,
            vec![instance_param()],
            Some((CONTROL, false)),
            vec![("200", ok("The instance, changed.", INSTANCE))],
            &[404, 409, 413, 415],
            vec![
                ("404", not_found_instance.clone()),
                (
                    "409",
                    problem(&format!("{conflict} `detail` says what would work.")),
                ),
            ],
        );
        let mut item = Map::new();
        item.insert("post".into(), o);
        insert_unique(
            out,
            format!("{INSTANCE_PATH}/{action}"),
            Value::Object(item),
        );
    }

    // /v1/workflows/{instance}/events
    let events = op.build(
        "workflows_events_list",
        "List a workflow instance's events",
        "The instance's inbox, oldest first, consumed or not.",
        false,
        vec![instance_param()],
        None,
        vec![("200", ok("The events.", EVENT_LIST))],
        &[404],
        vec![("404", not_found_instance.clone())],
    );
    let send = op.build(
        "workflows_events_send",
        "Send an event to a workflow instance",
        "Stores the event in the instance's inbox and wakes the instance if it waits for that type (`wait_for_event`); an event no step waits for yet stays in the inbox for a later wait. Accepted only by unfinished instances.",
        true,
        vec![instance_param()],
        Some((SEND_EVENT, true)),
        vec![(
            "202",
            ok("Stored; the instance consumes it when it runs.", EVENT),
        )],
        &[404, 409, 413, 415],
        vec![
            ("404", not_found_instance.clone()),
            (
                "409",
                problem("The instance is finished (`complete`, `errored`, `terminated`): nothing was stored."),
            ),
            (
                "413",
                problem("The body is over 1 MiB, or the payload is over 1 MiB serialized."),
            ),
        ],
    );
    let mut item = Map::new();
    item.insert("get".into(), events);
    item.insert("post".into(), send);
    insert_unique(out, EVENTS_PATH.to_string(), Value::Object(item));

    // The Shopify sync.
    let sync = op.build(
        "performance_metrics_sync",
        "Start a Shopify sync now",
        "Creates an instance of `daily_shopify_sync` (trigger `api`) beside the daily schedule: orders and products from Shopify's bulk operations into the domain, then the measurements. Answers at once; follow it at `Location` (`/v1/workflows/{id}`) or `/api/ingest/runs`. Runs beyond the workflow's concurrency limit wait in `queued`.",
        true,
        vec![],
        Some((SYNC, false)),
        vec![("202", with_location(ok("Requested.", INSTANCE)))],
        &[413, 415],
        vec![(
            "503",
            unavailable("The Shopify sync is not configured on this server (set SHOPIFY_SHOP and SHOPIFY_ADMIN_TOKEN), workflows are not enabled, or the workflow store is unavailable. Nothing was started."),
        )],
    );
    let mut item = Map::new();
    item.insert("post".into(), sync);
    insert_unique(out, SYNC_PATH.to_string(), Value::Object(item));

    let runs = op.build(
        "ingest_runs_list",
        "List the Shopify sync's runs",
        "The `daily_shopify_sync` instances, newest first, with their duration, error and the counts each reported (`output.ingest`, `output.watermark`, `output.quarantined_total`).",
        false,
        vec![limit_param(crate::routes::workflows::DEFAULT_LIMIT)],
        None,
        vec![("200", ok("Runs, newest first.", RUN_LIST))],
        &[],
        vec![],
    );
    let mut item = Map::new();
    item.insert("get".into(), runs);
    insert_unique(out, RUNS_PATH.to_string(), Value::Object(item));

    let pipelines = op.build(
        "analytics_pipelines",
        "The pipelines and workflows at a glance",
        "Each telemetry pipeline this process runs (state, counters, offsets, lag, last commit, last error) and each workflow (registered here, or with instances in the store): its latest run and its runs and failures of the last 24 hours. Answers 200 without pipelines or an engine, saying so.",
        false,
        vec![],
        None,
        vec![("200", ok("The overview.", PIPELINES))],
        &[],
        vec![(
            "503",
            unavailable("The workflow store (or the database, for the API key) is unavailable; retry shortly."),
        )],
    );
    let mut item = Map::new();
    item.insert("get".into(), pipelines);
    insert_unique(out, PIPELINES_PATH.to_string(), Value::Object(item));

    insert_unique(out, WEBHOOK_PATH.to_string(), webhook_path());
}

fn webhook_path() -> Value {
    let header = |name: &str, required: bool, description: &str| json!({"name": name, "in": "header", "required": required, "description": description, "schema": {"type": "string"}});
    json!({"post": {
        "operationId": "shopify_webhook",
        "tags": [WEBHOOK_TAG],
        "summary": "Receive a Shopify webhook",
        "description": "For Shopify, not API clients: no API key; Shopify signs each delivery with the app's client secret (`SHOPIFY_WEBHOOK_SECRET`). A delivery without the signature header is a 401 and one without the topic header a 400, whatever the configuration; the signature is checked over the raw body before anything is parsed. Then by `X-Shopify-Topic`: `bulk_operations/finish` hands the finished operation's `admin_graphql_api_id` to the waiting sync; `orders/create` and `orders/updated` are acknowledged and logged (the daily sync picks the order up by its `updated_at`); other topics are acknowledged and ignored.",
        "security": [],
        "parameters": [
            header("X-Shopify-Hmac-Sha256", true, "base64 of HMAC-SHA256(client secret, raw body)."),
            header("X-Shopify-Topic", true, "`bulk_operations/finish`, `orders/create`, `orders/updated`, …"),
            header("X-Shopify-Webhook-Id", false, "The delivery's id (the same on a retry)."),
            header("X-Shopify-Shop-Domain", false, "The shop's myshopify domain."),
        ],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "description": "The topic's payload, as Shopify sends it."}}}},
        "responses": {
            "202": ok("Verified and acknowledged; `outcome` says what was done.", RECEIPT),
            "400": problem("No `X-Shopify-Topic` header, a verified `bulk_operations/finish` payload that does not decode, or a query parameter: nothing was processed."),
            "401": problem("No `X-Shopify-Hmac-Sha256` header, or a signature that is malformed or does not match the body: nothing was processed."),
            "413": problem("The body is over 1 MiB."),
            "503": unavailable("No webhook secret is configured: set SHOPIFY_WEBHOOK_SECRET. Nothing was processed."),
        },
    }})
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::{Value, json};
    use strata_workflow::{
        Instance, InstanceId, InstanceStatus, StepRecord, StepState, WorkflowEvent,
    };

    use crate::routes::workflows::{
        event_json, ingest_run_json, instance_json, rfc3339, step_json,
    };

    fn doc() -> Value {
        super::super::document(&strata_schema::embedded().expect("schema"))
    }

    fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": doc["components"],
            "$ref": format!("#/components/schemas/{name}"),
        });
        jsonschema::options()
            .should_validate_formats(true)
            .build(&wrapper)
            .expect("the schema compiles")
    }

    fn instance(status: InstanceStatus) -> Instance {
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 5, 0, 0).unwrap();
        Instance {
            id: InstanceId::parse("sync-2026-11-29").unwrap(),
            workflow: "daily_shopify_sync".into(),
            status,
            params: json!({}),
            output: None,
            error: None,
            generation: 0,
            trigger: "api".into(),
            created_at: t,
            updated_at: t,
            started_at: None,
            finished_at: None,
            wake_at: None,
            waiting_for: None,
            lease: None,
            version: 3,
        }
    }

    #[test]
    fn operations_are_tagged_and_scoped_as_governance() {
        let doc = doc();
        let mut n = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let ours = path.starts_with("/v1/workflows")
                || [super::SYNC_PATH, super::RUNS_PATH, super::PIPELINES_PATH]
                    .contains(&path.as_str());
            if !ours {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                n += 1;
                assert_eq!(op["tags"], json!([super::TAG]), "{method} {path}");
                let scope = if method == "get" {
                    "`governance:read`"
                } else {
                    "`governance:write`"
                };
                let d = op["description"].as_str().unwrap_or_default();
                assert!(d.contains(scope), "{method} {path}: {d}");
            }
        }
        assert_eq!(n, 12);
        let hook = &doc["paths"][super::WEBHOOK_PATH]["post"];
        assert_eq!(hook["security"], json!([]));
        assert_eq!(hook["operationId"], "shopify_webhook");
    }

    #[test]
    fn instances_serialize_to_their_schema() {
        let doc = doc();
        let v = validator(&doc, super::INSTANCE);
        let fresh = instance(InstanceStatus::Queued);
        assert!(
            v.is_valid(&instance_json(&fresh)),
            "{}",
            instance_json(&fresh)
        );
        let mut busy = instance(InstanceStatus::Running);
        busy.started_at = Some(Utc::now());
        // `Lease` is not exported: set it through the instance's serde form.
        let mut raw = serde_json::to_value(&busy).unwrap();
        raw["lease"] = json!({"owner": "host-1", "until": "2026-11-29T05:01:00Z"});
        let mut busy: Instance = serde_json::from_value(raw).unwrap();
        assert!(busy.lease.is_some());
        busy.waiting_for = Some("approval".into());
        busy.wake_at = Some(Utc::now());
        assert!(
            v.is_valid(&instance_json(&busy)),
            "{}",
            instance_json(&busy)
        );
        let mut done = instance(InstanceStatus::Complete);
        done.output = Some(json!([1, "two", null]));
        done.finished_at = Some(Utc::now());
        done.params = Value::Null;
        assert!(v.is_valid(&instance_json(&done)));
        let mut wrong = instance_json(&done);
        wrong["status"] = json!("done");
        assert!(!v.is_valid(&wrong));
        let mut extra = instance_json(&done);
        extra["version"] = json!(3);
        assert!(!v.is_valid(&extra));
        for status in strata_workflow::InstanceStatus::NAMES {
            let s = InstanceStatus::parse(status).unwrap();
            assert!(v.is_valid(&instance_json(&instance(s))), "{status}");
        }
    }

    #[test]
    fn every_step_state_serializes_to_the_step_schema() {
        let doc = doc();
        let v = validator(&doc, super::STEP);
        let t = Utc::now();
        let states = [
            StepState::Done {
                result: json!({"n": 1}),
                attempts: 1,
            },
            StepState::Done {
                result: Value::Null,
                attempts: 2,
            },
            StepState::Retrying {
                attempt: 1,
                next_at: t,
                error: "timeout".into(),
            },
            StepState::Failed {
                attempts: 6,
                error: "gone".into(),
            },
            StepState::Sleeping { until: t },
            StepState::Waiting {
                event_type: "approval".into(),
                deadline: t,
            },
            StepState::TimedOut {
                event_type: "approval".into(),
            },
        ];
        for state in states {
            let r = StepRecord {
                name: "fetch".into(),
                state,
                updated_at: t,
            };
            let j = step_json(&r);
            let errors: Vec<String> = v.iter_errors(&j).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{j}: {errors:?}");
        }
        assert!(!v.is_valid(
            &json!({"name": "x", "state": "done", "updated_at": "2026-11-29T05:00:00Z"})
        ));
    }

    #[test]
    fn events_and_requests_match_what_the_routes_accept() {
        let doc = doc();
        let event = WorkflowEvent {
            seq: 1,
            event_type: "approval".into(),
            payload: json!({"ok": true}),
            received_at: Utc::now(),
        };
        assert!(validator(&doc, super::EVENT).is_valid(&event_json(&event)));
        let send = validator(&doc, super::SEND_EVENT);
        assert!(send.is_valid(&json!({"type": "approval"})));
        assert!(send.is_valid(&json!({"type": "shop/orders.updated-1", "payload": null})));
        for bad in [
            json!({}),
            json!({"type": ""}),
            json!({"type": "has space"}),
            json!({"type": "x".repeat(101)}),
            json!({"type": 1}),
            json!({"type": "a", "colour": 1}),
        ] {
            assert!(!send.is_valid(&bad), "{bad}");
        }
        let create = validator(&doc, super::CREATE);
        assert!(create.is_valid(&json!({"workflow": "w"})));
        assert!(create.is_valid(&json!({"workflow": "w", "id": "a-1_B", "params": {"x": 1}})));
        assert!(create.is_valid(&json!({"workflow": "w", "id": null, "params": null})));
        for bad in [
            json!({}),
            json!({"workflow": ""}),
            json!({"workflow": "w", "id": "a b"}),
            json!({"workflow": "w", "id": ""}),
            json!({"workflow": "w", "params": [1]}),
            json!({"workflow": "w", "trigger": "x"}),
        ] {
            assert!(!create.is_valid(&bad), "{bad}");
        }
        for id in ["a-1_B", "x".repeat(100).as_str()] {
            assert!(InstanceId::parse(id).is_ok());
        }
        for id in ["a b", "", &"x".repeat(101)] {
            assert!(InstanceId::parse(id).is_err());
        }
        let control = validator(&doc, super::CONTROL);
        assert!(control.is_valid(&json!({})));
        assert!(!control.is_valid(&json!({"force": true})));
        let sync = validator(&doc, super::SYNC);
        for good in ["2026-11-28T00:00:00Z", "2026-11-28T01:00:00.5+01:00"] {
            assert!(sync.is_valid(&json!({"since": good})));
            assert!(rfc3339(good).is_some(), "{good}");
        }
        assert!(sync.is_valid(&json!({})));
        assert!(!sync.is_valid(&json!({"since": "yesterday"})));
        assert!(!sync.is_valid(&json!({"until": "2026-11-28T00:00:00Z"})));
    }

    #[test]
    fn ingest_runs_serialize_to_their_schema() {
        let doc = doc();
        let v = validator(&doc, super::RUN);
        let mut run = instance(InstanceStatus::Complete);
        run.started_at = Some(run.created_at);
        run.finished_at = Some(run.created_at + chrono::Duration::seconds(90));
        run.output = Some(json!({
            "ingest": {"orders": 12, "products": 3},
            "watermark": "2026-11-29T04:59:00Z",
            "quarantined_total": 1,
        }));
        let j = ingest_run_json(&run);
        assert!(v.is_valid(&j), "{j}");
        assert_eq!(j["duration_ms"], 90_000);
        assert_eq!(j["ingest"]["orders"], 12);
        let mut odd = run.clone();
        odd.output = Some(json!("not an object"));
        assert!(v.is_valid(&ingest_run_json(&odd)));
        let queued = instance(InstanceStatus::Queued);
        let j = ingest_run_json(&queued);
        assert!(v.is_valid(&j), "{j}");
        assert_eq!(j["duration_ms"], Value::Null);
    }
}
