//! Types shared by the orders and products models: money, addresses, tax lines, and Shopify's
//! enums (kept open: a value a newer API version adds arrives as `Other`, it does not fail the
//! line).

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Gid;

/// Declares an enum over Shopify's `SCREAMING_CASE` strings with an `Other(String)` fallback.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $s:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know (a newer API version); kept verbatim.
            Other(String),
        }

        impl $name {
            /// Shopify's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $s,)+
                    Self::Other(s) => s,
                }
            }

            /// Parses Shopify's spelling, in any letter case (webhooks send lower case).
            pub fn parse(s: &str) -> Self {
                let upper = s.to_ascii_uppercase();
                match upper.as_str() {
                    $($s => Self::$variant,)+
                    _ => Self::Other(s.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Ok(Self::parse(&s))
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// `Order.displayFinancialStatus`.
    pub enum FinancialStatus {
        /// Payment pending.
        Pending => "PENDING",
        /// Authorized, not captured.
        Authorized => "AUTHORIZED",
        /// Partially paid.
        PartiallyPaid => "PARTIALLY_PAID",
        /// Paid.
        Paid => "PAID",
        /// Partially refunded.
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        /// Refunded.
        Refunded => "REFUNDED",
        /// Voided.
        Voided => "VOIDED",
        /// The authorization expired.
        Expired => "EXPIRED",
    }
}

string_enum! {
    /// `Order.displayFulfillmentStatus`.
    pub enum FulfillmentStatus {
        /// Nothing shipped.
        Unfulfilled => "UNFULFILLED",
        /// Some items shipped.
        PartiallyFulfilled => "PARTIALLY_FULFILLED",
        /// Everything shipped.
        Fulfilled => "FULFILLED",
        /// Items restocked.
        Restocked => "RESTOCKED",
        /// Waiting for a fulfillment service.
        PendingFulfillment => "PENDING_FULFILLMENT",
        /// Open.
        Open => "OPEN",
        /// Being fulfilled.
        InProgress => "IN_PROGRESS",
        /// On hold.
        OnHold => "ON_HOLD",
        /// Scheduled.
        Scheduled => "SCHEDULED",
        /// The fulfillment service declined.
        RequestDeclined => "REQUEST_DECLINED",
    }
}

string_enum! {
    /// `Product.status`.
    pub enum ProductStatus {
        /// On sale.
        Active => "ACTIVE",
        /// No longer sold.
        Archived => "ARCHIVED",
        /// Not yet published.
        Draft => "DRAFT",
        /// Reachable by URL but not listed.
        Unlisted => "UNLISTED",
    }
}

/// An amount in the shop's currency: `shopMoney` of a Shopify `MoneyBag` (`…Set` fields). The
/// presentment currency is not fetched: the sync books in the shop currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount (Shopify sends a decimal string, kept exact).
    pub amount: Decimal,
    /// ISO 4217 code (`USD`).
    pub currency_code: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyBag<T> {
    shop_money: T,
}

/// `#[serde(with)]` for a `MoneyBag` field read as its `shopMoney`.
pub(crate) mod money_bag {
    use super::*;

    pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyBag { shop_money: money }.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        Ok(MoneyBag::<Money>::deserialize(deserializer)?.shop_money)
    }
}

/// `#[serde(with)]` for a nullable `MoneyBag` field.
pub(crate) mod opt_money_bag {
    use super::*;

    pub fn serialize<S: Serializer>(
        money: &Option<Money>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        money
            .as_ref()
            .map(|m| MoneyBag { shop_money: m })
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Money>, D::Error> {
        Ok(Option::<MoneyBag<Money>>::deserialize(deserializer)?.map(|b| b.shop_money))
    }
}

/// Deserializes `null` as the type's default (Shopify sends `null` for some empty lists).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A `MailingAddress` (shipping or billing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Full name.
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street line 1.
    pub address1: Option<String>,
    /// Street line 2.
    pub address2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Province or state name.
    pub province: Option<String>,
    /// Province or state code.
    pub province_code: Option<String>,
    /// Country name.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(rename = "countryCodeV2")]
    pub country_code: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A tax line (`TaxLine`) of an order or a line item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLine {
    /// The tax's name (`VAT`, `State Tax`).
    pub title: String,
    /// The rate as a fraction (0.2 for 20 %).
    pub rate: Option<Decimal>,
    /// The rate in percent.
    pub rate_percentage: Option<Decimal>,
    /// The amount of tax.
    #[serde(rename = "priceSet", with = "money_bag")]
    pub price: Money,
}

/// A reference to another object by its id (`customer { id }`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Its GID.
    pub id: Gid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_known_values_any_case_and_keep_unknown_ones() {
        assert_eq!(FinancialStatus::parse("PAID"), FinancialStatus::Paid);
        assert_eq!(ProductStatus::parse("archived"), ProductStatus::Archived);
        let other: FulfillmentStatus = serde_json::from_str("\"TELEPORTED\"").unwrap();
        assert_eq!(other, FulfillmentStatus::Other("TELEPORTED".into()));
        assert_eq!(other.as_str(), "TELEPORTED");
        assert_eq!(
            serde_json::to_string(&FinancialStatus::PartiallyRefunded).unwrap(),
            "\"PARTIALLY_REFUNDED\""
        );
    }

    #[test]
    fn money_reads_shop_money_exactly() {
        #[derive(Deserialize, Serialize)]
        struct T {
            #[serde(with = "money_bag")]
            m: Money,
            #[serde(with = "opt_money_bag", default)]
            n: Option<Money>,
        }
        let t: T = serde_json::from_str(
            r#"{"m":{"shopMoney":{"amount":"19.90","currencyCode":"EUR"}},"n":null}"#,
        )
        .unwrap();
        assert_eq!(t.m.amount, Decimal::new(1990, 2));
        assert_eq!(t.m.currency_code, "EUR");
        assert_eq!(t.n, None);
        let back = serde_json::to_string(&t).unwrap();
        assert!(
            back.contains(r#""m":{"shopMoney":{"amount":"19.90","currencyCode":"EUR"}}"#),
            "{back}"
        );
    }

    #[test]
    fn tax_rate_floats_become_exact_decimals() {
        let line: TaxLine = serde_json::from_str(
            r#"{"title":"VAT","rate":0.2,"ratePercentage":20.0,"priceSet":{"shopMoney":{"amount":"2.0","currencyCode":"EUR"}}}"#,
        )
        .unwrap();
        assert_eq!(line.rate, Some(Decimal::new(2, 1)));
        assert_eq!(line.rate_percentage, Some(Decimal::new(20, 0)));
    }
}
