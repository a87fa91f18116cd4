//! SSO proxy assertions: a signed JWT in a request header (Cloudflare Access sends
//! `Cf-Access-Jwt-Assertion`), verified against configured public keys (RS256 or ES256 on P-256,
//! given as PEM or as a JWK set) with issuer and audience checks. A valid assertion becomes a
//! [`Caller`] acting as a configured principal with configured scopes; the user's email (or
//! subject) is kept in [`Caller::subject`].
//!
//! Keys are configured, not fetched: when the proxy rotates its keys, update the configuration
//! (Cloudflare publishes them at `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::{AuthError, Caller, Scopes};

/// Header Cloudflare Access puts its assertion in.
pub const CLOUDFLARE_ACCESS_HEADER: &str = "Cf-Access-Jwt-Assertion";

/// Why an assertion configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtConfigError {
    #[error("SSO assertion key: {0}")]
    Key(String),
    #[error("SSO assertion configuration: {0}")]
    Config(String),
}

/// One public key assertions may be signed with.
#[derive(Clone)]
pub struct JwtKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl JwtKey {
    /// A public key in PEM: an RSA key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`) for RS256,
    /// or a P-256 EC key (`BEGIN PUBLIC KEY`) for ES256. Optionally named by `kid`.
    pub fn from_pem(pem: &str, kid: Option<&str>) -> Result<JwtKey, JwtConfigError> {
        if pem.contains("PRIVATE KEY") {
            return Err(JwtConfigError::Key(
                "this PEM holds a private key; configure the proxy's public key".into(),
            ));
        }
        let (alg, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem.as_bytes()) {
            // A P-256 point is 65 bytes uncompressed; P-384 would be 97.
            if key.try_get_as_bytes().map(<[u8]>::len).ok() != Some(65) {
                return Err(JwtConfigError::Key(
                    "only P-256 EC keys (ES256) are supported".into(),
                ));
            }
            (Algorithm::ES256, key)
        } else {
            return Err(JwtConfigError::Key(
                "not a PEM RSA or EC public key (expected -----BEGIN PUBLIC KEY-----)".into(),
            ));
        };
        Ok(JwtKey {
            kid: kid.map(str::to_string),
            alg,
            key,
        })
    }

    /// Every RS256 and ES256 (P-256) key of a JWK set (`{"keys": [...]}`, the format of
    /// Cloudflare's certs endpoint). Keys of other types are skipped; a set with none usable is
    /// an error.
    pub fn from_jwk_set(json: &str) -> Result<Vec<JwtKey>, JwtConfigError> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|e| JwtConfigError::Key(format!("not a JWK set: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let declared = jwk.common.key_algorithm;
            let alg = match (&jwk.algorithm, declared) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                    if p.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => {
                    tracing::debug!(kid = ?jwk.common.key_id, "skipping a JWK that is not RS256 or ES256");
                    continue;
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| {
                JwtConfigError::Key(format!(
                    "JWK {}: {e}",
                    jwk.common.key_id.as_deref().unwrap_or("(no kid)")
                ))
            })?;
            keys.push(JwtKey {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
            });
        }
        if keys.is_empty() {
            return Err(JwtConfigError::Key(
                "the JWK set has no RS256 or ES256 (P-256) key".into(),
            ));
        }
        Ok(keys)
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// How SSO assertions are checked and whom they act as.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    header: String,
    issuer: String,
    audiences: Vec<String>,
    keys: Vec<JwtKey>,
    scopes: Scopes,
    principal_uid: String,
    leeway: Duration,
}

/// The claims Strata reads; signature, `exp`, `nbf`, `iss` and `aud` are checked by the decoder.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// Cloudflare Access service tokens carry their client id here instead of an email.
    #[serde(default)]
    common_name: Option<String>,
}

impl JwtConfig {
    /// Accept assertions issued by `issuer` (e.g. `https://team.cloudflareaccess.com`) for one
    /// of `audiences` (the Access application's AUD tag), signed by one of `keys`. Callers act
    /// as `principal_uid` (a `prn_…` principal standing for the proxy's users) with `scopes`.
    pub fn new(
        issuer: impl Into<String>,
        audiences: Vec<String>,
        keys: Vec<JwtKey>,
        scopes: Scopes,
        principal_uid: impl Into<String>,
    ) -> Result<JwtConfig, JwtConfigError> {
        let issuer = issuer.into();
        let principal_uid = principal_uid.into();
        if issuer.trim().is_empty() {
            return Err(JwtConfigError::Config("the issuer is required".into()));
        }
        if audiences.iter().all(|a| a.trim().is_empty()) {
            return Err(JwtConfigError::Config(
                "at least one audience is required".into(),
            ));
        }
        if keys.is_empty() {
            return Err(JwtConfigError::Config(
                "at least one public key is required".into(),
            ));
        }
        if !principal_uid.starts_with("prn_") {
            return Err(JwtConfigError::Config(format!(
                "principal {principal_uid:?} is not a principal uid (prn_…)"
            )));
        }
        Ok(JwtConfig {
            header: CLOUDFLARE_ACCESS_HEADER.to_string(),
            issuer,
            audiences,
            keys,
            scopes,
            principal_uid,
            leeway: Duration::from_secs(60),
        })
    }

    /// Read the assertion from another header (default `Cf-Access-Jwt-Assertion`).
    pub fn with_header(mut self, header: impl Into<String>) -> Self {
        self.header = header.into();
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 60 s).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn header(&self) -> &str {
        &self.header
    }

    /// Verify one assertion. Every failure is [`AuthError::Invalid`].
    pub(crate) fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::Invalid);
        }
        let candidates = self.keys.iter().filter(|k| {
            k.alg == header.alg
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        });
        for key in candidates {
            let mut validation = Validation::new(key.alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&self.audiences);
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.validate_nbf = true;
            validation.leeway = self.leeway.as_secs();
            match decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    return Ok(Caller {
                        principal_uid: self.principal_uid.clone(),
                        key_uid: None,
                        scopes: self.scopes.clone(),
                        subject: c.email.or(c.common_name).or(c.sub),
                    });
                }
                // Another key (rotation without kids) may still match.
                Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "SSO assertion refused");
                    return Err(AuthError::Invalid);
                }
            }
        }
        Err(AuthError::Invalid)
    }
}
