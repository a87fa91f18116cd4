//! Where the client connects and with what credentials: from code ([`ShopifyConfig::new`]) or
//! from the environment ([`ShopifyConfig::from_env`]).
//!
//! | variable | required | meaning |
//! | --- | --- | --- |
//! | `SHOPIFY_SHOP` | yes | the shop: `my-shop`, `my-shop.myshopify.com` or its `https://` URL |
//! | `SHOPIFY_ADMIN_TOKEN` | yes | the Admin API access token (`shpat_…`), sent as `X-Shopify-Access-Token` |
//! | `SHOPIFY_API_VERSION` | no | `YYYY-MM` or `unstable`; default [`DEFAULT_API_VERSION`] |
//! | `SHOPIFY_WEBHOOK_SECRET` | no | the app's client secret, which signs webhooks |
//! | `SHOPIFY_BASE_URL` | no | replaces `https://{shop}.myshopify.com` (the stand-in: `http://127.0.0.1:PORT`) |
//! | `SHOPIFY_TIMEOUT_SECS` | no | timeout of one GraphQL request; default 30 |
//! | `SHOPIFY_MAX_RETRIES` | no | retries after a 5xx or a network error; default 5 |
//!
//! Secrets are held in [`Secret`], whose `Debug` prints `***`: a config can be logged whole.

use std::fmt;
use std::time::Duration;

use url::Url;

/// The Admin API version used when none is configured. Shopify serves each version for about a
/// year; `bulkOperationRunQuery`'s `userErrors { code }` needs 2025-01 or later.
pub const DEFAULT_API_VERSION: &str = "2025-07";

/// A credential (access token, webhook secret). `Debug` prints `***` and there is no `Display`,
/// so it cannot leak through a log line or an error message; [`Secret::expose`] is the one way
/// to read it, at the place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the header or the HMAC key that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty (an empty token or secret is never valid).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How the client retries: 5xx answers and network errors (timeouts included) with exponential
/// backoff, and throttled answers after the wait the cost bucket asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after a 5xx or a network error (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it (with jitter), up to `max_delay`.
    pub base_delay: Duration,
    /// The longest backoff between two attempts.
    pub max_delay: Duration,
    /// How many `THROTTLED` answers in a row one call accepts before giving up.
    pub max_throttled: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(15),
            max_throttled: 30,
        }
    }
}

/// Everything [`crate::AdminClient`] needs to talk to one shop.
#[derive(Clone, Debug)]
pub struct ShopifyConfig {
    /// The shop's handle (`my-shop`) or domain (`my-shop.myshopify.com`).
    pub shop: String,
    /// The Admin API access token, sent as `X-Shopify-Access-Token`.
    pub access_token: Secret,
    /// `YYYY-MM` or `unstable`.
    pub api_version: String,
    /// Replaces `https://{shop}.myshopify.com` (tests and demos: the stand-in's URL).
    pub base_url: Option<Url>,
    /// The app's client secret, which signs webhooks (only the webhook receiver needs it).
    pub webhook_secret: Option<Secret>,
    /// The timeout of one GraphQL request (downloads have no overall timeout, only a read one).
    pub request_timeout: Duration,
    /// How long a download (or any answer) may stall without a byte before it is abandoned.
    pub download_read_timeout: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
}

/// A configuration that cannot be used, and what to set instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required environment variable is unset or empty.
    #[error("{var} is not set: {hint}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// The shop is not a myshopify handle or domain.
    #[error(
        "shop {value:?} is not a Shopify shop: give its handle (my-shop) or its myshopify domain (my-shop.myshopify.com)"
    )]
    InvalidShop {
        /// What was given.
        value: String,
    },
    /// The API version is not `YYYY-MM` or `unstable`.
    #[error(
        "API version {value:?} is not of the form YYYY-MM (for example {DEFAULT_API_VERSION}) or `unstable`"
    )]
    InvalidApiVersion {
        /// What was given.
        value: String,
    },
    /// The base URL does not parse or is not http(s).
    #[error("base URL {value:?} is not an http(s) URL: {reason}")]
    InvalidBaseUrl {
        /// What was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A numeric variable is not a number.
    #[error("{var}={value:?} is not a non-negative integer")]
    InvalidNumber {
        /// The variable.
        var: &'static str,
        /// What was given.
        value: String,
    },
}

