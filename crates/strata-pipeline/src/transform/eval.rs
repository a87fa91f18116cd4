//! The compiled form of a pipeline's expressions and their evaluation over one event's JSON.
//!
//! Values follow SQL's rules where they matter for filters: `NULL` propagates through
//! comparisons and arithmetic, `AND`/`OR` are three-valued, and a `WHERE` that is `NULL` drops the
//! row. Text meets a number or a timestamp by an implicit cast (as DuckDB does), so
//! `WHERE total > 100` works on the wire format's decimal strings; a value that cannot be cast is
//! an error, and an error sends the event to the dead-letter table instead of dropping it.

use std::{borrow::Cow, cmp::Ordering, fmt};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use rust_decimal::{Decimal, prelude::FromPrimitive, prelude::ToPrimitive};
use serde_json::{Number, Value};

/// Why evaluating an expression failed for one event; becomes the dead letter's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, EvalError>;

fn err<T>(msg: impl Into<String>) -> R<T> {
    Err(EvalError(msg.into()))
}

/// A cast target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `VARCHAR`, `TEXT`, `STRING`.
    Text,
    /// Integers of this many bits (`TINYINT` 8 … `BIGINT` 64).
    Int(u8),
    /// `DOUBLE`, `FLOAT`, `REAL`.
    Float,
    /// `DECIMAL`/`NUMERIC`, optionally `(precision, scale)`.
    Decimal(Option<(u32, u32)>),
    /// `BOOLEAN`.
    Bool,
    /// `TIMESTAMP`/`TIMESTAMPTZ` (always UTC).
    Timestamp,
    /// `JSON`.
    Json,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Text => f.write_str("VARCHAR"),
            Ty::Int(8) => f.write_str("TINYINT"),
            Ty::Int(16) => f.write_str("SMALLINT"),
            Ty::Int(32) => f.write_str("INTEGER"),
            Ty::Int(_) => f.write_str("BIGINT"),
            Ty::Float => f.write_str("DOUBLE"),
            Ty::Decimal(None) => f.write_str("DECIMAL"),
            Ty::Decimal(Some((p, s))) => write!(f, "DECIMAL({p},{s})"),
            Ty::Bool => f.write_str("BOOLEAN"),
            Ty::Timestamp => f.write_str("TIMESTAMP"),
            Ty::Json => f.write_str("JSON"),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The few scalar functions of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Length,
    Coalesce,
}

/// A key step of `->`/`->>`: an object key or an array index.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Name(String),
    Index(i64),
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ex {
    /// A constant.
    Lit(Lit),
    /// A path into the event object (empty: the whole event, `payload`).
    Field(Vec<String>),
    /// `base -> key` (`text = false`) or `base ->> key` (`text = true`).
    Get {
        base: Box<Ex>,
        key: Key,
        text: bool,
    },
    /// `CAST(expr AS ty)`, `expr::ty`, or `TRY_CAST` (`lenient`: `NULL` instead of an error).
    Cast {
        expr: Box<Ex>,
        ty: Ty,
        lenient: bool,
        sql: String,
    },
    Not(Box<Ex>),
    Neg(Box<Ex>),
    And(Box<Ex>, Box<Ex>),
    Or(Box<Ex>, Box<Ex>),
    Compare(Cmp, Box<Ex>, Box<Ex>, String),
    Arith(Arith, Box<Ex>, Box<Ex>, String),
    Concat(Box<Ex>, Box<Ex>),
    /// `IS [NOT] NULL`.
    IsNull(Box<Ex>, bool),
    /// `IS [NOT] TRUE|FALSE`: (expr, the truth value, negated).
    IsBool(Box<Ex>, bool, bool),
    InList {
        expr: Box<Ex>,
        list: Vec<Ex>,
        negated: bool,
        sql: String,
    },
    Between {
        expr: Box<Ex>,
        low: Box<Ex>,
        high: Box<Ex>,
        negated: bool,
        sql: String,
    },
    Like {
        expr: Box<Ex>,
        pattern: Box<Ex>,
        negated: bool,
        case_insensitive: bool,
    },
    Call(Func, Vec<Ex>),
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Float(f64),
    Text(String),
}

