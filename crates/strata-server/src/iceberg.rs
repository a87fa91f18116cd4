//! The lake's Iceberg REST catalog at `/iceberg` (crate `strata-iceberg-rest`), served when the
//! lake's catalog is the embedded one, behind Strata's API keys. It has its own error model and
//! its own specification (Apache Iceberg's), so it is not part of `/openapi.json`.
//!
//! Scopes (`Authorization: Bearer <api key>`; PyIceberg's `token`, DuckDB's `TOKEN`):
//! - `GET /v1/config` and the list of namespaces: any valid key.
//! - A telemetry namespace reads with the read scope of the module whose write scope admits
//!   events into its stream (`POST /v1/telemetry/{stream}`): `commerce` → `order:read`,
//!   `publication` → `publisher:read`, `sync` → `governance:read`; writing to it (commits,
//!   creating or dropping tables, properties) takes `<module>:write`.
//! - Any other namespace: `*:read` to read, `*:write` to write.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::http::HeaderMap;
use strata_domain::identity::{AuthError, Verb};
use strata_events::StreamName;
use strata_iceberg_rest::{Authorizer, Denied, Service, Target};

use crate::routes::telemetry::module_of_stream;
use crate::state::AppState;

/// Where the routes are mounted.
pub const MOUNT: &str = "/iceberg";

/// The Iceberg REST routes over the state's embedded lake catalog, if it has one.
pub fn router(state: &AppState) -> Option<Router> {
    let catalog = state.lake_catalog.clone()?;
    let auth = Arc::new(KeyAuthorizer {
        state: state.clone(),
    });
    Some(strata_iceberg_rest::router(Service::new(catalog, auth)))
}

/// The schema module whose scopes guard `namespace` (`*` for namespaces outside the streams).
pub fn module_of_namespace(namespace: &strata_lake::iceberg::NamespaceIdent) -> &'static str {
    match namespace
        .iter()
        .next()
        .and_then(|n| StreamName::from_slug(n))
    {
        Some(stream) => module_of_stream(stream),
        None => "*",
    }
}

/// Strata's API keys (and the SSO assertion, when configured) and rate limit.
struct KeyAuthorizer {
    state: AppState,
}

#[async_trait]
impl Authorizer for KeyAuthorizer {
    async fn authorize(
        &self,
        headers: &HeaderMap,
        target: Target<'_>,
        verb: strata_iceberg_rest::Verb,
    ) -> Result<(), Denied> {
        let state = &self.state;
        let caller = crate::auth::verify_caller(state, headers)
            .await
            .map_err(|e| match e {
                AuthError::Unavailable(_) => {
                    Denied::Unavailable("the database is unavailable; retry shortly".to_owned())
                }
                _ => Denied::Unauthenticated(
                    "missing or invalid credentials: send `Authorization: Bearer <api key>` \
                     (PyIceberg `token`, DuckDB `TOKEN`)"
                        .to_owned(),
                ),
            })?;
        state
            .limiter
            .check(&caller.principal_uid)
            .map_err(Denied::RateLimited)?;
        let Target::Namespace(ns) = target else {
            return Ok(());
        };
        let module = module_of_namespace(ns);
        let verb = match verb {
            strata_iceberg_rest::Verb::Read => Verb::Read,
            strata_iceberg_rest::Verb::Write => Verb::Write,
        };
        caller.require(module, verb).map_err(|_| {
            Denied::Forbidden(format!(
                "this key's scopes do not allow {verb} on namespace `{}` (needs {module}:{verb})",
                ns.join(".")
            ))
        })
    }
}
