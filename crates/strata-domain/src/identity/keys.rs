//! API keys: creation (the secret is returned once), listing and revocation.
//!
//! A secret looks like `sk_<prefix>_<body>`: `prefix` is 10 random lower-case alphanumerics,
//! stored in `api_key.key_prefix` to find the key (and shown in lists); `body` is 40 random
//! alphanumerics (about 238 bits) from a CSPRNG. Only the lower-case hex SHA-256 of the whole
//! secret is stored, in `api_key.key_hash`.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use ulid::Ulid;

use super::{Caller, IdentityError, Scopes};
use crate::audit::{self, AuditAction, AuditRecord};

/// Length of the random `key_prefix`.
pub const KEY_PREFIX_LEN: usize = 10;
/// Length of the random part of the secret after the prefix.
pub const SECRET_BODY_LEN: usize = 40;
/// Every secret starts with this.
pub const SECRET_TAG: &str = "sk_";

const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const BODY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Longest secret `split_secret` considers (ours are 54 characters).
const MAX_SECRET_LEN: usize = 256;
const MAX_NAME_LEN: usize = 200;

/// Lifecycle phase of a key (`api_key.status.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPhase {
    Active,
    Revoked,
    Expired,
}

impl KeyPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPhase::Active => "active",
            KeyPhase::Revoked => "revoked",
            KeyPhase::Expired => "expired",
        }
    }

    pub(crate) fn from_db(phase: &str) -> Option<KeyPhase> {
        match phase {
            "active" => Some(KeyPhase::Active),
            "revoked" => Some(KeyPhase::Revoked),
            "expired" => Some(KeyPhase::Expired),
            _ => None,
        }
    }

    /// The phase as it applies now: an `active` key past its `expires_ts` is [`KeyPhase::Expired`].
    pub(crate) fn effective(self, expires_ts: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (self, expires_ts) {
            (KeyPhase::Active, Some(exp)) if exp <= now => KeyPhase::Expired,
            (phase, _) => phase,
        }
    }
}

impl fmt::Display for KeyPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API key as lists show it. Never carries the hash or the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKeyInfo {
    pub uid: String,
    pub principal_uid: String,
    pub name: String,
    /// `key_prefix`: the part of the secret after `sk_`, enough to recognise it, not to use it.
    pub prefix: String,
    /// `api_key.scopes` as stored.
    pub scopes: Vec<String>,
    /// The effective phase: an `active` key past its expiry shows as `expired`.
    pub phase: KeyPhase,
    pub create_ts: DateTime<Utc>,
    pub last_used_ts: Option<DateTime<Utc>>,
    pub expires_ts: Option<DateTime<Utc>>,
}

/// What [`revoke_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The key after the call.
    pub key: ApiKeyInfo,
    /// False when the key was already revoked or expired (nothing was written).
    pub changed: bool,
}

const INFO_COLUMNS: &str = "uid, principal_uid, name, key_prefix, scopes, status ->> 'phase', \
                            create_ts, last_used_ts, expires_ts";

fn info_of(row: &Row, now: DateTime<Utc>) -> Result<ApiKeyInfo, IdentityError> {
    let scopes: Value = row.try_get(4)?;
    let scopes = scopes
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let phase: Option<String> = row.try_get(5)?;
    let phase = phase
        .as_deref()
        .and_then(KeyPhase::from_db)
        .ok_or_else(|| IdentityError::Corrupt(format!("api_key phase {phase:?}")))?;
    let expires_ts: Option<DateTime<Utc>> = row.try_get(8)?;
    Ok(ApiKeyInfo {
        uid: row.try_get(0)?,
        principal_uid: row.try_get(1)?,
        name: row.try_get(2)?,
        prefix: row.try_get(3)?,
        scopes,
        phase: phase.effective(expires_ts, now),
        create_ts: row.try_get(6)?,
        last_used_ts: row.try_get(7)?,
        expires_ts,
    })
}

/// Lower-case hex SHA-256 of a secret, as stored in `api_key.key_hash`.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `sk_<prefix>_<body>` → (`prefix`, `body`), or `None` when the text cannot be one of our keys.
pub fn split_secret(secret: &str) -> Option<(&str, &str)> {
    if secret.len() > MAX_SECRET_LEN {
        return None;
    }
    let rest = secret.strip_prefix(SECRET_TAG)?;
    let (prefix, body) = rest.split_once('_')?;
    let prefix_ok = (4..=24).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let body_ok = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric());
    (prefix_ok && body_ok).then_some((prefix, body))
}

