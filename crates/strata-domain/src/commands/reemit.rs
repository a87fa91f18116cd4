//! The recovery path: rebuild the events of recently changed orders from PostgreSQL alone and
//! append them. Event ids are deterministic, so events already in the log are skipped by it; what
//! a crash (or an unwritable log) left out between commit and append is appended now.

use chrono::{DateTime, Utc};
use serde::Serialize;
use strata_events::{Event, EventLog};

use super::CommandError;
use super::events::{Loader, OrderEvents, Want, append_with_retry};
use super::session::Session;
use crate::Database;

/// Orders loaded (and events appended) per batch.
const BATCH: i64 = 500;

/// Orders changed since a time, in uid order, after a uid (keyset pagination). Every command
/// raises `order_header.update_ts`, so an order with a new fact is always found.
const CHANGED_SQL: &str = "SELECT uid FROM order_header \
     WHERE (update_ts >= $1::timestamptz OR create_ts >= $1::timestamptz) AND uid > $2::text \
     ORDER BY uid LIMIT $3::bigint";

/// What [`reemit_order_events`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReemitReport {
    /// Orders changed since the given time.
    pub orders: u64,
    /// Events rebuilt from their rows.
    pub events: u64,
    /// Events the log did not have yet (appended now).
    pub appended: u64,
    /// Events the log already had (skipped by their id).
    pub duplicates: u64,
    /// Facts whose rows could not make a valid event (data edited outside Strata); logged.
    pub skipped: u64,
}

/// Rebuilds every event of the orders changed (or created) since `since` — placement,
/// completion, captures, shipments, returns — from PostgreSQL state alone, and appends them to
/// `COMMERCE_TELEMETRY`. Run it after a crash or a [`CommandError::EventLog`]: the events already
/// in the log are recognised by their deterministic ids and skipped, the missing ones appended.
/// Running it again appends nothing.
pub async fn reemit_order_events(
    db: &Database,
    log: &dyn EventLog,
    since: DateTime<Utc>,
) -> Result<ReemitReport, CommandError> {
    let mut report = ReemitReport::default();
    let session = Session::new(db).await?;
    let mut after = String::new();
    loop {
        let loaded = match load_batch(&session, since, &after).await {
            Ok(loaded) => loaded,
            Err(e) => {
                session.rollback().await;
                return Err(e.into());
            }
        };
        let Some((uids, loaded)) = loaded else {
            break;
        };

        report.orders += uids.len() as u64;
        let mut events = Vec::new();
        for order in loaded {
            for problem in &order.problems {
                tracing::warn!(order_uid = %order.order_uid, %problem, "fact skipped by reemit");
            }
            report.skipped += order.problems.len() as u64;
            events.extend(order.events.into_iter().map(|(_, e)| Event::Commerce(e)));
        }
        report.events += events.len() as u64;
        if !events.is_empty() {
            let first = events.first().map(|e| e.event_id().clone());
            let first_order = uids.first().cloned().unwrap_or_default();
            match append_with_retry(log, events).await {
                Ok(receipt) => {
                    report.appended += receipt.appended() as u64;
                    report.duplicates += receipt.duplicates() as u64;
                }
                Err((source, attempts)) => {
                    return Err(CommandError::EventLog {
                        order_uid: first_order,
                        event_id: first.unwrap_or_else(strata_events::EventId::mint),
                        attempts,
                        source,
                    });
                }
            }
        }
        after = uids.last().cloned().unwrap_or_default();
        if (uids.len() as i64) < BATCH {
            break;
        }
    }
    tracing::info!(?report, %since, "re-emitted order events");
    Ok(report)
}

/// The next batch of changed orders after `after` with their events, from one consistent
/// snapshot; `None` when there are no more.
async fn load_batch(
    session: &Session,
    since: DateTime<Utc>,
    after: &str,
) -> Result<Option<(Vec<String>, Vec<OrderEvents>)>, tokio_postgres::Error> {
    let client = session.client();
    let (changed_st, loader) = futures_util::try_join!(
        client.prepare_cached(CHANGED_SQL),
        Loader::prepare(client, Want::ALL)
    )?;
    let (_, rows) = futures_util::try_join!(
        session.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        async { client.query(&changed_st, &[&since, &after, &BATCH]).await },
    )?;
    let uids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    if uids.is_empty() {
        session.commit().await?;
        session.committed();
        return Ok(None);
    }
    let (loaded, _) = futures_util::try_join!(loader.run(client, &uids), session.commit())?;
    session.committed();
    Ok(Some((uids, loaded)))
}
