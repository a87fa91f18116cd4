//! One module per command; each returns the process exit code.

mod apikey;
mod bench;
mod demo;
mod events;
mod lake;
mod pipeline;
mod query;
mod refresh;
mod schema;
mod seed;
mod serve;
mod sync;
mod workflow;

use std::process::ExitCode;

use anyhow::Result;
use strata_domain::{Database, DbConfig};

pub use sync::parse_since;

use crate::cli::{Cli, Command, GlobalOpts};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(&cli.global, args).await,
        Command::Schema(cmd) => schema::run(&cli.global, cmd).await,
        Command::Seed(args) => seed::run(&cli.global, args).await,
        Command::Bench(cmd) => bench::run(&cli.global, cmd).await,
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::Apikey(cmd) => apikey::run(&cli.global, cmd).await,
        Command::Pipeline(cmd) => pipeline::run(&cli.global, cmd).await,
        Command::Lake(cmd) => lake::run(&cli.global, cmd).await,
        Command::Events(cmd) => events::run(&cli.global, cmd).await,
        Command::Query(args) => query::run(&cli.global, args).await,
        Command::Refresh(cmd) => refresh::run(&cli.global, cmd).await,
        Command::Workflow(cmd) => workflow::run(&cli.global, cmd).await,
        Command::Sync(cmd) => sync::run(&cli.global, cmd).await,
    }
}

/// Connect to `--database-url`, or start the embedded engine under `--data-dir`.
pub async fn connect(global: &GlobalOpts) -> Result<Database> {
    let config = DbConfig::new(global.database_url.clone(), &global.data_dir);
    let db = Database::connect(&config).await?;
    tracing::info!(target = db.target(), "connected");
    Ok(db)
}