/// A value during evaluation; borrows from the event where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Dec(Decimal),
    Text(Cow<'a, str>),
    Ts(DateTime<Utc>),
    /// A JSON object or array (scalars become the other variants).
    Json(Cow<'a, Value>),
}

impl V<'_> {
    /// The SQL type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            V::Null => "NULL",
            V::Bool(_) => "BOOLEAN",
            V::Int(_) => "BIGINT",
            V::Float(_) => "DOUBLE",
            V::Dec(_) => "DECIMAL",
            V::Text(_) => "VARCHAR",
            V::Ts(_) => "TIMESTAMP",
            V::Json(_) => "JSON",
        }
    }

    /// The value as SQL text (what `CAST(… AS VARCHAR)` and `->>` give).
    fn to_text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            V::Null => return None,
            V::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            V::Int(i) => Cow::Owned(i.to_string()),
            V::Float(f) => Cow::Owned(f.to_string()),
            V::Dec(d) => Cow::Owned(d.to_string()),
            V::Text(t) => Cow::Borrowed(t.as_ref()),
            V::Ts(t) => Cow::Owned(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            V::Json(j) => Cow::Owned(j.to_string()),
        })
    }

    fn into_owned(self) -> V<'static> {
        match self {
            V::Null => V::Null,
            V::Bool(b) => V::Bool(b),
            V::Int(i) => V::Int(i),
            V::Float(f) => V::Float(f),
            V::Dec(d) => V::Dec(d),
            V::Text(t) => V::Text(Cow::Owned(t.into_owned())),
            V::Ts(t) => V::Ts(t),
            V::Json(j) => V::Json(Cow::Owned(j.into_owned())),
        }
    }

    /// The value as it goes into the output event: `None` leaves the field out.
    pub fn to_json(&self) -> R<Option<Value>> {
        Ok(Some(match self {
            V::Null => return Ok(None),
            V::Bool(b) => Value::Bool(*b),
            V::Int(i) => Value::Number((*i).into()),
            V::Float(f) => match Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => return err(format!("{f} cannot be written as JSON")),
            },
            // Exact decimals travel as strings, as the wire format's amounts do.
            V::Dec(d) => Value::String(d.to_string()),
            V::Text(t) => Value::String(t.to_string()),
            V::Ts(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            V::Json(j) => j.as_ref().clone(),
        }))
    }
}

/// The JSON type a field of the stream's wire format has, from its JSON Schema: an output value
/// is converted to it as an SQL `INSERT` converts to a column's type (`CAST(x AS DECIMAL) AS
/// duration_ms` writes a JSON integer; a number written to a string field becomes text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// `"type": "integer"`.
    Integer,
    /// `"type": "number"`.
    Number,
    /// `"type": "string"` (amounts, uids, timestamps).
    String,
    /// Objects, arrays, booleans, or unknown: the value's own JSON form.
    Other,
}

/// Converts an output value to the JSON type of its field; `None` leaves the field out.
pub fn coerce(v: V<'_>, hint: Hint) -> R<Option<Value>> {
    let whole = |d: Decimal| -> R<Value> {
        if !d.fract().is_zero() {
            return err(format!(
                "{d} is not a whole number, and the field is an integer"
            ));
        }
        d.to_i64()
            .map(Value::from)
            .or_else(|| d.to_u64().map(Value::from))
            .ok_or_else(|| EvalError(format!("{d} is out of range for an integer field")))
    };
    Ok(Some(match (hint, v) {
        (_, V::Null) => return Ok(None),
        (Hint::String, V::Text(t)) => Value::String(t.into_owned()),
        (Hint::String, V::Json(j)) => Value::String(j.to_string()),
        (Hint::String, other) => Value::String(other.to_text().unwrap_or_default().into_owned()),
        (Hint::Integer, V::Dec(d)) => whole(d)?,
        (Hint::Integer, V::Float(f)) => match Decimal::from_f64(f) {
            Some(d) => whole(d)?,
            None => return err(format!("{f} is out of range for an integer field")),
        },
        (Hint::Integer, V::Text(t)) => match parse_num(&t) {
            Some(Num::I(i)) => Value::from(i),
            Some(Num::D(d)) => whole(d)?,
            _ => return err(format!("`{}` is not an integer", snippet(&t))),
        },
        (Hint::Number, V::Dec(d)) => match d.to_f64().and_then(Number::from_f64) {
            Some(n) => Value::Number(n),
            None => return err(format!("{d} cannot be written as a JSON number")),
        },
        (Hint::Number, V::Text(t)) => match parse_num(&t) {
            Some(Num::I(i)) => Value::from(i),
            Some(n) => match Number::from_f64(n.to_f64()) {
                Some(n) => Value::Number(n),
                None => return err(format!("`{}` is not a number", snippet(&t))),
            },
            None => return err(format!("`{}` is not a number", snippet(&t))),
        },
        (_, other) => return other.to_json(),
    }))
}

