//! The audit trail: one `audit_event` row per create, update, delete, status change, login or
//! revocation. [`record`] takes any client, so a write and its audit row share one transaction.

use std::fmt;
use std::net::IpAddr;

use serde_json::{Map, Value};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;
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

/// The `audit_event` insert; `$1`…`$10` as [`CheckedRecord::params`] orders them.
pub(crate) const INSERT_SQL: &str = "INSERT INTO audit_event (uid, actor_principal_uid, \
     api_key_uid, action, target_table, target_key, request_id, change, ip_address, user_agent) \
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::jsonb, \
     $9::inet, $10::text)";

/// A record that passed the checks, with its minted uid: ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedRecord {
    pub uid: String,
    action: &'static str,
    rec: AuditRecord,
}

impl CheckedRecord {
    /// Checks `rec` (table name, uid-like key, object change), redacts key hashes, mints the uid.
    pub fn new(rec: AuditRecord) -> Result<Self, AuditError> {
        let mut rec = rec;
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
        rec.change = match std::mem::take(&mut rec.change) {
            Value::Null => Value::Object(Map::new()),
            v @ Value::Object(_) => v,
            other => {
                return Err(AuditError::Invalid(format!(
                    "change must be a JSON object, got {other}"
                )));
            }
        };
        redact(&mut rec.change);
        Ok(Self {
            uid: format!("aud_{}", Ulid::new()),
            action: rec.action.as_str(),
            rec,
        })
    }

    /// The parameters of [`INSERT_SQL`].
    pub fn params(&self) -> [&(dyn ToSql + Sync); 10] {
        let r = &self.rec;
        [
            &self.uid,
            &r.actor_principal_uid,
            &r.api_key_uid,
            &self.action,
            &r.target_table,
            &r.target_key,
            &r.request_id,
            &r.change,
            &r.ip_address,
            &r.user_agent,
        ]
    }
}

/// Insert `rec` into `audit_event` and return the new row's uid (`aud_…`). Run it on the
/// transaction of the write it records, so both commit or neither does.
pub async fn record<C: GenericClient>(client: &C, rec: AuditRecord) -> Result<String, AuditError> {
    let checked = CheckedRecord::new(rec)?;
    client.execute(INSERT_SQL, &checked.params()).await?;
    Ok(checked.uid)
}

/// Who runs a domain command, and through which request: what the command writes into its
/// `audit_event` row, inside its own transaction (see `crate::commands`). The command fills in
/// the action, the target row and the change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditContext {
    /// Principal who acted; `None` for operator commands.
    pub actor_principal_uid: Option<String>,
    /// API key used, if any.
    pub api_key_uid: Option<String>,
    /// The API request, to correlate with logs.
    pub request_id: Option<String>,
    pub ip_address: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl AuditContext {
    /// The context of an authenticated caller (its principal and, if any, its key).
    pub fn by(caller: &Caller) -> Self {
        Self {
            actor_principal_uid: Some(caller.principal_uid.clone()),
            api_key_uid: caller.key_uid.clone(),
            ..Self::default()
        }
    }

    /// The record of one action in this context.
    pub fn record(
        &self,
        action: AuditAction,
        target_table: impl Into<String>,
        target_key: impl Into<String>,
        change: Value,
    ) -> AuditRecord {
        AuditRecord {
            actor_principal_uid: self.actor_principal_uid.clone(),
            api_key_uid: self.api_key_uid.clone(),
            action,
            target_table: target_table.into(),
            target_key: target_key.into(),
            request_id: self.request_id.clone(),
            change,
            ip_address: self.ip_address,
            user_agent: self.user_agent.clone(),
        }
    }
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
