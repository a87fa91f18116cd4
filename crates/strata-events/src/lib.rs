//! Strata's telemetry events (layer 2's input): the three streams' versioned event schemas, the
//! validation of untrusted batches sent to `POST /v1/telemetry/{stream}`, and the durable log the
//! events wait in until the lake writer (and other consumers) have taken them.
//!
//! - [`StreamName`]: `COMMERCE_TELEMETRY`, `PUBLICATION_TELEMETRY`, `SYNC_TELEMETRY`.
//! - [`Envelope`] around a typed body: [`CommerceBody`], [`PublicationBody`], [`SyncBody`];
//!   [`Event`] is an event of any stream. Wire format: one flat JSON object per event, described by
//!   [`json_schema`] (copies in the crate's `schemas/` folder).
//! - [`validate_batch`]: a JSON array or NDJSON body → accepted typed events and rejected ones
//!   with reasons; nothing is dropped silently.
//! - [`EventLog`]: append (idempotent on `event_id`), read from a consumer's offset, commit, stats;
//!   [`SqliteLog`] is its embedded, durable backend; [`NatsLog`] keeps the streams on a NATS
//!   JetStream server instead, for producers and consumers on several machines.

mod commerce;
mod envelope;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod log;
mod nats;
mod publication;
mod rules;
mod schema;
mod sqlite;
mod stream;
mod sync;
mod validate;
mod value;

pub use commerce::{
    Attribution, CommerceBody, CommerceEventType, CommerceKind, CommerceLine, LineQuantity,
    OrderSnapshot,
};
pub use envelope::{
    CommerceEvent, Envelope, Event, EventBody, PublicationEvent, SCHEMA_VERSION, SyncEvent,
};
pub use log::{
    AppendEntry, AppendReceipt, ConsumerOffset, Delivery, EventLog, LogError, MAX_CONSUMER_NAME,
    Offset, StreamStats, check_consumer_name,
};
pub use nats::{NatsLog, NatsOptions, NatsStorage};
pub use publication::{DeviceType, PublicationBody, PublicationEventType, PublicationKind};
pub use schema::{json_schema, json_schema_text, schema_file_name};
pub use sqlite::{FsyncPolicy, SqliteLog, SqliteOptions};
pub use stream::{StreamName, UnknownStream};
pub use sync::{SyncBody, SyncOutcome};
pub use validate::{
    Accepted, BatchError, BatchFormat, BatchOutcome, Limits, Rejected, RejectionKind,
    validate_batch,
};
pub use value::{
    Amount, CountryCode, CurrencyCode, CustomerUid, EngagementKind, EventId, EventSource,
    FulfillmentUid, InvalidValue, OrderLineItemUid, OrderUid, PaymentUid, ProductUid,
    PublicationUid, PublisherUid, ReferralLinkUid, ReferralUid, RegionUid, ReturnUid,
    SalesChannelUid, Sha256Hex, StockLocationUid, StoreUid, TelemetrySourceUid, VariantUid,
};