/// A JSON value as an SQL value, borrowing strings and nested values.
fn from_json(v: &Value) -> V<'_> {
    match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                V::Int(i)
            } else if let Some(u) = n.as_u64() {
                V::Dec(Decimal::from(u))
            } else {
                V::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => V::Text(Cow::Borrowed(s)),
        Value::Array(_) | Value::Object(_) => V::Json(Cow::Borrowed(v)),
    }
}

fn from_json_owned(v: Value) -> V<'static> {
    match v {
        Value::String(s) => V::Text(Cow::Owned(s)),
        Value::Array(_) | Value::Object(_) => V::Json(Cow::Owned(v)),
        other => from_json(&other).into_owned(),
    }
}

fn lookup<'v>(v: &'v Value, key: &Key) -> Option<&'v Value> {
    match (v, key) {
        (Value::Object(m), Key::Name(k)) => m.get(k),
        (Value::Array(a), Key::Index(i)) => {
            let idx = if *i < 0 {
                a.len().checked_sub(i.unsigned_abs() as usize)?
            } else {
                usize::try_from(*i).ok()?
            };
            a.get(idx)
        }
        _ => None,
    }
}

/// Evaluates `ex` against the event object `event`.
pub fn eval<'a>(ex: &Ex, event: &'a Value) -> R<V<'a>> {
    match ex {
        Ex::Lit(l) => Ok(match l {
            Lit::Null => V::Null,
            Lit::Bool(b) => V::Bool(*b),
            Lit::Int(i) => V::Int(*i),
            Lit::Dec(d) => V::Dec(*d),
            Lit::Float(f) => V::Float(*f),
            Lit::Text(t) => V::Text(Cow::Owned(t.clone())),
        }),
        Ex::Field(path) => {
            let mut v = event;
            for step in path {
                match v.get(step) {
                    Some(next) => v = next,
                    None => return Ok(V::Null),
                }
            }
            Ok(from_json(v))
        }
        Ex::Get { base, key, text } => {
            let got = match eval(base, event)? {
                V::Null => return Ok(V::Null),
                V::Json(Cow::Borrowed(j)) => lookup(j, key).map(from_json),
                V::Json(Cow::Owned(j)) => lookup(&j, key).map(|v| from_json_owned(v.clone())),
                // Text is parsed as JSON, as DuckDB does for `->` on VARCHAR.
                V::Text(t) => {
                    let parsed: Value = serde_json::from_str(&t).map_err(|e| {
                        EvalError(format!(
                            "`->` on text that is not JSON ({e}): `{}`",
                            snippet(&t)
                        ))
                    })?;
                    lookup(&parsed, key).map(|v| from_json_owned(v.clone()))
                }
                other => {
                    return err(format!(
                        "`->` needs a JSON object or array, got {}",
                        other.type_name()
                    ));
                }
            };
            let got = got.unwrap_or(V::Null);
            if *text {
                Ok(match got {
                    V::Null => V::Null,
                    V::Text(t) => V::Text(t),
                    other => V::Text(Cow::Owned(other.to_text().unwrap_or_default().into_owned())),
                })
            } else {
                Ok(got)
            }
        }
        Ex::Cast {
            expr,
            ty,
            lenient,
            sql,
        } => {
            let v = eval(expr, event)?;
            match cast(v, *ty) {
                Ok(v) => Ok(v),
                Err(_) if *lenient => Ok(V::Null),
                Err(e) => err(format!("{sql}: {e}")),
            }
        }
        Ex::Not(e) => Ok(match truth(eval(e, event)?, "NOT")? {
            Some(b) => V::Bool(!b),
            None => V::Null,
        }),
        Ex::Neg(e) => match eval(e, event)? {
            V::Null => Ok(V::Null),
            v => arith(Arith::Sub, V::Int(0), v, "unary -"),
        },
        Ex::And(a, b) => {
            let left = truth(eval(a, event)?, "AND")?;
            if left == Some(false) {
                return Ok(V::Bool(false));
            }
            let right = truth(eval(b, event)?, "AND")?;
            Ok(match (left, right) {
                (_, Some(false)) => V::Bool(false),
                (Some(true), Some(true)) => V::Bool(true),
                _ => V::Null,
            })
        }
        Ex::Or(a, b) => {
            let left = truth(eval(a, event)?, "OR")?;
            if left == Some(true) {
                return Ok(V::Bool(true));
            }
            let right = truth(eval(b, event)?, "OR")?;
            Ok(match (left, right) {
                (_, Some(true)) => V::Bool(true),
                (Some(false), Some(false)) => V::Bool(false),
                _ => V::Null,
            })
        }
        Ex::Compare(op, a, b, sql) => {
            let (a, b) = (eval(a, event)?, eval(b, event)?);
            Ok(
                match compare(&a, &b, *op == Cmp::Eq || *op == Cmp::Ne)
                    .map_err(|e| EvalError(format!("{sql}: {e}")))?
                {
                    None => V::Null,
                    Some(ord) => V::Bool(match op {
                        Cmp::Eq => ord == Ordering::Equal,
                        Cmp::Ne => ord != Ordering::Equal,
                        Cmp::Lt => ord == Ordering::Less,
                        Cmp::Le => ord != Ordering::Greater,
                        Cmp::Gt => ord == Ordering::Greater,
                        Cmp::Ge => ord != Ordering::Less,
                    }),
                },
            )
        }
        Ex::Arith(op, a, b, sql) => {
            let (a, b) = (eval(a, event)?, eval(b, event)?);
            arith(*op, a, b, sql)
        }
        Ex::Concat(a, b) => {
            let (a, b) = (eval(a, event)?, eval(b, event)?);
            Ok(match (a.to_text(), b.to_text()) {
                (Some(a), Some(b)) => V::Text(Cow::Owned(format!("{a}{b}"))),
                _ => V::Null,
            })
        }
        Ex::IsNull(e, negated) => {
            let null = matches!(eval(e, event)?, V::Null);
            Ok(V::Bool(null != *negated))
        }
        Ex::IsBool(e, want, negated) => {
            let is = truth(eval(e, event)?, "IS TRUE/FALSE")? == Some(*want);
            Ok(V::Bool(is != *negated))
        }
        Ex::InList {
            expr,
            list,
            negated,
            sql,
        } => {
            let v = eval(expr, event)?;
            if matches!(v, V::Null) {
                return Ok(V::Null);
            }
            let mut saw_null = false;
            for item in list {
                let candidate = eval(item, event)?;
                match compare(&v, &candidate, true).map_err(|e| EvalError(format!("{sql}: {e}")))? {
                    Some(Ordering::Equal) => return Ok(V::Bool(!negated)),
                    Some(_) => {}
                    None => saw_null = true,
                }
            }
            Ok(if saw_null { V::Null } else { V::Bool(*negated) })
        }
        Ex::Between {
            expr,
            low,
            high,
            negated,
            sql,
        } => {
            let v = eval(expr, event)?;
            let (lo, hi) = (eval(low, event)?, eval(high, event)?);
            let wrap = |e: EvalError| EvalError(format!("{sql}: {e}"));
            let above = compare(&v, &lo, false).map_err(wrap)?;
            let below = compare(&v, &hi, false).map_err(wrap)?;
            Ok(match (above, below) {
                (Some(a), Some(b)) => {
                    V::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated)
                }
                _ => V::Null,
            })
        }
        Ex::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
        } => {
            let (v, p) = (eval(expr, event)?, eval(pattern, event)?);
            let (Some(v), Some(p)) = (v.to_text(), p.to_text()) else {
                return Ok(V::Null);
            };
            let hit = if *case_insensitive {
                like(&v.to_lowercase(), &p.to_lowercase())
            } else {
                like(&v, &p)
            };
            Ok(V::Bool(hit != *negated))
        }
        Ex::Call(func, args) => call(*func, args, event),
    }
}

