//! Time travel in the SQL text: `<namespace>.<table> AT SNAPSHOT <id>` and
//! `<namespace>.<table> AS OF [TIMESTAMP] '<RFC 3339 timestamp>'`.
//!
//! DuckDB has no notion of our snapshots, so each such reference is cut out of the text (found
//! with a real SQL tokenizer: never inside a string, a quoted name or a comment) and replaced by
//! the name of a view over that snapshot's files.

use chrono::{DateTime, Utc};
use sqlparser::{
    dialect::DuckDbDialect,
    keywords::Keyword,
    tokenizer::{Location, Token, Tokenizer},
};

use crate::error::{QueryError, Result};

/// Which snapshot of a table a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotSelector {
    /// The table's current snapshot (a plain reference).
    Current,
    /// `AT SNAPSHOT <id>`.
    Id(i64),
    /// `AS OF '<timestamp>'`: the last snapshot committed at or before it.
    AsOf(DateTime<Utc>),
}

/// One `namespace.table` reference with an explicit snapshot, and where it is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TravelRef {
    /// `namespace.table`, lower-cased unless quoted.
    pub table: String,
    /// The namespace and the table name, each as [`TravelRef::table`] spells it.
    pub parts: (String, String),
    /// The snapshot asked for.
    pub selector: SnapshotSelector,
    /// Byte range of the whole reference (table name and selector) in the text.
    pub range: std::ops::Range<usize>,
}

/// What the tokenizer found in a query: the time-travel references and every dotted name, so
/// the engine can tell which lake tables the query reads.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub travel: Vec<TravelRef>,
    pub dotted: Vec<String>,
}

/// Finds the time-travel references and dotted names of `sql`.
pub(crate) fn scan(sql: &str) -> Result<Scan> {
    let tokens = Tokenizer::new(&DuckDbDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| QueryError::Sql(format!("cannot read the SQL: {e}")))?;
    let offsets = LineOffsets::new(sql);
    // Significant tokens with their start byte, and the start byte of the token after them.
    let mut sig: Vec<(Token, usize, usize)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if matches!(t.token, Token::Whitespace(_)) {
            continue;
        }
        let start = offsets.byte(sql, t.span.start);
        let end = tokens
            .get(i + 1)
            .map_or(sql.len(), |next| offsets.byte(sql, next.span.start));
        sig.push((t.token.clone(), start, end));
    }
    let mut out = Scan::default();
    let mut i = 0;
    while i + 2 < sig.len() {
        let (Token::Word(ns), Token::Period, Token::Word(table)) =
            (&sig[i].0, &sig[i + 1].0, &sig[i + 2].0)
        else {
            i += 1;
            continue;
        };
        let parts = (ident(ns), ident(table));
        let name = format!("{}.{}", parts.0, parts.1);
        out.dotted.push(name.clone());
        let start = sig[i].1;
        let rest = &sig[i + 3..];
        let found = at_snapshot(rest).or_else(|| as_of(rest));
        match found {
            Some(Ok((selector, used))) => {
                let end = sig[i + 2 + used].2;
                out.travel.push(TravelRef {
                    table: name,
                    parts,
                    selector,
                    range: start..end,
                });
                i += 3 + used;
            }
            Some(Err(e)) => return Err(e),
            None => i += 3,
        }
    }
    Ok(out)
}

type Found = Option<Result<(SnapshotSelector, usize)>>;

/// `AT SNAPSHOT [-]<integer>`; returns the selector and how many tokens it used.
fn at_snapshot(rest: &[(Token, usize, usize)]) -> Found {
    let (Some(Token::Word(at)), Some(Token::Word(snapshot))) =
        (rest.first().map(|t| &t.0), rest.get(1).map(|t| &t.0))
    else {
        return None;
    };
    if !(at.keyword == Keyword::AT && snapshot.value.eq_ignore_ascii_case("snapshot")) {
        return None;
    }
    let (negative, at_number) = match rest.get(2).map(|t| &t.0) {
        Some(Token::Minus) => (true, 3),
        _ => (false, 2),
    };
    let parsed = match rest.get(at_number).map(|t| &t.0) {
        Some(Token::Number(n, _)) => n.parse::<i64>().ok(),
        _ => None,
    };
    Some(match parsed {
        Some(id) => Ok((
            SnapshotSelector::Id(if negative { -id } else { id }),
            at_number + 1,
        )),
        None => Err(QueryError::Snapshot(
            "AT SNAPSHOT takes a snapshot id (an integer, as `strata lake snapshots <table>` lists them)"
                .to_owned(),
        )),
    })
}

