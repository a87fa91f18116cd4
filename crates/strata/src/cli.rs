//! The command line: `strata <command>`. Every command and option explains itself in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Directory for Strata's local state: the embedded database, locks, and later the lake.
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
    /// Apply the schema, seed a synthetic store and print what is in it (the main job).
    #[command(
        long_about = "Apply the schema, seed a synthetic store and print what is in it.\n\n\
        With no DATABASE_URL this runs entirely on the embedded PostgreSQL under --data-dir. \
        Running it again re-applies nothing and re-seeds the same deterministic store (the \
        seed's rows are replaced)."
    )]
    Demo(DemoArgs),
    /// The domain schema: lint, apply, docs, diff.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Fill the domain tables with a realistic, deterministic store.
    Seed(SeedArgs),
    /// Measure the performance targets on throwaway databases (results for docs/benchmarks.md).
    #[command(
        subcommand,
        long_about = "Measure the performance targets on throwaway databases. \
        With --database-url, each run creates and drops its own database on that server (the URL \
        must allow CREATE DATABASE); without it, each run uses a fresh embedded data directory. \
        Prints Markdown table rows for docs/benchmarks.md."
    )]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `schema apply` of all 153 tables on a fresh database.
    Apply(BenchArgs),
    /// Time `seed` (rows/s) on a fresh database.
    Seed(BenchArgs),
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
}
