//! Committing table updates to an Iceberg REST catalog directly (`POST
//! /v1/{prefix}/namespaces/{namespace}/tables/{table}`): iceberg-rust only commits what its own
//! transaction actions build, and its `TableCommit` cannot be made outside the crate, so the
//! overwrite commit of [`crate::Lake::replace_days`] is sent as the REST spec defines it.

use iceberg::{ErrorKind, TableIdent, TableRequirement, TableUpdate};
use reqwest_rest_tls as reqwest;
use serde::Serialize;

use crate::{
    config::{RestCatalogConfig, Secret},
    error::{LakeError, Result},
};

#[derive(Serialize)]
struct Identifier<'a> {
    namespace: &'a [String],
    name: &'a str,
}

#[derive(Serialize)]
struct CommitTableRequest<'a> {
    identifier: Identifier<'a>,
    requirements: &'a [TableRequirement],
    updates: &'a [TableUpdate],
}

/// The `prefix` the catalog's `/v1/config` asks clients to use, if any.
async fn prefix(client: &reqwest::Client, config: &RestCatalogConfig) -> Result<Option<String>> {
    let mut request = client.get(format!("{}/v1/config", config.uri.trim_end_matches('/')));
    if let Some(w) = &config.warehouse {
        request = request.query(&[("warehouse", w)]);
    }
    let response = authorize(request, config)?
        .send()
        .await
        .map_err(|e| rest_err("(config)", e.to_string()))?;
    if !response.status().is_success() {
        return Err(rest_err(
            "(config)",
            format!("GET /v1/config answered {}", response.status()),
        ));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| rest_err("(config)", e.to_string()))?;
    let pick = |section: &str| {
        body.get(section)
            .and_then(|s| s.get("prefix"))
            .and_then(|p| p.as_str())
            .map(str::to_owned)
    };
    Ok(pick("overrides").or_else(|| pick("defaults")))
}

fn authorize(
    mut request: reqwest::RequestBuilder,
    config: &RestCatalogConfig,
) -> Result<reqwest::RequestBuilder> {
    if config.properties.contains_key("credential") && config.token.is_none() {
        return Err(LakeError::Config(
            "replacing days over a REST catalog needs a bearer token (`token`); OAuth client \
             credentials (`credential`) are only used by the catalog client for reads and appends"
                .to_owned(),
        ));
    }
    if let Some(token) = config.token.as_ref().map(Secret::expose) {
        request = request.bearer_auth(token);
    }
    for (k, v) in &config.properties {
        if let Some(name) = k.strip_prefix("header.") {
            request = request.header(name, v);
        }
    }
    Ok(request)
}

fn rest_err(table: &str, detail: String) -> LakeError {
    LakeError::RestCommit {
        table: table.to_owned(),
        detail,
    }
}

/// Sends one commit; a `409` (a requirement failed: someone committed first) comes back as the
/// retryable [`ErrorKind::CatalogCommitConflicts`], like the embedded catalog's.
pub(crate) async fn commit(
    config: &RestCatalogConfig,
    ident: &TableIdent,
    requirements: &[TableRequirement],
    updates: &[TableUpdate],
) -> Result<()> {
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| rest_err(&ident.to_string(), e.to_string()))?;
    let namespace: Vec<String> = ident.namespace().as_ref().clone();
    let encoded_ns = urlencode(&namespace.join("\u{1f}"));
    let base = config.uri.trim_end_matches('/');
    let url = match prefix(&client, config).await? {
        Some(p) if !p.is_empty() => format!(
            "{base}/v1/{}/namespaces/{encoded_ns}/tables/{}",
            urlencode(&p),
            urlencode(ident.name())
        ),
        _ => format!(
            "{base}/v1/namespaces/{encoded_ns}/tables/{}",
            urlencode(ident.name())
        ),
    };
    let body = CommitTableRequest {
        identifier: Identifier {
            namespace: &namespace,
            name: ident.name(),
        },
        requirements,
        updates,
    };
    let response = authorize(client.post(url), config)?
        .json(&body)
        .send()
        .await
        .map_err(|e| rest_err(&ident.to_string(), e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    if status == reqwest::StatusCode::CONFLICT {
        return Err(LakeError::Iceberg(
            iceberg::Error::new(
                ErrorKind::CatalogCommitConflicts,
                format!("commit conflicted for table {ident}: {text}"),
            )
            .with_retryable(true),
        ));
    }
    Err(rest_err(
        &ident.to_string(),
        format!("the catalog answered {status}: {text}"),
    ))
}

/// Percent-encodes a path segment.
fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