impl ShopifyConfig {
    /// A configuration for `shop` with `access_token` and defaults for the rest.
    pub fn new(shop: impl Into<String>, access_token: impl Into<Secret>) -> Self {
        Self {
            shop: shop.into(),
            access_token: access_token.into(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            base_url: None,
            webhook_secret: None,
            request_timeout: Duration::from_secs(30),
            download_read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the API version.
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Points the client somewhere other than `https://{shop}.myshopify.com`.
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// Sets the webhook secret.
    pub fn with_webhook_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// Reads the configuration from the process environment (see the module doc for the
    /// variables).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads the configuration through `lookup` (the environment in [`Self::from_env`]; a map in
    /// tests, which cannot safely change the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let shop = get("SHOPIFY_SHOP").ok_or(ConfigError::Missing {
            var: "SHOPIFY_SHOP",
            hint: "the shop's handle or myshopify domain, e.g. my-shop.myshopify.com",
        })?;
        let token = get("SHOPIFY_ADMIN_TOKEN").ok_or(ConfigError::Missing {
            var: "SHOPIFY_ADMIN_TOKEN",
            hint: "the Admin API access token of the app installed on the shop (shpat_...)",
        })?;
        let mut config = Self::new(shop, token);
        if let Some(version) = get("SHOPIFY_API_VERSION") {
            config.api_version = version;
        }
        config.webhook_secret = get("SHOPIFY_WEBHOOK_SECRET").map(Secret::new);
        if let Some(base) = get("SHOPIFY_BASE_URL") {
            config.base_url = Some(parse_base_url(&base)?);
        }
        if let Some(secs) = get("SHOPIFY_TIMEOUT_SECS") {
            let secs = parse_number("SHOPIFY_TIMEOUT_SECS", &secs)?;
            config.request_timeout = Duration::from_secs(secs);
        }
        if let Some(retries) = get("SHOPIFY_MAX_RETRIES") {
            let retries = parse_number("SHOPIFY_MAX_RETRIES", &retries)?;
            config.retry.max_retries = u32::try_from(retries).unwrap_or(u32::MAX);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the shop, the API version and the base URL.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.base_url.is_none() {
            shop_domain(&self.shop)?;
        }
        validate_api_version(&self.api_version)?;
        if let Some(base) = &self.base_url {
            parse_base_url(base.as_str())?;
        }
        Ok(())
    }

    /// The GraphQL endpoint: `{base}/admin/api/{version}/graphql.json`, where base is
    /// `https://{shop}.myshopify.com` unless [`Self::base_url`] replaces it.
    pub fn graphql_endpoint(&self) -> Result<Url, ConfigError> {
        validate_api_version(&self.api_version)?;
        let base = match &self.base_url {
            Some(base) => base.clone(),
            None => {
                let domain = shop_domain(&self.shop)?;
                parse_base_url(&format!("https://{domain}"))?
            }
        };
        let path = format!(
            "{}/admin/api/{}/graphql.json",
            base.path().trim_end_matches('/'),
            self.api_version
        );
        let mut url = base;
        url.set_path(&path);
        url.set_query(None);
        Ok(url)
    }
}

/// `my-shop`, `my-shop.myshopify.com` or `https://my-shop.myshopify.com/` → the domain, which
/// identifies the shop wherever it is stored.
pub fn shop_domain(shop: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidShop {
        value: shop.to_owned(),
    };
    let trimmed = shop
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let handle = trimmed.strip_suffix(".myshopify.com").unwrap_or(&trimmed);
    let valid = !handle.is_empty()
        && handle.len() <= 100
        && !handle.starts_with('-')
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(format!("{handle}.myshopify.com"))
    } else {
        Err(invalid())
    }
}

fn validate_api_version(version: &str) -> Result<(), ConfigError> {
    let b = version.as_bytes();
    let dated = b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit);
    if dated || version == "unstable" {
        Ok(())
    } else {
        Err(ConfigError::InvalidApiVersion {
            value: version.to_owned(),
        })
    }
}

