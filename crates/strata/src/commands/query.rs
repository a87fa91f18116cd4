//! `strata query "<SQL>"`: DuckDB over the lake, printed for a person or a script.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use strata_query::arrow::record_batch::RecordBatch;
use strata_query::{QueryEngine, QueryOptions, QueryOutput};

use crate::cli::{GlobalOpts, QueryArgs, QueryFormat};

pub async fn run(global: &GlobalOpts, args: QueryArgs) -> Result<ExitCode> {
    let sql = if args.sql == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the SQL from stdin")?;
        text
    } else {
        args.sql.clone()
    };
    if args.format == QueryFormat::Parquet && args.output.is_none() {
        bail!("--format parquet writes a file: add --output <FILE>");
    }
    let lake = super::lake::open(global).await?;
    let engine = QueryEngine::open(lake, QueryOptions::under(&global.data_dir))
        .await
        .context("start DuckDB over the lake")?;
    let out = match engine.query(&sql).await {
        Ok(out) => out,
        Err(e) if e.is_client_error() => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e).context("run the query"),
    };
    let mut sink: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    write(&out, &args, &mut sink)?;
    sink.flush().context("write the result")?;
    drop(sink);
    if !global.quiet {
        let reads: Vec<String> = out
            .tables
            .iter()
            .map(|t| match t.snapshot_id {
                Some(id) => format!("{} at snapshot {id}", t.table),
                None => format!("{} (no snapshot yet: empty)", t.table),
            })
            .collect();
        let rows = out.rows();
        let noun = if rows == 1 { "row" } else { "rows" };
        if reads.is_empty() {
            eprintln!("{rows} {noun}");
        } else {
            eprintln!("{rows} {noun}; read {}", reads.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write(out: &QueryOutput, args: &QueryArgs, sink: &mut (dyn Write + Send)) -> Result<()> {
    match args.format {
        QueryFormat::Table => {
            let shown = first_rows(out, args.max_rows);
            let text = strata_query::arrow::util::pretty::pretty_format_batches(&shown)
                .context("format the result")?;
            writeln!(sink, "{text}")?;
            let rows = out.rows();
            if rows > args.max_rows {
                writeln!(
                    sink,
                    "({} more rows not shown; raise --max-rows or use --format csv)",
                    rows - args.max_rows
                )?;
            }
        }
        QueryFormat::Csv => {
            let mut w = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *sink);
            for b in &out.batches {
                w.write(b).context("write CSV")?;
            }
        }
        QueryFormat::Json => {
            let mut w = arrow_json::ArrayWriter::new(&mut *sink);
            for b in &out.batches {
                w.write(b).context("write JSON")?;
            }
            w.finish().context("write JSON")?;
            if out.rows() == 0 {
                write!(sink, "[]")?;
            }
            writeln!(sink)?;
        }
        QueryFormat::Ndjson => {
            let mut w = arrow_json::LineDelimitedWriter::new(&mut *sink);
            for b in &out.batches {
                w.write(b).context("write NDJSON")?;
            }
            w.finish().context("write NDJSON")?;
        }
        QueryFormat::Parquet => {
            if std::io::stdout().is_terminal() && args.output.is_none() {
                bail!("refusing to write Parquet to a terminal: add --output <FILE>");
            }
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut w =
                parquet::arrow::ArrowWriter::try_new(&mut *sink, out.schema.clone(), Some(props))
                    .context("write Parquet")?;
            for b in &out.batches {
                w.write(b).context("write Parquet")?;
            }
            w.close().context("write Parquet")?;
        }
    }
    Ok(())
}

/// The first `max` rows, as batches.
fn first_rows(result: &QueryOutput, max: usize) -> Vec<RecordBatch> {
    let mut left = max;
    let mut out = Vec::new();
    for b in &result.batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        out.push(b.slice(0, take));
        left -= take;
    }
    if out.is_empty() {
        out.push(RecordBatch::new_empty(result.schema.clone()));
    }
    out
}
