//! The performance screen's settings: the classification spec (`strata_domain::classification`).
//!
//! | route | does | scope |
//! |---|---|---|
//! | `GET /api/performance-metrics/settings/classification` | the version in force (version 0: the defaults) | `macrodata:read` |
//! | `PUT /api/performance-metrics/settings/classification` | validate, store a new version, return it | `macrodata:write` |
//! | `GET /api/performance-metrics/settings/classification/versions` | every version, newest first | `macrodata:read` |
//!
//! An invalid spec is a 400 listing every wrong field in `errors` (the legacy endpoint's status;
//! the `/v1` commands use 422), and nothing is written. Answers carry the version's `ETag`; a
//! `PUT` with `If-Match` stores only if that version is still current (else 412).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use strata_domain::classification::{self, ClassificationSpec, SpecVersion, StoreError};
use strata_domain::resource::value::FieldError;

use super::resources::{json_body, query_pairs};
use crate::auth::{Verb, audit_context, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// The table whose module's scopes guard the settings (`macrodata`).
const TABLE: &str = "macrodata_artifact";

/// The status of a spec that fails validation.
pub const INVALID_STATUS: StatusCode = StatusCode::BAD_REQUEST;

fn no_query(raw: Option<&str>) -> ApiResult<()> {
    match query_pairs(raw).first() {
        Some((k, _)) => Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`"
        ))),
        None => Ok(()),
    }
}

fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::VersionMismatch { .. } => {
            Problem::new(StatusCode::PRECONDITION_FAILED, e.to_string())
        }
        StoreError::Conflict(_) => Problem::new(StatusCode::CONFLICT, e.to_string()),
        StoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "database unavailable");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; nothing was written, retry shortly",
            )
        }
        StoreError::Audit(a) => {
            tracing::error!(error = %a, "audit record failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the write could not be audited and was not applied; retry",
            )
        }
        other => {
            tracing::error!(error = %other, "classification spec store failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an unexpected error occurred; it was logged",
            )
        }
    }
}

fn version_response(v: &SpecVersion) -> Response {
    let mut resp = axum::Json(v).into_response();
    if let Ok(etag) = HeaderValue::from_str(&v.etag()) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    resp
}

/// What `If-Match` asks for: nothing (absent or `*`), or the one version it names. An ETag that
/// is not one of ours names no version, which is never current (412).
fn expected_version(headers: &HeaderMap) -> ApiResult<Option<i32>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let tags: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > 1 {
        return Err(Problem::bad_request(
            "If-Match: send one ETag (the version you edited) or `*`",
        ));
    }
    let version = tags
        .first()
        .and_then(|t| t.strip_prefix("\"classification-spec-v"))
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|n| n.parse::<i32>().ok())
        .filter(|n| *n >= 0);
    match version {
        Some(v) => Ok(Some(v)),
        None => Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "If-Match names no version of the classification spec; GET it for its ETag",
        )),
    }
}

/// `GET /api/performance-metrics/settings/classification`.
pub async fn get_classification(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let v = classification::current(&s.db)
        .await
        .map_err(store_problem)?;
    Ok(version_response(&v))
}

/// `GET /api/performance-metrics/settings/classification/versions`.
pub async fn list_classification_versions(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    authorize(&s, &headers, TABLE, Verb::Read).await?;
    let items = classification::versions(&s.db)
        .await
        .map_err(store_problem)?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `PUT /api/performance-metrics/settings/classification`.
pub async fn put_classification(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize(&s, &headers, TABLE, Verb::Write).await?;
    let value = json_body(&headers, &body, false)?;
    let spec = ClassificationSpec::from_json(&value).map_err(|e| {
        let errors = e
            .issues
            .into_iter()
            .map(|i| FieldError::new(i.field, i.message))
            .collect();
        Problem::new(INVALID_STATUS, "the classification spec has invalid fields")
            .with_errors(errors)
    })?;
    let expected = expected_version(&headers)?;
    let audit = audit_context(&caller, &headers);
    let stored = match expected {
        Some(v) => classification::put_if_current(&s.db, &spec, Some(&audit), v).await,
        None => classification::put(&s.db, &spec, Some(&audit)).await,
    }
    .map_err(store_problem)?;
    replicate_to_lake(&s).await;
    Ok(version_response(&stored))
}

/// Writes the spec's versions to the lake's `configuration.objective_spec` at once, so queries
/// see the new version before the next refresh (which would replicate it anyway). Best effort:
/// the version is stored in PostgreSQL whatever happens here.
async fn replicate_to_lake(s: &AppState) {
    let Some(lake) = s.query.as_ref().map(|q| q.lake().clone()) else {
        return;
    };
    let result = async {
        let versions = strata_measure::load_spec_versions(&s.db).await?;
        strata_measure::replicate_spec(&lake, &versions).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not replicate the classification spec to the lake now; the next refresh does");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_match(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn if_match_names_one_version() {
        assert_eq!(expected_version(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(expected_version(&with_if_match("*")).ok(), Some(None));
        assert_eq!(
            expected_version(&with_if_match("\"classification-spec-v3\"")).ok(),
            Some(Some(3))
        );
        for bad in [
            "\"x\"",
            "W/\"classification-spec-v3\"",
            "\"classification-spec-v-1\"",
        ] {
            let err = expected_version(&with_if_match(bad)).expect_err(bad);
            assert_eq!(err.status, 412, "{bad}");
        }
        let err = expected_version(&with_if_match(
            "\"classification-spec-v1\", \"classification-spec-v2\"",
        ))
        .expect_err("two");
        assert_eq!(err.status, 400);
    }
}
