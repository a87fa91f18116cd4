//! Strata's HTTP API (`strata serve`): the generated resource API of every table, the scenario
//! paths, the OpenAPI document and its viewer, API-key auth, audit, problem+json errors.

pub mod analytics;
pub mod app;
pub mod auth;
pub mod backlog;
pub mod error;
pub mod iceberg;
pub mod openapi;
pub mod routes;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

pub use app::router;
pub use state::AppState;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// Requests per second per caller (0: unlimited).
    pub rate_limit: f64,
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    config: ServeConfig,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "serving; API description at /openapi.json, docs at /docs");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight work");
}

/// Convenience for tests and the CLI.
pub fn state(
    db: Arc<strata_domain::Database>,
    schema: Arc<strata_schema::Schema>,
    verifier: strata_domain::identity::Verifier,
    rate_limit: f64,
    events: Arc<dyn strata_events::EventLog>,
) -> AppState {
    AppState::new(
        db,
        schema,
        verifier,
        auth::RateLimiter::new(rate_limit, (rate_limit * 2.0).max(1.0)),
        events,
    )
}
