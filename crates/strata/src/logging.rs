//! Logs on stderr through `tracing`: text for people, JSON for machines.

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalOpts, LogFormat};

pub fn init(opts: &GlobalOpts) {
    let default = if opts.quiet {
        "warn"
    } else {
        match opts.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    // Quiet the embedded engine's and the pool's chatter unless asked for.
    let directives = format!(
        "{default},wasmer=warn,wasmer_wasix=warn,cranelift_codegen=warn,tokio_postgres=warn"
    );
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(opts.verbose > 0);
    match opts.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.compact().init(),
    }
}
