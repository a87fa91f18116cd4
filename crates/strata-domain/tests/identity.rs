//! Identity end to end on a real PostgreSQL server: API keys (create, verify, revoke, expiry,
//! what is stored), the verifier's cache and background `last_used_ts`, SSO assertions, and
//! `audit::record`. Each test gets a fresh database with the embedded schema applied.

mod common;

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use strata_domain::Database;
use strata_domain::audit::{self, AuditAction, AuditError, AuditRecord};
use strata_domain::identity::{
    self, AuthError, Caller, IdentityError, JwtConfig, JwtKey, KeyPhase, Scope, Scopes, Verb,
    Verifier, VerifierConfig,
};
use strata_schema::{SchemaSource, migrate};
use tempfile::TempDir;

use common::TestDb;

/// A fresh database on the local server with the schema applied.
async fn setup() -> (Database, TestDb, TempDir) {
    let (db, test_db, dir) = common::open_server().await;
    let mut client = db.client().await.expect("a connection");
    migrate::apply(&mut client, &SchemaSource::embedded(), |_, _, _| {})
        .await
        .expect("apply the embedded schema");
    drop(client);
    (db, test_db, dir)
}

fn scopes(list: &str) -> Scopes {
    Scopes::parse_list(list).expect("valid scopes")
}

fn verifier(ttl: Duration) -> Verifier {
    Verifier::new(VerifierConfig {
        cache_ttl: ttl,
        ..VerifierConfig::default()
    })
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

async fn new_key(db: &Database, name: &str, list: &str) -> (identity::ApiKeyInfo, String) {
    let mut client = db.client().await.expect("a connection");
    identity::create_key(&mut **client, name, &scopes(list), None)
        .await
        .expect("create a key")
}

async fn revoke(db: &Database, key: &str) -> Result<identity::Revocation, IdentityError> {
    let mut client = db.client().await.expect("a connection");
    identity::revoke_key(&mut **client, key).await
}

/// Run one statement on the test database.
async fn exec(db: &Database, sql: &str, key_uid: &str) {
    let client = db.client().await.expect("a connection");
    client.execute(sql, &[&key_uid]).await.expect(sql);
}

// ---------------------------------------------------------------------------------------------
// Scopes
// ---------------------------------------------------------------------------------------------

#[test]
fn scope_parsing_and_allows_table() {
    use Verb::{Read, Write};
    assert_eq!(Scope::parse("*").unwrap(), Scope::All);
    assert_eq!(Scope::parse("*:write").unwrap(), Scope::AnyModule(Write));
    let err = Scope::parse("orders:read").unwrap_err().to_string();
    assert!(
        err.contains("unknown module") && err.contains("order, cart"),
        "the error lists the modules: {err}"
    );
    assert!(Scope::parse("order:admin").is_err());
    assert!(Scopes::parse_list("").is_err());

    // (scopes, module, verb, allowed)
    let table = [
        ("*", "governance", Write, true),
        ("*:read", "order", Read, true),
        ("*:read", "order", Write, false),
        ("*:write", "payout", Read, true),
        ("order:read", "order", Read, true),
        ("order:read", "order", Write, false),
        ("order:read", "product", Read, false),
        ("order:write", "order", Read, true),
        ("order:write", "order", Write, true),
        ("order:read,product:write", "product", Write, true),
        ("order:read,product:write", "order", Write, false),
        ("order:read,product:write", "cart", Read, false),
    ];
    for (list, module, verb, allowed) in table {
        assert_eq!(
            scopes(list).allows(module, verb),
            allowed,
            "{list} allows {module}:{verb}?"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_then_verify() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "shopify-sync", "order:read,product:write").await;
    assert!(key.uid.starts_with("key_") && key.principal_uid.starts_with("prn_"));
    assert!(
        secret.starts_with(&format!("sk_{}_", key.prefix)),
        "{secret}"
    );
    assert!((8..=12).contains(&key.prefix.len()));
    assert!(secret.len() >= 3 + key.prefix.len() + 1 + 32);
    assert_eq!(key.phase, KeyPhase::Active);
    assert_eq!(key.scopes, vec!["order:read", "product:write"]);

    let v = Verifier::default();
    let header = bearer(&secret);
    let fut = v.verify(&db, Some(&header));
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&fut);
    let caller = fut.await.expect("the new key verifies");
    assert_eq!(caller.principal_uid, key.principal_uid);
    assert_eq!(caller.key_uid.as_deref(), Some(key.uid.as_str()));
    assert_eq!(caller.scopes, scopes("order:read,product:write"));
    assert!(caller.require("order", Verb::Read).is_ok());
    assert!(caller.require("product", Verb::Write).is_ok());
    let denied = caller.require("order", Verb::Write).unwrap_err();
    assert!(matches!(denied, AuthError::Forbidden { .. }), "{denied:?}");
    assert_eq!(denied.http_status(), 403);

    // The principal is a service named after the key; both creations are audited.
    let client = db.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT principal_type, display_name, status ->> 'phase' FROM principal WHERE uid = $1",
            &[&key.principal_uid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "service");
    assert_eq!(row.get::<_, String>(1), "shopify-sync");
    assert_eq!(row.get::<_, String>(2), "active");
    let audited: Vec<(String, String, String)> = client
        .query(
            "SELECT action, target_table, target_key FROM audit_event ORDER BY target_table",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        audited,
        vec![
            ("create".into(), "api_key".into(), key.uid.clone()),
            (
                "create".into(),
                "principal".into(),
                key.principal_uid.clone()
            ),
        ]
    );

    // list_keys shows it, without any hash.
    let listed = identity::list_keys(&**client).await.unwrap();
    assert_eq!(listed, vec![key.clone()]);
}

#[tokio::test]
async fn the_row_holds_the_hash_not_the_secret() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "hash-check", "*:read").await;
    let client = db.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT key_prefix, key_hash, scopes, row_to_json(k)::text FROM api_key k WHERE uid = $1",
            &[&key.uid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), key.prefix);
    assert_eq!(row.get::<_, String>(1), identity::hash_secret(&secret));
    assert_eq!(row.get::<_, Value>(2), json!(["*:read"]));
    let (_, body) = identity::split_secret(&secret).unwrap();
    let whole_row: String = row.get(3);
    assert!(
        !whole_row.contains(body) && !whole_row.contains(&secret),
        "the secret is not stored: {whole_row}"
    );
    // Nor does the audit trail hold the secret or the hash.
    let trail: String = client
        .query_one("SELECT string_agg(change::text, ' ') FROM audit_event", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!trail.contains(body) && !trail.contains(&identity::hash_secret(&secret)));
}

