//! What the HTTP benchmarks share: the API server in this process on an ephemeral port, and a
//! keep-alive HTTP/1.1 client pool.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use strata_domain::Database;
use strata_domain::identity::{Verifier, VerifierConfig};
use strata_events::EventLog;

/// The router `strata serve` serves, on 127.0.0.1:0, with no rate limit (one key drives all the
/// load).
pub struct Server {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(db: Arc<Database>, events: Arc<dyn EventLog>) -> Result<Self> {
        let model =
            Arc::new(strata_schema::embedded().context("the schema built into this binary")?);
        let state = strata_server::state(
            db,
            model,
            Verifier::new(VerifierConfig::default()),
            0.0,
            events,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind an ephemeral port on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, strata_server::router(state))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        eprintln!("serving the API on http://{addr}");
        Ok(Self {
            base: format!("http://{addr}"),
            stop,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the bench server failed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the bench server task failed"),
            Err(_) => tracing::warn!("the bench server did not stop within 10 s"),
        }
    }
}

pub type Body = http_body_util::Full<bytes::Bytes>;

/// HTTP/1.1 clients over a keep-alive pool (hyper-util: plain HTTP, no TLS stack to set up).
#[derive(Clone)]
pub struct Http {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Body,
    >,
    base: Arc<str>,
    auth: hyper::header::HeaderValue,
}

impl Http {
    pub fn new(base: &str, key: &str, clients: usize) -> Result<Self> {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(clients)
                .build(connector);
        Ok(Self {
            client,
            base: base.into(),
            auth: hyper::header::HeaderValue::from_str(&format!("Bearer {key}"))
                .context("the API key as a header")?,
        })
    }

    /// A request to `path_and_query`, with a JSON body if any.
    pub fn request(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        json: Option<Vec<u8>>,
    ) -> Result<hyper::Request<Body>> {
        match json {
            Some(body) => self.request_with(method, path_and_query, body, "application/json"),
            None => Ok(self.builder(method, path_and_query).body(Body::default())?),
        }
    }

    /// A request with a body of `content_type`.
    pub fn request_with(
        &self,
        method: hyper::Method,
        path_and_query: &str,
        body: impl Into<bytes::Bytes>,
        content_type: &'static str,
    ) -> Result<hyper::Request<Body>> {
        Ok(self
            .builder(method, path_and_query)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Body::from(body.into()))?)
    }

    fn builder(
        &self,
        method: hyper::Method,
        path_and_query: &str,
    ) -> hyper::http::request::Builder {
        hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base))
            .header(hyper::header::AUTHORIZATION, self.auth.clone())
    }

    /// Sends a request and reads the whole answer; anything but `expect` is an error.
    pub async fn send(
        &self,
        request: Result<hyper::Request<Body>>,
        expect: u16,
    ) -> Result<bytes::Bytes> {
        use http_body_util::BodyExt;
        let exchange = async {
            let resp = self.client.request(request?).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        };
        let (status, body) = tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .context("no answer within 30 s")??;
        if status != expect {
            bail!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        Ok(body)
    }
}
