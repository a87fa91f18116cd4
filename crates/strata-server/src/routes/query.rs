//! `POST /v1/query`: read-only SQL over the lake (DuckDB, crate `strata-query`), streamed back as
//! JSON, NDJSON or CSV while DuckDB produces it.
//!
//! Before anything runs: the statement must pass [`strata_query::readonly::check`] (one query; no
//! writes, `ATTACH`, `INSTALL`, `LOAD`, settings, or files: 400), every table it reads must be a
//! lake table (404), and the key must hold the read scope of each table's namespace, as at
//! `/iceberg` (`commerce` → `order:read`, `publication` → `publisher:read`, `sync` →
//! `governance:read`, other namespaces `*:read`: 403). DuckDB's own sandbox stays the second
//! line of defence.
//!
//! Limits: `max_rows` (the result is cut there and says so) and `timeout_ms` (DuckDB is
//! interrupted; 408 if nothing was sent yet). Errors found before the first row are
//! problem+json; after it the status is sent, so the body ends with the error instead (see
//! [`Encoder::tail`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use strata_domain::identity::Caller;
use strata_domain::resource::value::FieldError;
use strata_query::arrow::record_batch::RecordBatch;
use strata_query::readonly::{self, TableRef};
use strata_query::{QueryEngine, QueryError, QueryLimits, QueryStream};

use super::commands::{no_query, parse_body};
use crate::auth::{Verb, authenticate};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Rows returned when the request does not say.
pub const DEFAULT_MAX_ROWS: u64 = 10_000;
/// The most rows a request may ask for.
pub const MAX_ROWS: u64 = 1_000_000;
/// The time limit when the request does not say.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// The longest time limit a request may ask for: below the server's 30 s request timeout, so a
/// slow query is answered 408 by the query itself, never 503 by the server.
pub const MAX_TIMEOUT_MS: u64 = 25_000;

/// The request body; `null` stands for the default, as an absent field does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    sql: String,
    #[serde(default)]
    max_rows: Option<u64>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    format: Option<Format>,
}

/// How the rows are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON document: columns, snapshots, rows, row count, truncated.
    Json,
    /// One JSON object per row and line.
    Ndjson,
    /// A header line, then one line per row.
    Csv,
}

impl Format {
    /// The format an `Accept` header prefers (JSON unless it names NDJSON or CSV).
    fn from_accept(headers: &HeaderMap) -> Self {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        for media in accept.split(',') {
            match media.split(';').next().unwrap_or_default().trim() {
                "application/x-ndjson" | "application/jsonl" => return Self::Ndjson,
                "text/csv" => return Self::Csv,
                "application/json" => return Self::Json,
                _ => {}
            }
        }
        Self::Json
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// `POST /v1/query`.
pub async fn run(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authenticate(&s, &headers).await?;
    let engine = s.query.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "this server has no lake to query (it runs without one)",
        )
    })?;
    let request: QueryRequest = parse_body(&headers, &body, false)?;
    let (limits, max_rows) = limits(&request)?;
    let format = request
        .format
        .unwrap_or_else(|| Format::from_accept(&headers));
    let read = readonly::check(&request.sql).map_err(problem)?;
    authorize_tables(&engine, &caller, &read.tables).await?;
    let started = std::time::Instant::now();
    let mut stream = engine.stream(&request.sql, limits).await.map_err(problem)?;
    let mut encoder = Encoder::new(format, max_rows);
    let head = encoder.head(&stream);
    // Errors before the first row still get their own status.
    let first = match stream.next_batch().await {
        None => None,
        Some(Ok(batch)) => Some(encoder.batch(&batch).map_err(Problem::bad_request)?),
        Some(Err(e)) => return Err(problem(e)),
    };
    tracing::info!(
        principal = %caller.principal_uid,
        tables = ?read.tables.iter().map(ToString::to_string).collect::<Vec<_>>(),
        first_batch_ms = started.elapsed().as_millis() as u64,
        "query started"
    );
    let snapshots = snapshots_header(&stream);
    let rest = futures_util::stream::unfold(Some((stream, encoder)), |state| async move {
        let (mut stream, mut encoder) = state?;
        let (bytes, next) = match stream.next_batch().await {
            Some(Ok(batch)) => match encoder.batch(&batch) {
                Ok(bytes) => return Some((bytes, Some((stream, encoder)))),
                Err(e) => (encoder.tail(End::Failed(Problem::bad_request(e))), None),
            },
            Some(Err(e)) => (encoder.tail(End::Failed(problem(e))), None),
            None if stream.truncated() => (encoder.tail(End::Truncated), None),
            None => (encoder.tail(End::Complete), None),
        };
        Some((bytes, next))
    });
    let body = futures_util::stream::iter([head].into_iter().chain(first))
        .chain(rest)
        .map(Ok::<_, std::io::Error>)
        // The compression layer may poll again after the end, which `unfold` does not allow.
        .fuse();
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert("x-strata-max-rows", HeaderValue::from(max_rows));
    if let Some(v) = snapshots {
        h.insert("x-strata-snapshots", v);
    }
    Ok(response)
}

