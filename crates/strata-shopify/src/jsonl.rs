//! Streaming reader of a bulk operation's JSONL result.
//!
//! Shopify writes one JSON object per line. A nested connection is flattened: each child object
//! is its own line, after its parent, with `__parentId` set to the parent's GID. So a record (an
//! order and its line items) is complete when the next top-level line starts, or at the end of
//! the file. [`BulkReader`] reassembles records from any [`AsyncBufRead`] (a file, or the
//! download itself), holding one record in memory at a time; [`ObjectReader`] decodes them into
//! typed objects ([`OrdersReader`], [`ProductsReader`]).
//!
//! A bad line does not stop the read: it is *quarantined* ([`Quarantined`]: its line number,
//! why, and the start of its text) and the reader goes on. A final line with no newline that is
//! not valid JSON is reported as a truncated file ([`BulkReader::truncated_tail`]).

use std::io;
use std::marker::PhantomData;

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::orders::Order;
use crate::products::Product;

/// Lines longer than this are quarantined without being parsed (Shopify's lines are a few KiB).
pub const DEFAULT_MAX_LINE_LEN: usize = 16 * 1024 * 1024;

/// How many characters of a bad line [`Quarantined::raw`] keeps.
pub const RAW_EXCERPT_CHARS: usize = 256;

/// How many quarantined lines a reader keeps (it counts them all, see
/// [`BulkReader::quarantined_total`]).
pub const MAX_KEPT_QUARANTINED: usize = 10_000;

/// A line that was set aside instead of read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// Its line number in the file, from 1.
    pub line_no: u64,
    /// Why it was set aside.
    pub reason: String,
    /// The start of the line (at most [`RAW_EXCERPT_CHARS`] characters).
    pub raw: String,
    /// The record being assembled when the line was read: the line may have belonged to it, so
    /// that object may be incomplete (re-fetch it to be sure).
    pub parent_id: Option<String>,
}

/// One line of a record: its number, its `id`, and its JSON text, decoded only when the object
/// is (so a line is parsed once, straight into the typed object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkLine {
    /// Its line number, from 1.
    pub line_no: u64,
    /// Its `id` (a GID), if it has one.
    pub id: Option<String>,
    /// The line's JSON (a child line still carries `__parentId`, which decoding ignores).
    pub json: Vec<u8>,
}

impl BulkLine {
    /// The resource type of its `id` GID (`LineItem`), if it has one.
    pub fn kind(&self) -> Option<&str> {
        let id = self.id.as_deref()?;
        let rest = id.strip_prefix("gid://shopify/")?;
        rest.split('/').next().filter(|k| !k.is_empty())
    }

    /// Decodes the line as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.json)
    }

    /// The line as a JSON value.
    pub fn value(&self) -> serde_json::Result<Value> {
        serde_json::from_slice(&self.json)
    }

    /// The start of the line, for [`Quarantined::raw`].
    pub fn excerpt(&self) -> String {
        excerpt_bytes(&self.json)
    }
}

/// A top-level object's line and its descendants' lines, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkRecord {
    /// The top-level line.
    pub root: BulkLine,
    /// Lines whose `__parentId` is the root or one of these children.
    pub children: Vec<BulkLine>,
}

impl BulkRecord {
    /// The root's `id`.
    pub fn id(&self) -> Option<&str> {
        self.root.id.as_deref()
    }

    /// The root's line number.
    pub fn line_no(&self) -> u64 {
        self.root.line_no
    }

    fn holds(&self, id: &str) -> bool {
        self.id() == Some(id) || self.children.iter().any(|c| c.id.as_deref() == Some(id))
    }
}

/// What the reader needs to know of a line before the object is decoded.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "__parentId")]
    parent: Option<Cow<'a, str>>,
}

/// The file could not be read (not a bad line: those are quarantined).
#[derive(Debug, thiserror::Error)]
#[error(
    "reading the bulk result failed after line {line_no}: {source} (if the download was cut, download it again)"
)]
pub struct JsonlError {
    /// The last line read completely.
    pub line_no: u64,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// Reassembles a bulk result's lines into records, one at a time.
pub struct BulkReader<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: u64,
    current: Option<BulkRecord>,
    eof: bool,
    truncated_tail: bool,
    max_line_len: usize,
    records: u64,
    quarantined: Vec<Quarantined>,
    quarantined_total: u64,
}

