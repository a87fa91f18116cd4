//! `strata schema lint|apply|docs|diff`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use strata_schema::lint::{LintOptions, lint};
use strata_schema::{SchemaSource, diff, docs, introspect, migrate, parse};

use super::connect;
use crate::cli::{DocsArgs, GlobalOpts, LintArgs, OutputFormat, SchemaCommand, SchemaDirArg};

pub async fn run(global: &GlobalOpts, cmd: SchemaCommand) -> Result<ExitCode> {
    match cmd {
        SchemaCommand::Lint(args) => lint_cmd(args),
        SchemaCommand::Apply(args) => apply_cmd(global, args).await,
        SchemaCommand::Docs(args) => docs_cmd(args),
        SchemaCommand::Diff(args) => diff_cmd(global, args).await,
    }
}

fn source_from(dir: Option<&Path>) -> Result<SchemaSource> {
    match dir {
        Some(d) => Ok(SchemaSource::from_dir(d)?),
        None => Ok(SchemaSource::embedded()),
    }
}

fn lint_cmd(args: LintArgs) -> Result<ExitCode> {
    let source = SchemaSource::from_dir(&args.schema_dir)?;
    let parsed = parse(&source)?;
    let findings = lint(&parsed, LintOptions::default());
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        OutputFormat::Text => {
            for f in &findings {
                println!("{f}");
            }
            let tables = parsed.schema.table_count();
            if findings.is_empty() {
                eprintln!(
                    "schema lint: {} files, {tables} tables, no findings",
                    source.files.len()
                );
            } else {
                eprintln!(
                    "schema lint: {} finding(s) in {} files, {tables} tables",
                    findings.len(),
                    source.files.len()
                );
            }
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn apply_cmd(global: &GlobalOpts, args: SchemaDirArg) -> Result<ExitCode> {
    let source = source_from(args.schema_dir.as_deref())?;
    let db = connect(global).await?;
    let report = apply_schema(&db, &source).await;
    db.shutdown().await?;
    let report = report?;
    print_apply(&report);
    Ok(ExitCode::SUCCESS)
}

/// Apply the schema on an open database (shared with `strata demo`).
pub async fn apply_schema(
    db: &strata_domain::Database,
    source: &SchemaSource,
) -> Result<migrate::ApplyReport> {
    let mut client = db.client().await?;
    let started = std::time::Instant::now();
    let report = migrate::apply(&mut client, source, |done, total, name| {
        tracing::debug!(done, total, name, "migration applied");
    })
    .await
    .with_context(|| format!("schema apply on {}", db.target()))?;
    tracing::info!(
        applied = report.applied.len(),
        unchanged = report.unchanged,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "schema apply finished"
    );
    Ok(report)
}

pub fn print_apply(report: &migrate::ApplyReport) {
    if report.applied.is_empty() {
        println!(
            "schema: up to date ({} migrations already applied)",
            report.unchanged
        );
    } else {
        let ms: u128 = report.applied.iter().map(|(_, ms)| ms).sum();
        println!(
            "schema: applied {} migration(s) in {ms} ms ({} already applied)",
            report.applied.len(),
            report.unchanged
        );
    }
}

fn docs_cmd(args: DocsArgs) -> Result<ExitCode> {
    let source = SchemaSource::from_dir(&args.schema_dir)?;
    let schema = parse(&source)?.schema;
    let text = docs::render(&schema);
    if args.check {
        let current = std::fs::read_to_string(&args.out).unwrap_or_default();
        if current == text {
            eprintln!("{} is up to date", args.out.display());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{} is stale: run `strata schema docs` and commit the result",
            args.out.display()
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    std::fs::write(&args.out, text).with_context(|| format!("write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} tables)",
        args.out.display(),
        schema.table_count()
    );
    Ok(ExitCode::SUCCESS)
}

async fn diff_cmd(global: &GlobalOpts, args: SchemaDirArg) -> Result<ExitCode> {
    let source = source_from(args.schema_dir.as_deref())?;
    let schema = parse(&source)?.schema;
    let db = connect(global).await?;
    let result = async {
        let client = db.client().await?;
        let applied = migrate::applied_migrations(&client).await?;
        let live = introspect::introspect(&client).await?;
        anyhow::Ok(diff::diff(&schema, &source, &applied, &live))
    }
    .await;
    db.shutdown().await?;
    let drift = result?;
    for d in &drift {
        println!("{d}");
    }
    if drift.is_empty() {
        eprintln!(
            "schema diff: the database matches the model ({} tables)",
            schema.table_count()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("schema diff: {} difference(s)", drift.len());
        Ok(ExitCode::from(1))
    }
}