fn parse_base_url(value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::InvalidBaseUrl {
        value: value.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::InvalidBaseUrl {
            value: value.to_owned(),
            reason: "the scheme must be http or https, with a host".to_owned(),
        });
    }
    Ok(url)
}

fn parse_number(var: &'static str, value: &str) -> Result<u64, ConfigError> {
    value.parse().map_err(|_| ConfigError::InvalidNumber {
        var,
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secret_debug_never_prints_the_value() {
        let config = ShopifyConfig::new("my-shop", "shpat_supersecret")
            .with_webhook_secret("whsec_alsosecret");
        let printed = format!("{config:?} {:?}", config.access_token);
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(!printed.contains("alsosecret"), "{printed}");
        assert!(printed.contains("***"));
    }

    #[test]
    fn endpoint_from_shop_handle_or_domain() {
        for shop in [
            "my-shop",
            "my-shop.myshopify.com",
            "https://My-Shop.myshopify.com/",
        ] {
            let config = ShopifyConfig::new(shop, "t").with_api_version("2025-01");
            assert_eq!(
                config.graphql_endpoint().unwrap().as_str(),
                "https://my-shop.myshopify.com/admin/api/2025-01/graphql.json"
            );
        }
    }

    #[test]
    fn base_url_overrides_the_shop_host() {
        let config = ShopifyConfig::new("whatever", "t")
            .with_base_url(Url::parse("http://127.0.0.1:4010").unwrap());
        assert_eq!(
            config.graphql_endpoint().unwrap().as_str(),
            format!("http://127.0.0.1:4010/admin/api/{DEFAULT_API_VERSION}/graphql.json")
        );
        let prefixed = ShopifyConfig::new("whatever", "t")
            .with_base_url(Url::parse("http://127.0.0.1:4010/shopify/").unwrap())
            .with_api_version("unstable");
        assert_eq!(
            prefixed.graphql_endpoint().unwrap().as_str(),
            "http://127.0.0.1:4010/shopify/admin/api/unstable/graphql.json"
        );
    }

    #[test]
    fn from_lookup_reads_every_variable() {
        let config = ShopifyConfig::from_lookup(lookup(&[
            ("SHOPIFY_SHOP", "my-shop"),
            ("SHOPIFY_ADMIN_TOKEN", "shpat_x"),
            ("SHOPIFY_API_VERSION", "2024-10"),
            ("SHOPIFY_WEBHOOK_SECRET", "s"),
            ("SHOPIFY_BASE_URL", "http://localhost:9"),
            ("SHOPIFY_TIMEOUT_SECS", "7"),
            ("SHOPIFY_MAX_RETRIES", "2"),
        ]))
        .unwrap();
        assert_eq!(config.access_token.expose(), "shpat_x");
        assert_eq!(config.api_version, "2024-10");
        assert_eq!(config.webhook_secret, Some(Secret::new("s")));
        assert_eq!(config.request_timeout, Duration::from_secs(7));
        assert_eq!(config.retry.max_retries, 2);
        assert_eq!(
            config.graphql_endpoint().unwrap().as_str(),
            "http://localhost:9/admin/api/2024-10/graphql.json"
        );
    }

    #[test]
    fn from_lookup_explains_what_is_missing_or_wrong() {
        let err = ShopifyConfig::from_lookup(lookup(&[("SHOPIFY_SHOP", "x")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "SHOPIFY_ADMIN_TOKEN",
                ..
            }
        ));
        let err = ShopifyConfig::from_lookup(lookup(&[
            ("SHOPIFY_SHOP", "not a shop!"),
            ("SHOPIFY_ADMIN_TOKEN", "t"),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidShop { .. }));
        let err = ShopifyConfig::from_lookup(lookup(&[
            ("SHOPIFY_SHOP", "shop"),
            ("SHOPIFY_ADMIN_TOKEN", "t"),
            ("SHOPIFY_API_VERSION", "latest"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("YYYY-MM"), "{err}");
    }
}