#[tokio::test]
async fn wrong_secret_unknown_prefix_and_missing_header() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "probe", "order:read").await;
    let v = Verifier::default();

    let wrong = format!("sk_{}_{}", key.prefix, "A".repeat(40));
    assert_ne!(wrong, secret);
    assert_eq!(
        v.verify(&db, Some(&bearer(&wrong))).await,
        Err(AuthError::Invalid)
    );
    let unknown = format!("sk_zzzzzzzzzz_{}", "B".repeat(40));
    assert_eq!(
        v.verify(&db, Some(&bearer(&unknown))).await,
        Err(AuthError::Invalid)
    );
    assert_eq!(v.verify(&db, None).await, Err(AuthError::Missing));
    assert_eq!(v.verify(&db, Some("  ")).await, Err(AuthError::Missing));
    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        secret.as_str(),
    ] {
        assert_eq!(
            v.verify(&db, Some(header)).await,
            Err(AuthError::Invalid),
            "{header}"
        );
    }
    // Both failures are the same 401 that says nothing about which keys exist.
    assert_eq!(AuthError::Invalid.http_status(), 401);
    assert_eq!(AuthError::Missing.http_status(), 401);
    assert!(!AuthError::Invalid.to_string().contains(&key.prefix));
    // The right secret still works after the failures (negative results are per prefix).
    assert!(v.verify(&db, Some(&bearer(&secret))).await.is_ok());
}

