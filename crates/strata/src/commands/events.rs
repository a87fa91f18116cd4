//! `strata events send`: a batch of telemetry events from a file or stdin, validated as
//! `POST /v1/telemetry/{stream}` validates them, the accepted ones appended to the data
//! directory's event log (shared safely with a running `strata serve` or `strata pipeline run`:
//! the log is SQLite in WAL mode, and each writer waits its turn).

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use strata_events::{BatchFormat, Limits, StreamName, validate_batch};

use super::pipeline::open_log;
use crate::cli::{EventsCommand, EventsFormat, EventsSendArgs, GlobalOpts};

pub async fn run(global: &GlobalOpts, cmd: EventsCommand) -> Result<ExitCode> {
    match cmd {
        EventsCommand::Send(args) => send(global, args).await,
    }
}

async fn send(global: &GlobalOpts, args: EventsSendArgs) -> Result<ExitCode> {
    let Some(stream) = StreamName::from_slug(&args.stream) else {
        let names: Vec<&str> = StreamName::ALL.iter().map(|s| s.slug()).collect();
        bail!(
            "no telemetry stream `{}`; the streams are {}",
            args.stream,
            names.join(", ")
        );
    };
    let limits = Limits::default();
    let from_stdin = args.file.as_os_str() == "-";
    let source = if from_stdin {
        "stdin".to_owned()
    } else {
        args.file.display().to_string()
    };
    let body =
        read_bounded(&args, limits.max_batch_bytes).with_context(|| format!("read {source}"))?;
    let format = match args.format {
        EventsFormat::Json => BatchFormat::JsonArray,
        EventsFormat::Ndjson => BatchFormat::Ndjson,
        EventsFormat::Auto => detect(&body),
    };
    // The same rules and limits as the HTTP endpoint; a batch refused as a whole appends nothing.
    let outcome = validate_batch(stream, &body, format, chrono::Utc::now(), &limits)
        .map_err(|e| anyhow::anyhow!("{source} ({format}): {e}; nothing was appended"))?;
    let events: Vec<_> = outcome.accepted.iter().map(|a| a.event.clone()).collect();
    let receipt = if events.is_empty() {
        None
    } else {
        let log = open_log(global).await.context(
            "the event log cannot be opened; a running `strata serve` also accepts batches at \
             POST /v1/telemetry/{stream}",
        )?;
        Some(
            log.append(stream, events)
                .await
                .context("append to the event log (nothing of this batch was appended)")?,
        )
    };
    let entries = receipt
        .as_ref()
        .map(|r| r.entries.as_slice())
        .unwrap_or(&[]);
    let duplicates = entries.iter().filter(|e| e.duplicate).count();
    let rejected = outcome.rejected.len();

    if args.json {
        let accepted: Vec<_> = outcome
            .accepted
            .iter()
            .zip(entries)
            .map(|(a, e)| {
                json!({
                    "index": a.index,
                    "event_id": e.event_id.to_string(),
                    "offset": e.offset,
                    "duplicate": e.duplicate,
                })
            })
            .collect();
        let out = json!({
            "stream": stream.wire_name(),
            "received": outcome.received(),
            "accepted_count": accepted.len(),
            "duplicate_count": duplicates,
            "rejected_count": rejected,
            "head_offset": receipt.as_ref().map(|r| r.head_offset),
            "accepted": accepted,
            "rejected": outcome.rejected,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} events read from {source} ({format}): {} accepted ({} new, {duplicates} \
             already in the log), {rejected} rejected",
            stream.slug(),
            outcome.received(),
            entries.len(),
            entries.len() - duplicates,
        );
        if let Some(r) = &receipt {
            println!("log head offset: {}", r.head_offset);
        }
        for r in &outcome.rejected {
            let line = r.line.map(|l| format!(", line {l}")).unwrap_or_default();
            let id = r
                .event_id
                .as_deref()
                .map(|id| format!(" {id}"))
                .unwrap_or_default();
            let kind = serde_json::to_value(r.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            println!("  rejected #{}{line}{id} [{kind}]: {}", r.index, r.reason);
        }
    }
    Ok(if rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The batch, at most `limit + 1` bytes (one more than allowed, so the validator reports the
/// size instead of this reading an unbounded input).
fn read_bounded(args: &EventsSendArgs, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let cap = limit as u64 + 1;
    if args.file.as_os_str() == "-" {
        std::io::stdin().lock().take(cap).read_to_end(&mut body)?;
    } else {
        std::fs::File::open(&args.file)?
            .take(cap)
            .read_to_end(&mut body)?;
    }
    Ok(body)
}

/// A JSON array if the first character that is not blank (or a byte-order mark) is `[`.
fn detect(body: &[u8]) -> BatchFormat {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => BatchFormat::JsonArray,
        _ => BatchFormat::Ndjson,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_arrays_and_ndjson() {
        assert_eq!(detect(b"  \n[{}]"), BatchFormat::JsonArray);
        assert_eq!(detect(b"\xEF\xBB\xBF[]"), BatchFormat::JsonArray);
        assert_eq!(detect(b"{}\n{}\n"), BatchFormat::Ndjson);
        assert_eq!(detect(b""), BatchFormat::Ndjson);
    }
}
