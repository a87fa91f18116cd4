//! [`BulkSignals`]: the `bulk_operations/finish` webhook's way to wake the sync that waits for
//! that operation.
//!
//! The signal only cuts a poll interval short ([`strata_shopify::AdminClient::wait_for_bulk`]
//! still asks Shopify for the operation's state), so a lost, late, duplicated or forged signal
//! costs at most one poll: correctness never depends on it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::sync::Notify;

/// Signals kept for operations nobody waits for yet (a webhook that beats the waiter), beyond
/// which those are dropped: a signal is only an optimisation.
const MAX_UNCLAIMED: usize = 256;

/// A registry of bulk operation GID → [`Notify`]. Cheap to clone; the clones share it.
#[derive(Clone, Default)]
pub struct BulkSignals {
    inner: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl std::fmt::Debug for BulkSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkSignals")
            .field("operations", &self.lock().len())
            .finish()
    }
}

impl BulkSignals {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells whoever waits for operation `gid` (`gid://shopify/BulkOperation/…`) that it
    /// finished. Remembered when nobody waits yet, so a webhook that arrives before the wait
    /// starts still cuts it short. Returns quickly: call it from the webhook request.
    pub fn notify(&self, gid: &str) {
        let mut map = self.lock();
        if !map.contains_key(gid) && map.len() >= MAX_UNCLAIMED {
            // Only entries with no waiter can be dropped safely (a waiter holds a second Arc).
            map.retain(|_, n| Arc::strong_count(n) > 1);
        }
        let notify = map.entry(gid.to_owned()).or_default();
        // notify_one stores a permit when nobody waits: the next wait returns at once.
        notify.notify_one();
        tracing::debug!(operation = gid, "bulk operation finish signal");
    }

    /// The signal of operation `gid`, for as long as the returned guard lives.
    pub fn register(&self, gid: &str) -> BulkSignal {
        let notify = self.lock().entry(gid.to_owned()).or_default().clone();
        BulkSignal {
            signals: self.clone(),
            gid: gid.to_owned(),
            notify,
        }
    }

    /// Operations with a signal registered or pending.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no operation has a signal registered or pending.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// One operation's signal; unregistered when dropped.
pub struct BulkSignal {
    signals: BulkSignals,
    gid: String,
    notify: Arc<Notify>,
}

impl BulkSignal {
    /// The [`Notify`] to hand to [`strata_shopify::AdminClient::wait_for_bulk`].
    pub fn notify(&self) -> &Notify {
        &self.notify
    }
}

impl Drop for BulkSignal {
    fn drop(&mut self) {
        let mut map = self.signals.lock();
        // Only remove our own entry (not one re-created by a later notify after a re-register).
        if map
            .get(&self.gid)
            .is_some_and(|n| Arc::ptr_eq(n, &self.notify))
        {
            map.remove(&self.gid);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_signal_before_the_wait_is_kept_and_the_entry_goes_with_the_guard() {
        let signals = BulkSignals::new();
        signals.notify("gid://shopify/BulkOperation/1");
        let guard = signals.register("gid://shopify/BulkOperation/1");
        tokio::time::timeout(Duration::from_secs(1), guard.notify().notified())
            .await
            .expect("the stored permit wakes the waiter");
        drop(guard);
        assert!(signals.is_empty());
    }

    #[tokio::test]
    async fn a_signal_wakes_a_waiter_and_others_are_untouched() {
        let signals = BulkSignals::new();
        let a = signals.register("gid://shopify/BulkOperation/1");
        let b = signals.register("gid://shopify/BulkOperation/2");
        let s = signals.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.notify("gid://shopify/BulkOperation/1");
        });
        tokio::time::timeout(Duration::from_secs(1), a.notify().notified())
            .await
            .expect("woken");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), b.notify().notified())
                .await
                .is_err()
        );
    }

    #[test]
    fn unclaimed_signals_are_bounded() {
        let signals = BulkSignals::new();
        let _waiting = signals.register("gid://shopify/BulkOperation/0");
        for i in 1..=(MAX_UNCLAIMED as u64 * 3) {
            signals.notify(&format!("gid://shopify/BulkOperation/{i}"));
        }
        assert!(signals.len() <= MAX_UNCLAIMED + 1);
        assert!(signals.lock().contains_key("gid://shopify/BulkOperation/0"));
    }
}