fn random_string(alphabet: &[u8], len: usize) -> String {
    // ThreadRng is a CSPRNG (ChaCha12) seeded and periodically reseeded from the OS.
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// A fresh (prefix, secret) pair.
fn new_secret() -> (String, String) {
    let prefix = random_string(PREFIX_ALPHABET, KEY_PREFIX_LEN);
    let body = random_string(BODY_ALPHABET, SECRET_BODY_LEN);
    let secret = format!("{SECRET_TAG}{prefix}_{body}");
    (prefix, secret)
}

fn check_name(name: &str) -> Result<&str, IdentityError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(IdentityError::InvalidName(
            "the name is empty; name the key after what uses it, e.g. shopify-sync".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(IdentityError::InvalidName(format!(
            "the name is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(IdentityError::InvalidName(
            "the name contains control characters".into(),
        ));
    }
    Ok(name)
}

/// Create a service principal named `name` and an API key for it, in one transaction (a
/// savepoint when `client` is already a transaction), and record both in `audit_event` with no
/// actor. Returns the key and its secret, which is never stored and cannot be shown again.
pub async fn create_key<C: GenericClient>(
    client: &mut C,
    name: &str,
    scopes: &Scopes,
    expires_ts: Option<DateTime<Utc>>,
) -> Result<(ApiKeyInfo, String), IdentityError> {
    create_key_by(client, None, name, scopes, expires_ts).await
}

/// [`create_key`] on behalf of an authenticated caller, who is recorded as the audit actor.
pub async fn create_key_by<C: GenericClient>(
    client: &mut C,
    actor: Option<&Caller>,
    name: &str,
    scopes: &Scopes,
    expires_ts: Option<DateTime<Utc>>,
) -> Result<(ApiKeyInfo, String), IdentityError> {
    let name = check_name(name)?;
    let now = Utc::now();
    if let Some(exp) = expires_ts
        && exp <= now
    {
        return Err(IdentityError::ExpiryInPast(exp));
    }
    let scope_json = json!(scopes.to_strings());

    let tx = client.transaction().await?;
    let principal_uid = format!("prn_{}", Ulid::new());
    tx.execute(
        "INSERT INTO principal (uid, principal_type, display_name) VALUES ($1, 'service', $2)",
        &[&principal_uid, &name],
    )
    .await?;

    // A prefix collision (36^10 possibilities) is all but impossible; retry a few times anyway.
    let mut created = None;
    for _ in 0..4 {
        let (prefix, secret) = new_secret();
        let key_uid = format!("key_{}", Ulid::new());
        let row = tx
            .query_opt(
                &format!(
                    "INSERT INTO api_key (uid, principal_uid, name, key_prefix, key_hash, scopes, \
                     expires_ts) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT DO NOTHING RETURNING {INFO_COLUMNS}"
                ),
                &[
                    &key_uid,
                    &principal_uid,
                    &name,
                    &prefix,
                    &hash_secret(&secret),
                    &scope_json,
                    &expires_ts,
                ],
            )
            .await?;
        if let Some(row) = row {
            created = Some((info_of(&row, now)?, secret));
            break;
        }
    }
    let Some((info, secret)) = created else {
        return Err(IdentityError::PrefixCollision);
    };

    let (actor_principal, actor_key) = actor_of(actor);
    let mut rec = AuditRecord::new(AuditAction::Create, "principal", &principal_uid);
    rec.actor_principal_uid = actor_principal.clone();
    rec.api_key_uid = actor_key.clone();
    rec.change = json!({"after": {"principal_type": "service", "display_name": name}});
    audit::record(&tx, rec).await?;

    let mut rec = AuditRecord::new(AuditAction::Create, "api_key", &info.uid);
    rec.actor_principal_uid = actor_principal;
    rec.api_key_uid = actor_key;
    rec.change = json!({"after": {
        "principal_uid": info.principal_uid,
        "name": info.name,
        "key_prefix": info.prefix,
        "scopes": info.scopes,
        "expires_ts": info.expires_ts,
    }});
    audit::record(&tx, rec).await?;

    tx.commit().await?;
    Ok((info, secret))
}

fn actor_of(actor: Option<&Caller>) -> (Option<String>, Option<String>) {
    match actor {
        Some(c) => (Some(c.principal_uid.clone()), c.key_uid.clone()),
        None => (None, None),
    }
}

/// Every API key, oldest first. Hashes are never read.
pub async fn list_keys<C: GenericClient>(client: &C) -> Result<Vec<ApiKeyInfo>, IdentityError> {
    let now = Utc::now();
    client
        .query(
            &format!("SELECT {INFO_COLUMNS} FROM api_key ORDER BY create_ts, uid"),
            &[],
        )
        .await?
        .iter()
        .map(|row| info_of(row, now))
        .collect()
}

/// The key with this uid (`key_…`) or prefix, if any.
pub async fn find_key<C: GenericClient>(
    client: &C,
    uid_or_prefix: &str,
) -> Result<Option<ApiKeyInfo>, IdentityError> {
    let key = uid_or_prefix.trim();
    let row = client
        .query_opt(
            &format!("SELECT {INFO_COLUMNS} FROM api_key WHERE uid = $1 OR key_prefix = $1"),
            &[&key],
        )
        .await?;
    row.map(|r| info_of(&r, Utc::now())).transpose()
}

/// Revoke the key with this uid (`key_…`) or prefix: its phase becomes `revoked` and the
/// revocation is recorded in `audit_event`. Idempotent: a key already revoked (or expired) is
/// left alone. Verifiers notice within their cache TTL.
pub async fn revoke_key<C: GenericClient>(
    client: &mut C,
    uid_or_prefix: &str,
) -> Result<Revocation, IdentityError> {
    revoke_key_by(client, None, uid_or_prefix).await
}

/// [`revoke_key`] on behalf of an authenticated caller, who is recorded as the audit actor.
pub async fn revoke_key_by<C: GenericClient>(
    client: &mut C,
    actor: Option<&Caller>,
    uid_or_prefix: &str,
) -> Result<Revocation, IdentityError> {
    let key = uid_or_prefix.trim();
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            &format!(
                "SELECT {INFO_COLUMNS} FROM api_key WHERE uid = $1 OR key_prefix = $1 FOR UPDATE"
            ),
            &[&key],
        )
        .await?
        .ok_or_else(|| IdentityError::NotFound(key.to_string()))?;
    let before = info_of(&row, Utc::now())?;
    let stored_phase: Option<String> = row.try_get(5)?;
    if stored_phase.as_deref() != Some("active") {
        tx.commit().await?;
        return Ok(Revocation {
            key: before,
            changed: false,
        });
    }
    let row = tx
        .query_one(
            &format!(
                "UPDATE api_key SET status = jsonb_set(status, '{{phase}}', '\"revoked\"'), \
                 update_ts = now() WHERE uid = $1 RETURNING {INFO_COLUMNS}"
            ),
            &[&before.uid],
        )
        .await?;
    let after = info_of(&row, Utc::now())?;

    let (actor_principal, actor_key) = actor_of(actor);
    let mut rec = AuditRecord::new(AuditAction::Revoke, "api_key", &after.uid);
    rec.actor_principal_uid = actor_principal;
    rec.api_key_uid = actor_key;
    rec.change = json!({
        "before": {"status": {"phase": "active"}},
        "after": {"status": {"phase": "revoked"}},
    });
    audit::record(&tx, rec).await?;
    tx.commit().await?;
    Ok(Revocation {
        key: after,
        changed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shape() {
        let (prefix, secret) = new_secret();
        assert_eq!(prefix.len(), KEY_PREFIX_LEN);
        assert_eq!(
            secret.len(),
            SECRET_TAG.len() + KEY_PREFIX_LEN + 1 + SECRET_BODY_LEN
        );
        let (p, body) = split_secret(&secret).expect("our own secret splits");
        assert_eq!(p, prefix);
        assert_eq!(body.len(), SECRET_BODY_LEN);
        let (other, _) = new_secret();
        assert_ne!(prefix, other, "prefixes are random");
    }

    #[test]
    fn split_refuses_what_is_not_a_key() {
        for s in [
            "",
            "sk_",
            "sk_abc",
            "sk_abcdefgh_",
            "pk_abcdefgh_xyz",
            "sk_ab_xyz",
            "sk_abcdefgh_xy z",
            "sk_abc/efgh_xyz",
        ] {
            assert!(split_secret(s).is_none(), "{s:?}");
        }
        let long = format!("sk_abcdefgh_{}", "x".repeat(300));
        assert!(split_secret(&long).is_none());
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("  ").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(201)).is_err());
        assert_eq!(check_name(" shopify-sync ").unwrap(), "shopify-sync");
    }

    #[test]
    fn an_active_key_past_expiry_is_expired() {
        let now = Utc::now();
        let past = now - chrono::Duration::seconds(1);
        let future = now + chrono::Duration::days(1);
        assert_eq!(
            KeyPhase::Active.effective(Some(past), now),
            KeyPhase::Expired
        );
        assert_eq!(
            KeyPhase::Active.effective(Some(future), now),
            KeyPhase::Active
        );
        assert_eq!(KeyPhase::Active.effective(None, now), KeyPhase::Active);
        assert_eq!(
            KeyPhase::Revoked.effective(Some(past), now),
            KeyPhase::Revoked
        );
    }
}
