//! The envelope every event travels in, and [`Event`], an event of any stream.
//!
//! On the wire an event is one flat JSON object: the envelope fields (`event_id`, `event_type`,
//! `occurred_ts`, `schema_version`, `source`) next to the body's fields. Flat, because the lake
//! stores one row per event and a flat object maps onto its columns without a transform.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserializer, Serialize, Serializer, de, ser::SerializeMap};

use crate::{
    StreamName,
    commerce::CommerceBody,
    publication::PublicationBody,
    sync::SyncBody,
    value::{EventId, EventSource},
};

/// The version of the event schemas this build writes and reads. Raised (with new schema files)
/// when a change is not backward compatible, so readers can tell old rows from new ones.
pub const SCHEMA_VERSION: u32 = 1;

/// The body of an event of one stream.
pub trait EventBody {
    /// The stream that carries these events.
    const STREAM: StreamName;
    /// The event's type on the wire (`order_created`, `click`, `step_completed`, …).
    fn event_type(&self) -> &'static str;
}

/// An event: who emitted it, when, under which id, and its typed body.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<B> {
    /// `evt_` + ULID; the idempotency key: the log stores an id once.
    pub event_id: EventId,
    /// When the fact happened at its source (not when it was received). RFC 3339 on the wire.
    pub occurred_ts: DateTime<Utc>,
    /// The schema version the event was written with (see [`SCHEMA_VERSION`]); this build
    /// refuses to read any other, so leave it as [`Envelope::new`] sets it.
    pub schema_version: u32,
    /// Who emitted the event: `strata-domain`, `strata-sync`, `partner:<publisher uid>`, ….
    pub source: EventSource,
    /// The stream-specific part, which also fixes the event type.
    pub body: B,
}

impl<B: EventBody> Envelope<B> {
    /// A new event of the current schema version with a freshly minted id.
    pub fn new(source: EventSource, occurred_ts: DateTime<Utc>, body: B) -> Self {
        Self {
            event_id: EventId::mint(),
            occurred_ts,
            schema_version: SCHEMA_VERSION,
            source,
            body,
        }
    }

    /// The event's type on the wire.
    pub fn event_type(&self) -> &'static str {
        self.body.event_type()
    }
}

/// An event of the commerce stream.
pub type CommerceEvent = Envelope<CommerceBody>;
/// An event of the publication stream.
pub type PublicationEvent = Envelope<PublicationBody>;
/// An event of the sync stream.
pub type SyncEvent = Envelope<SyncBody>;

/// An event of any of the three streams: what the log stores and delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A `COMMERCE_TELEMETRY` event.
    Commerce(CommerceEvent),
    /// A `PUBLICATION_TELEMETRY` event.
    Publication(PublicationEvent),
    /// A `SYNC_TELEMETRY` event.
    Sync(SyncEvent),
}

impl Event {
    /// The stream the event belongs to.
    pub fn stream(&self) -> StreamName {
        match self {
            Self::Commerce(_) => StreamName::Commerce,
            Self::Publication(_) => StreamName::Publication,
            Self::Sync(_) => StreamName::Sync,
        }
    }

    /// The event's id.
    pub fn event_id(&self) -> &EventId {
        match self {
            Self::Commerce(e) => &e.event_id,
            Self::Publication(e) => &e.event_id,
            Self::Sync(e) => &e.event_id,
        }
    }

    /// The event's type on the wire.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Commerce(e) => e.event_type(),
            Self::Publication(e) => e.event_type(),
            Self::Sync(e) => e.event_type(),
        }
    }

    /// When the event happened.
    pub fn occurred_ts(&self) -> DateTime<Utc> {
        match self {
            Self::Commerce(e) => e.occurred_ts,
            Self::Publication(e) => e.occurred_ts,
            Self::Sync(e) => e.occurred_ts,
        }
    }

    /// Parses one event of `stream` from its JSON form, with every check the wire format implies.
    pub fn from_json(stream: StreamName, json: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(match stream {
            StreamName::Commerce => Self::Commerce(serde_json::from_slice(json)?),
            StreamName::Publication => Self::Publication(serde_json::from_slice(json)?),
            StreamName::Sync => Self::Sync(serde_json::from_slice(json)?),
        })
    }

    /// The event's JSON form.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Commerce(e) => e.serialize(serializer),
            Self::Publication(e) => e.serialize(serializer),
            Self::Sync(e) => e.serialize(serializer),
        }
    }
}

