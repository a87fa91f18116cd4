//! Links DuckDB 1.5.5 without compiling it: the official prebuilt `libduckdb.so` (the one DuckDB's
//! Node.js bindings ship on npm, checksum-pinned) is fetched once at build time into
//! `<target-dir>/duckdb-1.5.5/`, or taken from `DUCKDB_LIB_DIR`. Compiling DuckDB's C++ instead
//! (the `bundled` feature) costs about 23 minutes of a 2-core machine on every cold build.
//! Nothing is downloaded at run time: binaries find the library through their rpath.

use std::{
    env, fs,
    io::Read,
    path::{Path, PathBuf},
    process::Command,
};

const NPM_PACKAGE: &str = "@duckdb/node-bindings-linux-x64@1.5.5-r.5";
const LIB_SHA256: &str = "fc23f12e376c47be520f75221288281906e7942e8fd6f6ce4849198ba60d0405";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let dir = match env::var_os("DUCKDB_LIB_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = target_dir().join("duckdb-1.5.5");
            if let Err(e) = ensure_library(&dir) {
                panic!(
                    "cannot provide libduckdb.so in {}: {e}\n\
                     Strata links the official prebuilt DuckDB 1.5.5 library, fetched once with \
                     `npm pack {NPM_PACKAGE}` (npm must be installed and reach its registry). \
                     Or set DUCKDB_LIB_DIR to a folder holding libduckdb.so of DuckDB 1.5.5.",
                    dir.display()
                );
            }
            dir
        }
    };
    println!(
        "cargo:rerun-if-changed={}",
        dir.join("libduckdb.so").display()
    );
    // Propagates to every binary that links this crate.
    println!("cargo:rustc-link-search=native={}", dir.display());
    // This crate's own tests and examples; dependents add the same from DEP_STRATA_DUCKDB_LIB_DIR.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:{}", dir.display());
    println!("cargo:lib_dir={}", dir.display());
}

/// The Cargo target directory: the ancestor of OUT_DIR above `<profile>/build/<pkg>/out`.
fn target_dir() -> PathBuf {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(out)
}

fn ensure_library(dir: &Path) -> Result<(), String> {
    let lib = dir.join("libduckdb.so");
    if lib.is_file() && sha256(&lib)? == LIB_SHA256 {
        return Ok(());
    }
    let partial = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&partial);
    fs::create_dir_all(&partial).map_err(|e| format!("create {}: {e}", partial.display()))?;
    run(Command::new("npm")
        .args(["pack", NPM_PACKAGE, "--silent", "--pack-destination"])
        .arg(&partial))?;
    let tarball = fs::read_dir(&partial)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "tgz"))
        .ok_or("npm pack produced no .tgz")?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&partial)
        .args([
            "--strip-components=1",
            "package/libduckdb.so",
            "package/LICENSE",
        ]))?;
    let _ = fs::remove_file(&tarball);
    let got = sha256(&partial.join("libduckdb.so"))?;
    if got != LIB_SHA256 {
        return Err(format!(
            "libduckdb.so from {NPM_PACKAGE} has SHA-256 {got}, expected {LIB_SHA256}"
        ));
    }
    let _ = fs::remove_dir_all(dir);
    fs::rename(&partial, dir).map_err(|e| format!("move into {}: {e}", dir.display()))
}

fn sha256(path: &Path) -> Result<String, String> {
    use sha2::Digest;
    let mut file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}
