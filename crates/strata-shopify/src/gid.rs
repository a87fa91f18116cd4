//! Shopify's global IDs (`gid://shopify/Order/123`): the resource type and the numeric id the
//! database keys on, parsed once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const PREFIX: &str = "gid://shopify/";

/// A Shopify global ID such as `gid://shopify/Order/5012345678901`: its resource type
/// ([`Gid::kind`]) and numeric id ([`Gid::id`]). Serializes as the GID string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gid {
    raw: String,
    kind_end: usize,
    id: u64,
}

/// A string that is not a Shopify GID with a numeric id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{raw:?} is not a Shopify GID (gid://shopify/Type/123): {reason}")]
pub struct GidError {
    /// The string, truncated to 120 characters.
    pub raw: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Gid {
    /// Builds `gid://shopify/{kind}/{id}`.
    pub fn new(kind: &str, id: u64) -> Self {
        let raw = format!("{PREFIX}{kind}/{id}");
        Self {
            kind_end: PREFIX.len() + kind.len(),
            raw,
            id,
        }
    }

    /// Parses a GID; query parameters after the id (`?…`) are kept in the string but ignored.
    pub fn parse(raw: &str) -> Result<Self, GidError> {
        let err = |reason| GidError {
            raw: raw.chars().take(120).collect(),
            reason,
        };
        let rest = raw
            .strip_prefix(PREFIX)
            .ok_or_else(|| err("it does not start with gid://shopify/"))?;
        let (kind, id_part) = rest
            .split_once('/')
            .ok_or_else(|| err("no '/' between the type and the id"))?;
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(err("the type is empty or not alphanumeric"));
        }
        let digits = id_part.split_once('?').map_or(id_part, |(d, _)| d);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("the id is not a number"));
        }
        let id = digits
            .parse()
            .map_err(|_| err("the id does not fit in 64 bits"))?;
        Ok(Self {
            raw: raw.to_owned(),
            kind_end: PREFIX.len() + kind.len(),
            id,
        })
    }

    /// The resource type: `Order`, `LineItem`, `Product`, `BulkOperation`…
    pub fn kind(&self) -> &str {
        &self.raw[PREFIX.len()..self.kind_end]
    }

    /// The numeric id (what `order_header` keys on).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The GID string, as Shopify sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this is a GID of resource type `kind`.
    pub fn is(&self, kind: &str) -> bool {
        self.kind() == kind
    }
}

impl fmt::Display for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gid({})", self.raw)
    }
}

impl FromStr for Gid {
    type Err = GidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Gid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Gid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kind_and_numeric_id() {
        let gid = Gid::parse("gid://shopify/Order/5012345678901").unwrap();
        assert_eq!(gid.kind(), "Order");
        assert_eq!(gid.id(), 5_012_345_678_901);
        assert!(gid.is("Order"));
        assert_eq!(gid.to_string(), "gid://shopify/Order/5012345678901");
        assert_eq!(gid, Gid::new("Order", 5_012_345_678_901));
    }

    #[test]
    fn ignores_query_parameters_after_the_id() {
        let gid = Gid::parse("gid://shopify/LineItem/42?inventory_item=7").unwrap();
        assert_eq!((gid.kind(), gid.id()), ("LineItem", 42));
        assert_eq!(gid.as_str(), "gid://shopify/LineItem/42?inventory_item=7");
    }

    #[test]
    fn rejects_what_is_not_a_numeric_shopify_gid() {
        for bad in [
            "",
            "123",
            "gid://shopify/Order",
            "gid://shopify//1",
            "gid://shopify/Order/",
            "gid://shopify/Order/abc",
            "gid://shopify/Order/-1",
            "gid://other/Order/1",
            "gid://shopify/Order/99999999999999999999999",
        ] {
            assert!(Gid::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn serde_round_trip_as_a_string() {
        let gid: Gid = serde_json::from_str("\"gid://shopify/Product/7\"").unwrap();
        assert_eq!(gid.id(), 7);
        assert_eq!(
            serde_json::to_string(&gid).unwrap(),
            "\"gid://shopify/Product/7\""
        );
        let err = serde_json::from_str::<Gid>("\"gid://shopify/Product/x\"").unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");
    }
}