impl From<CommerceEvent> for Event {
    fn from(e: CommerceEvent) -> Self {
        Self::Commerce(e)
    }
}

impl From<PublicationEvent> for Event {
    fn from(e: PublicationEvent) -> Self {
        Self::Publication(e)
    }
}

impl From<SyncEvent> for Event {
    fn from(e: SyncEvent) -> Self {
        Self::Sync(e)
    }
}

/// The envelope fields of a parsed wire object, before they are checked.
pub(crate) struct WireHead {
    pub event_id: Option<EventId>,
    pub occurred_ts: DateTime<Utc>,
    pub schema_version: Option<u32>,
    pub source: EventSource,
}

impl WireHead {
    /// Checks the envelope fields and wraps `body`.
    pub fn into_envelope<B>(self, body: B) -> Result<Envelope<B>, String> {
        let event_id = self
            .event_id
            .ok_or_else(|| "missing required field `event_id`".to_owned())?;
        let schema_version = self.schema_version.unwrap_or(SCHEMA_VERSION);
        if schema_version != SCHEMA_VERSION {
            return Err(unsupported_version(schema_version));
        }
        Ok(Envelope {
            event_id,
            occurred_ts: self.occurred_ts,
            schema_version,
            source: self.source,
            body,
        })
    }
}

pub(crate) fn unsupported_version(found: impl std::fmt::Display) -> String {
    format!("schema_version {found} is not supported; this build reads version {SCHEMA_VERSION}")
}

/// Writes the envelope fields of `envelope` into an open JSON object.
pub(crate) fn serialize_head<B: EventBody, M: SerializeMap>(
    envelope: &Envelope<B>,
    map: &mut M,
) -> Result<(), M::Error> {
    map.serialize_entry("event_id", &envelope.event_id)?;
    map.serialize_entry("event_type", envelope.body.event_type())?;
    map.serialize_entry("occurred_ts", &rfc3339::format(&envelope.occurred_ts))?;
    map.serialize_entry("schema_version", &envelope.schema_version)?;
    map.serialize_entry("source", &envelope.source)
}

/// Writes `key: value` unless the value is absent, so optional columns stay out of the JSON.
pub(crate) fn serialize_opt<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &'static str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, v),
        None => Ok(()),
    }
}

/// Implements serde for `Envelope<$body>` through the stream's flat wire struct `$wire`. The body
/// type provides `serialize_fields` (its fields into an open map) and `from_wire` (checks that
/// serde cannot express, such as which fields belong to which event type).
macro_rules! envelope_serde {
    ($body:ty, $wire:ty) => {
        impl serde::Serialize for $crate::Envelope<$body> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                $crate::envelope::serialize_head(self, &mut map)?;
                self.body.serialize_fields(&mut map)?;
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $crate::Envelope<$body> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let wire = <$wire as serde::Deserialize>::deserialize(deserializer)?;
                let (head, body) = <$body>::from_wire(wire).map_err(serde::de::Error::custom)?;
                head.into_envelope(body).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use envelope_serde;

/// RFC 3339 timestamps, strictly: the wire format of every `_ts` field.
pub(crate) mod rfc3339 {
    use super::*;

    /// The canonical form written: UTC with a `Z`, fractional seconds only when present.
    pub fn format(ts: &DateTime<Utc>) -> String {
        ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    /// Reads an RFC 3339 timestamp with any offset and converts it to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = DateTime<Utc>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2025-01-31T12:00:00Z\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                DateTime::parse_from_rfc3339(v)
                    .map(|ts| ts.with_timezone(&Utc))
                    .map_err(|e| {
                        E::custom(format_args!(
                            "expected an RFC 3339 timestamp such as \"2025-01-31T12:00:00Z\", got `{}` ({e})",
                            crate::value::snippet(v, 64)
                        ))
                    })
            }
        }
        d.deserialize_str(Visitor)
    }
}