fn call<'a>(func: Func, args: &[Ex], event: &'a Value) -> R<V<'a>> {
    match func {
        Func::Coalesce => {
            for a in args {
                let v = eval(a, event)?;
                if !matches!(v, V::Null) {
                    return Ok(v);
                }
            }
            Ok(V::Null)
        }
        Func::Lower | Func::Upper | Func::Length => {
            let v = match args.first() {
                Some(a) => eval(a, event)?,
                None => V::Null,
            };
            let Some(t) = v.to_text() else {
                return Ok(V::Null);
            };
            Ok(match func {
                Func::Lower => V::Text(Cow::Owned(t.to_lowercase())),
                Func::Upper => V::Text(Cow::Owned(t.to_uppercase())),
                _ => V::Int(i64::try_from(t.chars().count()).unwrap_or(i64::MAX)),
            })
        }
    }
}

/// A boolean operand: `Some(bool)`, `None` for NULL, an error for anything else.
fn truth(v: V<'_>, op: &str) -> R<Option<bool>> {
    match v {
        V::Null => Ok(None),
        V::Bool(b) => Ok(Some(b)),
        other => err(format!(
            "{op} needs a boolean, got {} `{}`",
            other.type_name(),
            snippet(&other.to_text().unwrap_or_default())
        )),
    }
}

