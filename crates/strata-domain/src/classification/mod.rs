//! The product performance classification spec: the thresholds and the precedence of tiers the
//! measurement job classifies products with, mastered in PostgreSQL as versioned
//! `macrodata_artifact` rows (kind `classification_spec`, name `default`, catalog `performance`).
//!
//! - [`ClassificationSpec`] is the wire shape (what `PUT /api/performance-metrics/settings/classification`
//!   takes); [`ValidSpec`] is a spec that passed [`ClassificationSpec::validate`], and the only
//!   kind the store writes or returns, so a consumer never re-checks the precedence.
//! - [`SpecVersion`] is one stored version with its number, phase and effective time.
//! - [`current`], [`versions`], [`spec_at`] read; [`put`] / [`put_if_current`] write a new
//!   version (see [`store`](self) for the rules).
//!
//! **Version 0.** Before any version is stored the defaults are in force as an implicit version 0,
//! effective since the Unix epoch and never written to PostgreSQL ([`SpecVersion::builtin`]).
//! [`current`] and [`spec_at`] return it when no stored version applies, and [`versions`] lists it
//! last, so every version a measurement can name is in that list.

mod store;

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use store::{
    ARTIFACT_KIND, ARTIFACT_NAME, CATALOG_NAME, StoreError, current, put, put_if_current, spec_at,
    versions,
};

/// Largest threshold and `banana_count` accepted: far above any real setting, and small enough
/// that the measurement SQL never overflows when it compares or sums them.
pub const MAX_VALUE: i64 = 1_000_000;

/// What a product's `nominal_classification` is when no tier's flag is set.
pub const NO_CLASSIFICATION: &str = "none";

/// A classification tier. The wire names are snake_case (`top_riser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Winner,
    TopRiser,
    ArchiveCandidate,
    Banana,
}

impl Tier {
    /// Every tier, in the default precedence.
    pub const ALL: [Tier; 4] = [
        Tier::Winner,
        Tier::TopRiser,
        Tier::ArchiveCandidate,
        Tier::Banana,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Winner => "winner",
            Tier::TopRiser => "top_riser",
            Tier::ArchiveCandidate => "archive_candidate",
            Tier::Banana => "banana",
        }
    }

    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classification settings as sent and stored (`macrodata_artifact.spec`). Not checked by
/// itself: [`ClassificationSpec::validate`] turns it into a [`ValidSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationSpec {
    /// Minimum 7-day rise for `top_riser`, 0 to [`MAX_VALUE`].
    pub top_riser_7_day_threshold: i64,
    /// Minimum 14-day rise for `top_riser`, 0 to [`MAX_VALUE`].
    pub top_riser_14_day_threshold: i64,
    /// Minimum 30-day result for `winner`, 0 to [`MAX_VALUE`].
    pub winner_30_day_threshold: i64,
    /// How many products are `banana`, 0 to [`MAX_VALUE`].
    pub banana_count: i64,
    /// The tiers in the order they win when a product qualifies for several: each of the four
    /// exactly once.
    pub precedence: Vec<Tier>,
}

impl Default for ClassificationSpec {
    /// The legacy `classification_settings` defaults: 10, 20, 30, 10; winner first.
    fn default() -> Self {
        Self {
            top_riser_7_day_threshold: 10,
            top_riser_14_day_threshold: 20,
            winner_30_day_threshold: 30,
            banana_count: 10,
            precedence: Tier::ALL.to_vec(),
        }
    }
}

/// One thing wrong with a spec: the field (`precedence`, `precedence[2]`, `banana_count`, or empty
/// for the body as a whole) and what is allowed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpecIssue {
    pub field: String,
    pub message: String,
}

/// Why a spec was refused: one [`SpecIssue`] per wrong field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid classification spec: {}", describe(.issues))]
pub struct InvalidSpec {
    pub issues: Vec<SpecIssue>,
}