enum LineRead {
    Eof,
    Line { newline: bool },
    TooLong { len: usize },
}

impl<R: AsyncBufRead + Unpin> BulkReader<R> {
    /// A reader over `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::with_capacity(8 * 1024),
            line_no: 0,
            current: None,
            eof: false,
            truncated_tail: false,
            max_line_len: DEFAULT_MAX_LINE_LEN,
            records: 0,
            quarantined: Vec::new(),
            quarantined_total: 0,
        }
    }

    /// Changes the longest line parsed.
    pub fn with_max_line_len(mut self, max: usize) -> Self {
        self.max_line_len = max.max(1);
        self
    }

    /// The next complete record, or `None` at the end of the file.
    pub async fn next_record(&mut self) -> Result<Option<BulkRecord>, JsonlError> {
        loop {
            if self.eof {
                return Ok(self.take_current());
            }
            let read = read_line(&mut self.reader, &mut self.buf, self.max_line_len)
                .await
                .map_err(|source| JsonlError {
                    line_no: self.line_no,
                    source,
                })?;
            let newline = match read {
                LineRead::Eof => {
                    self.eof = true;
                    continue;
                }
                LineRead::TooLong { len } => {
                    self.line_no += 1;
                    let raw = excerpt_bytes(&self.buf);
                    let parent = self.current_id();
                    self.quarantine(
                        self.line_no,
                        format!(
                            "line of {len} bytes is longer than the {} allowed",
                            self.max_line_len
                        ),
                        raw,
                        parent,
                    );
                    continue;
                }
                LineRead::Line { newline } => newline,
            };
            self.line_no += 1;
            let line = trim_line_end(&self.buf);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let peek: Peek<'_> = match serde_json::from_slice(line) {
                Ok(peek) => peek,
                Err(e) => {
                    let reason = if !newline {
                        self.truncated_tail = true;
                        format!(
                            "truncated final line (no newline at the end of the file and not valid JSON: {e}); the download was probably cut short"
                        )
                    } else if e.is_data() {
                        format!(
                            "not a bulk result object (an object with a string `id` and `__parentId`): {e}"
                        )
                    } else {
                        format!("not valid JSON: {e}")
                    };
                    let raw = excerpt_bytes(line);
                    let parent = self.current_id();
                    self.quarantine(self.line_no, reason, raw, parent);
                    continue;
                }
            };
            let bulk_line = BulkLine {
                line_no: self.line_no,
                id: peek.id.map(Cow::into_owned),
                json: line.to_vec(),
            };
            match peek.parent {
                None => {
                    let record = BulkRecord {
                        root: bulk_line,
                        children: Vec::new(),
                    };
                    self.records += 1;
                    if let Some(done) = self.current.replace(record) {
                        return Ok(Some(done));
                    }
                }
                Some(parent) => match &mut self.current {
                    Some(record) if record.holds(&parent) => record.children.push(bulk_line),
                    _ => {
                        let raw = bulk_line.excerpt();
                        self.quarantine(
                            self.line_no,
                            format!(
                                "orphan line: its parent {parent} is not the object being read (the parent's line is missing or was quarantined)"
                            ),
                            raw,
                            Some(parent.into_owned()),
                        );
                    }
                },
            }
        }
    }

    fn take_current(&mut self) -> Option<BulkRecord> {
        self.current.take()
    }

    fn current_id(&self) -> Option<String> {
        self.current
            .as_ref()
            .and_then(|r| r.id())
            .map(str::to_owned)
    }

    fn quarantine(&mut self, line_no: u64, reason: String, raw: String, parent_id: Option<String>) {
        tracing::warn!(line_no, %reason, parent = ?parent_id, "bulk result line quarantined");
        self.push_quarantined(Quarantined {
            line_no,
            reason,
            raw,
            parent_id,
        });
    }

    fn push_quarantined(&mut self, entry: Quarantined) {
        self.quarantined_total += 1;
        if self.quarantined.len() < MAX_KEPT_QUARANTINED {
            self.quarantined.push(entry);
        }
    }

    /// The lines set aside so far (the first [`MAX_KEPT_QUARANTINED`]).
    pub fn quarantined(&self) -> &[Quarantined] {
        &self.quarantined
    }

    /// Takes the quarantined lines kept so far.
    pub fn take_quarantined(&mut self) -> Vec<Quarantined> {
        std::mem::take(&mut self.quarantined)
    }

    /// How many lines were set aside, kept or not.
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined_total
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }

    /// Top-level lines read so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Whether the file ended in the middle of a line: it was cut short, and the last object
    /// (and maybe more) is missing.
    pub fn truncated_tail(&self) -> bool {
        self.truncated_tail
    }
}