/// The engine's limits and the row limit in force, from the request (422 beyond the server's).
fn limits(request: &QueryRequest) -> ApiResult<(QueryLimits, u64)> {
    let mut errors = Vec::new();
    let max_rows = request.max_rows.unwrap_or(DEFAULT_MAX_ROWS);
    if max_rows > MAX_ROWS {
        errors.push(FieldError::new(
            "max_rows",
            format!("must be at most {MAX_ROWS}"),
        ));
    }
    let timeout_ms = request.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        errors.push(FieldError::new(
            "timeout_ms",
            format!("must be from 1 to {MAX_TIMEOUT_MS}"),
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the request has invalid fields",
        )
        .with_errors(errors));
    }
    let limits = QueryLimits {
        max_rows: Some(usize::try_from(max_rows).unwrap_or(usize::MAX)),
        timeout: Some(Duration::from_millis(timeout_ms)),
    };
    Ok((limits, max_rows))
}

/// 404 unless each table is a lake table, 403 unless the caller may read its namespace.
async fn authorize_tables(
    engine: &Arc<QueryEngine>,
    caller: &Caller,
    tables: &[TableRef],
) -> ApiResult<()> {
    if tables.is_empty() {
        return Ok(());
    }
    let idents = engine.lake().list_tables().await.map_err(|e| {
        tracing::warn!(error = %e, "lake catalog unavailable");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the lake's catalog is unavailable; retry shortly",
        )
    })?;
    for t in tables {
        let Some(ident) = idents.iter().find(|i| {
            i.namespace().as_ref().join(".").to_lowercase() == t.namespace
                && i.name().to_lowercase() == t.table
        }) else {
            let known: Vec<String> = idents
                .iter()
                .map(|i| format!("{}.{}", i.namespace().as_ref().join("."), i.name()))
                .collect();
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!(
                    "`{t}` is not a lake table; the lake has {}",
                    known.join(", ")
                ),
            ));
        };
        let module = crate::iceberg::module_of_namespace(ident.namespace());
        if caller.require(module, Verb::Read).is_err() {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!("reading `{t}` takes the scope {module}:read (or *:read, *)"),
            ));
        }
    }
    Ok(())
}

/// A query error as problem+json: the caller's mistakes are 4xx, never 500.
fn problem(e: QueryError) -> Problem {
    match e {
        QueryError::Timeout(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("{e}; narrow the query, or raise timeout_ms (at most {MAX_TIMEOUT_MS})"),
        ),
        QueryError::NotLakeTable(_) => Problem::new(StatusCode::NOT_FOUND, e.to_string()),
        e if e.is_client_error() => Problem::bad_request(e.to_string()),
        QueryError::Lake(_) | QueryError::Iceberg(_) | QueryError::Io { .. } => {
            tracing::warn!(error = %e, "the lake failed a query");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the lake is unavailable; retry shortly",
            )
        }
        e => {
            tracing::error!(error = %e, "query failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an unexpected error occurred; it was logged",
            )
        }
    }
}

/// `X-Strata-Snapshots: commerce.telemetry=4263171953447851193, sync.telemetry=none`.
fn snapshots_header(stream: &QueryStream) -> Option<HeaderValue> {
    let text = stream
        .tables()
        .iter()
        .map(|t| match t.snapshot_id {
            Some(id) => format!("{}={id}", t.table),
            None => format!("{}=none", t.table),
        })
        .collect::<Vec<_>>()
        .join(", ");
    (!text.is_empty())
        .then(|| HeaderValue::from_str(&text).ok())
        .flatten()
}

/// How a result ended.
enum End {
    Complete,
    /// Cut at the row limit.
    Truncated,
    /// Failed after rows were sent (the time limit, an error while running or encoding).
    Failed(Problem),
}