/// `AS OF [TIMESTAMP] '<RFC 3339>'`.
fn as_of(rest: &[(Token, usize, usize)]) -> Found {
    let (Some(Token::Word(as_)), Some(Token::Word(of))) =
        (rest.first().map(|t| &t.0), rest.get(1).map(|t| &t.0))
    else {
        return None;
    };
    if !(as_.keyword == Keyword::AS && of.keyword == Keyword::OF) {
        return None;
    }
    let mut k = 2;
    if let Some(Token::Word(w)) = rest.get(k).map(|t| &t.0)
        && w.keyword == Keyword::TIMESTAMP
    {
        k += 1;
    }
    let Some(Token::SingleQuotedString(text)) = rest.get(k).map(|t| &t.0) else {
        return Some(Err(QueryError::Snapshot(
            "AS OF takes a quoted RFC 3339 timestamp, e.g. AS OF '2026-11-28T12:00:00Z'".to_owned(),
        )));
    };
    Some(match DateTime::parse_from_rfc3339(text) {
        Ok(ts) => Ok((SnapshotSelector::AsOf(ts.with_timezone(&Utc)), k + 1)),
        Err(e) => Err(QueryError::Snapshot(format!(
            "AS OF '{text}': not an RFC 3339 timestamp ({e}); write e.g. '2026-11-28T12:00:00Z'"
        ))),
    })
}

/// A name as DuckDB resolves it: quoted names as written, bare ones case-insensitively.
fn ident(w: &sqlparser::tokenizer::Word) -> String {
    if w.quote_style.is_some() {
        w.value.clone()
    } else {
        w.value.to_lowercase()
    }
}

/// `text` with each reference's range replaced by its replacement. The ranges may come in any
/// order (the engine lists them table by table, not as they appear in the text).
pub(crate) fn splice(text: &str, replacements: &[(std::ops::Range<usize>, String)]) -> String {
    let mut sorted: Vec<&(std::ops::Range<usize>, String)> = replacements.iter().collect();
    sorted.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, with) in sorted {
        out.push_str(&text[at..range.start]);
        out.push_str(with);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Byte offsets of line starts, to turn the tokenizer's (line, column) into byte positions.
struct LineOffsets(Vec<usize>);

impl LineOffsets {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self(starts)
    }

    /// Lines and columns count from 1; columns in characters.
    fn byte(&self, text: &str, at: Location) -> usize {
        let line = usize::try_from(at.line).unwrap_or(1).max(1);
        let Some(&start) = self.0.get(line - 1) else {
            return text.len();
        };
        let column = usize::try_from(at.column).unwrap_or(1).max(1);
        text[start..]
            .char_indices()
            .nth(column - 1)
            .map_or(text.len(), |(i, _)| start + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_snapshot_ids_and_timestamps_but_not_inside_strings() {
        let sql = "SELECT count(*) FROM commerce.telemetry AT SNAPSHOT 42 t\n\
                   JOIN Sync.\"Telemetry\" AS OF TIMESTAMP '2026-11-28T12:00:00Z' s ON true\n\
                   WHERE x = 'commerce.telemetry AT SNAPSHOT 7' -- sync.telemetry AT SNAPSHOT 8";
        let scan = scan(sql).expect("scan");
        assert_eq!(scan.travel.len(), 2, "{:?}", scan.travel);
        assert_eq!(scan.travel[0].table, "commerce.telemetry");
        assert_eq!(scan.travel[0].selector, SnapshotSelector::Id(42));
        assert_eq!(
            &sql[scan.travel[0].range.clone()].trim_end(),
            &"commerce.telemetry AT SNAPSHOT 42"
        );
        assert_eq!(scan.travel[1].table, "sync.Telemetry");
        assert!(matches!(scan.travel[1].selector, SnapshotSelector::AsOf(_)));
        let spliced = splice(
            sql,
            &[
                (scan.travel[0].range.clone(), "A".to_owned()),
                (scan.travel[1].range.clone(), "B".to_owned()),
            ],
        );
        assert!(
            spliced.starts_with("SELECT count(*) FROM A t\nJOIN B s ON true"),
            "{spliced}"
        );
        assert!(spliced.contains("'commerce.telemetry AT SNAPSHOT 7'"));
        // In any order (the engine lists them by table, not by position).
        let reversed = splice(
            sql,
            &[
                (scan.travel[1].range.clone(), "B".to_owned()),
                (scan.travel[0].range.clone(), "A".to_owned()),
            ],
        );
        assert_eq!(reversed, spliced);
    }

    #[test]
    fn a_bad_selector_is_explained() {
        let e = scan("SELECT * FROM commerce.telemetry AT SNAPSHOT latest").unwrap_err();
        assert!(e.to_string().contains("snapshot id"), "{e}");
        let e = scan("SELECT * FROM commerce.telemetry AS OF 'yesterday'").unwrap_err();
        assert!(e.to_string().contains("RFC 3339"), "{e}");
    }

    #[test]
    fn plain_dotted_names_are_listed() {
        let scan = scan("SELECT o.total FROM commerce.telemetry o").expect("scan");
        assert!(scan.travel.is_empty());
        assert!(scan.dotted.contains(&"commerce.telemetry".to_owned()));
    }
}