/// Reads one line into `buf` (newline included), keeping at most `max` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    buf.clear();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf().await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (total, too_long) {
                (0, _) => LineRead::Eof,
                (len, true) => LineRead::TooLong { len },
                (_, false) => LineRead::Line { newline: false },
            });
        }
        let (n, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buf.len() + n > max {
                too_long = true;
                let keep = RAW_EXCERPT_CHARS.saturating_sub(buf.len()).min(n);
                buf.extend_from_slice(&available[..keep]);
            } else {
                buf.extend_from_slice(&available[..n]);
            }
        }
        total += n;
        reader.consume(n);
        if found {
            return Ok(if too_long {
                LineRead::TooLong { len: total }
            } else {
                LineRead::Line { newline: true }
            });
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn excerpt_bytes(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(RAW_EXCERPT_CHARS * 4)]);
    text.chars().take(RAW_EXCERPT_CHARS).collect()
}

/// An object a bulk result's records decode into.
pub trait BulkObject: Sized {
    /// The GID type of the top-level lines (`Order`).
    const KIND: &'static str;

    /// Decodes a record. A child that does not decode is pushed to `quarantined` (the object is
    /// returned without it); `Err` quarantines the whole record.
    fn from_record(record: &BulkRecord, quarantined: &mut Vec<Quarantined>)
    -> Result<Self, String>;
}

/// Decodes each record of a bulk result into a `T`, quarantining what does not decode.
pub struct ObjectReader<R, T> {
    inner: BulkReader<R>,
    scratch: Vec<Quarantined>,
    _object: PhantomData<fn() -> T>,
}

/// Orders with their line items.
pub type OrdersReader<R> = ObjectReader<R, Order>;

/// Products with their variants.
pub type ProductsReader<R> = ObjectReader<R, Product>;

impl<R: AsyncBufRead + Unpin, T: BulkObject> ObjectReader<R, T> {
    /// A reader over `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            inner: BulkReader::new(reader),
            scratch: Vec::new(),
            _object: PhantomData,
        }
    }

    /// The next object, or `None` at the end of the file.
    pub async fn next(&mut self) -> Result<Option<T>, JsonlError> {
        loop {
            let Some(record) = self.inner.next_record().await? else {
                return Ok(None);
            };
            let decoded = match record.root.kind() {
                Some(kind) if kind == T::KIND => T::from_record(&record, &mut self.scratch),
                Some(kind) => Err(format!("a top-level {kind} in a result of {}s", T::KIND)),
                None => Err(format!(
                    "a top-level line without a {} GID in `id`",
                    T::KIND
                )),
            };
            for entry in self.scratch.drain(..) {
                tracing::warn!(line_no = entry.line_no, reason = %entry.reason, "bulk result line quarantined");
                self.inner.push_quarantined(entry);
            }
            match decoded {
                Ok(object) => return Ok(Some(object)),
                Err(reason) => self.quarantine_record(&record, reason),
            }
        }
    }

    fn quarantine_record(&mut self, record: &BulkRecord, reason: String) {
        let id = record.id().map(str::to_owned);
        tracing::warn!(line_no = record.line_no(), %reason, "bulk result object quarantined");
        self.inner.push_quarantined(Quarantined {
            line_no: record.line_no(),
            reason,
            raw: record.root.excerpt(),
            parent_id: None,
        });
        for child in &record.children {
            self.inner.push_quarantined(Quarantined {
                line_no: child.line_no,
                reason: format!("its parent (line {}) was quarantined", record.line_no()),
                raw: child.excerpt(),
                parent_id: id.clone(),
            });
        }
    }

    /// Reads everything that is left.
    pub async fn read_all(mut self) -> Result<ReadAll<T>, JsonlError> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await? {
            items.push(item);
        }
        Ok(ReadAll {
            items,
            lines: self.inner.lines_read(),
            truncated_tail: self.inner.truncated_tail(),
            quarantined_total: self.inner.quarantined_total(),
            quarantined: self.inner.take_quarantined(),
        })
    }

    /// The underlying line reader (counters, quarantine).
    pub fn lines(&self) -> &BulkReader<R> {
        &self.inner
    }

    /// The lines set aside so far.
    pub fn quarantined(&self) -> &[Quarantined] {
        self.inner.quarantined()
    }

    /// Takes the quarantined lines kept so far.
    pub fn take_quarantined(&mut self) -> Vec<Quarantined> {
        self.inner.take_quarantined()
    }

    /// Whether the file ended in the middle of a line.
    pub fn truncated_tail(&self) -> bool {
        self.inner.truncated_tail()
    }
}

