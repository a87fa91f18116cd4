//! Validated scalar values carried by events: prefixed uids, the event id, codes, hashes and money.
//!
//! Each type checks its text once, when it is built or deserialized, so a value held in an event is
//! known to be well formed and downstream code (the log, the lake writer) never re-checks it. Each
//! also publishes its rule as a JSON Schema `pattern`, so the schema files and this code agree.

use std::{borrow::Cow, fmt, str::FromStr};

use rust_decimal::Decimal;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A value that does not have the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got `{got}`")]
pub struct InvalidValue {
    /// What was expected, in words.
    pub expected: &'static str,
    /// The offending text, shortened to a readable length.
    pub got: String,
}

impl InvalidValue {
    pub(crate) fn new(expected: &'static str, got: &str) -> Self {
        Self {
            expected,
            got: snippet(got, 80),
        }
    }
}

/// Shortens untrusted text before it is echoed in an error, so a huge value cannot bloat a reply.
pub(crate) fn snippet(s: &str, max_chars: usize) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// True for the canonical text of a ULID: 26 upper-case Crockford base32 characters, the form the
/// domain schema's `uid` CHECKs accept (`[0-9A-HJKMNP-TV-Z]{26}`).
pub(crate) fn is_ulid_text(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| ULID_ALPHABET[usize::from(b)])
}

/// Crockford base 32 upper case, as a table: every uid of every event is checked on ingest and
/// again when the pipeline decodes it, and a lookup is several times cheaper than the ranges.
const ULID_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(
            b as u8,
            b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'T' | b'V'..=b'Z'
        );
        b += 1;
    }
    table
};

/// Defines a `String` newtype that can only hold text passing `check`, with serde and JSON Schema
/// support that share the same rule.
macro_rules! validated_string {
    (
        $(#[$meta:meta])*
        $name:ident,
        pattern = $pattern:expr,
        expected = $expected:expr,
        check = $check:expr $(,)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The JSON Schema (ECMA 262) pattern of the accepted text.
            pub const PATTERN: &'static str = $pattern;
            /// What the accepted text looks like, in words (used in error messages).
            pub const EXPECTED: &'static str = $expected;

            /// Checks `text` and wraps it.
            pub fn parse(text: &str) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> bool = $check;
                if check(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(InvalidValue::new(Self::EXPECTED, text))
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<'de, str>::deserialize(deserializer)?;
                Self::parse(&text).map_err(de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": Self::PATTERN,
                    "description": Self::EXPECTED,
                })
            }
        }
    };
}

/// Defines the uid type of one domain table: its prefix, then a ULID, as the table's CHECK says.
macro_rules! uid_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $table:literal) => {
        validated_string!(
            $(#[$meta])*
            $name,
            pattern = concat!("^", $prefix, "_[0-9A-HJKMNP-TV-Z]{26}$"),
            expected = concat!(
                "a ", $table, " uid: `", $prefix, "_` followed by a 26-character upper-case ULID"
            ),
            check = |s: &str| s.strip_prefix(concat!($prefix, "_")).is_some_and(is_ulid_text),
        );

        impl $name {
            /// The uid prefix (without the underscore), as in the table's CHECK constraint.
            pub const PREFIX: &'static str = $prefix;
            /// The domain table whose rows this uid names.
            pub const TABLE: &'static str = $table;
        }
    };
}

uid_type!(
    /// Names an `order_header` row.
    OrderUid, "ord", "order_header"
);
uid_type!(
    /// Names an `order_line_item` row.
    OrderLineItemUid, "ordli", "order_line_item"
);
uid_type!(
    /// Names a `store` row.
    StoreUid, "sto", "store"
);
uid_type!(
    /// Names a `customer` row.
    CustomerUid, "cus", "customer"
);
uid_type!(
    /// Names a `region` row.
    RegionUid, "reg", "region"
);
uid_type!(
    /// Names a `sales_channel` row.
    SalesChannelUid, "sc", "sales_channel"
);
uid_type!(
    /// Names a `product` row.
    ProductUid, "prd", "product"
);
uid_type!(
    /// Names a `product_variant` row.
    VariantUid, "var", "product_variant"
);
uid_type!(
    /// Names a `payment` row.
    PaymentUid, "pay", "payment"
);
uid_type!(
    /// Names a `fulfillment` row.
    FulfillmentUid, "ful", "fulfillment"
);
uid_type!(
    /// Names a `stock_location` row.
    StockLocationUid, "sloc", "stock_location"
);
uid_type!(
    /// Names a `return_request` row.
    ReturnUid, "ret", "return_request"
);
uid_type!(
    /// Names a `publisher` row.
    PublisherUid, "pub", "publisher"
);
uid_type!(
    /// Names a `publication` row.
    PublicationUid, "pubi", "publication"
);
uid_type!(
    /// Names a `referral` row.
    ReferralUid, "rfl", "referral"
);
uid_type!(
    /// Names a `referral_link` row.
    ReferralLinkUid, "rlnk", "referral_link"
);
uid_type!(
    /// Names a `telemetry_source` row.
    TelemetrySourceUid, "tsrc", "telemetry_source"
);

validated_string!(
    /// The id of one event, `evt_` + ULID: the idempotency key of the log, minted by the emitter
    /// (or by the ingest endpoint when a client sends none) and never reused.
    EventId,
    pattern = "^evt_[0-9A-HJKMNP-TV-Z]{26}$",
    expected = "an event id: `evt_` followed by a 26-character upper-case ULID",
    check = |s: &str| s.strip_prefix("evt_").is_some_and(is_ulid_text),
);

