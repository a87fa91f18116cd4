//! The shared test harness (`crates/strata-testkit`): a fresh database per test on the real
//! PostgreSQL server, or an embedded one.

#![allow(unused_imports)]

pub use strata_testkit::*;