#[tokio::test]
async fn revoked_key_is_refused_after_the_cache_ttl() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "to-revoke", "*").await;
    let header = bearer(&secret);
    let long = verifier(Duration::from_secs(600));
    let short = verifier(Duration::from_millis(20));
    let uncached = verifier(Duration::ZERO);
    for v in [&long, &short, &uncached] {
        v.verify(&db, Some(&header))
            .await
            .expect("valid before revocation");
    }

    let revoked = revoke(&db, &key.prefix).await.expect("revoke by prefix");
    assert!(revoked.changed);
    assert_eq!(revoked.key.phase, KeyPhase::Revoked);

    // No cache: refused at once. Within a TTL: still the cached answer (no PostgreSQL round
    // trip). After the TTL: refused.
    assert_eq!(
        uncached.verify(&db, Some(&header)).await,
        Err(AuthError::Invalid)
    );
    assert!(long.verify(&db, Some(&header)).await.is_ok());
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(
        short.verify(&db, Some(&header)).await,
        Err(AuthError::Invalid)
    );
    long.clear_cache();
    assert_eq!(
        long.verify(&db, Some(&header)).await,
        Err(AuthError::Invalid)
    );

    // Idempotent, by uid too; unknown keys are a typed NotFound.
    let again = revoke(&db, &key.uid).await.expect("revoke again");
    assert!(!again.changed);
    assert_eq!(again.key.phase, KeyPhase::Revoked);
    let missing = revoke(&db, "nokeyhere").await.unwrap_err();
    assert!(matches!(missing, IdentityError::NotFound(_)), "{missing:?}");

    let client = db.client().await.unwrap();
    let revocations: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_event WHERE action = 'revoke' AND target_table = 'api_key' \
             AND target_key = $1",
            &[&key.uid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(revocations, 1, "one revocation, audited once");
    let listed = identity::list_keys(&**client).await.unwrap();
    assert_eq!(listed[0].phase, KeyPhase::Revoked);
}

#[tokio::test]
async fn expired_key_and_disabled_principal_are_refused() {
    let (db, _test_db, _dir) = setup().await;
    let v = verifier(Duration::ZERO);

    // Creating an already-expired key is refused.
    {
        let mut client = db.client().await.unwrap();
        let past = Utc::now() - chrono::Duration::minutes(1);
        let err = identity::create_key(&mut **client, "late", &scopes("*"), Some(past))
            .await
            .unwrap_err();
        assert!(matches!(err, IdentityError::ExpiryInPast(_)), "{err:?}");
    }

    let (key, secret) = {
        let mut client = db.client().await.unwrap();
        let soon = Utc::now() + chrono::Duration::days(1);
        identity::create_key(&mut **client, "short-lived", &scopes("*:read"), Some(soon))
            .await
            .unwrap()
    };
    assert!(key.expires_ts.is_some());
    assert!(v.verify(&db, Some(&bearer(&secret))).await.is_ok());
    exec(
        &db,
        "UPDATE api_key SET expires_ts = now() - interval '1 second' WHERE uid = $1",
        &key.uid,
    )
    .await;
    assert_eq!(
        v.verify(&db, Some(&bearer(&secret))).await,
        Err(AuthError::Invalid)
    );
    let client = db.client().await.unwrap();
    assert_eq!(
        identity::list_keys(&**client).await.unwrap()[0].phase,
        KeyPhase::Expired,
        "an active key past its expiry lists as expired"
    );
    drop(client);

    let (key, secret) = new_key(&db, "disabled-owner", "*").await;
    assert!(v.verify(&db, Some(&bearer(&secret))).await.is_ok());
    exec(
        &db,
        "UPDATE principal SET status = jsonb_set(status, '{phase}', '\"disabled\"') WHERE uid = $1",
        &key.principal_uid,
    )
    .await;
    assert_eq!(
        v.verify(&db, Some(&bearer(&secret))).await,
        Err(AuthError::Invalid)
    );
}

