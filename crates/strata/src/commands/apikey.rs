//! `strata apikey create|list|revoke`: API keys for the HTTP API.

use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use strata_domain::Database;
use strata_domain::identity::{self, ApiKeyInfo};

use super::connect;
use crate::cli::{ApikeyCommand, ApikeyCreateArgs, ApikeyRevokeArgs, GlobalOpts};

pub async fn run(global: &GlobalOpts, cmd: ApikeyCommand) -> Result<ExitCode> {
    let db = connect(global).await?;
    let result = match cmd {
        ApikeyCommand::Create(args) => create(&db, args).await,
        ApikeyCommand::List => list(&db).await,
        ApikeyCommand::Revoke(args) => revoke(&db, args).await,
    };
    db.shutdown().await?;
    result
}

async fn create(db: &Database, args: ApikeyCreateArgs) -> Result<ExitCode> {
    let expires_ts = args
        .expires_in_days
        .map(|d| Utc::now() + Duration::days(i64::from(d)));
    let mut client = db.client().await?;
    let (key, secret) = identity::create_key(&mut **client, &args.name, &args.scopes, expires_ts)
        .await
        .context("strata apikey create (nothing was written)")?;
    drop(client);

    eprintln!(
        "created API key {} (prefix {}) for service principal {}",
        key.uid, key.prefix, key.principal_uid
    );
    eprintln!("  name:    {}", key.name);
    eprintln!("  scopes:  {}", key.scopes.join(","));
    eprintln!("  expires: {}", when(key.expires_ts, "never"));
    eprintln!();
    println!("{secret}");
    eprintln!();
    eprintln!(
        "warning: store this key now; it cannot be shown again (only its SHA-256 hash is kept)."
    );
    eprintln!("Send it as: Authorization: Bearer <key>");
    Ok(ExitCode::SUCCESS)
}

async fn list(db: &Database) -> Result<ExitCode> {
    let client = db.client().await?;
    let keys = identity::list_keys(&**client)
        .await
        .context("strata apikey list")?;
    drop(client);
    if keys.is_empty() {
        eprintln!("no API keys; create one with `strata apikey create --name N --scopes S`");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render_table(&keys));
    Ok(ExitCode::SUCCESS)
}

async fn revoke(db: &Database, args: ApikeyRevokeArgs) -> Result<ExitCode> {
    let mut client = db.client().await?;
    let outcome = identity::revoke_key(&mut **client, &args.key)
        .await
        .context("strata apikey revoke")?;
    drop(client);
    let k = &outcome.key;
    if outcome.changed {
        println!(
            "revoked API key {} (prefix {}, name {}); servers refuse it within their cache TTL (5 s by default)",
            k.uid, k.prefix, k.name
        );
    } else {
        println!(
            "API key {} (prefix {}, name {}) is already {}; nothing changed",
            k.uid, k.prefix, k.name, k.phase
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn when(ts: Option<DateTime<Utc>>, none: &str) -> String {
    ts.map_or_else(
        || none.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Aligned columns: PREFIX NAME SCOPES PHASE LAST USED.
fn render_table(keys: &[ApiKeyInfo]) -> String {
    let header = ["PREFIX", "NAME", "SCOPES", "PHASE", "LAST USED"];
    let rows: Vec<[String; 5]> = keys
        .iter()
        .map(|k| {
            [
                k.prefix.clone(),
                k.name.clone(),
                if k.scopes.is_empty() {
                    "(none)".to_string()
                } else {
                    k.scopes.join(",")
                },
                k.phase.to_string(),
                when(k.last_used_ts, "never"),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_domain::identity::KeyPhase;

    #[test]
    fn table_is_aligned() {
        let now = Utc::now();
        let keys = vec![
            ApiKeyInfo {
                uid: "key_1".into(),
                principal_uid: "prn_1".into(),
                name: "shopify-sync".into(),
                prefix: "abcdefghij".into(),
                scopes: vec!["order:read".into(), "product:write".into()],
                phase: KeyPhase::Active,
                create_ts: now,
                last_used_ts: None,
                expires_ts: None,
            },
            ApiKeyInfo {
                uid: "key_2".into(),
                principal_uid: "prn_2".into(),
                name: "x".into(),
                prefix: "k2k2k2k2k2".into(),
                scopes: vec![],
                phase: KeyPhase::Revoked,
                create_ts: now,
                last_used_ts: Some(now),
                expires_ts: None,
            },
        ];
        let t = render_table(&keys);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("PREFIX      NAME          SCOPES"),
            "{t}"
        );
        assert!(
            lines[1].contains("order:read,product:write  active   never"),
            "{t}"
        );
        assert!(
            lines[2].contains("(none)") && lines[2].contains("revoked"),
            "{t}"
        );
        let col = lines[0].find("PHASE").unwrap();
        assert_eq!(&lines[1][col..col + 6], "active");
    }
}
