//! The transform step: a pipeline definition (`pipelines/<stream>.sql`) applied to each event.
//!
//! Stateless and per event, as in Cloudflare Pipelines: the `WHERE` decides whether an event goes
//! on, the projection may drop (`* EXCLUDE (customer_email)`), recompute or cast fields, and the
//! result must still be an event of the stream, because the lake derives its typed columns (and
//! the `payload` column) from the event. An event the transform cannot handle (a failed cast, a
//! required field that came out `NULL`, a result that is not a valid event) is *rejected* with the
//! reason, for the dead-letter table; an event the `WHERE` turns away is *filtered*. Nothing
//! disappears without being counted.
//!
//! The SQL is a checked subset evaluated here, not an engine: DataFusion would add about 15
//! minutes to every clean build and DuckDB is not in the build yet, while a stateless per-event
//! transform needs only projection, casts, filters and JSON extraction. Anything outside the
//! subset is refused when the definition loads, naming the construct (the accepted grammar is
//! in `pipelines/commerce_telemetry.sql` and the parser's docs).

mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use strata_events::{Delivery, Event, StreamName};
use strata_lake::RejectedRecord;

use self::{
    eval::{V, coerce, eval},
    parse::Plan,
};

/// Dead-letter kind: evaluating the transform failed (a cast, a comparison, arithmetic).
pub const KIND_TRANSFORM_ERROR: &str = "transform_error";
/// Dead-letter kind: the transform's result is not a valid event of the stream.
pub const KIND_OUTPUT_INVALID: &str = "transform_output_invalid";

/// A pipeline definition that cannot be used; found when it is loaded, never per event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The text is not SQL.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// No statement at all.
    #[error("the definition holds no statement; expected `INSERT INTO … SELECT … FROM …`")]
    Empty,
    /// Valid SQL outside the subset the pipelines evaluate.
    #[error("unsupported in a pipeline: {construct}; {subset}")]
    Unsupported {
        /// The construct, as written.
        construct: String,
        /// What is supported.
        subset: &'static str,
    },
    /// `INSERT INTO` another table than the stream's.
    #[error("the pipeline inserts into `{found}`, but this stream lands in `{expected}`")]
    WrongTable {
        /// The table named.
        found: String,
        /// The stream's table.
        expected: &'static str,
    },
    /// `FROM` something else than the stream.
    #[error("the pipeline reads from `{found}`; it must read from the stream `{expected}`")]
    WrongSource {
        /// The relation named.
        found: String,
        /// The stream's relation name.
        expected: String,
    },
    /// A field the stream's events do not have (a typo would otherwise filter everything out).
    #[error(
        "unknown field `{field}`: {stream} events have {known} (and `payload`, the whole event)"
    )]
    UnknownField {
        /// The field.
        field: String,
        /// The stream.
        stream: StreamName,
        /// Its fields.
        known: String,
    },
    /// A computed output without `AS <field>`.
    #[error("give `{expr}` a name with AS <field>")]
    NeedsName {
        /// The expression.
        expr: String,
    },
    /// Two outputs with one name.
    #[error("the field `{field}` is selected twice")]
    DuplicateField {
        /// The field.
        field: String,
    },
    /// The projection cannot produce a valid event.
    #[error("the projection drops `{field}`, which every {stream} event needs")]
    MissingRequired {
        /// The field.
        field: String,
        /// The stream.
        stream: StreamName,
    },
}

/// What the transform made of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// On to the lake: `None` means unchanged (no re-encoding), `Some` the projected event.
    Pass(Option<Box<Event>>),
    /// The `WHERE` turned it away (false or NULL).
    Filtered,
    /// The transform failed for it: to the dead-letter table.
    Rejected {
        /// [`KIND_TRANSFORM_ERROR`] or [`KIND_OUTPUT_INVALID`].
        kind: &'static str,
        /// Why, for a person.
        reason: String,
    },
}

/// A batch after the transform.
#[derive(Debug, Clone, Default)]
pub struct Transformed {
    /// Events for the telemetry table, offsets kept.
    pub passed: Vec<Delivery>,
    /// Dead letters, with offsets.
    pub rejected: Vec<RejectedRecord>,
    /// Events the `WHERE` turned away.
    pub filtered: u64,
}

/// A loaded, checked pipeline definition.
#[derive(Debug, Clone)]
pub struct Transform {
    stream: StreamName,
    sql: Arc<str>,
    origin: Option<PathBuf>,
    plan: Arc<Plan>,
}

/// The definition file of `stream` under `dir`: `<dir>/commerce_telemetry.sql`, ….
pub fn definition_file(dir: &Path, stream: StreamName) -> PathBuf {
    dir.join(format!("{}.sql", stream.wire_name().to_ascii_lowercase()))
}

/// The definition of `stream` shipped in the repository's `pipelines/` folder, built into the
/// binary so an installed `strata` runs without the source tree.
pub fn builtin_sql(stream: StreamName) -> &'static str {
    match stream {
        StreamName::Commerce => include_str!("../../../../pipelines/commerce_telemetry.sql"),
        StreamName::Publication => include_str!("../../../../pipelines/publication_telemetry.sql"),
        StreamName::Sync => include_str!("../../../../pipelines/sync_telemetry.sql"),
    }
}

/// The pass-through definition of `stream`: `INSERT INTO <table> SELECT * FROM <stream>`.
pub fn identity_sql(stream: StreamName) -> String {
    format!(
        "INSERT INTO {} SELECT * FROM {}",
        stream.lake_table(),
        stream.wire_name().to_ascii_lowercase()
    )
}

