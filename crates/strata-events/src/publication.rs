//! `PUBLICATION_TELEMETRY`: what partners' audiences do with their publications, sent in batches by
//! partners (pixels, SDKs, server postbacks) and by the platform's redirect service.
//!
//! Only the publisher is required: a pixel may know nothing else. Engagements and conversions carry
//! their own fields, held in [`PublicationKind`] so they cannot appear on other types.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize, ser::SerializeMap};

use crate::{
    EventBody, StreamName,
    envelope::{WireHead, envelope_serde, rfc3339, serialize_opt},
    rules::{Extra, add_extras_rules, check_extras, require},
    value::{
        Amount, CountryCode, CurrencyCode, EngagementKind, EventId, EventSource, OrderUid,
        ProductUid, PublicationUid, PublisherUid, ReferralLinkUid, Sha256Hex, TelemetrySourceUid,
        snippet,
    },
};

/// The type of a publication event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicationEventType {
    /// A visitor clicked through to the store.
    Click,
    /// A publication or ad was displayed.
    Impression,
    /// A publication was viewed (a page view, a video start).
    View,
    /// A visitor interacted with a publication (like, share, scroll, watch progress, …).
    Engagement,
    /// A visit turned into an order, lead or signup.
    Conversion,
}

impl PublicationEventType {
    /// Every type's wire name.
    pub const NAMES: &'static [&'static str] =
        &["click", "impression", "view", "engagement", "conversion"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Click => "click",
            Self::Impression => "impression",
            Self::View => "view",
            Self::Engagement => "engagement",
            Self::Conversion => "conversion",
        }
    }
}

/// Device class of the visitor, as in `referral.device_type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// A desktop or laptop browser.
    Desktop,
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// Anything else (TV, console, bot that declares itself).
    Other,
    /// Not known; the default when a partner sends none.
    #[default]
    Unknown,
}

/// The body of a publication event.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicationBody {
    /// The publisher whose audience did it.
    pub publisher_uid: PublisherUid,
    /// The publication concerned, when known.
    pub publication_uid: Option<PublicationUid>,
    /// The referral link involved, when known.
    pub referral_link_uid: Option<ReferralLinkUid>,
    /// The product concerned, when known.
    pub product_uid: Option<ProductUid>,
    /// The pixel, beacon, SDK key or postback that reported it.
    pub telemetry_source_uid: Option<TelemetrySourceUid>,
    /// SHA-256 of the visitor's session key; the key itself never leaves the partner.
    pub session_key_hash: Option<Sha256Hex>,
    /// The visitor's device class.
    pub device_type: DeviceType,
    /// The visitor's country.
    pub country_code: Option<CountryCode>,
    /// The page or content URL (http or https).
    pub url: Option<String>,
    /// What happened, with the fields only that kind of event has.
    pub kind: PublicationKind,
}

/// What the audience did.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicationKind {
    /// A click through to the store.
    Click,
    /// A display.
    Impression,
    /// A view.
    View,
    /// An interaction.
    Engagement {
        /// What kind of interaction.
        kind: EngagementKind,
        /// Its measure, when it has one (seconds watched, scroll depth 0–1, …).
        value: Option<f64>,
    },
    /// A conversion.
    Conversion {
        /// The order, for a sale.
        order_uid: Option<OrderUid>,
        /// The attributed value.
        amount: Amount,
        /// The currency of `amount`.
        currency_code: CurrencyCode,
    },
}

impl PublicationKind {
    /// The event type of this kind.
    pub fn event_type(&self) -> PublicationEventType {
        match self {
            Self::Click => PublicationEventType::Click,
            Self::Impression => PublicationEventType::Impression,
            Self::View => PublicationEventType::View,
            Self::Engagement { .. } => PublicationEventType::Engagement,
            Self::Conversion { .. } => PublicationEventType::Conversion,
        }
    }
}

impl EventBody for PublicationBody {
    const STREAM: StreamName = StreamName::Publication;
    fn event_type(&self) -> &'static str {
        self.kind.event_type().as_str()
    }
}

/// Fields only some publication event types carry.
const EXTRAS: &[Extra] = &[
    Extra {
        field: "engagement_kind",
        owner: "engagement",
        required: true,
    },
    Extra {
        field: "engagement_value",
        owner: "engagement",
        required: false,
    },
    Extra {
        field: "order_uid",
        owner: "conversion",
        required: false,
    },
    Extra {
        field: "amount",
        owner: "conversion",
        required: true,
    },
    Extra {
        field: "currency_code",
        owner: "conversion",
        required: true,
    },
];

/// Longest URL accepted; longer ones are almost always tracking junk and bloat the lake.
const MAX_URL_LEN: usize = 2048;

fn schema_rules(schema: &mut schemars::Schema) {
    add_extras_rules(schema, PublicationEventType::NAMES, EXTRAS);
}

