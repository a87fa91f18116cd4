//! Shared by the binary's tests: the test harness (`crates/strata-testkit`: a fresh database per
//! test on the real PostgreSQL server, or an embedded one) and running the built `strata`.

#![allow(unused_imports, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub use strata_testkit::*;

/// The built `strata`, run in `cwd`, isolated from the caller's DATABASE_URL, STRATA_DATA_DIR and
/// STRATA_NATS_URL, with quiet, uncoloured logs.
pub fn strata_in(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("STRATA_DATA_DIR")
        .env_remove("STRATA_NATS_URL")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run the strata binary")
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
