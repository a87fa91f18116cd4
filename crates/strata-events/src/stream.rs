//! The three telemetry streams and their names in each place they appear.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// One of the three telemetry streams of the analytics layer.
///
/// A stream has three names because three systems address it: the wire name the seed uses
/// (`COMMERCE_TELEMETRY`), the Iceberg table it lands in (`commerce.telemetry`) and the URL slug of
/// its ingest endpoint (`POST /v1/telemetry/commerce`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StreamName {
    /// Commerce lifecycle events, emitted by domain commands after the PostgreSQL write.
    #[serde(rename = "COMMERCE_TELEMETRY")]
    Commerce,
    /// Partner engagement events: clicks, impressions, views, engagements, conversions.
    #[serde(rename = "PUBLICATION_TELEMETRY")]
    Publication,
    /// The workflow audit trail: run starts, step completions, retries, failures, completions.
    #[serde(rename = "SYNC_TELEMETRY")]
    Sync,
}

impl StreamName {
    /// Every stream, in a fixed order.
    pub const ALL: [StreamName; 3] = [Self::Commerce, Self::Publication, Self::Sync];

    /// The stream's name in the seed and on the wire, e.g. `COMMERCE_TELEMETRY`.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Commerce => "COMMERCE_TELEMETRY",
            Self::Publication => "PUBLICATION_TELEMETRY",
            Self::Sync => "SYNC_TELEMETRY",
        }
    }

    /// The Iceberg table the stream lands in, e.g. `commerce.telemetry`.
    pub fn lake_table(self) -> &'static str {
        match self {
            Self::Commerce => "commerce.telemetry",
            Self::Publication => "publication.telemetry",
            Self::Sync => "sync.telemetry",
        }
    }

    /// The URL slug of the ingest endpoint, as in `POST /v1/telemetry/{slug}`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Commerce => "commerce",
            Self::Publication => "publication",
            Self::Sync => "sync",
        }
    }

    /// The stream whose URL slug is `slug`.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// The event types the stream accepts, in documentation order.
    pub fn event_types(self) -> &'static [&'static str] {
        match self {
            Self::Commerce => crate::commerce::CommerceEventType::NAMES,
            Self::Publication => crate::publication::PublicationEventType::NAMES,
            Self::Sync => crate::sync::SyncOutcome::NAMES,
        }
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// A stream name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream `{0}`; expected one of: commerce, publication, sync (or their wire names)")]
pub struct UnknownStream(pub String);

impl FromStr for StreamName {
    type Err = UnknownStream;

    /// Accepts the slug, the wire name or the lake table name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| s == st.slug() || s == st.wire_name() || s == st.lake_table())
            .ok_or_else(|| UnknownStream(crate::value::snippet(s, 64)))
    }
}
