//! Deterministic prefixed ULIDs: the timestamp part is the row's creation time, the random
//! part comes from the seeded generator, so the same seed mints the same uids.

use chrono::{DateTime, Utc};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use ulid::Ulid;

pub fn mint(rng: &mut ChaCha8Rng, prefix: &str, at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let random = (u128::from(rng.next_u64()) << 16) | u128::from(rng.next_u32() & 0xFFFF);
    let ulid = Ulid::from_parts(ms, random);
    format!("{prefix}_{ulid}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn same_seed_same_uid_and_format() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("valid time");
        let a = mint(&mut ChaCha8Rng::seed_from_u64(7), "ord", at);
        let b = mint(&mut ChaCha8Rng::seed_from_u64(7), "ord", at);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4 + 26);
        assert!(
            a[4..]
                .chars()
                .all(|c| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c))
        );
    }
}
