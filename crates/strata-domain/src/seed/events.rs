//! The `PUBLICATION_TELEMETRY` events behind the referral rows in PostgreSQL: a `click` per
//! referral (the visitor landing through a referral link) and a `conversion` per conversion.
//!
//! Partners send these events in production; a seeded store has the rows but never had the
//! traffic, so `strata demo` rebuilds the events from the rows to show the publication stream end
//! to end. Ids are deterministic (as for commerce events), so running it twice appends nothing new.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use strata_events::{
    Amount, CountryCode, CurrencyCode, Envelope, Event, EventId, EventSource, OrderUid, ProductUid,
    PublicationBody, PublicationKind, PublicationUid, PublisherUid, ReferralLinkUid, Sha256Hex,
};
use ulid::Ulid;

use crate::db::{Database, DbError};

/// The `source` of the rebuilt events.
pub const REFERRAL_EVENT_SOURCE: &str = "strata-referrals";

/// Referrals joined with their link (for the publication and product).
const REFERRALS_SQL: &str = "SELECT r.uid, r.publisher_uid, r.referral_link_uid, l.publication_uid, \
            l.product_uid, r.session_key_hash, r.device_type, r.country_code, r.landing_url, \
            r.landing_ts \
       FROM referral r JOIN referral_link l ON l.uid = r.referral_link_uid \
      ORDER BY r.landing_ts, r.uid";

/// Conversions joined with their referral (for the link and session).
const CONVERSIONS_SQL: &str = "SELECT c.uid, c.publisher_uid, r.referral_link_uid, l.publication_uid, \
            l.product_uid, r.session_key_hash, r.device_type, r.country_code, c.order_uid, \
            c.amount::text, c.currency_code, c.converted_ts \
       FROM conversion c JOIN referral r ON r.uid = c.referral_uid \
       JOIN referral_link l ON l.uid = r.referral_link_uid \
      ORDER BY c.converted_ts, c.uid";

/// What [`referral_events`] built, and what it had to leave out.
#[derive(Debug, Default)]
pub struct ReferralEvents {
    /// The events, clicks then conversions, each in time order.
    pub events: Vec<Event>,
    /// Rows whose values cannot make a valid event (edited outside Strata), with the reason.
    pub skipped: Vec<String>,
}

/// Rebuilds the publication events of every referral and conversion in the database.
pub async fn referral_events(db: &Database) -> Result<ReferralEvents, DbError> {
    let client = db.client().await?;
    let mut out = ReferralEvents::default();
    for row in client
        .query(REFERRALS_SQL, &[])
        .await
        .map_err(|e| DbError::from_pg(db.target(), e))?
    {
        let uid: String = row.get(0);
        let landed: DateTime<Utc> = row.get(9);
        let built = common(&row).map(|mut body| {
            body.url = row.get::<_, Option<String>>(8);
            body.kind = PublicationKind::Click;
            event("click", &uid, landed, body)
        });
        push(&mut out, &uid, built);
    }
    for row in client
        .query(CONVERSIONS_SQL, &[])
        .await
        .map_err(|e| DbError::from_pg(db.target(), e))?
    {
        let uid: String = row.get(0);
        let converted: DateTime<Utc> = row.get(11);
        let built = common(&row).and_then(|mut body| {
            let order_uid = row
                .get::<_, Option<String>>(8)
                .map(|o| OrderUid::parse(&o))
                .transpose()
                .map_err(|e| e.to_string())?;
            let amount = Amount::parse(row.get(9)).map_err(|e| e.to_string())?;
            let currency_code = CurrencyCode::parse(row.get(10)).map_err(|e| e.to_string())?;
            body.kind = PublicationKind::Conversion {
                order_uid,
                amount,
                currency_code,
            };
            Ok(event("conversion", &uid, converted, body))
        });
        push(&mut out, &uid, built);
    }
    Ok(out)
}

fn push(out: &mut ReferralEvents, uid: &str, built: Result<Event, String>) {
    match built {
        Ok(event) => out.events.push(event),
        Err(reason) => {
            tracing::warn!(uid, %reason, "row skipped: it cannot make a valid publication event");
            out.skipped.push(format!("{uid}: {reason}"));
        }
    }
}

/// The fields clicks and conversions share: columns 1 to 7 of both queries.
fn common(row: &tokio_postgres::Row) -> Result<PublicationBody, String> {
    fn opt<T>(
        value: Option<String>,
        parse: impl Fn(&str) -> Result<T, strata_events::InvalidValue>,
    ) -> Result<Option<T>, String> {
        value
            .map(|v| parse(&v))
            .transpose()
            .map_err(|e| e.to_string())
    }
    let device: String = row.get(6);
    Ok(PublicationBody {
        publisher_uid: PublisherUid::parse(row.get(1)).map_err(|e| e.to_string())?,
        referral_link_uid: Some(ReferralLinkUid::parse(row.get(2)).map_err(|e| e.to_string())?),
        publication_uid: opt(row.get(3), PublicationUid::parse)?,
        product_uid: opt(row.get(4), ProductUid::parse)?,
        telemetry_source_uid: None,
        session_key_hash: opt(row.get(5), Sha256Hex::parse)?,
        device_type: serde_json::from_value(serde_json::Value::String(device.clone()))
            .map_err(|_| format!("unknown device type `{device}`"))?,
        country_code: opt(row.get(7), CountryCode::parse)?,
        url: None,
        kind: PublicationKind::Click,
    })
}

fn event(kind: &str, subject: &str, at: DateTime<Utc>, body: PublicationBody) -> Event {
    let mut envelope = Envelope::new(source(), at, body);
    envelope.event_id = event_id(kind, subject, at);
    Event::Publication(envelope)
}

/// `evt_` + a ULID with `at` as its time and SHA-256(`"<kind>:<row uid>"`) as its random part.
fn event_id(kind: &str, subject: &str, at: DateTime<Utc>) -> EventId {
    let digest = Sha256::digest(format!("{kind}:{subject}"));
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let ulid = Ulid::from_parts(ms, u128::from_be_bytes(random));
    EventId::parse(&format!("evt_{ulid}")).expect("`evt_` + a ULID is a valid event id")
}

fn source() -> EventSource {
    EventSource::parse(REFERRAL_EVENT_SOURCE).expect("`strata-referrals` is a valid event source")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_differ_by_kind() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let a = event_id("click", "rfl_01JAAAAAAAAAAAAAAAAAAAAAAA", at);
        assert_eq!(a, event_id("click", "rfl_01JAAAAAAAAAAAAAAAAAAAAAAA", at));
        assert_ne!(
            a,
            event_id("conversion", "rfl_01JAAAAAAAAAAAAAAAAAAAAAAA", at)
        );
    }
}
