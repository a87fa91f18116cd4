//! Money in minor units (1/100 of the currency), with the seed's arithmetic: line subtotal =
//! unit price × quantity, tax = round((subtotal − discount) × rate), half away from zero.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::CommandError;

/// Minor units per major unit. Every currency the platform sells in has two decimals.
const SCALE: u32 = 2;
/// Largest amount accepted for one price or discount: 10^12 minor units (ten billion).
const MAX_CENTS: i64 = 1_000_000_000_000;

/// `amount` in minor units; `field` names it in the error when it has more than two decimals, is
/// negative or absurdly large.
pub fn to_cents(amount: Decimal, field: &str) -> Result<i64, CommandError> {
    let normalized = amount.normalize();
    if normalized.is_sign_negative() && !normalized.is_zero() {
        return Err(CommandError::invalid(
            field,
            format!("must not be negative, got {amount}"),
        ));
    }
    if normalized.scale() > SCALE {
        return Err(CommandError::invalid(
            field,
            format!("must have at most {SCALE} decimals, got {amount}"),
        ));
    }
    (normalized * Decimal::from(100))
        .to_i64()
        .filter(|c| *c <= MAX_CENTS)
        .ok_or_else(|| CommandError::invalid(field, format!("is too large: {amount}")))
}

/// Minor units as an exact decimal with two places (`1234` → `12.34`).
pub fn from_cents(cents: i64) -> Decimal {
    Decimal::new(cents, SCALE)
}

/// The text form written into `raw_*` and summary JSON (`1234` → `"12.34"`).
pub fn cents_text(cents: i64) -> String {
    from_cents(cents).to_string()
}

/// `base × percent / 100`, rounded to a minor unit, half away from zero.
pub fn percent_of(base: i64, percent: Decimal) -> Result<i64, CommandError> {
    (Decimal::from(base) * percent / Decimal::from(100))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .ok_or_else(|| CommandError::invalid("lines", "amounts are too large"))
}

/// `a × b` with overflow reported as an invalid command.
pub fn mul(a: i64, b: i64, field: &str) -> Result<i64, CommandError> {
    a.checked_mul(b)
        .filter(|v| *v <= MAX_CENTS * 1000)
        .ok_or_else(|| CommandError::invalid(field, "amount is too large"))
}

/// `a + b` with overflow reported as an invalid command.
pub fn add(a: i64, b: i64) -> Result<i64, CommandError> {
    a.checked_add(b)
        .ok_or_else(|| CommandError::invalid("lines", "amounts are too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn cents_round_trip() {
        assert_eq!(to_cents(d("12.34"), "x").ok(), Some(1234));
        assert_eq!(to_cents(d("12.3400"), "x").ok(), Some(1234));
        assert_eq!(to_cents(d("0"), "x").ok(), Some(0));
        assert!(to_cents(d("12.345"), "x").is_err());
        assert!(to_cents(d("-1"), "x").is_err());
        assert_eq!(cents_text(1234), "12.34");
        assert_eq!(cents_text(5), "0.05");
        assert_eq!(cents_text(0), "0.00");
    }

    #[test]
    fn tax_matches_the_seed() {
        // The seed: ((subtotal − discount) × basis points + 5000) / 10000.
        for (base, bp) in [
            (1999i64, 825i64),
            (4998, 700),
            (2249, 2000),
            (1, 5000),
            (3, 5000),
        ] {
            let seed = (base * bp + 5_000) / 10_000;
            let percent = Decimal::new(bp, 2);
            assert_eq!(
                percent_of(base, percent).ok(),
                Some(seed),
                "{base} at {percent}%"
            );
        }
    }
}
