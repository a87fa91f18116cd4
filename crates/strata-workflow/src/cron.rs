//! Cron triggers: a parsed schedule and its next time.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};

use crate::error::EngineError;

/// A cron schedule in UTC: five fields (minute hour day-of-month month day-of-week), e.g.
/// `0 6 * * *` for daily at 06:00 UTC.
#[derive(Clone)]
pub struct CronSchedule {
    text: String,
    cron: croner::Cron,
}

impl CronSchedule {
    /// Parses `text`, explaining what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let invalid = |reason: String| EngineError::InvalidCron {
            expression: text.to_owned(),
            reason,
        };
        if text.split_whitespace().count() != 5 {
            return Err(invalid(
                "expected five fields: minute hour day-of-month month day-of-week (e.g. `0 6 * * *`)"
                    .to_owned(),
            ));
        }
        let cron = croner::Cron::from_str(text).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first scheduled time strictly after `after`, if there is one.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSchedule").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn daily_at_six() {
        let s = CronSchedule::parse("0 6 * * *").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 6, 0, 0).unwrap();
        assert_eq!(s.next_after(t), Some(t + chrono::Duration::days(1)));
        assert_eq!(s.next_after(t - chrono::Duration::seconds(1)), Some(t));
    }

    #[test]
    fn invalid_expressions_explain() {
        for bad in ["", "0 6 * *", "61 * * * *", "0 25 * * *", "every day"] {
            let err = CronSchedule::parse(bad).unwrap_err().to_string();
            assert!(err.contains("cron"), "{bad}: {err}");
        }
    }
}