/// A number in its most exact form.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(i64),
    D(Decimal),
    F(f64),
}

impl Num {
    fn to_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::D(d) => d.to_f64().unwrap_or(f64::NAN),
            Num::F(f) => f,
        }
    }

    fn to_dec(self) -> Option<Decimal> {
        match self {
            Num::I(i) => Some(Decimal::from(i)),
            Num::D(d) => Some(d),
            Num::F(f) => Decimal::from_f64(f),
        }
    }
}

fn parse_num(t: &str) -> Option<Num> {
    let t = t.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Num::I(i));
    }
    if let Ok(d) = t.parse::<Decimal>() {
        return Some(Num::D(d));
    }
    // Scientific notation and the like; non-finite text is not a number here.
    t.parse::<f64>().ok().filter(|f| f.is_finite()).map(Num::F)
}

fn as_num(v: &V<'_>) -> R<Option<Num>> {
    Ok(match v {
        V::Null => None,
        V::Int(i) => Some(Num::I(*i)),
        V::Dec(d) => Some(Num::D(*d)),
        V::Float(f) => Some(Num::F(*f)),
        V::Text(t) => Some(
            parse_num(t).ok_or_else(|| EvalError(format!("`{}` is not a number", snippet(t))))?,
        ),
        other => {
            return err(format!("{} is not a number", other.type_name()));
        }
    })
}

fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(_), _) | (_, Num::F(_)) => a.to_f64().partial_cmp(&b.to_f64()),
        _ => Some(a.to_dec()?.cmp(&b.to_dec()?)),
    }
}

