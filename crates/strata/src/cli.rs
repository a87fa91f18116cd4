//! The command line: `strata <command>`. Every command and option explains itself in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use strata_domain::identity::Scopes;

const ABOUT: &str = "Strata: a commerce data platform in three layers.

  1. Domain     PostgreSQL: 153 tables in 25 modules, the source of truth
  2. Analytics  telemetry streams landed as Apache Iceberg tables
  3. Query      DuckDB over the lake

Without DATABASE_URL, Strata runs PostgreSQL embedded in this process, with its data under
--data-dir: nothing to install.";

const AFTER_HELP: &str = "Getting started:
  strata demo                     apply the schema, seed a store, print a summary (embedded)
  strata schema lint              check schema/*.sql against the conventions
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop strata schema apply

Logs go to stderr: -v for debug, -vv for trace, RUST_LOG for per-module filters,
--log-format json for machines.";

#[derive(Debug, Parser)]
#[command(name = "strata", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Directory for Strata's local state: the embedded database, the event log (streams/), the
    /// Iceberg lake (lake/), locks.
    #[arg(
        long,
        global = true,
        env = "STRATA_DATA_DIR",
        default_value = "./strata-data"
    )]
    pub data_dir: PathBuf,

    /// PostgreSQL to use instead of the embedded engine (postgres://user:pass@host:5432/db).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Keep the event log on this NATS JetStream server (nats://host:4222) instead of
    /// --data-dir/streams, so several machines share it: streams COMMERCE_TELEMETRY,
    /// PUBLICATION_TELEMETRY, SYNC_TELEMETRY (subjects strata.telemetry.*, file storage) and the
    /// consumers' offsets in the KV bucket STRATA_OFFSETS, all created at start. The server needs
    /// JetStream on (`nats-server -js`). Duplicates are dropped within one hour, not forever.
    /// The durable workflows' state moves there too (KV buckets STRATA_WF_*), so every process
    /// on that server shares and executes them, one process per instance at a time.
    #[arg(long, global = true, env = "STRATA_NATS_URL", value_name = "URL")]
    pub nats_url: Option<String>,

    /// More log output (-v debug, -vv trace). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors in the logs.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the schema, seed a store, stream its events into the lake and print both (the main job).
    #[command(
        long_about = "Apply the schema, seed a synthetic store and print what is in it; then \
        stream the store's events (orders, payments, fulfillments and returns rebuilt from \
        PostgreSQL, clicks and conversions from the referral rows, this run as workflow events) \
        through the event log and the three pipelines into the Iceberg lake, and print each lake \
        table's rows, files and snapshot.\n\n\
        With no DATABASE_URL this runs entirely on the embedded PostgreSQL under --data-dir; the \
        event log is --data-dir/streams and the lake --data-dir/lake. Running it again \
        re-applies nothing, re-seeds the same deterministic store (the seed's rows are \
        replaced) and appends no event twice (event ids are deterministic).",
        after_help = "Examples:\n  \
        strata demo\n  \
        strata --data-dir /tmp/strata demo --products 50 --days 30\n  \
        strata demo --no-lake\n  \
        strata demo --shopify-fake 1000             # then the daily Shopify sync from a stand-in shop"
    )]
    Demo(DemoArgs),
    /// The domain schema: lint, apply, docs, diff.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Fill the domain tables with a realistic, deterministic store.
    Seed(SeedArgs),
    /// Serve the HTTP API: every table as a resource, the scenario paths, /openapi.json, /docs.
    #[command(
        long_about = "Serve the HTTP API (see docs/api.md): every table of the schema as a \
        resource collection under /v1/resources/{table}, the scenario paths (/v1/orders, \
        /v1/products, ...), the OpenAPI document at /openapi.json and a browsable page at /docs. \
        Requests need `Authorization: Bearer <key>` from `strata apikey create`. Applies pending \
        schema migrations first unless --no-migrate. Runs the telemetry pipelines in the \
        background (as `strata pipeline run`, lake under --data-dir/lake) unless --no-pipelines. \
        /metrics (Prometheus) and /api/health report the pipelines and the streams, without a \
        key. Stops gracefully on Ctrl-C or SIGTERM, finishing in-flight requests, then \
        committing what the pipelines hold."
    )]
    Serve(ServeArgs),
    /// Measure the performance targets on throwaway databases (results for docs/benchmarks.md).
    #[command(
        subcommand,
        long_about = "Measure the performance targets on throwaway databases. \
        With --database-url, each run creates and drops its own database on that server (the URL \
        must allow CREATE DATABASE); without it, each run uses a fresh embedded data directory. \
        Prints Markdown table rows for docs/benchmarks.md."
    )]
    Bench(BenchCommand),
    /// API keys for the HTTP API: create (the secret is shown once), list, revoke.
    #[command(
        subcommand,
        long_about = "API keys for the HTTP API (Authorization: Bearer <key>).\n\n\
        Each key belongs to its own service principal and carries scopes: <module>:read, \
        <module>:write, *:read, *:write or *, where <module> is a schema module (order, product, \
        publisher, ...); write implies read. Only a SHA-256 hash of the key is stored, so the key \
        is printed once, at creation. Creating and revoking keys are recorded in audit_event. \
        These commands need the schema applied (`strata schema apply`) and change nothing else."
    )]
    Apikey(ApikeyCommand),
    /// The telemetry pipelines: each stream from the event log into its Iceberg table.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// The Iceberg lake under --data-dir/lake: tables, describe, snapshots.
    #[command(subcommand, after_help = LAKE_AFTER_HELP)]
    Lake(LakeCommand),
    /// The telemetry streams' event log under --data-dir/streams: send events to it.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Run SQL with DuckDB over the lake's tables (read-only; time travel with AT SNAPSHOT / AS OF).
    #[command(after_help = QUERY_AFTER_HELP)]
    Query(QueryArgs),
    /// Recompute derived tables: `strata refresh measurements`.
    #[command(subcommand)]
    Refresh(RefreshCommand),
    /// Durable workflows (the daily sync, the measurement refresh): run, list, show, control.
    #[command(
        subcommand,
        long_about = "Durable workflows: each completed step's result is stored (in \
        --data-dir/workflows/workflows.sqlite, or NATS JetStream key-value buckets with \
        --nats-url), so a run that crashes, is paused, or sleeps resumes after its last completed \
        step. Every run, step, retry and failure is also written to the sync telemetry stream \
        (and so the lake table sync.telemetry).\n\n\
        Only one process executes workflows from a data directory: `strata serve` does, and \
        beside it these commands create and control instances that the server runs. Without a \
        server, `strata workflow run` executes the instance itself.",
        after_help = WORKFLOW_AFTER_HELP
    )]
    Workflow(WorkflowCommand),
    /// Sync from the sources: `strata sync shopify` runs the daily Shopify sync now.
    #[command(subcommand)]
    Sync(SyncCommand),
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Run the daily Shopify sync now and wait for it: orders updated since the watermark into
    /// PostgreSQL, the lake and the measurements.
    #[command(
        long_about = "Run one instance of the durable workflow daily_shopify_sync (the one cron \
        starts at 06:00 UTC) and wait until it settles: read the watermark (the latest Shopify \
        updatedAt already synced, kept in the workflow store; never more than 128 days back), \
        run a bulk query of the orders updated since, archive its JSONL result in the lake's \
        storage (archives/ingest/<run>.jsonl), upsert the orders, their line items, tax lines, \
        discounts, addresses, products and tags into PostgreSQL and append their commerce \
        events, wait for the pipelines (run by this command) to land those in the lake, refresh \
        the measurements, and advance the watermark. Malformed lines of the result are \
        quarantined with their line number and reported; the run goes on.\n\n\
        Every step's result is stored, so a run interrupted anywhere (Ctrl-C, a crash) continues \
        after its last completed step: run the command again with the same --id. Running it \
        again without changes on Shopify writes nothing new.\n\n\
        The shop comes from SHOPIFY_SHOP (handle or my-shop.myshopify.com) and \
        SHOPIFY_ADMIN_TOKEN (an Admin API token with read_orders and read_products), and \
        optionally SHOPIFY_API_VERSION, SHOPIFY_BASE_URL, SHOPIFY_TIMEOUT_SECS, \
        SHOPIFY_MAX_RETRIES. With --fake N it is a local Shopify stand-in instead, with N \
        generated orders (the same N gives the same orders), and the schema is applied first. \
        When a `strata serve` executes the workflows of --data-dir, the run is handed to it.",
        after_help = "Examples:\n  \
        strata sync shopify --fake 500                     # try it without a shop\n  \
        SHOPIFY_SHOP=my-shop SHOPIFY_ADMIN_TOKEN=shpat_... strata sync shopify\n  \
        strata sync shopify --since 2026-11-01T00:00:00Z   # read from there (a backfill)\n  \
        strata sync shopify --id sync-2026-11-29           # run again with the id to continue it\n  \
        strata workflow list --workflow daily_shopify_sync\n\n\
        Exit codes: 0 complete, 1 failed, 2 usage or configuration mistake, 3 still running at \
        --timeout, 130 interrupted."
    )]
    Shopify(SyncShopifyArgs),
}

#[derive(Debug, Args)]
pub struct SyncShopifyArgs {
    /// Read orders updated at or after this RFC 3339 time instead of the stored watermark (still
    /// at most 128 days back). The watermark only ever moves forward.
    #[arg(long, value_name = "TIME", value_parser = crate::commands::parse_since)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Sync from a local Shopify stand-in with this many generated orders instead of a real shop.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub fake: Option<u32>,
    /// The instance id (letters, digits, `_`, `-`): an id that exists continues (or shows) that
    /// run instead of starting another.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Give up waiting after this many seconds (the run keeps its state).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
    /// How often to ask Shopify whether the bulk query finished (default 5 s; 0.1 s with
    /// --fake). A `bulk_operations/finish` webhook to a running `strata serve` cuts it short.
    #[arg(long, value_name = "SECONDS", value_parser = parse_poll_interval)]
    pub poll_interval: Option<std::time::Duration>,
    /// Print the finished instance as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `--poll-interval`: seconds, fractions allowed, from 0.05 to 600.
fn parse_poll_interval(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds, like 5 or 0.5"))?;
    if !(0.05..=600.0).contains(&secs) {
        return Err(format!("{secs} s is outside 0.05 to 600 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

const WORKFLOW_AFTER_HELP: &str = "Workflows:
  daily_shopify_sync     orders from Shopify, the measurements, the watermark (params: since); needs SHOPIFY_SHOP, SHOPIFY_ADMIN_TOKEN
  refresh_measurements   measurement.sales and measurement.performance (params: as_of | from+to, full_sales)

Examples:
  strata workflow run refresh_measurements --params '{\"as_of\": \"2026-11-28\"}'
  strata workflow list --status errored
  strata workflow show wfi_01JF...
  strata workflow events wfi_01JF... --send approval --payload '{\"by\": \"ops\"}'";

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Create an instance and (without a running server) execute it until it settles.
    Run(WorkflowRunArgs),
    /// Instances, newest first.
    List(WorkflowListArgs),
    /// One instance: status, parameters, output or error, steps, events.
    Show(WorkflowInstanceArgs),
    /// Stop an instance after its current step; `resume` continues it.
    Pause(WorkflowInstanceArgs),
    /// Queue a paused instance again.
    Resume(WorkflowInstanceArgs),
    /// Stop an instance for good.
    Terminate(WorkflowInstanceArgs),
    /// Run an instance again from its first step (a new generation).
    Restart(WorkflowInstanceArgs),
    /// An instance's events, or send it one (--send TYPE) for a `wait_for_event` step.
    Events(WorkflowEventsArgs),
}

#[derive(Debug, Args)]
pub struct WorkflowRunArgs {
    /// The workflow (see the list below).
    pub workflow: String,
    /// Parameters as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// The instance id (letters, digits, `_`, `-`): running an id that exists returns that
    /// instance instead of starting another (idempotency).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Return once the instance is created instead of waiting for it to settle.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this many seconds (the instance keeps its state).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
    /// Print the instance as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkflowListArgs {
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only these statuses (repeatable): queued, running, waiting, paused, complete, errored,
    /// terminated.
    #[arg(long = "status", value_name = "STATUS")]
    pub statuses: Vec<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkflowInstanceArgs {
    /// The instance id.
    pub instance: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkflowEventsArgs {
    /// The instance id.
    pub instance: String,
    /// Send an event of this type instead of listing.
    #[arg(long, value_name = "TYPE")]
    pub send: Option<String>,
    /// The event's payload (JSON), with --send.
    #[arg(long, value_name = "JSON", requires = "send")]
    pub payload: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RefreshCommand {
    /// Bring measurement.sales up to date with the commerce telemetry, then compute
    /// measurement.performance (windows, flags, classification) for the as-of day(s).
    #[command(
        long_about = "Bring measurement.sales up to date with commerce.telemetry (only the days the \
        events committed since the last refresh can fall on; every day with --full-sales), then \
        compute measurement.performance for one as-of day (default: today in the reporting time \
        zone) or every day of --from..--to. Each day's rows replace that day's previous rows in \
        one Iceberg snapshot, so re-running a day changes nothing. Products come from PostgreSQL \
        (launch = published_ts, else create_ts; active = phase published) and the thresholds \
        from the classification spec in effect at the end of each as-of day \
        (GET /api/performance-metrics/settings/classification), replicated to \
        configuration.objective_spec.",
        after_help = "Examples:\n  strata refresh measurements\n  strata refresh measurements --as-of 2026-11-27\n  \
        strata refresh measurements --from 2025-01-01 --to 2026-11-28 --time-zone Europe/Berlin\n  \
        strata query \"SELECT nominal_classification, count(*) FROM measurement.performance \
        WHERE as_of_day = current_date GROUP BY ALL\""
    )]
    Measurements(RefreshMeasurementsArgs),
}

#[derive(Debug, Args)]
pub struct RefreshMeasurementsArgs {
    /// The as-of day (YYYY-MM-DD). Default: today in the reporting time zone.
    #[arg(long, value_name = "DATE", conflicts_with_all = ["from", "to"])]
    pub as_of: Option<chrono::NaiveDate>,
    /// First as-of day of a backfill (with --to).
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Last as-of day of a backfill (with --from).
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// The IANA time zone days are counted in (UTC, Europe/Berlin, America/New_York, ...).
    /// Changing it recomputes every sales day.
    #[arg(
        long,
        env = "STRATA_REPORTING_TIME_ZONE",
        default_value = "UTC",
        value_name = "ZONE"
    )]
    pub time_zone: String,
    /// Recompute the sales of every day with events, not only the days new events touched.
    #[arg(long)]
    pub full_sales: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Run one SQL statement with DuckDB (embedded) over the Iceberg lake under \
    --data-dir/lake. Tables are named as in the catalog (commerce.telemetry, sync.rejected, ...) and \
    read at their current snapshot, or at a past one: `commerce.telemetry AT SNAPSHOT <id>` or \
    `commerce.telemetry AS OF '2026-11-28T12:00:00Z'`. DuckDB's whole dialect is available (window \
    functions, QUALIFY, PIVOT, ...), but it can read only the lake's files: it writes no file, \
    attaches no database and loads no extension. The snapshot each table was read at is printed on \
    stderr, so an answer can be reproduced."
)]
pub struct QueryArgs {
    /// The SQL statement; `-` reads it from stdin.
    #[arg(value_name = "SQL")]
    pub sql: String,
    /// How to print the result: `table` (aligned, for people), `csv`, `json` (one array of
    /// objects), `ndjson` (one object per line), or `parquet` (needs --output).
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
    /// Write the result to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Print at most this many rows in `table` format (the rest are counted).
    #[arg(long, default_value_t = 100)]
    pub max_rows: usize,
}

/// Output formats of `strata query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (zstd).
    Parquet,
}

const QUERY_AFTER_HELP: &str = "Examples:
  strata query \"SELECT event_type, count(*) FROM commerce.telemetry GROUP BY ALL ORDER BY 2 DESC\"
  strata query \"SELECT date_trunc('day', occurred_ts) AS day, count(*) FROM commerce.telemetry GROUP BY 1\"
  strata query \"SELECT count(*) FROM commerce.telemetry AT SNAPSHOT 4263171953447851193\"
  strata query \"SELECT count(*) FROM commerce.telemetry AS OF '2026-11-28T12:00:00Z'\"
  strata query --format csv -o orders.csv \"SELECT * FROM commerce.telemetry\"
  strata lake tables        the tables and their current snapshots
";

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Run the three pipelines until Ctrl-C or SIGTERM, logging progress.
    #[command(
        long_about = "Run the pipelines of the three telemetry streams until Ctrl-C or SIGTERM: \
        each reads its stream from the event log under --data-dir/streams, applies its SQL \
        definition (pipelines/<stream>_telemetry.sql), and commits to the Iceberg lake under \
        --data-dir/lake, acknowledging events in the log only after the commit. Events the \
        definition fails on go to <namespace>.rejected with the reason. On stop, everything \
        buffered is committed first. `strata serve` runs the same pipelines in the background \
        (unless --no-pipelines); only one process per data directory runs them.",
        after_help = "Examples:\n  \
        strata pipeline run\n  \
        strata pipeline run --pipelines ./pipelines --roll-interval 5"
    )]
    Run(PipelineRunArgs),
}

/// Settings shared by `strata pipeline run` and `strata serve`.
#[derive(Debug, Args, Clone)]
pub struct PipelineOpts {
    /// Directory of the definitions (<stream>_telemetry.sql); default: the ones built into this
    /// binary (the repository's pipelines/).
    #[arg(long, value_name = "DIR")]
    pub pipelines: Option<PathBuf>,
    /// Seconds a batch may wait before it is committed, however small (freshness).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_positive_seconds)]
    pub roll_interval: f64,
}

#[derive(Debug, Args)]
pub struct PipelineRunArgs {
    #[command(flatten)]
    pub opts: PipelineOpts,
    /// Seconds between progress lines (0: none).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_seconds)]
    pub progress_interval: f64,
}

fn parse_positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "expected seconds above 0 and at most 3600, got `{s}`"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print its secret (once: it cannot be shown again).
    #[command(
        long_about = "Create a service principal and an API key for it, and print the key.\n\n\
        The key (sk_<prefix>_<secret>) goes to stdout on a line of its own, everything else to \
        stderr, so `strata apikey create ... > key.txt` captures just the key. It cannot be shown \
        again: only its SHA-256 hash is stored.",
        after_help = "Examples:\n  \
        strata apikey create --name shopify-sync --scopes order:read,product:write\n  \
        strata apikey create --name analytics --scopes '*:read' --expires-in-days 90"
    )]
    Create(ApikeyCreateArgs),
    /// List keys: prefix, name, scopes, phase, last use. Secrets and hashes are never shown.
    List,
    /// Revoke a key by uid (key_...) or prefix; servers stop accepting it within seconds.
    #[command(
        long_about = "Revoke a key by uid (key_...) or prefix (as `strata apikey list` shows \
        it). Its phase becomes revoked, for good; running servers refuse it once their key cache \
        expires (5 s by default). Revoking a key that is already revoked changes nothing."
    )]
    Revoke(ApikeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct ApikeyCreateArgs {
    /// What uses the key, e.g. shopify-sync; also the name of its principal.
    #[arg(long)]
    pub name: String,
    /// Comma-separated scopes: <module>:read, <module>:write, *:read, *:write or *.
    /// Modules are the schema's (order, product, publisher, ...); write implies read.
    #[arg(long, value_name = "SCOPE[,SCOPE...]", value_parser = parse_scopes)]
    pub scopes: Scopes,
    /// Days until the key stops working; without it the key does not expire.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub expires_in_days: Option<u32>,
}

fn parse_scopes(s: &str) -> Result<Scopes, String> {
    Scopes::parse_list(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct ApikeyRevokeArgs {
    /// The key's uid (key_...) or prefix.
    #[arg(value_name = "UID|PREFIX")]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STRATA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Requests per second allowed per caller before 429 (0: unlimited).
    #[arg(long, default_value_t = 1000.0)]
    pub rate_limit: f64,
    /// Do not apply pending schema migrations at start-up.
    #[arg(long)]
    pub no_migrate: bool,
    /// Do not run the telemetry pipelines (log → lake) in the background.
    #[arg(long)]
    pub no_pipelines: bool,
    /// Events a telemetry stream may hold not yet committed to the lake before
    /// POST /v1/telemetry/{stream} answers 503 with Retry-After (0: no bound). Accepted events are
    /// durable in the log either way; the bound keeps a lake outage from filling the disk.
    #[arg(long, value_name = "EVENTS", default_value_t = 10_000_000)]
    pub max_backlog: u64,
    #[command(flatten)]
    pub pipeline: PipelineOpts,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `schema apply` of all 153 tables on a fresh database.
    Apply(BenchArgs),
    /// Time `seed` (rows/s) on a fresh database.
    Seed(BenchArgs),
    /// Drive the HTTP API with concurrent clients: place-order vs the raw-SQL ceiling, GET, list.
    #[command(
        long_about = "Drive the HTTP API over real HTTP with concurrent clients and report \
        throughput and p50/p95/p99 latencies (needs --database-url).\n\n\
        On a scratch database: apply the schema, seed a small store, start the API server in \
        this process on an ephemeral 127.0.0.1 port (event log with its default, durable fsync \
        policy, in a temporary directory; no rate limit), create an API key, then measure: \
        POST /v1/orders (3 lines of seeded variants) against the raw-SQL ceiling (the same \
        order_header, order_line_item, tax line and order_summary INSERTs over tokio-postgres, \
        one connection per client, one transaction per order; the two alternate in halves of \
        --duration), GET /v1/orders/{uid} by random uid, and a filtered, label-selected list \
        page of 100 orders (the reads at --clients and from a single client). Prints Markdown \
        rows for docs/benchmarks.md; --phases runs a subset, or adds the diagnostics raw-locked \
        (the raw ceiling under place-order's per-store numbering lock) and place-spread \
        (place-order with a store per client, so no numbering lock is shared).",
        after_help = "Example:\n  \
        strata --database-url postgres://postgres@127.0.0.1:5432/postgres bench api --clients 32"
    )]
    Api(ApiBenchArgs),
    /// Ingest over HTTP into committed Iceberg files: throughput vs raw Parquet, freshness, RSS.
    #[command(
        long_about = "Measure layer 2 end to end: commerce events of about 500 bytes of JSON, \
        posted as NDJSON batches to POST /v1/telemetry/commerce by concurrent clients, through \
        the durable event log (fsync on every commit) and the commerce pipeline, until the last \
        one is in a committed Iceberg snapshot. Everything runs in this process on a temporary \
        data directory (embedded event log and lake; API keys on a scratch database: embedded \
        PostgreSQL, or --database-url). Then: the raw ceiling (the same events through the \
        same Arrow conversion straight into one zstd Parquet file with arrow-rs), freshness \
        (post one event, poll the table's metadata until a snapshot holds it) and the peak RSS \
        of the process. Prints Markdown rows for docs/benchmarks.md.",
        after_help = "Examples:\n  \
        strata bench ingest\n  \
        strata bench ingest --events 10000000 --clients 4"
    )]
    Ingest(IngestBenchArgs),
    /// Layer 3: full and incremental measurement refreshes on a generated store, against a
    /// hand-written DuckDB query over the same Parquet files.
    #[command(
        long_about = "Generate a store in a scratch directory (products with launch days over the \
        range, orders of 1 to 4 lines written straight to commerce.telemetry), then time: \
        measurement.sales for every day; measurement.performance for every as-of day (Iceberg \
        commits included); a hand-written DuckDB query computing the same windows and flags over \
        the same sales Parquet files, written with DuckDB's own partitioned Parquet writer; and \
        the incremental daily refresh after one more day of orders. Prints Markdown rows for \
        docs/benchmarks.md.",
        after_help = "Example (the issue's store):\n  \
        strata bench measurements --products 10000 --days 730 --line-items 20000000"
    )]
    Measurements(MeasureBenchArgs),
    /// The durable workflow engine: step overhead with fsync, throughput across instances, and
    /// recovery after SIGKILL.
    #[command(
        long_about = "Measure the workflow engine on the embedded store (SQLite, fsync on every \
        commit) in a temporary directory: one instance of --steps trivial steps (each result \
        durable before the next step starts); --instances concurrent instances of --steps steps \
        each (step completions per second, fsyncs shared by group commit); and recovery: a child \
        `strata` process runs --instances long steps, is killed with SIGKILL, and a new engine on \
        the same store is timed until every in-flight instance runs again. Prints Markdown rows \
        for docs/benchmarks.md.",
        after_help = "Example:\n  strata bench workflows --steps 100 --instances 50"
    )]
    Workflows(WorkflowBenchArgs),
}

#[derive(Debug, Args)]
pub struct WorkflowBenchArgs {
    /// Steps per instance.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub steps: u32,
    /// Concurrent instances for the throughput and recovery runs.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub instances: u32,
    /// Internal: run as the child process of the recovery run, executing from this store.
    #[arg(long, hide = true, value_name = "DIR")]
    pub child: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct MeasureBenchArgs {
    /// Products in the catalogue.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub products: u32,
    /// Days of history (as-of days of the full refresh).
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Order lines to generate (orders have 2.5 lines on average).
    #[arg(long, default_value_t = 20_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub line_items: u64,
    /// Seed of the generated store.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// Events to ingest.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub events: u64,
    /// Events per HTTP request (NDJSON lines; a request may hold up to 5 MB).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub clients: u32,
    /// The pipelines' roll interval in seconds (freshness depends on it; `strata serve` uses 2).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_positive_seconds)]
    pub roll_interval: f64,
    /// Single events posted after the load to measure freshness.
    #[arg(long, default_value_t = 5)]
    pub freshness_probes: u64,
    /// Seed of the generated events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The generated events: `lean` orders of one line with only the ids, amounts and the
    /// product title (about 700 bytes of JSON, near the 500 the target is set for), or `full`
    /// orders of 1 to 3 lines with every optional field (about 1.4 KB).
    #[arg(long, value_enum, default_value = "lean")]
    pub shape: EventShape,
}

/// How big the events of `strata bench ingest` are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventShape {
    /// One line, required fields and a title: about 700 bytes.
    Lean,
    /// One to three lines, every field: about 1.4 KB.
    Full,
}

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Concurrent clients (HTTP clients, and raw-SQL workers with a connection each).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub clients: u32,
    /// Seconds each measurement runs (place-order and the raw ceiling: each in two halves,
    /// alternating; the reads at --clients and at 1 client).
    #[arg(long, value_name = "SECONDS", default_value_t = 6.0, value_parser = parse_seconds)]
    pub duration: f64,
    /// Seconds of unmeasured warm-up of each write path first.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_seconds)]
    pub warmup: f64,
    /// Products in the seeded store.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub products: u32,
    /// Days of seeded order history (ending yesterday).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,
    /// Random seed of the store and of the clients' choices.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The event log's fsync policy: `always` (the default of `strata serve`: durable on every
    /// commit) or `normal` (for comparison only: the last commits may be lost on power loss).
    #[arg(long, value_enum, default_value = "always")]
    pub event_log_fsync: EventLogFsync,
    /// Which measurements to run (for profiling one path at a time).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "raw,place,get,list"
    )]
    pub phases: Vec<ApiPhase>,
}

/// `strata_events::FsyncPolicy` on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum EventLogFsync {
    Always,
    Normal,
}

/// The measurements of `strata bench api`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ApiPhase {
    /// The raw-SQL ceiling of place-order.
    Raw,
    /// Diagnostic (not in the default set): the raw-SQL ceiling with place-order's per-store
    /// advisory lock held until COMMIT.
    RawLocked,
    /// POST /v1/orders.
    Place,
    /// Diagnostic (not in the default set): POST /v1/orders with each client in a store of its
    /// own, so no two orders wait for the same store's numbering lock.
    PlaceSpread,
    /// GET /v1/orders/{uid}.
    Get,
    /// The list page.
    List,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("expected seconds between 0 and 3600, got `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Repetitions (apply).
    #[arg(long, default_value_t = 5)]
    pub runs: u32,
    #[command(flatten)]
    pub seed: SeedArgs,
}

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Check schema/*.sql against the conventions; exit 1 on any finding.
    #[command(
        long_about = "Check the DDL against the conventions (prefixed ULID uids, status \
        phases, labels/annotations, _ts timestamps, money with raw_* JSON, enum CHECKs, documented \
        but unenforced references with indexes, comments, no stored logic, module and pass \
        counts). Each finding names file, line, table, column, rule and a fix. Exit code 1 on \
        any finding. The rules are listed in schema/README.md."
    )]
    Lint(LintArgs),
    /// Create or upgrade the schema in the database as checksummed migrations.
    #[command(
        long_about = "Create or upgrade the schema as versioned, checksummed migrations, \
        one transaction per file, recorded in strata.schema_migrations. Re-applying is a no-op; \
        a file edited after it was applied is refused."
    )]
    Apply(SchemaDirArg),
    /// Write docs/schema.md from the model (--check: fail if the file is stale).
    Docs(DocsArgs),
    /// Report drift between the live database and the model; exit 1 on any difference.
    Diff(SchemaDirArg),
}

#[derive(Debug, Args)]
pub struct SchemaDirArg {
    /// Read the DDL from this directory instead of the copy built into the binary.
    #[arg(long)]
    pub schema_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Directory of the DDL files.
    #[arg(long, default_value = "schema")]
    pub schema_dir: PathBuf,
    /// Output format of the findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Directory of the DDL files.
    #[arg(long, default_value = "schema")]
    pub schema_dir: PathBuf,
    /// Where to write the reference.
    #[arg(long, default_value = "docs/schema.md")]
    pub out: PathBuf,
    /// Do not write; exit 1 if the file differs from what would be written.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SeedArgs {
    /// Number of products in the catalog.
    #[arg(long, default_value_t = 200)]
    pub products: u32,
    /// Days of order history, ending yesterday (UTC).
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Random seed: the same seed gives the same store, row for row.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last day of history (YYYY-MM-DD); default yesterday. Fix it for reproducible dates.
    #[arg(long)]
    pub end_date: Option<String>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Stop after the domain: do not stream the store's events into the lake.
    #[arg(long)]
    pub no_lake: bool,
    /// Then run the daily Shopify sync from a local Shopify stand-in with N generated orders
    /// (`strata sync shopify --fake N`): bulk query, archive, upsert, events, measurements,
    /// watermark. Without a value, 500 orders.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        default_missing_value = "500",
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        conflicts_with = "no_lake"
    )]
    pub shopify_fake: Option<u32>,
}

const LAKE_AFTER_HELP: &str = "Examples:
  strata lake tables                          every table: snapshot, rows, files, bytes, last commit
  strata lake describe commerce.telemetry     schema, partitioning, properties, snapshots, files
  strata lake snapshots commerce.telemetry    the commit history, with each commit's offsets
  strata lake tables --json | jq '.[] | select(.records > 0)'

The lake is the embedded one under --data-dir/lake (written by `strata pipeline run` and
`strata serve`); reading it while they run is safe.";

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Every table: current snapshot, rows, live files, bytes, last commit time.
    Tables(LakeOutput),
    /// One table: schema (field ids, types), partition spec, sort order, properties, snapshots,
    /// live files, totals.
    #[command(after_help = "Example:\n  strata lake describe commerce.telemetry")]
    Describe(LakeTableArgs),
    /// One table's snapshots, oldest first: id, parent, time, operation, added records, commit id.
    #[command(
        after_help = "Example:\n  strata lake snapshots commerce.telemetry --json\n\n\
        `strata.commit-id` is <stream>:<lane>:<first>-<last>: the event log offsets the commit holds."
    )]
    Snapshots(LakeTableArgs),
}

#[derive(Debug, Args)]
pub struct LakeOutput {
    /// JSON on stdout instead of a table (for scripts).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LakeTableArgs {
    /// The table, as namespace.table (e.g. commerce.telemetry, sync.rejected).
    #[arg(value_name = "NAMESPACE.TABLE")]
    pub table: String,
    #[command(flatten)]
    pub output: LakeOutput,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Validate a batch of events and append the accepted ones to a stream's log.
    #[command(
        long_about = "Validate a batch of telemetry events and append the accepted ones to the \
        stream's durable log under --data-dir/streams, with the same rules and limits as \
        `POST /v1/telemetry/{stream}` (5 MiB, 10,000 events per batch; events without event_id \
        get one; an event_id already in the log is a duplicate and is not stored again). The \
        pipelines (`strata pipeline run`, or `strata serve`) take them on to the lake.\n\n\
        Safe while `strata serve` or `strata pipeline run` use the same --data-dir: the log is \
        SQLite in WAL mode, shared between processes (a writer waits up to 5 s for another).\n\n\
        Prints how many events were accepted, how many of those were duplicates, how many were \
        rejected, and why each rejection happened (index, NDJSON line, reason). Exit code 0 if \
        every event was accepted, 1 if any was rejected (the accepted ones are still appended), \
        2 if the batch as a whole was refused (nothing appended).",
        after_help = "Examples:\n  \
        strata events send commerce events.json              a JSON array\n  \
        strata events send publication events.ndjson         NDJSON, one event per line\n  \
        producer | strata events send sync - --format ndjson\n  \
        strata events send commerce batch.json --json | jq .rejected"
    )]
    Send(EventsSendArgs),
}

#[derive(Debug, Args)]
pub struct EventsSendArgs {
    /// The stream: commerce, publication or sync.
    #[arg(value_name = "STREAM")]
    pub stream: String,
    /// The batch file; `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-", default_value = "-")]
    pub file: PathBuf,
    /// How the events are laid out; auto: a JSON array if the first non-blank character is `[`,
    /// NDJSON otherwise.
    #[arg(long, value_enum, default_value_t = EventsFormat::Auto)]
    pub format: EventsFormat,
    /// The outcome as JSON on stdout (the shape of POST /v1/telemetry/{stream}'s answer).
    #[arg(long)]
    pub json: bool,
}

/// How `strata events send` reads its batch.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum EventsFormat {
    /// Detect from the first non-blank character.
    Auto,
    /// A JSON array of events.
    Json,
    /// One event per line.
    Ndjson,
}
