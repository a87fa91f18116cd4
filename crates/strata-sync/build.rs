//! This crate's tests link DuckDB dynamically (see crates/strata-query/build.rs): give them an
//! rpath to the library's folder, so they run without LD_LIBRARY_PATH.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_STRATA_DUCKDB_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_STRATA_DUCKDB_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:{dir}");
    }
}
