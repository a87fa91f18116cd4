//! The audit trail: one `audit_event` row per create, update, delete, status change, login or
//! revocation. [`record`] takes any client, so a write and its audit row share one transaction.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};
use tokio_postgres::GenericClient;
use ulid::Ulid;

use crate::db::pg_reason;
use crate::identity::Caller;

/// What was done (`audit_event.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Create,
    Update,
    /// A move to the terminal phase.
    Delete,
    /// A phase or condition change.
    Status,
    Login,
    Revoke,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Status => "status",
            AuditAction::Login => "login",
            AuditAction::Revoke => "revoke",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audited action. Build it with [`AuditRecord::new`] (or [`AuditRecord::by`] for an
/// authenticated caller) and set the optional fields.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Principal who acted; `None` for anonymous attempts and operator commands.
    pub actor_principal_uid: Option<String>,
    /// API key used to authenticate the action, if any.
    pub api_key_uid: Option<String>,
    pub action: AuditAction,
    /// Table of the affected row, e.g. `order_header`.
    pub target_table: String,
    /// uid of the affected row, e.g. `ord_01J…`.
    pub target_key: String,
    /// The API request or workflow step, to correlate with logs.
    pub request_id: Option<String>,
    /// An object, conventionally `{"before": {…}, "after": {…}}` of the changed columns.
    /// `Null` is stored as `{}`; `key_hash` members are removed wherever they appear.
    pub change: Value,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl AuditRecord {
    pub fn new(
        action: AuditAction,
        target_table: impl Into<String>,
        target_key: impl Into<String>,
    ) -> Self {
        Self {
            actor_principal_uid: None,
            api_key_uid: None,
            action,
            target_table: target_table.into(),
            target_key: target_key.into(),
            request_id: None,
            change: Value::Object(Map::new()),
            ip_address: None,
            user_agent: None,
        }
    }

    /// A record whose actor is `caller` (its principal and, if any, its key).
    pub fn by(
        caller: &Caller,
        action: AuditAction,
        target_table: impl Into<String>,
        target_key: impl Into<String>,
    ) -> Self {
        let mut rec = Self::new(action, target_table, target_key);
        rec.actor_principal_uid = Some(caller.principal_uid.clone());
        rec.api_key_uid = caller.key_uid.clone();
        rec
    }
}

/// Why an audit row was not written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("invalid audit record: {0}")]
    Invalid(String),
    #[error("cannot write audit_event: {0}")]
    Postgres(String),
}

impl From<tokio_postgres::Error> for AuditError {
    fn from(e: tokio_postgres::Error) -> Self {
        AuditError::Postgres(pg_reason(&e))
    }
}

/// `^[a-z][a-z0-9_]*$`
fn valid_table(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$`: a prefixed ULID.
fn valid_key(s: &str) -> bool {
    let Some((prefix, ulid)) = s.rsplit_once('_') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && ulid.len() == 26
        && ulid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// Drop `key_hash` members anywhere in the change: hashes stay out of the trail.
fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("key_hash");
            map.values_mut().for_each(redact);
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Insert `rec` into `audit_event` and return the new row's uid (`aud_…`). Run it on the
/// transaction of the write it records, so both commit or neither does.
pub async fn record<C: GenericClient>(client: &C, rec: AuditRecord) -> Result<String, AuditError> {
    if !valid_table(&rec.target_table) {
        return Err(AuditError::Invalid(format!(
            "target_table {:?} is not a table name",
            rec.target_table
        )));
    }
    if !valid_key(&rec.target_key) {
        return Err(AuditError::Invalid(format!(
            "target_key {:?} is not a uid like ord_01J…",
            rec.target_key
        )));
    }
    let mut change = match rec.change {
        Value::Null => Value::Object(Map::new()),
        v @ Value::Object(_) => v,
        other => {
            return Err(AuditError::Invalid(format!(
                "change must be a JSON object, got {other}"
            )));
        }
    };
    redact(&mut change);
    let uid = format!("aud_{}", Ulid::new());
    client
        .execute(
            "INSERT INTO audit_event (uid, actor_principal_uid, api_key_uid, action, target_table, \
             target_key, request_id, change, ip_address, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &uid,
                &rec.actor_principal_uid,
                &rec.api_key_uid,
                &rec.action.as_str(),
                &rec.target_table,
                &rec.target_key,
                &rec.request_id,
                &change,
                &rec.ip_address,
                &rec.user_agent,
            ],
        )
        .await?;
    Ok(uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_key_checks_follow_the_ddl() {
        assert!(valid_table("order_header"));
        assert!(valid_table("a1"));
        assert!(!valid_table("Order"));
        assert!(!valid_table("1abc"));
        assert!(!valid_table(""));
        assert!(valid_key("ord_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(valid_key(&format!("key_{}", Ulid::new())));
        assert!(!valid_key("ord_01ARZ3NDEKTSV4RRFFQ69G5FA"));
        assert!(!valid_key("ord_01ARZ3NDEKTSV4RRFFQ69G5FAI"));
        assert!(!valid_key("_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!valid_key("Ord_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!valid_key("order_header_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    }

    #[test]
    fn hashes_are_redacted() {
        let mut v = serde_json::json!({"after": {"key_hash": "ab", "name": "n"}, "list": [{"key_hash": 1}]});
        redact(&mut v);
        assert_eq!(v, serde_json::json!({"after": {"name": "n"}, "list": [{}]}));
    }
}
