//! What every handler shares.

use std::sync::Arc;

use serde_json::Value;
use strata_domain::Database;
use strata_domain::identity::Verifier;
use strata_domain::resource::ResourceStore;
use strata_events::EventLog;
use strata_schema::Schema;

use crate::auth::RateLimiter;
use crate::backlog::Backlog;
use crate::routes::ops::{HttpCounts, PipelineStatsFn};

/// Called with the GID (`gid://shopify/BulkOperation/…`) of each bulk operation a verified
/// `bulk_operations/finish` webhook reports finished ([`crate::routes::webhooks`]).
pub type BulkFinishedFn = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub db: Arc<Database>,
    pub store: ResourceStore,
    pub schema: Arc<Schema>,
    /// Rendered once at start-up.
    pub openapi: Arc<Value>,
    pub verifier: Arc<Verifier>,
    pub limiter: Arc<RateLimiter>,
    /// The durable log the telemetry streams are appended to.
    pub events: Arc<dyn EventLog>,
    /// The bound on events not yet in the lake, past which ingest answers 503.
    pub backlog: Arc<Backlog>,
    /// The running pipelines' metrics, for `/metrics` and `/api/health` (none: not run here).
    pub pipelines: Option<PipelineStatsFn>,
    /// Requests answered, by status class, for `/metrics`.
    pub http_counts: Arc<HttpCounts>,
    /// The lake's embedded catalog, served over the Iceberg REST protocol at `/iceberg`
    /// ([`crate::iceberg`]); `None`: no such endpoint.
    pub lake_catalog: Option<strata_lake::SqliteCatalog>,
    /// DuckDB over the lake, for `POST /v1/query` ([`crate::routes::query`]); `None`: no such
    /// endpoint (404).
    pub query: Option<Arc<strata_query::QueryEngine>>,
    /// The staff analytics over the lake's measurements ([`crate::analytics`]); `None`: no
    /// lake here, and those endpoints answer 503.
    pub analytics: Option<Arc<crate::analytics::Analytics>>,
    /// The process's durable workflow engine, for `/v1/workflows`, the sync trigger, the ingest
    /// runs and the workflow parts of `/analytics/pipelines` and `/api/health`
    /// ([`crate::routes::workflows`]); `None`: those endpoints answer 503.
    pub workflows: Option<strata_workflow::Engine>,
    /// Told of each bulk operation a verified `bulk_operations/finish` webhook reports (the
    /// waiting Shopify sync); `None`: such webhooks are acknowledged and ignored.
    pub bulk_finished: Option<BulkFinishedFn>,
    /// The Shopify app's client secret that signs webhooks (`SHOPIFY_WEBHOOK_SECRET`); `None`:
    /// `POST /webhooks/shopify` answers 503.
    pub shopify_webhook_secret: Option<strata_shopify::Secret>,
}

impl AppState {
    pub fn new(
        db: Arc<Database>,
        schema: Arc<Schema>,
        verifier: Verifier,
        limiter: RateLimiter,
        events: Arc<dyn EventLog>,
    ) -> Self {
        let openapi = Arc::new(crate::openapi::document(&schema));
        Self {
            store: ResourceStore::new(schema.clone()),
            db,
            schema,
            openapi,
            verifier: Arc::new(verifier),
            limiter: Arc::new(limiter),
            events,
            backlog: Arc::new(Backlog::unbounded()),
            pipelines: None,
            http_counts: Arc::default(),
            lake_catalog: None,
            query: None,
            analytics: None,
            workflows: None,
            bulk_finished: None,
            shopify_webhook_secret: None,
        }
    }

    /// Refuses telemetry batches while a stream holds `backlog`'s bound of unacknowledged events.
    pub fn with_backlog(mut self, backlog: Backlog) -> Self {
        self.backlog = Arc::new(backlog);
        self
    }

    /// Reports the pipelines `stats` describes on `/metrics` and `/api/health`.
    pub fn with_pipelines(mut self, stats: PipelineStatsFn) -> Self {
        self.pipelines = Some(stats);
        self
    }

    /// Serves `catalog` (the lake's embedded catalog) at `/iceberg`.
    pub fn with_lake_catalog(mut self, catalog: Option<strata_lake::SqliteCatalog>) -> Self {
        self.lake_catalog = catalog;
        self
    }

    /// Answers `POST /v1/query` with `engine`.
    pub fn with_query_engine(mut self, engine: Option<Arc<strata_query::QueryEngine>>) -> Self {
        self.query = engine;
        self
    }

    /// Answers the staff analytics endpoints from `analytics`.
    pub fn with_analytics(mut self, analytics: Option<Arc<crate::analytics::Analytics>>) -> Self {
        self.analytics = analytics;
        self
    }

    /// Serves the workflow endpoints from `engine` (the process's engine: the one that runs the
    /// instances, or a client of a store another process executes).
    pub fn with_workflows(mut self, engine: Option<strata_workflow::Engine>) -> Self {
        self.workflows = engine;
        self
    }

    /// Hands the GID of every bulk operation a verified `bulk_operations/finish` webhook reports
    /// to `callback` (which should return quickly: it runs in the request).
    pub fn with_bulk_finished(mut self, callback: Option<BulkFinishedFn>) -> Self {
        self.bulk_finished = callback;
        self
    }

    /// Verifies `POST /webhooks/shopify` deliveries with `secret` (the app's client secret).
    pub fn with_shopify_webhook_secret(mut self, secret: Option<strata_shopify::Secret>) -> Self {
        self.shopify_webhook_secret = secret;
        self
    }

    /// The schema module a table belongs to (for scopes).
    pub fn module_of(&self, table: &str) -> Option<&str> {
        self.store.module_of(table)
    }
}