/// Encodes a result in the chosen format, batch by batch.
struct Encoder {
    format: Format,
    max_rows: u64,
    rows: u64,
}

impl Encoder {
    fn new(format: Format, max_rows: u64) -> Self {
        Self {
            format,
            max_rows,
            rows: 0,
        }
    }

    /// What comes before the rows: JSON's columns and snapshots, the CSV header line.
    fn head(&self, stream: &QueryStream) -> Bytes {
        match self.format {
            Format::Json => {
                let columns: Vec<Value> = stream
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                    .collect();
                let head = json!({"columns": columns, "snapshots": stream.tables()});
                let mut text = head.to_string();
                text.pop(); // the closing brace: rows and the rest follow
                text.push_str(",\"rows\":[");
                Bytes::from(text)
            }
            Format::Ndjson => Bytes::new(),
            Format::Csv => {
                let empty = RecordBatch::new_empty(stream.schema().clone());
                csv(&empty, true).unwrap_or_default().into()
            }
        }
    }

    /// One batch of rows; `Err` says why it cannot be encoded.
    fn batch(&mut self, batch: &RecordBatch) -> Result<Bytes, String> {
        let n = batch.num_rows() as u64;
        let bytes = match self.format {
            Format::Json => {
                let lines = ndjson(batch)?;
                // One object per line (JSON text never holds a raw newline): join with commas.
                let mut out = Vec::with_capacity(lines.len() + 1);
                if self.rows > 0 && n > 0 {
                    out.push(b',');
                }
                let body = lines.strip_suffix(b"\n").unwrap_or(&lines);
                out.extend(body.iter().map(|&b| if b == b'\n' { b',' } else { b }));
                out
            }
            Format::Ndjson => ndjson(batch)?,
            Format::Csv => csv(batch, false)?,
        };
        self.rows += n;
        Ok(Bytes::from(bytes))
    }

    /// What follows the rows. JSON closes the document with `row_count`, `truncated` and, on
    /// failure, `error` (a problem). NDJSON and CSV end with one more line only when the result
    /// is incomplete: `{"$strata": {...}}` and `# strata: ...`.
    fn tail(&self, end: End) -> Bytes {
        let rows = self.rows;
        let (truncated, error) = match &end {
            End::Complete => (false, None),
            End::Truncated => (true, None),
            End::Failed(p) => (true, Some(serde_json::to_value(p).unwrap_or(Value::Null))),
        };
        let text = match self.format {
            Format::Json => {
                let mut t = format!("],\"row_count\":{rows},\"truncated\":{truncated}");
                if let Some(e) = &error {
                    t.push_str(&format!(",\"error\":{e}"));
                }
                t.push('}');
                t.push('\n');
                t
            }
            Format::Ndjson => match (&end, error) {
                (End::Complete, _) => String::new(),
                (_, None) => format!(
                    "{}\n",
                    json!({"$strata": {"truncated": true, "row_count": rows, "max_rows": self.max_rows}})
                ),
                (_, Some(e)) => format!(
                    "{}\n",
                    json!({"$strata": {"truncated": true, "row_count": rows, "error": e}})
                ),
            },
            Format::Csv => match end {
                End::Complete => String::new(),
                End::Truncated => format!(
                    "# strata: truncated at max_rows={} ({rows} rows sent)\n",
                    self.max_rows
                ),
                End::Failed(p) => format!(
                    "# strata: failed after {rows} rows ({} {}): {}\n",
                    p.status,
                    p.title,
                    p.detail.replace(['\r', '\n'], " ")
                ),
            },
        };
        Bytes::from(text)
    }
}

/// Rows as NDJSON, nulls written out.
fn ndjson(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let mut w = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow_json::writer::LineDelimited>(Vec::new());
    w.write(batch).and_then(|()| w.finish()).map_err(|e| {
        format!("cannot encode the result as JSON: {e}; cast the column to VARCHAR")
    })?;
    Ok(w.into_inner())
}

/// Rows as CSV, with the header line if asked.
fn csv(batch: &RecordBatch, header: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut w = arrow_csv::WriterBuilder::new()
        .with_header(header)
        .build(&mut out);
    w.write(batch)
        .map_err(|e| format!("cannot encode the result as CSV: {e}; cast the column to VARCHAR"))?;
    drop(w);
    Ok(out)
}