impl Transform {
    /// Parses and checks `sql` as the pipeline of `stream`.
    pub fn parse(stream: StreamName, sql: &str) -> Result<Transform, TransformError> {
        let plan = parse::plan(stream, sql)?;
        Ok(Transform {
            stream,
            sql: Arc::from(sql),
            origin: None,
            plan: Arc::new(plan),
        })
    }

    /// Reads and checks the definition file at `path`.
    pub fn load(stream: StreamName, path: &Path) -> Result<Transform, crate::PipelineError> {
        let sql = std::fs::read_to_string(path).map_err(|source| crate::PipelineError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut t =
            Transform::parse(stream, &sql).map_err(|source| crate::PipelineError::Definition {
                path: path.to_owned(),
                source,
            })?;
        t.origin = Some(path.to_owned());
        Ok(t)
    }

    /// The pass-through transform (every event, unchanged).
    pub fn identity(stream: StreamName) -> Transform {
        let sql = identity_sql(stream);
        let plan = Plan {
            star: Some(Default::default()),
            items: Vec::new(),
            filter: None,
        };
        Transform {
            stream,
            sql: Arc::from(sql.as_str()),
            origin: None,
            plan: Arc::new(plan),
        }
    }

    /// The stream transformed.
    pub fn stream(&self) -> StreamName {
        self.stream
    }

    /// The definition's text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The file it was loaded from, if any.
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// True when every event passes unchanged (no filter, `SELECT *`).
    pub fn is_identity(&self) -> bool {
        self.plan.filter.is_none() && self.plan.is_identity_projection()
    }

    /// Applies the transform to one event.
    pub fn evaluate(&self, event: &Event) -> Verdict {
        if self.is_identity() {
            return Verdict::Pass(None);
        }
        let json = match serde_json::to_value(event) {
            Ok(j) => j,
            Err(e) => {
                return Verdict::Rejected {
                    kind: KIND_TRANSFORM_ERROR,
                    reason: format!("the event cannot be encoded as JSON: {e}"),
                };
            }
        };
        if let Some(filter) = &self.plan.filter {
            match eval(filter, &json) {
                Ok(V::Bool(true)) => {}
                Ok(V::Bool(false) | V::Null) => return Verdict::Filtered,
                Ok(other) => {
                    return Verdict::Rejected {
                        kind: KIND_TRANSFORM_ERROR,
                        reason: format!("WHERE must give a boolean, got {}", other.type_name()),
                    };
                }
                Err(e) => {
                    return Verdict::Rejected {
                        kind: KIND_TRANSFORM_ERROR,
                        reason: format!("WHERE: {e}"),
                    };
                }
            }
        }
        if self.plan.is_identity_projection() {
            return Verdict::Pass(None);
        }
        // Compute every output first (they borrow the input), then build the object.
        let mut computed = Vec::with_capacity(self.plan.items.len());
        for (name, ex, hint) in &self.plan.items {
            match eval(ex, &json).and_then(|v| coerce(v, *hint)) {
                Ok(v) => computed.push((name, v)),
                Err(e) => {
                    return Verdict::Rejected {
                        kind: KIND_TRANSFORM_ERROR,
                        reason: format!("SELECT … AS {name}: {e}"),
                    };
                }
            }
        }
        let mut out = match (&self.plan.star, json) {
            (Some(excluded), Value::Object(mut map)) => {
                map.retain(|k, _| !excluded.contains(k));
                map
            }
            _ => Map::new(),
        };
        for (name, value) in computed {
            // NULL leaves the field out (an optional field absent, as the wire format has it).
            match value {
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None => {
                    out.remove(name.as_str());
                }
            }
        }
        match event_from_value(self.stream, Value::Object(out)) {
            Ok(e) => Verdict::Pass(Some(Box::new(e))),
            Err(e) => Verdict::Rejected {
                kind: KIND_OUTPUT_INVALID,
                reason: format!(
                    "the transform's output is not a valid {} event: {e}",
                    self.stream
                ),
            },
        }
    }

    /// Applies the transform to a batch, keeping offsets; `now` stamps the dead letters.
    pub fn apply(&self, deliveries: Vec<Delivery>, now: DateTime<Utc>) -> Transformed {
        if self.is_identity() {
            return Transformed {
                passed: deliveries,
                ..Default::default()
            };
        }
        let mut out = Transformed {
            passed: Vec::with_capacity(deliveries.len()),
            ..Default::default()
        };
        for d in deliveries {
            match self.evaluate(&d.event) {
                Verdict::Pass(None) => out.passed.push(d),
                Verdict::Pass(Some(event)) => out.passed.push(Delivery {
                    offset: d.offset,
                    event: *event,
                }),
                Verdict::Filtered => out.filtered += 1,
                Verdict::Rejected { kind, reason } => out.rejected.push(RejectedRecord {
                    received_ts: now,
                    reason,
                    kind: Some(kind.to_owned()),
                    event_id: Some(d.event.event_id().as_str().to_owned()),
                    offset: Some(d.offset),
                    raw: d.event.to_json().unwrap_or_default(),
                }),
            }
        }
        out
    }
}

/// Decodes an event of `stream` from its JSON object, with every check of the wire format.
fn event_from_value(stream: StreamName, value: Value) -> Result<Event, serde_json::Error> {
    Ok(match stream {
        StreamName::Commerce => Event::Commerce(serde_json::from_value(value)?),
        StreamName::Publication => Event::Publication(serde_json::from_value(value)?),
        StreamName::Sync => Event::Sync(serde_json::from_value(value)?),
    })
}