fn parse_ts(t: &str) -> Option<DateTime<Utc>> {
    let t = t.trim();
    if let Ok(ts) = DateTime::parse_from_rfc3339(t) {
        return Some(ts.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(ts) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(ts.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Orders two values; `None` when either is NULL. `equality` allows JSON values (compared as
/// wholes), which have no order.
fn compare(a: &V<'_>, b: &V<'_>, equality: bool) -> R<Option<Ordering>> {
    use V::*;
    Ok(match (a, b) {
        (Null, _) | (_, Null) => None,
        (Text(x), Text(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Bool(x), Text(t)) | (Text(t), Bool(x)) => {
            let y = parse_bool(t)
                .ok_or_else(|| EvalError(format!("`{}` is not a boolean", snippet(t))))?;
            let ord = x.cmp(&y);
            Some(if matches!(a, Text(_)) {
                ord.reverse()
            } else {
                ord
            })
        }
        (Ts(x), Ts(y)) => Some(x.cmp(y)),
        (Ts(x), Text(t)) | (Text(t), Ts(x)) => {
            let y = parse_ts(t)
                .ok_or_else(|| EvalError(format!("`{}` is not a timestamp", snippet(t))))?;
            let ord = x.cmp(&y);
            Some(if matches!(a, Text(_)) {
                ord.reverse()
            } else {
                ord
            })
        }
        (Json(x), Json(y)) if equality => Some(if x == y {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        (Int(_) | Dec(_) | Float(_), _) | (_, Int(_) | Dec(_) | Float(_)) => {
            match (as_num(a)?, as_num(b)?) {
                (Some(x), Some(y)) => Some(cmp_num(x, y).ok_or_else(|| {
                    EvalError("numbers that cannot be compared (NaN)".to_owned())
                })?),
                _ => None,
            }
        }
        _ => {
            return err(format!(
                "cannot compare {} with {}",
                a.type_name(),
                b.type_name()
            ));
        }
    })
}

fn arith(op: Arith, a: V<'_>, b: V<'_>, sql: &str) -> R<V<'static>> {
    let wrap = |e: EvalError| EvalError(format!("{sql}: {e}"));
    let (Some(x), Some(y)) = (as_num(&a).map_err(wrap)?, as_num(&b).map_err(wrap)?) else {
        return Ok(V::Null);
    };
    let overflow = || EvalError(format!("{sql}: numeric overflow"));
    let by_zero = || EvalError(format!("{sql}: division by zero"));
    Ok(match (x, y) {
        (Num::F(_), _) | (_, Num::F(_)) => {
            let (x, y) = (x.to_f64(), y.to_f64());
            V::Float(match op {
                Arith::Add => x + y,
                Arith::Sub => x - y,
                Arith::Mul => x * y,
                Arith::Div => x / y,
                Arith::Mod => x % y,
            })
        }
        (Num::I(x), Num::I(y)) => {
            if matches!(op, Arith::Div | Arith::Mod) && y == 0 {
                return Err(by_zero());
            }
            V::Int(
                match op {
                    Arith::Add => x.checked_add(y),
                    Arith::Sub => x.checked_sub(y),
                    Arith::Mul => x.checked_mul(y),
                    Arith::Mod => x.checked_rem(y),
                    // `/` on integers gives a DOUBLE, as in DuckDB.
                    Arith::Div => return Ok(V::Float(x as f64 / y as f64)),
                }
                .ok_or_else(overflow)?,
            )
        }
        _ => {
            let (x, y) = (
                x.to_dec().ok_or_else(overflow)?,
                y.to_dec().ok_or_else(overflow)?,
            );
            if matches!(op, Arith::Div | Arith::Mod) && y.is_zero() {
                return Err(by_zero());
            }
            V::Dec(
                match op {
                    Arith::Add => x.checked_add(y),
                    Arith::Sub => x.checked_sub(y),
                    Arith::Mul => x.checked_mul(y),
                    Arith::Div => x.checked_div(y),
                    Arith::Mod => x.checked_rem(y),
                }
                .ok_or_else(overflow)?,
            )
        }
    })
}

/// Casts a value; the error says why (without the expression, which the caller adds).
pub fn cast(v: V<'_>, ty: Ty) -> R<V<'_>> {
    if matches!(v, V::Null) {
        return Ok(V::Null);
    }
    let shown = || snippet(&v.to_text().unwrap_or_default());
    let not_a = |what: &str| EvalError(format!("`{}` is not a valid {what}", shown()));
    Ok(match ty {
        Ty::Text => match v {
            V::Text(t) => V::Text(t),
            other => V::Text(Cow::Owned(other.to_text().unwrap_or_default().into_owned())),
        },
        Ty::Int(bits) => {
            let i = match &v {
                V::Int(i) => *i,
                V::Bool(b) => i64::from(*b),
                V::Text(t) => match parse_num(t) {
                    Some(Num::I(i)) => i,
                    Some(n) => {
                        round_to_i64(n).ok_or_else(|| not_a(&format!("{ty} (out of range)")))?
                    }
                    None => return Err(not_a(&ty.to_string())),
                },
                V::Dec(d) => round_to_i64(Num::D(*d))
                    .ok_or_else(|| not_a(&format!("{ty} (out of range)")))?,
                V::Float(f) => round_to_i64(Num::F(*f))
                    .ok_or_else(|| not_a(&format!("{ty} (out of range)")))?,
                _ => return Err(not_a(&ty.to_string())),
            };
            let (min, max) = match bits {
                8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            if i < min || i > max {
                return err(format!("{i} is out of range for {ty}"));
            }
            V::Int(i)
        }
        Ty::Float => match &v {
            V::Int(_) | V::Dec(_) | V::Float(_) | V::Text(_) => V::Float(
                as_num(&v)
                    .ok()
                    .flatten()
                    .ok_or_else(|| not_a("DOUBLE"))?
                    .to_f64(),
            ),
            V::Bool(b) => V::Float(if *b { 1.0 } else { 0.0 }),
            _ => return Err(not_a("DOUBLE")),
        },
        Ty::Decimal(spec) => {
            let mut d = match &v {
                V::Int(i) => Decimal::from(*i),
                V::Dec(d) => *d,
                V::Float(f) => Decimal::from_f64(*f).ok_or_else(|| not_a("DECIMAL"))?,
                V::Text(t) => {
                    let t = t.trim();
                    t.parse::<Decimal>()
                        .or_else(|_| Decimal::from_scientific(t))
                        .map_err(|_| not_a("DECIMAL"))?
                }
                _ => return Err(not_a("DECIMAL")),
            };
            if let Some((precision, scale)) = spec {
                d = d.round_dp(scale);
                d.rescale(scale);
                let digits = d.mantissa().unsigned_abs().to_string().len() as u32;
                if digits > precision {
                    return err(format!("{d} does not fit {ty}"));
                }
            }
            V::Dec(d)
        }
        Ty::Bool => match &v {
            V::Bool(b) => V::Bool(*b),
            V::Int(i) => V::Bool(*i != 0),
            V::Text(t) => V::Bool(parse_bool(t).ok_or_else(|| not_a("BOOLEAN"))?),
            _ => return Err(not_a("BOOLEAN")),
        },
        Ty::Timestamp => match &v {
            V::Ts(t) => V::Ts(*t),
            V::Text(t) => V::Ts(parse_ts(t).ok_or_else(|| not_a("TIMESTAMP"))?),
            _ => return Err(not_a("TIMESTAMP")),
        },
        Ty::Json => match v {
            V::Json(j) => V::Json(j),
            V::Text(t) => {
                let parsed: Value = serde_json::from_str(&t)
                    .map_err(|e| EvalError(format!("`{}` is not JSON: {e}", snippet(&t))))?;
                from_json_owned(parsed)
            }
            other => other,
        },
    })
}

fn round_to_i64(n: Num) -> Option<i64> {
    match n {
        Num::I(i) => Some(i),
        Num::D(d) => d
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            .to_i64(),
        Num::F(f) => {
            let r = f.round();
            (r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64).then_some(r as i64)
        }
    }
}

/// SQL `LIKE`: `%` any run, `_` one character; no escape character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// The start of a value for messages, so a huge field does not flood a dead letter's reason.
pub fn snippet(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
pub(crate) fn like_for_tests(text: &str, pattern: &str) -> bool {
    like(text, pattern)
}