/// A `PUBLICATION_TELEMETRY` event on the wire: one flat object per event, the shape of a row of
/// `publication.telemetry`. Fields that only one event type carries are listed at the end; each
/// type requires its own and forbids the others'.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "PUBLICATION_TELEMETRY event", transform = schema_rules)]
pub(crate) struct PublicationWire {
    /// Idempotency key, `evt_` + ULID. Optional on input: the ingest endpoint mints one if absent.
    event_id: Option<EventId>,
    /// What happened.
    event_type: PublicationEventType,
    /// When it happened at the source, RFC 3339.
    #[serde(deserialize_with = "rfc3339::deserialize")]
    #[schemars(with = "DateTime<Utc>")]
    occurred_ts: DateTime<Utc>,
    /// Version of this schema the event follows; 1 when absent.
    schema_version: Option<u32>,
    /// Who emitted the event, e.g. `partner:pub_01J…`.
    source: EventSource,
    /// The publisher whose audience did it.
    publisher_uid: PublisherUid,
    /// The publication concerned, when known.
    publication_uid: Option<PublicationUid>,
    /// The referral link involved, when known.
    referral_link_uid: Option<ReferralLinkUid>,
    /// The product concerned, when known.
    product_uid: Option<ProductUid>,
    /// The pixel, beacon, SDK key or postback that reported it.
    telemetry_source_uid: Option<TelemetrySourceUid>,
    /// SHA-256 (lower-case hex) of the visitor's session key; never the key itself.
    session_key_hash: Option<Sha256Hex>,
    /// The visitor's device class; `unknown` when absent.
    #[serde(default)]
    device_type: DeviceType,
    /// The visitor's country (ISO 3166-1 alpha-2, lower case).
    country_code: Option<CountryCode>,
    /// The page or content URL (http or https, at most 2048 characters).
    #[schemars(length(max = 2048), pattern(r"^https?://"))]
    url: Option<String>,
    /// engagement: what kind of interaction, e.g. `like`, `share`, `video_progress`.
    engagement_kind: Option<EngagementKind>,
    /// engagement: its measure, when it has one (seconds watched, scroll depth 0–1, …).
    engagement_value: Option<f64>,
    /// conversion: the order, for a sale.
    order_uid: Option<OrderUid>,
    /// conversion: the attributed value.
    amount: Option<Amount>,
    /// conversion: the currency of `amount` (ISO 4217, lower case).
    currency_code: Option<CurrencyCode>,
}

impl PublicationBody {
    pub(crate) fn from_wire(w: PublicationWire) -> Result<(WireHead, Self), String> {
        let event_type = w.event_type.as_str();
        check_extras(
            event_type,
            EXTRAS,
            &[
                ("engagement_kind", w.engagement_kind.is_some()),
                ("engagement_value", w.engagement_value.is_some()),
                ("order_uid", w.order_uid.is_some()),
                ("amount", w.amount.is_some()),
                ("currency_code", w.currency_code.is_some()),
            ],
        )?;
        if let Some(url) = &w.url {
            check_url(url)?;
        }
        let kind = match w.event_type {
            PublicationEventType::Click => PublicationKind::Click,
            PublicationEventType::Impression => PublicationKind::Impression,
            PublicationEventType::View => PublicationKind::View,
            PublicationEventType::Engagement => PublicationKind::Engagement {
                kind: require(w.engagement_kind, "engagement_kind", event_type)?,
                value: w.engagement_value,
            },
            PublicationEventType::Conversion => PublicationKind::Conversion {
                order_uid: w.order_uid,
                amount: require(w.amount, "amount", event_type)?,
                currency_code: require(w.currency_code, "currency_code", event_type)?,
            },
        };
        let head = WireHead {
            event_id: w.event_id,
            occurred_ts: w.occurred_ts,
            schema_version: w.schema_version,
            source: w.source,
        };
        let body = PublicationBody {
            publisher_uid: w.publisher_uid,
            publication_uid: w.publication_uid,
            referral_link_uid: w.referral_link_uid,
            product_uid: w.product_uid,
            telemetry_source_uid: w.telemetry_source_uid,
            session_key_hash: w.session_key_hash,
            device_type: w.device_type,
            country_code: w.country_code,
            url: w.url,
            kind,
        };
        Ok((head, body))
    }

    pub(crate) fn serialize_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("publisher_uid", &self.publisher_uid)?;
        serialize_opt(map, "publication_uid", &self.publication_uid)?;
        serialize_opt(map, "referral_link_uid", &self.referral_link_uid)?;
        serialize_opt(map, "product_uid", &self.product_uid)?;
        serialize_opt(map, "telemetry_source_uid", &self.telemetry_source_uid)?;
        serialize_opt(map, "session_key_hash", &self.session_key_hash)?;
        map.serialize_entry("device_type", &self.device_type)?;
        serialize_opt(map, "country_code", &self.country_code)?;
        serialize_opt(map, "url", &self.url)?;
        match &self.kind {
            PublicationKind::Click | PublicationKind::Impression | PublicationKind::View => Ok(()),
            PublicationKind::Engagement { kind, value } => {
                map.serialize_entry("engagement_kind", kind)?;
                serialize_opt(map, "engagement_value", value)
            }
            PublicationKind::Conversion {
                order_uid,
                amount,
                currency_code,
            } => {
                serialize_opt(map, "order_uid", order_uid)?;
                map.serialize_entry("amount", amount)?;
                map.serialize_entry("currency_code", currency_code)
            }
        }
    }
}

envelope_serde!(PublicationBody, PublicationWire);

/// An absolute http(s) URL of bounded length.
fn check_url(url: &str) -> Result<(), String> {
    let shown = || snippet(url, 80);
    if url.len() > MAX_URL_LEN {
        return Err(format!(
            "field `url` is {} bytes long; at most {MAX_URL_LEN} are accepted",
            url.len()
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "field `url` must be an http:// or https:// URL, got `{}`",
            shown()
        ));
    }
    url::Url::parse(url)
        .map(|_| ())
        .map_err(|e| format!("field `url` is not a valid URL ({e}): `{}`", shown()))
}