#[tokio::test]
async fn last_used_is_recorded_in_the_background_at_most_once_per_interval() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "busy", "*:read").await;
    let v = Verifier::default();
    v.verify(&db, Some(&bearer(&secret))).await.unwrap();

    let client = db.client().await.unwrap();
    let mut recorded = None;
    for _ in 0..100 {
        let row = client
            .query_one(
                "SELECT k.last_used_ts, p.last_seen_ts FROM api_key k \
                 JOIN principal p ON p.uid = k.principal_uid WHERE k.uid = $1",
                &[&key.uid],
            )
            .await
            .unwrap();
        let used: Option<chrono::DateTime<Utc>> = row.get(0);
        let seen: Option<chrono::DateTime<Utc>> = row.get(1);
        if let (Some(u), Some(s)) = (used, seen) {
            recorded = Some((u, s));
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(recorded.is_some(), "last_used_ts and last_seen_ts get set");

    // Within the interval, further requests write nothing.
    client
        .execute(
            "UPDATE api_key SET last_used_ts = '2000-01-01T00:00:00Z' WHERE uid = $1",
            &[&key.uid],
        )
        .await
        .unwrap();
    for _ in 0..3 {
        v.verify(&db, Some(&bearer(&secret))).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let used: chrono::DateTime<Utc> = client
        .query_one(
            "SELECT last_used_ts FROM api_key WHERE uid = $1",
            &[&key.uid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(used.to_rfc3339(), "2000-01-01T00:00:00+00:00");
}

#[tokio::test]
async fn create_key_joins_the_callers_transaction() {
    let (db, _test_db, _dir) = setup().await;
    let mut pooled = db.client().await.unwrap();
    let client: &mut tokio_postgres::Client = &mut pooled;
    {
        let mut tx = client.transaction().await.unwrap();
        identity::create_key(&mut tx, "rolled-back", &scopes("*"), None)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    for table in ["principal", "api_key", "audit_event"] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table} is empty after the rollback");
    }
}

#[tokio::test]
async fn missing_schema_is_named() {
    let (db, _test_db, _dir) = common::open_server().await;
    let client = db.client().await.unwrap();
    let err = identity::list_keys(&**client).await.unwrap_err();
    assert!(matches!(err, IdentityError::NotInstalled(_)), "{err:?}");
    assert!(err.to_string().contains("strata schema apply"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn audit_record_writes_the_given_fields() {
    let (db, _test_db, _dir) = setup().await;
    let client = db.client().await.unwrap();
    let caller = Caller {
        principal_uid: "prn_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        key_uid: Some("key_01ARZ3NDEKTSV4RRFFQ69G5FAW".into()),
        scopes: scopes("*"),
        subject: None,
    };
    let mut rec = AuditRecord::by(
        &caller,
        AuditAction::Update,
        "order_header",
        "ord_01ARZ3NDEKTSV4RRFFQ69G5FAX",
    );
    rec.request_id = Some("req-42".into());
    rec.change = json!({"before": {"note": "a"}, "after": {"note": "b", "key_hash": "00"}});
    rec.ip_address = Some("203.0.113.7".parse().unwrap());
    rec.user_agent = Some("test/1".into());
    let uid = audit::record(&**client, rec).await.expect("record");
    assert!(uid.starts_with("aud_"));

    let row = client
        .query_one(
            "SELECT actor_principal_uid, api_key_uid, action, target_table, target_key, \
                    request_id, change, host(ip_address), user_agent, status ->> 'phase' \
               FROM audit_event WHERE uid = $1",
            &[&uid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), caller.principal_uid);
    assert_eq!(row.get::<_, Option<String>>(1), caller.key_uid);
    assert_eq!(row.get::<_, String>(2), "update");
    assert_eq!(row.get::<_, String>(3), "order_header");
    assert_eq!(row.get::<_, String>(4), "ord_01ARZ3NDEKTSV4RRFFQ69G5FAX");
    assert_eq!(row.get::<_, String>(5), "req-42");
    assert_eq!(
        row.get::<_, Value>(6),
        json!({"before": {"note": "a"}, "after": {"note": "b"}}),
        "hashes are left out of the trail"
    );
    assert_eq!(row.get::<_, String>(7), "203.0.113.7");
    assert_eq!(row.get::<_, String>(8), "test/1");
    assert_eq!(row.get::<_, String>(9), "recorded");

    // Anonymous, minimal record.
    let uid = audit::record(
        &**client,
        AuditRecord::new(
            AuditAction::Login,
            "principal",
            "prn_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ),
    )
    .await
    .unwrap();
    let row = client
        .query_one(
            "SELECT actor_principal_uid, change FROM audit_event WHERE uid = $1",
            &[&uid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Value>(1), json!({}));

    // Refused before PostgreSQL sees them.
    for (table, key, change) in [
        ("Order", "ord_01ARZ3NDEKTSV4RRFFQ69G5FAX", json!({})),
        ("order_header", "42", json!({})),
        ("order_header", "ord_01ARZ3NDEKTSV4RRFFQ69G5FAX", json!([1])),
    ] {
        let mut rec = AuditRecord::new(AuditAction::Create, table, key);
        rec.change = change;
        let err = audit::record(&**client, rec).await.unwrap_err();
        assert!(matches!(err, AuditError::Invalid(_)), "{err:?}");
    }
}

#[tokio::test]
async fn audit_record_rolls_back_with_its_transaction() {
    let (db, _test_db, _dir) = setup().await;
    let mut pooled = db.client().await.unwrap();
    let client: &mut tokio_postgres::Client = &mut pooled;
    let tx = client.transaction().await.unwrap();
    audit::record(
        &tx,
        AuditRecord::new(
            AuditAction::Delete,
            "cart",
            "cart_01ARZ3NDEKTSV4RRFFQ69G5FAX",
        ),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM audit_event", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

// ---------------------------------------------------------------------------------------------
// SSO assertions (Cloudflare Access style)
// ---------------------------------------------------------------------------------------------

const ISSUER: &str = "https://example-team.cloudflareaccess.com";
const AUDIENCE: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const SSO_PRINCIPAL: &str = "prn_01ARZ3NDEKTSV4RRFFQ69G5FAV";

fn claims(aud: &str, iss: &str, exp_in_secs: i64) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "aud": [aud],
        "iss": iss,
        "email": "ada@example.com",
        "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
        "iat": now,
        "nbf": now - 5,
        "exp": now + exp_in_secs,
        "type": "app",
    })
}

fn es256(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).expect("test EC key");
    encode(&header, claims, &key).expect("sign")
}

fn rs256(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).expect("test RSA key");
    encode(&header, claims, &key).expect("sign")
}

fn sso_verifier(keys: Vec<JwtKey>) -> Verifier {
    let jwt = JwtConfig::new(
        ISSUER,
        vec![AUDIENCE.to_string()],
        keys,
        scopes("*:read"),
        SSO_PRINCIPAL,
    )
    .expect("valid SSO configuration");
    Verifier::new(VerifierConfig {
        jwt: Some(jwt),
        ..VerifierConfig::default()
    })
}

#[test]
fn sso_assertions_are_verified() {
    let ec = JwtKey::from_pem(EC_PUBLIC_PEM, None).expect("EC public key");
    assert_eq!(ec.algorithm(), Algorithm::ES256);
    let jwks = format!(
        r#"{{"keys": [
            {{"kid": "rsa-1", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB", "n": "{RSA_JWK_N}"}},
            {{"kid": "oct", "kty": "oct", "k": "c2VjcmV0"}}
        ]}}"#
    );
    let rsa = JwtKey::from_jwk_set(&jwks).expect("JWK set");
    assert_eq!(rsa.len(), 1, "the symmetric key is skipped");
    assert_eq!(rsa[0].kid(), Some("rsa-1"));
    let mut keys = vec![JwtKey::from_pem(OTHER_EC_PUBLIC_PEM, None).unwrap(), ec];
    keys.extend(rsa);
    let v = sso_verifier(keys);
    assert_eq!(v.assertion_header(), Some("Cf-Access-Jwt-Assertion"));

    // ES256 (tried against both EC keys), RS256 by kid.
    let caller = v
        .verify_assertion(Some(&es256(&claims(AUDIENCE, ISSUER, 300), None)))
        .expect("a valid ES256 assertion");
    assert_eq!(caller.principal_uid, SSO_PRINCIPAL);
    assert_eq!(caller.key_uid, None);
    assert_eq!(caller.subject.as_deref(), Some("ada@example.com"));
    assert!(caller.require("order", Verb::Read).is_ok());
    assert!(caller.require("order", Verb::Write).is_err());
    let caller = v
        .verify_assertion(Some(&rs256(&claims(AUDIENCE, ISSUER, 300), Some("rsa-1"))))
        .expect("a valid RS256 assertion");
    assert_eq!(caller.subject.as_deref(), Some("ada@example.com"));

    let refused = [
        (
            "wrong audience",
            es256(&claims("someone-else", ISSUER, 300), None),
        ),
        (
            "wrong issuer",
            es256(&claims(AUDIENCE, "https://evil.example", 300), None),
        ),
        ("expired", es256(&claims(AUDIENCE, ISSUER, -3600), None)),
        (
            "unknown kid",
            rs256(&claims(AUDIENCE, ISSUER, 300), Some("rsa-2")),
        ),
        ("garbage", "a.b.c".to_string()),
    ];
    for (why, token) in &refused {
        assert_eq!(
            v.verify_assertion(Some(token)),
            Err(AuthError::Invalid),
            "{why}"
        );
    }
    // A symmetric (HS256) token is refused even if its secret were known.
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims(AUDIENCE, ISSUER, 300),
        &EncodingKey::from_secret(b"secret").unwrap(),
    )
    .unwrap();
    assert_eq!(v.verify_assertion(Some(&hs)), Err(AuthError::Invalid));
    assert_eq!(v.verify_assertion(None), Err(AuthError::Missing));

    // Only an unrelated key configured: the signature does not verify.
    let other = sso_verifier(vec![JwtKey::from_pem(OTHER_EC_PUBLIC_PEM, None).unwrap()]);
    assert_eq!(
        other.verify_assertion(Some(&es256(&claims(AUDIENCE, ISSUER, 300), None))),
        Err(AuthError::Invalid)
    );
    // Without SSO configured, assertions are not accepted.
    assert_eq!(
        Verifier::default().verify_assertion(Some(&es256(&claims(AUDIENCE, ISSUER, 300), None))),
        Err(AuthError::Invalid)
    );
}

#[test]
fn sso_configuration_is_checked() {
    assert!(
        JwtKey::from_pem(EC_PRIVATE_PEM, None).is_err(),
        "private keys are refused"
    );
    assert!(JwtKey::from_pem("not a key", None).is_err());
    assert!(JwtKey::from_jwk_set(r#"{"keys": []}"#).is_err());
    let key = || vec![JwtKey::from_pem(EC_PUBLIC_PEM, None).unwrap()];
    assert!(JwtConfig::new(ISSUER, vec![], key(), scopes("*"), SSO_PRINCIPAL).is_err());
    assert!(JwtConfig::new("", vec![AUDIENCE.into()], key(), scopes("*"), SSO_PRINCIPAL).is_err());
    assert!(
        JwtConfig::new(
            ISSUER,
            vec![AUDIENCE.into()],
            vec![],
            scopes("*"),
            SSO_PRINCIPAL
        )
        .is_err()
    );
    assert!(JwtConfig::new(ISSUER, vec![AUDIENCE.into()], key(), scopes("*"), "bob").is_err());
}

#[tokio::test]
async fn verify_request_prefers_the_api_key() {
    let (db, _test_db, _dir) = setup().await;
    let (key, secret) = new_key(&db, "both", "order:write").await;
    let v = sso_verifier(vec![JwtKey::from_pem(EC_PUBLIC_PEM, None).unwrap()]);
    let assertion = es256(&claims(AUDIENCE, ISSUER, 300), None);

    let by_key = v
        .verify_request(&db, Some(&bearer(&secret)), Some(&assertion))
        .await
        .unwrap();
    assert_eq!(by_key.key_uid.as_deref(), Some(key.uid.as_str()));
    let by_sso = v.verify_request(&db, None, Some(&assertion)).await.unwrap();
    assert_eq!(by_sso.principal_uid, SSO_PRINCIPAL);
    assert_eq!(
        v.verify_request(&db, None, None).await,
        Err(AuthError::Missing)
    );
    // A bad key is not rescued by a good assertion.
    assert_eq!(
        v.verify_request(&db, Some("Bearer sk_nope_nope"), Some(&assertion))
            .await,
        Err(AuthError::Invalid)
    );
}

// Throwaway keys generated for these tests only (openssl genpkey); they protect nothing.
const EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDjIMjFXsWjkioI6O
sdymH78ydzMMGA4Hn9kthGpr+lKhRANCAARG67LxLEEpbgic3C05X1VwcAX3zR4j
R5LVhXDsHYUeddn2A5vTYQalUYSYE60HFhPT0XBKOXKXrDZbLENow7jC
-----END PRIVATE KEY-----
";
const EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERuuy8SxBKW4InNwtOV9VcHAF980e
I0eS1YVw7B2FHnXZ9gOb02EGpVGEmBOtBxYT09FwSjlyl6w2WyxDaMO4wg==
-----END PUBLIC KEY-----
";
/// An unrelated P-256 key: assertions signed with EC_PRIVATE_PEM do not verify with it.
const OTHER_EC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtrsD1bSvazdlFGNHoi70JHwPJ5JN
wVeITxMwPgQH7YCCuwVWi+Pliv4I3uRHfYbCWbNwgnVMHCh2Wngp/JUqeQ==
-----END PUBLIC KEY-----
";
const RSA_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDGgSIt8UBJG9xd
Ep7KoN3M7i58C+VMp/jDO9qrjJgoXlq3AaTYw6ajvZgw3ZVoePF4Q4iCa566upGH
NnxuT0T/zdYeJm2HuAcL/r9KiHTn9JXXAtdmGee+VUHegyhFNvmSeodGxOkICOW+
/58hWB6GeVbeD/fk0HlbHDkOScvyQYLOTe/jiqUf9o9v9cyKBu2mWOZYpgphx9vy
5r6ndmkJeZWdSaL+Hfd2vMhMkwNgUxDlFaz+faLMDRXncYs9OdHYWc9NjeRvEcqN
5wbo33aajLZ/rd+0exfDrluZLP6jQpYPpi+f/krnPRL2ZHGv+uthqlUCuxGj4FdW
k+44hjGlAgMBAAECggEAK+VthgRWB3TCR9CwzbVCJym6nNLSm59/esj3I718/lxT
KioSZp7pcEciaxftDMPF/ibM/q5G1RshyGlLnecopnrBsTwlN4CCCmyEp7pCQ/MJ
2Zi2wkzTOvtGjCqr0paEHRi8ZnFv6Mdy6shDS8/dPDaD96pHUtGpLHUyxs6Z65Ge
RZSvCz4T+yc2dYsnz6s0kB7RTPazDF+DUeOtIC22cs60tby13BTOjCaD11x0WDZu
pecP1grZr8ZMp5ri5Zl6h7oaQOr+ptt2LIppFrA1MF8aTZ1is/TRwZOsH5YCedIm
gs3KKiaZOAYgA5SF9T5W8SJh/M7vWFlPCWV1xfzZBwKBgQDs0IFkE5mVtzDYyPGN
C1snQxpSfZzWK4AbNQm1xDlK1h6K81HPY8Bu4FK5AMLUFIaTnBqgO4fvMUDOoGq4
M8AONuzZOUhtrenq5tlizy74d6qUXvgYP1YjweN0WoJgHclY8JK8p68pyUJFVJ5z
ciIuhW4y/4MGuQ9yLc2CguemAwKBgQDWlhV0EFx5EHKFfPSyeZMVwamLkOqgd2qV
YKPdKYcjVOyGTCU/poGy7f4qknBRIQ4bHlyfjxgUw9da7kECtFO4x/L7D2aDOCP6
ZXJRA7f3hiSMS5Y74IQ2iFoK4MK626EH1DfY0stWl/jgjjxsPcnTZoFf8vgYWtKa
Dkvc3jEtNwKBgQDRuImOTklKrHRm1/YLOc5dA/EwsquNg/KspZjWz1MJsnxUA84k
wyttRd4cls7zsMXJvYpa8r2cl9rT4n8AaFwieoPgj/lToJwy+oP0HJV1V8zKHxzJ
pHWtrwy3Q1yIsHha+pqI1luqvuCgs6KrjJ0249XG9j9cWdGTBXslpLZvbwKBgGGV
UN4+Dn9zjlDMGU8MYGn1bs+sMDaW955Em2AY4X6cwQ71k77VTof7GKltfKw4Nvz4
GrDo1s+im82bKW88aBJQw1uOjlS/9ASLm6fh5AgpNXejbAeAuz89VI071vI4rIst
49OzUIrpg2FC7ZFfq+d55v2mNVKGAt3SAIfJd12TAoGBAIFkIlyagQFZyWcNnC+c
RE5H9Dq1tEo1yBkWEmacI0M6N7t5sung4aquz/5f5LzJpHjnY6mqDxG+aaAz4AdD
5kwx4REmq4IKlM7CtUpBysB09WinaEOPd879wJfyQAE1aQ2IrHnokPvT30eGjs/P
13iqtisUlLln8IkRDIpmJmrd
-----END PRIVATE KEY-----
";
const RSA_JWK_N: &str = "xoEiLfFASRvcXRKeyqDdzO4ufAvlTKf4wzvaq4yYKF5atwGk2MOmo72YMN2VaHjxeEOIgmueurqRhzZ8bk9E_83WHiZth7gHC_6_Soh05_SV1wLXZhnnvlVB3oMoRTb5knqHRsTpCAjlvv-fIVgehnlW3g_35NB5Wxw5DknL8kGCzk3v44qlH_aPb_XMigbtpljmWKYKYcfb8ua-p3ZpCXmVnUmi_h33drzITJMDYFMQ5RWs_n2izA0V53GLPTnR2FnPTY3kbxHKjecG6N92moy2f63ftHsXw65bmSz-o0KWD6Yvn_5K5z0S9mRxr_rrYapVArsRo-BXVpPuOIYxpQ";