fn describe(issues: &[SpecIssue]) -> String {
    issues
        .iter()
        .map(|i| match i.field.as_str() {
            "" => i.message.clone(),
            f => format!("{f}: {}", i.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl InvalidSpec {
    fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: vec![SpecIssue {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

const THRESHOLDS: [&str; 4] = [
    "top_riser_7_day_threshold",
    "top_riser_14_day_threshold",
    "winner_30_day_threshold",
    "banana_count",
];
const PRECEDENCE: &str = "precedence";

fn tier_list() -> String {
    Tier::ALL.map(Tier::as_str).join(", ")
}

fn range_message() -> String {
    format!("must be an integer from 0 to {MAX_VALUE}")
}

impl ClassificationSpec {
    fn numbers(&self) -> [i64; 4] {
        [
            self.top_riser_7_day_threshold,
            self.top_riser_14_day_threshold,
            self.winner_30_day_threshold,
            self.banana_count,
        ]
    }

    /// Checks every field (thresholds and `banana_count` from 0 to [`MAX_VALUE`], `precedence`
    /// each tier exactly once) and reports all that are wrong.
    pub fn validate(self) -> Result<ValidSpec, InvalidSpec> {
        let mut issues = Vec::new();
        for (field, value) in THRESHOLDS.into_iter().zip(self.numbers()) {
            if !(0..=MAX_VALUE).contains(&value) {
                issues.push(SpecIssue {
                    field: field.into(),
                    message: format!("{}, got {value}", range_message()),
                });
            }
        }
        let mut seen = BTreeSet::new();
        let twice: BTreeSet<Tier> = self
            .precedence
            .iter()
            .copied()
            .filter(|t| !seen.insert(*t))
            .collect();
        let missing: Vec<&str> = Tier::ALL
            .into_iter()
            .filter(|t| !seen.contains(t))
            .map(Tier::as_str)
            .collect();
        if !twice.is_empty() || !missing.is_empty() {
            let mut what = Vec::new();
            if !twice.is_empty() {
                let names: Vec<&str> = twice.iter().map(|t| t.as_str()).collect();
                what.push(format!("listed more than once: {}", names.join(", ")));
            }
            if !missing.is_empty() {
                what.push(format!("missing: {}", missing.join(", ")));
            }
            issues.push(SpecIssue {
                field: PRECEDENCE.into(),
                message: format!(
                    "must list each of {} exactly once ({})",
                    tier_list(),
                    what.join("; ")
                ),
            });
        }
        if issues.is_empty() {
            Ok(ValidSpec(self))
        } else {
            Err(InvalidSpec { issues })
        }
    }

    /// A spec from JSON, naming every wrong field: not an object, an unknown or missing member, a
    /// wrong type (a number with a zero fraction, `10.0`, counts as an integer, as in JSON
    /// Schema), an unknown tier, then what [`ClassificationSpec::validate`] checks.
    pub fn from_json(value: &Value) -> Result<ValidSpec, InvalidSpec> {
        let Some(object) = value.as_object() else {
            return Err(InvalidSpec::one(
                "",
                "the classification spec must be a JSON object",
            ));
        };
        let mut issues = Vec::new();
        for key in object.keys() {
            if !THRESHOLDS.contains(&key.as_str()) && key != PRECEDENCE {
                issues.push(SpecIssue {
                    field: key.clone(),
                    message: format!(
                        "unknown field; the spec has {} and {PRECEDENCE}",
                        THRESHOLDS.join(", ")
                    ),
                });
            }
        }
        let mut numbers = [0i64; 4];
        for (slot, field) in numbers.iter_mut().zip(THRESHOLDS) {
            match object.get(field).map(integer) {
                Some(Some(n)) => *slot = n,
                Some(None) => issues.push(SpecIssue {
                    field: field.into(),
                    message: format!("{}, got {}", range_message(), shown(&object[field])),
                }),
                None => issues.push(SpecIssue {
                    field: field.into(),
                    message: format!("is required; it {}", range_message()),
                }),
            }
        }
        let mut precedence = Vec::new();
        match object.get(PRECEDENCE) {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(Tier::from_name) {
                        Some(t) => precedence.push(t),
                        None => issues.push(SpecIssue {
                            field: format!("{PRECEDENCE}[{i}]"),
                            message: format!("must be one of {}, got {}", tier_list(), shown(item)),
                        }),
                    }
                }
            }
            Some(other) => issues.push(SpecIssue {
                field: PRECEDENCE.into(),
                message: format!(
                    "must be an array listing each of {} once, got {}",
                    tier_list(),
                    shown(other)
                ),
            }),
            None => issues.push(SpecIssue {
                field: PRECEDENCE.into(),
                message: format!("is required: an array listing each of {} once", tier_list()),
            }),
        }
        let [t7, t14, w30, bananas] = numbers;
        let spec = ClassificationSpec {
            top_riser_7_day_threshold: t7,
            top_riser_14_day_threshold: t14,
            winner_30_day_threshold: w30,
            banana_count: bananas,
            precedence,
        };
        if issues.is_empty() {
            return spec.validate();
        }
        // Also report the range and permutation checks of the fields that did parse.
        if let Err(more) = spec.validate() {
            let reported = |field: &str| {
                issues.iter().any(|i| {
                    i.field == field || (field == PRECEDENCE && i.field.starts_with("precedence["))
                })
            };
            let more: Vec<SpecIssue> = more
                .issues
                .into_iter()
                .filter(|i| !reported(&i.field))
                .collect();
            issues.extend(more);
        }
        Err(InvalidSpec { issues })
    }
}

/// An integer, or a number with a zero fraction that fits one.
fn integer(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    // Below 2^63 in magnitude an integral f64 is exactly an i64; larger ones fail the range.
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0).then_some(f as i64)
}

/// A value as an error message quotes it, cut short.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A [`ClassificationSpec`] that passed validation: every threshold in range and the precedence a
/// permutation of the four tiers. Only [`ClassificationSpec::validate`] (or deserializing, which
/// calls it) makes one; its `Default` is the defaults, which are valid (a test checks it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ClassificationSpec", into = "ClassificationSpec")]
pub struct ValidSpec(ClassificationSpec);

impl ValidSpec {
    pub fn spec(&self) -> &ClassificationSpec {
        &self.0
    }

    pub fn into_inner(self) -> ClassificationSpec {
        self.0
    }

    /// The tiers, highest precedence first (always all four, each once).
    pub fn precedence(&self) -> &[Tier] {
        &self.0.precedence
    }

    /// The nominal classification of a product: the first tier in the precedence whose flag is
    /// set, or `None` ([`NO_CLASSIFICATION`]) when none is.
    pub fn nominal(&self, flag_set: impl Fn(Tier) -> bool) -> Option<Tier> {
        self.0.precedence.iter().copied().find(|t| flag_set(*t))
    }

    /// The spec as stored in `macrodata_artifact.spec`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

impl std::ops::Deref for ValidSpec {
    type Target = ClassificationSpec;
    fn deref(&self) -> &ClassificationSpec {
        &self.0
    }
}

impl TryFrom<ClassificationSpec> for ValidSpec {
    type Error = InvalidSpec;
    fn try_from(spec: ClassificationSpec) -> Result<Self, InvalidSpec> {
        spec.validate()
    }
}

impl From<ValidSpec> for ClassificationSpec {
    fn from(v: ValidSpec) -> Self {
        v.0
    }
}

/// Lifecycle phase of a stored version (`macrodata_artifact.status.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written but never in force (not written by Strata; possible through the resource API).
    Draft,
    /// In force (the highest active version is the current one).
    Active,
    /// Was in force until a newer version was put.
    Superseded,
    /// Withdrawn: treated as never in force.
    Archived,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Draft => "draft",
            Phase::Active => "active",
            Phase::Superseded => "superseded",
            Phase::Archived => "archived",
        }
    }

    pub fn from_name(name: &str) -> Option<Phase> {
        [
            Phase::Draft,
            Phase::Active,
            Phase::Superseded,
            Phase::Archived,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }
}

/// One version of the classification spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecVersion {
    /// From 1 for stored versions (`artifact_version`); 0 for the built-in defaults.
    pub version: i32,
    /// The `macrodata_artifact` row (`mda_…`); `None` for version 0.
    pub uid: Option<String>,
    pub phase: Phase,
    /// When the version took effect (`effective_ts`, else the row's `create_ts`); the Unix epoch
    /// for version 0.
    pub effective_ts: DateTime<Utc>,
    pub spec: ValidSpec,
    /// Who put it (`owner_principal_uid`), when known.
    pub owner_principal_uid: Option<String>,
}

impl SpecVersion {
    /// Version 0: the defaults, in force since the Unix epoch until a version is stored.
    pub fn builtin(phase: Phase) -> Self {
        Self {
            version: 0,
            uid: None,
            phase,
            effective_ts: DateTime::<Utc>::UNIX_EPOCH,
            spec: ValidSpec::default(),
            owner_principal_uid: None,
        }
    }

    /// An ETag for this version (`"classification-spec-v<version>"`), for `If-Match`.
    pub fn etag(&self) -> String {
        format!("\"classification-spec-v{}\"", self.version)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value) -> Vec<String> {
        ClassificationSpec::from_json(&v)
            .expect_err("invalid")
            .issues
            .into_iter()
            .map(|i| i.field)
            .collect()
    }

    fn body() -> Value {
        json!({
            "top_riser_7_day_threshold": 10,
            "top_riser_14_day_threshold": 20,
            "winner_30_day_threshold": 30,
            "banana_count": 10,
            "precedence": ["winner", "top_riser", "archive_candidate", "banana"],
        })
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let spec = ClassificationSpec::from_json(&body()).expect("the defaults");
        assert_eq!(spec, ValidSpec::default());
        assert_eq!(spec.to_json(), body());
        let back: ValidSpec = serde_json::from_value(body()).expect("deserialize");
        assert_eq!(back, spec);
    }

    #[test]
    fn wrong_fields_are_named_with_what_is_allowed() {
        let mut b = body();
        b["precedence"] = json!(["winner", "winner", "top_riser", "banana"]);
        let err = ClassificationSpec::from_json(&b).expect_err("duplicate");
        assert_eq!(err.issues.len(), 1);
        let m = &err.issues[0].message;
        assert!(
            m.contains("more than once: winner") && m.contains("missing: archive_candidate"),
            "{m}"
        );
        b["precedence"] = json!(["winner", "top_riser", "banana"]);
        assert_eq!(fields(b.clone()), ["precedence"]);
        b["precedence"] = json!(["winner", "top_riser", "banana", "apple"]);
        assert_eq!(fields(b.clone()), ["precedence[3]"]);
        b["precedence"] = json!("winner");
        assert_eq!(fields(b.clone()), ["precedence"]);

        let mut b = body();
        b["banana_count"] = json!(-1);
        b["winner_30_day_threshold"] = json!(MAX_VALUE + 1);
        b["top_riser_7_day_threshold"] = json!("10");
        b["top_riser_14_day_threshold"] = json!(1.5);
        let mut f = fields(b);
        f.sort();
        assert_eq!(
            f,
            [
                "banana_count",
                "top_riser_14_day_threshold",
                "top_riser_7_day_threshold",
                "winner_30_day_threshold"
            ]
        );

        let mut b = body();
        b["colour"] = json!("red");
        b.as_object_mut().unwrap().remove("banana_count");
        let mut f = fields(b);
        f.sort();
        assert_eq!(f, ["banana_count", "colour"]);
        assert_eq!(fields(json!([])), [""]);
        let err = ClassificationSpec::from_json(&json!({"banana_count": -5}))
            .expect_err("invalid")
            .to_string();
        assert!(
            err.contains("top_riser_7_day_threshold: is required"),
            "{err}"
        );
    }

    #[test]
    fn integral_floats_are_integers() {
        let mut b = body();
        b["banana_count"] = json!(12.0);
        let spec = ClassificationSpec::from_json(&b).expect("12.0 is 12");
        assert_eq!(spec.banana_count, 12);
        b["banana_count"] = json!(1e300);
        assert_eq!(fields(b), ["banana_count"]);
    }

    #[test]
    fn serde_refuses_what_validate_refuses() {
        let mut b = body();
        b["precedence"] = json!(["winner", "winner", "top_riser", "banana"]);
        assert!(serde_json::from_value::<ValidSpec>(b).is_err());
    }

    #[test]
    fn nominal_is_the_first_flag_in_the_precedence() {
        let spec = ClassificationSpec {
            precedence: vec![
                Tier::Banana,
                Tier::Winner,
                Tier::TopRiser,
                Tier::ArchiveCandidate,
            ],
            ..ClassificationSpec::default()
        }
        .validate()
        .expect("valid");
        let flags = |set: &'static [Tier]| move |t: Tier| set.contains(&t);
        assert_eq!(
            spec.nominal(flags(&[Tier::Winner, Tier::TopRiser])),
            Some(Tier::Winner)
        );
        assert_eq!(
            spec.nominal(flags(&[Tier::Winner, Tier::Banana])),
            Some(Tier::Banana)
        );
        assert_eq!(spec.nominal(flags(&[])), None);
    }
}