/// Everything a bulk result held.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadAll<T> {
    /// The objects read.
    pub items: Vec<T>,
    /// The lines set aside (the first [`MAX_KEPT_QUARANTINED`]).
    pub quarantined: Vec<Quarantined>,
    /// How many lines were set aside.
    pub quarantined_total: u64,
    /// Lines in the file.
    pub lines: u64,
    /// Whether the file ended in the middle of a line.
    pub truncated_tail: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r##"{"id":"gid://shopify/Order/ID","name":"#ID","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z","currencyCode":"USD","totalPriceSet":{"shopMoney":{"amount":"10.0","currencyCode":"USD"}},"totalShippingPriceSet":{"shopMoney":{"amount":"0.0","currencyCode":"USD"}}}"##;
    const ITEM: &str = r##"{"id":"gid://shopify/LineItem/ID","name":"Thing","quantity":QTY,"originalUnitPriceSet":{"shopMoney":{"amount":"5.0","currencyCode":"USD"}},"__parentId":"gid://shopify/Order/PARENT"}"##;

    fn order(id: u64) -> String {
        ORDER.replace("ID", &id.to_string())
    }

    fn item(id: u64, parent: u64, qty: i64) -> String {
        ITEM.replace("PARENT", &parent.to_string())
            .replace("ID", &id.to_string())
            .replace("QTY", &qty.to_string())
    }

    async fn read(text: &str) -> ReadAll<Order> {
        OrdersReader::new(text.as_bytes()).read_all().await.unwrap()
    }

    #[tokio::test]
    async fn children_follow_their_parent() {
        let text = [
            order(1),
            item(11, 1, 2),
            item(12, 1, 3),
            order(2),
            order(3),
            item(31, 3, 1),
        ]
        .join("\n")
            + "\n";
        let all = read(&text).await;
        assert!(all.quarantined.is_empty(), "{:?}", all.quarantined);
        let shape: Vec<(u64, Vec<u64>)> = all
            .items
            .iter()
            .map(|o| (o.id.id(), o.line_items.iter().map(|l| l.id.id()).collect()))
            .collect();
        assert_eq!(shape, vec![(1, vec![11, 12]), (2, vec![]), (3, vec![31])]);
        assert_eq!(all.items[0].total_quantity(), 5);
        assert_eq!(all.lines, 6);
        assert!(!all.truncated_tail);
    }

    #[tokio::test]
    async fn a_last_line_without_newline_is_fine_when_complete() {
        let text = [order(1), item(11, 1, 1)].join("\n");
        let all = read(&text).await;
        assert_eq!(all.items.len(), 1);
        assert_eq!(all.items[0].line_items.len(), 1);
        assert!(!all.truncated_tail);
    }

    #[tokio::test]
    async fn a_malformed_line_is_quarantined_with_its_number_and_the_rest_read() {
        let text = [
            order(1),
            item(11, 1, 1),
            r#"{"id":"gid://shopify/LineItem/12","name":"#.to_owned(),
            order(2),
            item(21, 2, 4),
        ]
        .join("\n")
            + "\n";
        let all = read(&text).await;
        assert_eq!(all.items.len(), 2);
        assert_eq!(all.items[1].total_quantity(), 4);
        assert_eq!(all.quarantined.len(), 1);
        let q = &all.quarantined[0];
        assert_eq!(q.line_no, 3);
        assert!(q.reason.contains("not valid JSON"), "{}", q.reason);
        assert!(q.raw.starts_with(r#"{"id":"gid://shopify/LineItem/12""#));
        assert_eq!(q.parent_id.as_deref(), Some("gid://shopify/Order/1"));
    }

    #[tokio::test]
    async fn a_truncated_final_line_is_detected() {
        let full = item(12, 1, 1);
        let text = [order(1), item(11, 1, 1), full[..full.len() / 2].to_owned()].join("\n");
        let all = read(&text).await;
        assert!(all.truncated_tail);
        assert_eq!(all.items.len(), 1);
        assert_eq!(all.items[0].line_items.len(), 1);
        assert_eq!(all.quarantined[0].line_no, 3);
        assert!(all.quarantined[0].reason.contains("truncated"));
    }

    #[tokio::test]
    async fn orphans_and_undecodable_children_are_quarantined() {
        let bad_item = item(12, 1, 1).replace("\"quantity\":1", "\"quantity\":\"many\"");
        let text = [
            order(1),
            item(11, 1, 1),
            bad_item,
            item(99, 7, 1), // parent 7 never appeared
            order(2),
        ]
        .join("\n");
        let all = read(&text).await;
        assert_eq!(all.items.len(), 2);
        assert_eq!(all.items[0].line_items.len(), 1);
        let lines: Vec<u64> = all.quarantined.iter().map(|q| q.line_no).collect();
        assert_eq!(lines, vec![4, 3], "{:?}", all.quarantined);
        assert!(all.quarantined[0].reason.contains("orphan"));
        assert!(all.quarantined[1].reason.contains("does not decode"));
    }

    #[tokio::test]
    async fn an_undecodable_order_takes_its_children_into_quarantine() {
        let bad_order = order(1).replace("\"10.0\"", "\"ten\"");
        let text = [bad_order, item(11, 1, 1), order(2)].join("\n");
        let all = read(&text).await;
        assert_eq!(all.items.len(), 1);
        assert_eq!(all.items[0].id.id(), 2);
        let lines: Vec<u64> = all.quarantined.iter().map(|q| q.line_no).collect();
        assert_eq!(lines, vec![1, 2]);
    }

    #[tokio::test]
    async fn overlong_lines_are_skipped_without_being_held() {
        let long = format!(
            r#"{{"id":"gid://shopify/Order/5","note":"{}"}}"#,
            "x".repeat(5000)
        );
        let text = [order(1), long, order(2)].join("\n");
        let mut reader = BulkReader::new(text.as_bytes()).with_max_line_len(1000);
        let mut ids = Vec::new();
        while let Some(record) = reader.next_record().await.unwrap() {
            ids.push(record.id().unwrap().to_owned());
            assert!(record.root.value().unwrap().is_object());
        }
        assert_eq!(ids, vec!["gid://shopify/Order/1", "gid://shopify/Order/2"]);
        assert_eq!(reader.quarantined()[0].line_no, 2);
        assert!(reader.quarantined()[0].raw.len() <= RAW_EXCERPT_CHARS);
    }

    #[tokio::test]
    async fn reads_across_small_buffer_boundaries() {
        let text = [order(1), item(11, 1, 2), order(2)].join("\r\n") + "\r\n";
        let reader = tokio::io::BufReader::with_capacity(7, text.as_bytes());
        let all = OrdersReader::new(reader).read_all().await.unwrap();
        assert_eq!(all.items.len(), 2);
        assert!(all.quarantined.is_empty(), "{:?}", all.quarantined);
        assert_eq!(all.items[0].total_quantity(), 2);
    }
}
