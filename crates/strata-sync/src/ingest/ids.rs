//! Deterministic uids: the same Shopify object always gets the same Strata uid, so a re-run
//! finds (and updates) the row it wrote before instead of adding a second one, and two databases
//! fed the same orders name their rows alike.
//!
//! A uid is `<prefix>_` + a ULID whose 48-bit time part is the object's own creation time (so uids
//! still sort roughly by age, as minted ones do) and whose 80 random bits are the first 80 bits of
//! SHA-256(`"<kind>:<key>"`), the key being the Shopify GID or a path below it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use strata_shopify::Gid;
use ulid::Ulid;

/// The largest time part a ULID holds (48 bits of milliseconds, year 10889).
const MAX_ULID_MS: u64 = (1 << 48) - 1;

/// `<prefix>_` + ULID(time = `at` in ms, random = SHA-256(`kind:key`)[..10]).
///
/// `at` before 1970 (or absent, see callers) gives time 0; the random part alone keeps the uid
/// unique.
pub(crate) fn derive(prefix: &str, kind: &str, key: &str, at: Option<DateTime<Utc>>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update(b":");
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ms = at
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
        .unwrap_or(0)
        .min(MAX_ULID_MS);
    let ulid = Ulid::from_parts(ms, u128::from_be_bytes(random));
    format!("{prefix}_{ulid}")
}

/// The canonical text of a GID (`gid://shopify/Order/1`), without query parameters, so
/// `…/LineItem/42?x=1` and `…/LineItem/42` name the same row.
pub(crate) fn canonical(gid: &Gid) -> String {
    Gid::new(gid.kind(), gid.id()).to_string()
}

/// Uid prefixes, as the tables' CHECK constraints require.
pub(crate) mod prefix {
    pub const ORDER: &str = "ord";
    pub const LINE_ITEM: &str = "ordli";
    pub const TAX_LINE: &str = "ordlitx";
    pub const ADJUSTMENT: &str = "ordliadj";
    pub const ADDRESS: &str = "ordaddr";
    pub const SUMMARY: &str = "ordsum";
    pub const PRODUCT: &str = "prd";
    pub const TAG: &str = "ptag";
    pub const CUSTOMER: &str = "cus";
    pub const STORE: &str = "sto";
    pub const SALES_CHANNEL: &str = "sc";
    pub const STOCK_LOCATION: &str = "sloc";
    pub const PAYMENT: &str = "pay";
    pub const FULFILLMENT: &str = "ful";
    pub const RETURN: &str = "ret";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_uid_and_the_time_part_is_the_creation_time() {
        let at = DateTime::from_timestamp(1_700_000_000, 5_000_000);
        let a = derive("ord", "order", "gid://shopify/Order/1", at);
        assert_eq!(a, derive("ord", "order", "gid://shopify/Order/1", at));
        assert_ne!(a, derive("ord", "order", "gid://shopify/Order/2", at));
        assert_ne!(a, derive("ord", "line_item", "gid://shopify/Order/1", at));
        let ulid = Ulid::from_string(&a[4..]).unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_700_000_000_005);
        assert!(a.starts_with("ord_") && a.len() == 30, "{a}");
    }

    #[test]
    fn times_out_of_range_are_clamped_not_a_panic() {
        let before_1970 = DateTime::from_timestamp(-5, 0);
        let uid = derive("ptag", "t", "k", before_1970);
        assert_eq!(Ulid::from_string(&uid[5..]).unwrap().timestamp_ms(), 0);
        assert_eq!(derive("ptag", "t", "k", None), uid);
    }

    #[test]
    fn query_parameters_do_not_change_the_canonical_gid() {
        let a = Gid::parse("gid://shopify/LineItem/42?inventory_item=7").unwrap();
        assert_eq!(canonical(&a), "gid://shopify/LineItem/42");
    }
}
