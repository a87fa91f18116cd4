//! The classification spec as the measurements apply it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use strata_domain::classification::{self, Phase, SpecVersion};

/// One version of the classification spec: thresholds and the precedence of tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedSpec {
    /// The `macrodata_artifact` row holding the version (`default` for the built-in one).
    pub uid: String,
    /// The version; 0 is the built-in defaults, in effect until a version is saved.
    pub version: i32,
    /// When the version took effect.
    pub effective_ts: DateTime<Utc>,
    /// Units in the first 7 days that make a top riser.
    pub top_riser_7_day_threshold: i64,
    /// Units in the first 14 days that make a top riser.
    pub top_riser_14_day_threshold: i64,
    /// Units in the last 30 days that make a winner.
    pub winner_30_day_threshold: i64,
    /// How many products with the lowest aggregate units are bananas.
    pub banana_count: i64,
    /// The tiers in the order the nominal classification checks them (`winner`, `top_riser`,
    /// `archive_candidate`, `banana`).
    pub precedence: Vec<String>,
}

impl AppliedSpec {
    /// The built-in defaults (version 0, in effect since the epoch).
    pub fn defaults() -> Self {
        Self {
            uid: "default".to_owned(),
            version: 0,
            effective_ts: DateTime::<Utc>::UNIX_EPOCH,
            top_riser_7_day_threshold: 10,
            top_riser_14_day_threshold: 20,
            winner_30_day_threshold: 30,
            banana_count: 10,
            precedence: ["winner", "top_riser", "archive_candidate", "banana"]
                .map(str::to_owned)
                .to_vec(),
        }
    }

    /// The version in effect at `at`: the latest taking effect before it, else the defaults.
    pub fn in_effect(versions: &[AppliedSpec], at: DateTime<Utc>) -> AppliedSpec {
        versions
            .iter()
            .filter(|v| v.effective_ts < at)
            .max_by_key(|v| (v.effective_ts, v.version))
            .cloned()
            .unwrap_or_else(Self::defaults)
    }

    /// The spec as JSON (what `configuration.objective_spec.spec` holds).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "top_riser_7_day_threshold": self.top_riser_7_day_threshold,
            "top_riser_14_day_threshold": self.top_riser_14_day_threshold,
            "winner_30_day_threshold": self.winner_30_day_threshold,
            "banana_count": self.banana_count,
            "precedence": self.precedence,
        })
        .to_string()
    }
}

impl From<&SpecVersion> for AppliedSpec {
    fn from(v: &SpecVersion) -> Self {
        let spec = v.spec.spec();
        Self {
            uid: v.uid.clone().unwrap_or_else(|| "default".to_owned()),
            version: v.version,
            effective_ts: v.effective_ts,
            top_riser_7_day_threshold: spec.top_riser_7_day_threshold,
            top_riser_14_day_threshold: spec.top_riser_14_day_threshold,
            winner_30_day_threshold: spec.winner_30_day_threshold,
            banana_count: spec.banana_count,
            precedence: spec
                .precedence
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
        }
    }
}

/// Every version of the classification spec that was ever in force (phase `active` or
/// `superseded`; the built-in version 0 included), oldest first.
pub async fn load_spec_versions(db: &strata_domain::Database) -> crate::Result<Vec<AppliedSpec>> {
    let mut all: Vec<AppliedSpec> = classification::versions(db)
        .await
        .map_err(|e| crate::MeasureError::Db(e.to_string()))?
        .iter()
        .filter(|v| matches!(v.phase, Phase::Active | Phase::Superseded) || v.version == 0)
        .map(AppliedSpec::from)
        .collect();
    all.sort_by_key(|v| (v.effective_ts, v.version));
    Ok(all)
}
