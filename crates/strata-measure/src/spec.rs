//! The classification spec as the measurements apply it.

use chrono::{DateTime, Utc};
use serde::Serialize;

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

/// Every saved version of the classification spec (the `macrodata_artifact` rows of kind
/// `classification_spec` that are not drafts), oldest first. Fields a row lacks keep their
/// defaults.
pub async fn load_spec_versions(db: &strata_domain::Database) -> crate::Result<Vec<AppliedSpec>> {
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT uid, artifact_version, coalesce(effective_ts, create_ts), spec
             FROM macrodata_artifact
             WHERE kind = 'classification_spec' AND status ->> 'phase' IN ('active', 'superseded')
             ORDER BY coalesce(effective_ts, create_ts), artifact_version",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let spec: serde_json::Value = r.get(3);
            let defaults = AppliedSpec::defaults();
            let int = |k: &str, d: i64| spec.get(k).and_then(|v| v.as_i64()).unwrap_or(d);
            AppliedSpec {
                uid: r.get(0),
                version: r.get(1),
                effective_ts: r.get(2),
                top_riser_7_day_threshold: int(
                    "top_riser_7_day_threshold",
                    defaults.top_riser_7_day_threshold,
                ),
                top_riser_14_day_threshold: int(
                    "top_riser_14_day_threshold",
                    defaults.top_riser_14_day_threshold,
                ),
                winner_30_day_threshold: int(
                    "winner_30_day_threshold",
                    defaults.winner_30_day_threshold,
                ),
                banana_count: int("banana_count", defaults.banana_count),
                precedence: spec
                    .get("precedence")
                    .and_then(|v| v.as_array())
                    .map(|tiers| {
                        tiers
                            .iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or(defaults.precedence),
            }
        })
        .collect())
}