impl EventId {
    /// A fresh id. ULIDs sort by creation time, so ids minted later sort later.
    pub fn mint() -> Self {
        Self(format!("evt_{}", ulid::Ulid::new()))
    }
}

validated_string!(
    /// Who emitted an event, e.g. `strata-domain`, `strata-sync` or `partner:pub_…`: printable ASCII
    /// without spaces, so it is safe as a partition or filter value.
    EventSource,
    pattern = "^[!-~]{1,128}$",
    expected = "an event source: 1 to 128 printable ASCII characters without spaces",
    check = |s: &str| (1..=128).contains(&s.len()) && s.bytes().all(|b| (b'!'..=b'~').contains(&b)),
);

impl EventSource {
    /// The source of events emitted by a partner (publisher) through the ingest endpoint.
    pub fn partner(publisher: &PublisherUid) -> Self {
        Self(format!("partner:{publisher}"))
    }
}

validated_string!(
    /// An ISO 4217 currency code in lower case, as the domain schema stores it (`usd`, `eur`).
    CurrencyCode,
    pattern = "^[a-z]{3}$",
    expected = "an ISO 4217 currency code in lower case, e.g. `usd`",
    check = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase()),
);

validated_string!(
    /// An ISO 3166-1 alpha-2 country code in lower case, as the domain schema stores it (`us`).
    CountryCode,
    pattern = "^[a-z]{2}$",
    expected = "an ISO 3166-1 alpha-2 country code in lower case, e.g. `us`",
    check = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase()),
);

validated_string!(
    /// A SHA-256 digest in lower-case hex. Used for session keys so the raw key (a cookie or
    /// device id) never reaches the lake.
    Sha256Hex,
    pattern = "^[0-9a-f]{64}$",
    expected = "a SHA-256 digest as 64 lower-case hex digits",
    check = |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
);

validated_string!(
    /// The kind of an engagement event (`like`, `share`, `scroll_depth`, `video_progress`, …): an
    /// open vocabulary, kept to snake_case tokens so it groups cleanly in queries.
    EngagementKind,
    pattern = "^[a-z][a-z0-9_]{0,63}$",
    expected = "an engagement kind: a snake_case token of 1 to 64 characters, e.g. `video_progress`",
    check = |s: &str| {
        let b = s.as_bytes();
        (1..=64).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
    },
);

/// An exact, non-negative money amount with at most 4 decimal places and 16 integer digits: the
/// range of the domain's `NUMERIC(20,4)` columns, so every amount fits the lake's decimal column.
///
/// On the wire it is a decimal string (`"12.5000"`), never a JSON number, so no client or parser
/// can round it through a float. The scale given is kept (`"12.50"` stays `"12.50"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    /// The JSON Schema pattern of the wire form.
    pub const PATTERN: &'static str = r"^[0-9]{1,16}(\.[0-9]{1,4})?$";
    /// What the wire form looks like, in words.
    pub const EXPECTED: &'static str = "an exact non-negative decimal string with at most 16 integer digits and 4 decimals, e.g. \"12.5000\"";
    const MAX_SCALE: u32 = 4;

    /// Zero.
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Wraps `value` if it is non-negative and fits `NUMERIC(20,4)`.
    pub fn new(value: Decimal) -> Result<Self, InvalidValue> {
        let fits = value >= Decimal::ZERO
            && value.scale() <= Self::MAX_SCALE
            && value.trunc() < Decimal::from(10_000_000_000_000_000_i64);
        if fits {
            Ok(Self(value))
        } else {
            Err(InvalidValue::new(Self::EXPECTED, &value.to_string()))
        }
    }

    /// Parses the wire form (a plain decimal string: no sign, exponent or spaces).
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue::new(Self::EXPECTED, text);
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (text, None),
        };
        let digits = |s: &str, max: usize| {
            (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(int, 16) || frac.is_some_and(|f| !digits(f, 4)) {
            return Err(invalid());
        }
        Decimal::from_str_exact(text)
            .map(Self)
            .map_err(|_| invalid())
    }

    /// The amount.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Amount {
    type Error = InvalidValue;
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl FromStr for Amount {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(Amount::EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": Self::PATTERN,
            "description": Self::EXPECTED,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_check_prefix_and_ulid() {
        assert!(OrderUid::parse("ord_01HZX3J5Q6W2B7C8D9E0F1G2H3").is_ok());
        assert!(OrderUid::parse("ordli_01HZX3J5Q6W2B7C8D9E0F1G2H3").is_err());
        assert!(OrderUid::parse("ord_01hzx3j5q6w2b7c8d9e0f1g2h3").is_err());
        assert!(OrderUid::parse("ord_01HZX3J5Q6W2B7C8D9E0F1G2HI").is_err());
        assert!(OrderUid::parse("ord_").is_err());
    }

    #[test]
    fn minted_event_ids_are_valid() {
        let id = EventId::mint();
        assert!(EventId::parse(id.as_str()).is_ok(), "{id}");
    }

    #[test]
    fn amounts_are_exact_and_bounded() {
        assert_eq!(
            Amount::parse("12.50").map(|a| a.to_string()),
            Ok("12.50".to_owned())
        );
        assert!(Amount::parse("0").is_ok());
        for bad in [
            "-1",
            "1e3",
            "1.23456",
            "",
            ".5",
            "5.",
            " 5",
            "12345678901234567",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Amount::new(Decimal::new(-1, 0)).is_err());
    }
}
